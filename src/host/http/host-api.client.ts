/**
 * The transport of the HTTP host adapter: signed JSON posts to the host API
 * over keep-alive connections (a bounded pool per process), each call held to
 * HOST_API_TIMEOUT_MS with its few quick retries included.
 *
 * A quick retry covers what passes in a moment: a keep-alive connection the
 * host closed as we reused it, a restart, a 5xx or 429. Anything longer is
 * the runtime's business: the call then fails as transient (a
 * HostApiUnavailableError, carrying the host's Retry-After) and the runtime
 * tries again later with the same idempotency key. A 4xx from the host API
 * fails as PermanentHostError with the host's message.
 */
import * as http from 'http';
import * as https from 'https';
import { Webhook } from 'standardwebhooks';
import { PermanentHostError } from '../host.ports';
import { HOST_API_BODY_MAX_BYTES, statusVerdict, type HostApiEndpoint } from './host-api.protocol';

export interface HostApiClientOptions {
  /** HOST_API_URL: the endpoints live under it. */
  baseUrl: string;
  /** HOST_API_SECRET. */
  secret: string;
  /** Time limit of one call, quick retries included. */
  timeoutMs: number;
  /** Attempts of one call at most. Default 3. */
  maxAttempts?: number;
  /** Connections to the host at most (per process). Default 16. */
  maxSockets?: number;
  /** Jitter source, replaceable in tests. */
  random?: () => number;
}

/** A transient failure of a host API call: the runtime retries later, not sooner than `retryAfterMs` when the host said so. */
export class HostApiUnavailableError extends Error {
  override readonly name = 'HostApiUnavailableError';

  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

type AttemptOutcome = { kind: 'ok'; body: unknown } | { kind: 'retry'; error: string; retryAfterMs?: number } | { kind: 'permanent'; error: string };

const USER_AGENT = 'Journeys-HostAPI/1.0';
/** An attempt needs at least this much of the call's time left to be worth making. */
const MIN_ATTEMPT_MS = 50;
/** Idle keep-alive connections are closed after this (or sooner when the host's Keep-Alive header says so). */
const IDLE_SOCKET_MS = 15_000;

export class HostApiClient {
  private readonly baseUrl: string;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly webhook: Webhook;
  private readonly maxAttempts: number;
  private readonly random: () => number;

  constructor(private readonly options: HostApiClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`HOST_API_URL must be an http(s) URL, got ${options.baseUrl}`);
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.transport = url.protocol === 'https:' ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16, maxFreeSockets: options.maxSockets ?? 16, timeout: IDLE_SOCKET_MS };
    this.agent = url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.webhook = new Webhook(options.secret);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.random = options.random ?? Math.random;
  }

  /**
   * Posts `body` to an endpoint, signed with `requestId` as webhook-id and
   * Idempotency-Key; answers the parsed JSON of the 2xx answer.
   */
  async post(endpoint: HostApiEndpoint, body: object, requestId: string): Promise<unknown> {
    const payload = JSON.stringify(body);
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(endpoint, payload, requestId, deadline - Date.now());
      if (outcome.kind === 'ok') return outcome.body;
      if (outcome.kind === 'permanent') throw new PermanentHostError(outcome.error);
      const wait = Math.max(this.backoffMs(attempt), outcome.retryAfterMs ?? 0);
      if (attempt >= this.maxAttempts || Date.now() + wait + MIN_ATTEMPT_MS > deadline) {
        const attempts = `${attempt} attempt${attempt === 1 ? '' : 's'}`;
        throw new HostApiUnavailableError(`host API ${endpoint}: ${outcome.error} (${attempts})`, outcome.retryAfterMs);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  /** About 100 ms, then 200 ms, …, with jitter so that many workers do not retry in step. */
  private backoffMs(attempt: number): number {
    const base = 100 * 2 ** (attempt - 1);
    return Math.round(base / 2 + this.random() * (base / 2));
  }

  private attempt(endpoint: HostApiEndpoint, payload: string, requestId: string, timeoutMs: number): Promise<AttemptOutcome> {
    const timestamp = new Date();
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      'user-agent': USER_AGENT,
      'idempotency-key': requestId,
      'webhook-id': requestId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.webhook.sign(requestId, timestamp, payload),
    };
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      let failure: string | null = null;
      const finish = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const abort = (reason: string) => {
        failure ??= reason;
        req.destroy(new Error(reason));
      };
      const req = this.transport.request(`${this.baseUrl}${endpoint}`, { method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > HOST_API_BODY_MAX_BYTES) abort(`the answer is larger than ${HOST_API_BODY_MAX_BYTES / 1024} KB`);
          else chunks.push(chunk);
        });
        res.on('end', () => finish(answerOutcome(endpoint, res, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', (error) => finish({ kind: 'retry', error: failure ?? `reading the answer failed: ${error.message}` }));
        res.on('close', () => finish({ kind: 'retry', error: failure ?? 'the answer was cut off' }));
      });
      const timer = setTimeout(() => abort(`no answer within ${timeoutMs} ms`), Math.max(1, timeoutMs));
      req.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'retry', error: failure ?? `request failed: ${error.code ?? error.message}` }));
      req.end(payload);
    });
  }
}

function answerOutcome(endpoint: HostApiEndpoint, res: http.IncomingMessage, text: string): AttemptOutcome {
  const status = res.statusCode ?? 0;
  let body: unknown;
  let isJson = true;
  try {
    body = JSON.parse(text);
  } catch {
    isJson = false;
  }
  const errors = isJson ? errorMessages(body) : null;
  const hostSays = errors ? `: ${errors}` : '';
  switch (statusVerdict(status, errors !== null)) {
    case 'ok':
      return isJson ? { kind: 'ok', body } : { kind: 'retry', error: `HTTP ${status} with a body that is not JSON` };
    case 'permanent':
      return { kind: 'permanent', error: errors ?? `HTTP ${status}: the host does not offer ${endpoint}` };
    case 'retry': {
      const hint =
        status === 401
          ? ' (the host refused the signature: check HOST_API_SECRET and the clocks)'
          : status >= 400 && status < 500 && !errors && ![408, 409, 425, 429].includes(status)
            ? ' (not an answer of the host API: check HOST_API_URL)'
            : '';
      return { kind: 'retry', error: `HTTP ${status}${hostSays}${hint}`, retryAfterMs: retryAfterMs(res.headers['retry-after']) };
    }
  }
}

/** The messages of an `{"Errors":[{"Code":n,"Message":"…"}]}` body, joined; null for any other body. */
function errorMessages(body: unknown): string | null {
  const errors = (body as { Errors?: unknown } | null)?.Errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  const messages = errors.map((e: { Message?: unknown } | null) => (typeof e?.Message === 'string' ? e.Message : null));
  return messages.every((m) => m !== null) ? messages.join('; ') : null;
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | undefined): number | undefined {
  const value = header?.trim() ?? '';
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = value === '' ? NaN : Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
