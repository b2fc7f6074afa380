/**
 * Subscribe, Unsubscribe and Send Email over the host's HTTP host API (see
 * host-api.protocol.ts and the README): the second way to reach a host, for
 * processes that do not run inside it. Custom field writes are not here: they
 * go straight to the host's MySQL schema in the step's own transaction.
 *
 * Every write carries an idempotency key. When the caller has none, the
 * adapter makes one per call, so that at least its own quick retries are
 * recognised by the host.
 *
 * Single calls throw PermanentHostError (the host refused the request) or
 * another Error (transient: the runtime retries later). Batch calls never
 * throw for the host's failures: each request gets its outcome, in order,
 * and a chunk that failed as a whole gives each of its requests that failure.
 */
import { createHash, randomUUID } from 'crypto';
import {
  PermanentHostError,
  type CausationContext,
  type EmailSenderPort,
  type HostCallOutcome,
  type SendEmailRequest,
  type SendEmailResult,
  type SubscribeRequest,
  type SubscriberRef,
  type SubscriptionCommandsPort,
  type UnsubscribeRequest,
} from '../host.ports';
import { HostApiUnavailableError, type HostApiClient } from './host-api.client';
import {
  HOST_API_BATCH_MAX,
  HOST_API_ENDPOINTS,
  IDEMPOTENCY_KEY_PATTERN,
  type HostApiEndpoint,
  type SendEmailCall,
  type SubscribeCall,
  type UnsubscribeCall,
} from './host-api.protocol';

type SubscribeResult = { subscriberId: number; alreadySubscribed: boolean };
type UnsubscribeResult = { wasSubscribed: boolean };
/** Reads one result of an endpoint's answer; throws HostApiUnavailableError when it is not what the protocol says. */
type Reader<T> = (answer: unknown) => T;

export type HttpSubscriptionCommands = Required<Pick<SubscriptionCommandsPort, 'subscribe' | 'unsubscribe' | 'subscribeMany' | 'unsubscribeMany'>>;

export class HttpHostAdapter implements HttpSubscriptionCommands, Required<EmailSenderPort> {
  constructor(private readonly client: HostApiClient) {}

  async subscribe(
    userId: number,
    listId: number,
    input: { emailAddress: string; customFields?: Record<number, string> },
    causation?: CausationContext,
    idempotencyKey?: string,
  ): Promise<SubscribeResult> {
    const call = subscribeCall({ listId, ...input, causation, idempotencyKey: keyOf(idempotencyKey) });
    return readSubscribed(await this.client.post(HOST_API_ENDPOINTS.subscribe, { UserID: userId, ...call }, call.IdempotencyKey));
  }

  async unsubscribe(userId: number, ref: SubscriberRef, causation?: CausationContext, idempotencyKey?: string): Promise<UnsubscribeResult> {
    const call = unsubscribeCall({ ref, causation, idempotencyKey: keyOf(idempotencyKey) });
    return readUnsubscribed(await this.client.post(HOST_API_ENDPOINTS.unsubscribe, { UserID: userId, ...call }, call.IdempotencyKey));
  }

  subscribeMany(userId: number, requests: SubscribeRequest[]): Promise<HostCallOutcome<SubscribeResult>[]> {
    return this.batch(HOST_API_ENDPOINTS.subscribeMany, requests, subscribeCall, (Requests) => ({ UserID: userId, Requests }), readSubscribed);
  }

  unsubscribeMany(userId: number, requests: UnsubscribeRequest[]): Promise<HostCallOutcome<UnsubscribeResult>[]> {
    return this.batch(HOST_API_ENDPOINTS.unsubscribeMany, requests, unsubscribeCall, (Requests) => ({ UserID: userId, Requests }), readUnsubscribed);
  }

  async send(request: SendEmailRequest): Promise<SendEmailResult> {
    const call = sendEmailCall(request);
    return readSendEmail(await this.client.post(HOST_API_ENDPOINTS.sendEmail, call, call.IdempotencyKey));
  }

  sendMany(requests: SendEmailRequest[]): Promise<HostCallOutcome<SendEmailResult>[]> {
    return this.batch(HOST_API_ENDPOINTS.sendEmailMany, requests, sendEmailCall, (Requests) => ({ Requests }), readSendEmail);
  }

  /**
   * One post per chunk of HOST_API_BATCH_MAX requests, one after the other.
   * A request whose call cannot be built (a bad idempotency key) fails alone
   * and is not sent.
   */
  private async batch<R, C extends { IdempotencyKey: string }, T>(
    endpoint: HostApiEndpoint,
    requests: R[],
    toCall: (request: R) => C,
    toBody: (calls: C[]) => object,
    read: Reader<T>,
  ): Promise<HostCallOutcome<T>[]> {
    const outcomes: HostCallOutcome<T>[] = new Array(requests.length);
    const calls: { index: number; call: C }[] = [];
    requests.forEach((request, index) => {
      try {
        calls.push({ index, call: toCall(request) });
      } catch (error) {
        outcomes[index] = failed(error);
      }
    });
    for (let start = 0; start < calls.length; start += HOST_API_BATCH_MAX) {
      const chunk = calls.slice(start, start + HOST_API_BATCH_MAX);
      const batchKey = `batch_${createHash('sha256')
        .update(chunk.map((c) => c.call.IdempotencyKey).join('\n'))
        .digest('hex')}`;
      let results: HostCallOutcome<T>[];
      try {
        results = readBatch(await this.client.post(endpoint, toBody(chunk.map((c) => c.call)), batchKey), chunk.length, read, endpoint);
      } catch (error) {
        results = chunk.map(() => failed(error));
      }
      chunk.forEach((c, i) => (outcomes[c.index] = results[i]));
    }
    return outcomes;
  }
}

