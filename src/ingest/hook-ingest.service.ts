/**
 * Signed HTTP hook ingest: what a host that is not Node posts instead of
 * calling the hook bus. Checks, in order:
 *
 * 1. the Standard Webhooks signature over the raw body and its timestamp
 *    (`standardwebhooks`, 5 minutes tolerance) → 401;
 * 2. the hook name, against the manifest's hooks → 404;
 * 3. the webhook-id, already processed → 200 `{"Duplicate":true}`;
 * 4. the body, a JSON object → 400; then the hook's own handler from hooks/
 *    validates it (400 naming every bad field) and hands the event to the
 *    plug-in handle's intake, which refuses ids that are not UserID's (400
 *    naming them: src/plugin/event-ownership.ts) before anything is enrolled.
 *
 * An event that cannot be taken in now is answered 503 with Retry-After, and
 * nothing of it is kept: the backlog at its bound (2 s), or its database
 * unreachable, so that it can be neither recorded nor enrolled (5 s). Redis is
 * not needed to take an event in (it only wakes work, see EntryQueue): while
 * it is away, events are still answered 200 at once.
 *
 * Dedupe by webhook-id: the ids live in the engine's processed-events table
 * under an `ingest:` prefix. An id is recorded after its handler succeeded,
 * so a sender's retry after a failure (or a crash) is processed again; two
 * copies racing each other may both run the handler, and the engine's own
 * EventID dedupe makes the second enrol nobody. The id is global, not per
 * hook: a signed body replayed to another hook's URL is a duplicate too (the
 * URL is not part of the signature).
 */
import { Inject, Injectable } from '@nestjs/common';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { Counter } from 'prom-client';
import type { AppConfig } from '../config/env';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { CLOCK, PLUGIN_CONFIG, type Clock } from '../core/tokens';
import { transientDbErrorCode } from '../database/db';
import { PluginIntake } from '../plugin/plugin-intake';
import type { PluginHandle } from '../plugin/plugin-handle';
import { RuntimeMetrics } from '../runtime/runtime.metrics';
import { EventCoalescer } from '../runtime/intake/event-coalescer';
import { ProcessedEvents } from '../runtime/intake/processed-events';
import { loadHookHandlers, type HookHandlerFn } from './hook-handlers';
import { INGEST_MAX_BYTES } from './raw-body.middleware';

export const INGEST_ID_PREFIX = 'ingest:';
/** What a saturated ingest asks the sender to wait before posting again. */
export const INGEST_RETRY_AFTER_SECONDS = 2;
/** What the ingest asks the sender to wait when its database does not answer: an outage lasts longer than a burst. */
export const INGEST_DATABASE_RETRY_AFTER_SECONDS = 5;
/**
 * Webhook ids per lookup or INSERT at most, and such statements at once: the
 * posts arriving while two run share the next (a commit per post was most of
 * the ingest's database time at 1,000 posts/s).
 */
const ID_BATCH_MAX = 500;
const ID_BATCHES_IN_FLIGHT = 2;
/** EventID is VARCHAR(128) and holds the prefix too. */
const WEBHOOK_ID_MAX = 128 - INGEST_ID_PREFIX.length;

export interface SignedHook {
  hookName: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer | undefined;
}

export type IngestResult = { Hook: string; Duplicate: true } | { Hook: string; Duplicate: false; Result: unknown };

@Injectable()
export class HookIngest {
  private readonly webhook: Webhook;
  private readonly handlers: Map<string, HookHandlerFn>;
  private readonly handle: PluginHandle;
  private readonly intake: PluginIntake;
  private readonly requests: Counter<'hook' | 'outcome'>;
  /** Webhook ids looked up a batch at a time: under load one statement answers many posts. */
  private readonly seenIds: EventCoalescer<string, boolean>;
  /** Webhook ids recorded a batch at a time: one multi-row INSERT, and one commit, for the posts answered together. */
  private readonly recordedIds: EventCoalescer<string, void>;

  constructor(
    @Inject(PLUGIN_CONFIG) config: AppConfig,
    processed: ProcessedEvents,
    @Inject(CLOCK) clock: Clock,
    intake: PluginIntake,
    metrics: RuntimeMetrics,
  ) {
    this.webhook = new Webhook(config.HOOK_SECRET);
    this.handlers = loadHookHandlers();
    // The same intake as the in-process hooks: the ownership check, and closed when the plug-in is disabled.
    this.handle = intake.handle(config);
    this.intake = intake;
    const batches = { maxBatch: ID_BATCH_MAX, maxInFlight: ID_BATCHES_IN_FLIGHT, maxWaiting: config.INTAKE_MAX_BACKLOG };
    this.seenIds = new EventCoalescer({
      ...batches,
      run: async (ids: string[]) => {
        const seen = await processed.seen([...new Set(ids)]);
        return ids.map((id) => seen.has(id));
      },
    });
    this.recordedIds = new EventCoalescer({
      ...batches,
      run: async (ids: string[]) => {
        await processed.record([...new Set(ids)], clock.now());
        return ids.map(() => undefined);
      },
    });
    this.requests = new Counter({
      name: 'journeys_ingest_requests_total',
      help: 'Signed hook posts, by hook and outcome (accepted, duplicate, unauthorized, unknown_hook, invalid, busy, unavailable, error)',
      labelNames: ['hook', 'outcome'],
      registers: [metrics.registry],
    });
  }