function keyOf(idempotencyKey: string | undefined): string {
  const key = idempotencyKey ?? `journeys_${randomUUID()}`;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new PermanentHostError(`The idempotency key ${JSON.stringify(key)} must be 1 to 200 printable ASCII characters without spaces`);
  }
  return key;
}

function subscribeCall(r: Omit<SubscribeRequest, 'idempotencyKey'> & { idempotencyKey?: string }): SubscribeCall {
  return {
    ListID: r.listId,
    EmailAddress: r.emailAddress,
    CustomFields: r.customFields,
    Causation: r.causation,
    IdempotencyKey: keyOf(r.idempotencyKey),
  };
}

function unsubscribeCall(r: Omit<UnsubscribeRequest, 'idempotencyKey'> & { idempotencyKey?: string }): UnsubscribeCall {
  return { ListID: r.ref.listId, SubscriberID: r.ref.subscriberId, Causation: r.causation, IdempotencyKey: keyOf(r.idempotencyKey) };
}

function sendEmailCall(r: SendEmailRequest): SendEmailCall {
  return {
    UserID: r.userId,
    ListID: r.listId,
    SubscriberID: r.subscriberId,
    EmailID: r.emailId,
    JourneyID: r.journeyId,
    EntryID: r.entryId,
    IdempotencyKey: keyOf(r.idempotencyKey),
  };
}

function failed(error: unknown): { ok: false; permanent: boolean; error: string } {
  return { ok: false, permanent: error instanceof PermanentHostError, error: (error as Error).message };
}

function malformed(what: string, answer: unknown): HostApiUnavailableError {
  return new HostApiUnavailableError(`the host API answered ${what} with ${JSON.stringify(answer)?.slice(0, 200)}`);
}

function field(answer: unknown, name: string): unknown {
  return answer !== null && typeof answer === 'object' ? (answer as Record<string, unknown>)[name] : undefined;
}

function readSubscribed(answer: unknown): SubscribeResult {
  const subscriberId = field(answer, 'SubscriberID');
  const alreadySubscribed = field(answer, 'AlreadySubscribed');
  if (!Number.isSafeInteger(subscriberId) || (subscriberId as number) <= 0 || typeof alreadySubscribed !== 'boolean') {
    throw malformed('a subscribe without SubscriberID and AlreadySubscribed', answer);
  }
  return { subscriberId: subscriberId as number, alreadySubscribed };
}

function readUnsubscribed(answer: unknown): UnsubscribeResult {
  const wasSubscribed = field(answer, 'WasSubscribed');
  if (typeof wasSubscribed !== 'boolean') throw malformed('an unsubscribe without WasSubscribed', answer);
  return { wasSubscribed };
}

const UNDELIVERABLE_REASONS = new Set(['not_subscribed', 'bounced', 'suppressed']);

function readSendEmail(answer: unknown): SendEmailResult {
  const status = field(answer, 'Status');
  const messageId = field(answer, 'MessageID');
  const reason = field(answer, 'Reason');
  const message = field(answer, 'Message');
  if (status === 'sent' && typeof messageId === 'string' && messageId !== '') return { status, messageId };
  if (status === 'undeliverable' && typeof reason === 'string' && UNDELIVERABLE_REASONS.has(reason)) {
    return { status, reason: reason as 'not_subscribed' | 'bounced' | 'suppressed', message: typeof message === 'string' ? message : reason };
  }
  throw malformed('a send-email without Status "sent" and a MessageID, or "undeliverable" and a Reason', answer);
}

/** One outcome per request; a result the adapter cannot read fails that request only, as transient. */
function readBatch<T>(answer: unknown, count: number, read: Reader<T>, endpoint: HostApiEndpoint): HostCallOutcome<T>[] {
  const results = field(answer, 'Results');
  if (!Array.isArray(results) || results.length !== count) throw malformed(`${endpoint} for ${count} requests`, answer);
  return results.map((result: unknown): HostCallOutcome<T> => {
    try {
      const ok = field(result, 'Ok');
      if (ok === true) return { ok: true, ...read(result) };
      const permanent = field(result, 'Permanent');
      const error = field(result, 'Error');
      if (ok !== false || typeof permanent !== 'boolean' || typeof error !== 'string') throw malformed('a batch result without Ok', result);
      return { ok: false, permanent, error };
    } catch (error) {
      return failed(error);
    }
  });
}