  get hookNames(): string[] {
    return [...this.handlers.keys()];
  }

  async receive(hook: SignedHook): Promise<IngestResult> {
    const known = this.handlers.has(hook.hookName);
    const label = known ? hook.hookName : 'unknown';
    try {
      const result = await this.process(hook);
      this.requests.inc({ hook: label, outcome: result.Duplicate ? 'duplicate' : 'accepted' });
      return result;
    } catch (error) {
      const answer = unavailableIfDatabaseDown(error);
      this.requests.inc({ hook: label, outcome: answer === error ? outcomeOf(error) : 'unavailable' });
      throw answer;
    }
  }

  private async process({ hookName, headers, rawBody }: SignedHook): Promise<IngestResult> {
    if (!Buffer.isBuffer(rawBody)) {
      // Only when a parser ahead of the ingest consumed the body without keeping the bytes.
      throw new JourneysException(JourneysErrorCode.Internal, 'The raw request body is not available to verify the signature');
    }
    if (rawBody.length > INGEST_MAX_BYTES) {
      throw new JourneysException(JourneysErrorCode.PayloadTooLarge, `The hook payload is larger than ${INGEST_MAX_BYTES / 1024} KB`);
    }
    const webhookId = this.verify(headers, rawBody);

    const handler = this.handlers.get(hookName);
    if (!handler) throw new JourneysException(JourneysErrorCode.UnknownHook, `Unknown hook ${hookName}; the hooks are ${this.hookNames.join(', ')}`);

    // Backpressure: rather than hold the sender's request while thousands wait, ask it to come back (nothing was taken in).
    if (this.intake.saturated)
      throw JourneysException.unavailable('The plug-in is busy; send this hook again after Retry-After seconds', INGEST_RETRY_AFTER_SECONDS);

    const eventId = `${INGEST_ID_PREFIX}${webhookId}`;
    if (await this.seenIds.submit(eventId)) return { Hook: hookName, Duplicate: true };

    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw JourneysException.invalid(`The ${hookName} payload is not valid JSON`);
    }
    const result = await handler(payload, this.handle);
    await this.recordedIds.submit(eventId);
    return { Hook: hookName, Duplicate: false, Result: result };
  }

  /** Returns the webhook-id of a correctly signed, fresh request; 401 otherwise. */
  private verify(headers: SignedHook['headers'], rawBody: Buffer): string {
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const signed = {
      'webhook-id': header('webhook-id') ?? '',
      'webhook-timestamp': header('webhook-timestamp') ?? '',
      'webhook-signature': header('webhook-signature') ?? '',
    };
    try {
      this.webhook.verify(rawBody, signed, { jsonParse: false });
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      throw new JourneysException(JourneysErrorCode.Unauthorized, `The hook was not accepted: ${unauthorizedReason(error.message)}`);
    }
    const webhookId = signed['webhook-id'];
    if (webhookId.length > WEBHOOK_ID_MAX || !/^[\x21-\x7e]+$/.test(webhookId)) {
      throw JourneysException.invalid(`webhook-id must be at most ${WEBHOOK_ID_MAX} printable characters without spaces`);
    }
    return webhookId;
  }
}

function unauthorizedReason(message: string): string {
  switch (message) {
    case 'Missing required headers':
      return 'the webhook-id, webhook-timestamp and webhook-signature headers are required';
    case 'Message timestamp too old':
    case 'Message timestamp too new':
      return 'webhook-timestamp is more than 5 minutes away from now';
    case 'Invalid Signature Headers':
      return 'webhook-timestamp must be a Unix time in seconds';
    default:
      return 'the signature does not match';
  }
}

/** A database that does not answer (refused or lost connection, lock timeouts past the intake's retries): the sender should come back. */
function unavailableIfDatabaseDown(error: unknown): unknown {
  const code = transientDbErrorCode(error);
  if (code === null) return error;
  return JourneysException.unavailable(
    `The event could not be recorded now (database: ${code}); send this hook again after Retry-After seconds`,
    INGEST_DATABASE_RETRY_AFTER_SECONDS,
  );
}

function outcomeOf(error: unknown): string {
  if (!(error instanceof JourneysException)) return 'error';
  switch (error.code) {
    case JourneysErrorCode.Unauthorized:
      return 'unauthorized';
    case JourneysErrorCode.UnknownHook:
      return 'unknown_hook';
    case JourneysErrorCode.ValidationFailed:
    case JourneysErrorCode.PayloadTooLarge:
      return 'invalid';
    case JourneysErrorCode.Unavailable:
      return 'busy';
    default:
      return 'error';
  }
}
