/**
 * Sends one Webhook action delivery: JSON, signed the Standard Webhooks way
 * with the journey's secret, time-limited, redirects not followed, and never
 * to a private, loopback, link-local or metadata address unless the
 * WEBHOOK_ALLOW_PRIVATE setting says so.
 *
 * The address check happens on every address the host name resolves to, and
 * the connection then goes to an address that passed (the lookup is pinned),
 * so a DNS answer cannot switch to an internal address between check and use.
 *
 * The sender makes one attempt and says what to do next; retries are
 * scheduled by the runtime as the entry's wake time, never by sleeping.
 * A 3xx answer is a permanent failure: following a redirect would bypass the
 * address check and the receiver configured is the one the user chose.
 */
import * as dns from 'dns';
import * as http from 'http';
import * as https from 'https';
import type { LookupFunction } from 'net';
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';

export interface WebhookRequest {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body: string;
  /** Stable delivery id: the `webhook-id` header, equal on every retry. */
  deliveryId: string;
  secret: string;
  timestamp: Date;
}

export type WebhookOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number }
  | { kind: 'permanent'; status?: number; error: string };

export interface WebhookSenderOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Replaceable for tests. */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

/**
 * Why an address may not be called, or null when it may. Only globally routable unicast addresses pass.
 *
 * An IPv6 form that carries an IPv4 address is judged by that IPv4 address, because a dual-stack
 * socket, a translator or a relay delivers the packets there: IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d` (deprecated, still tunnelled by some stacks), IPv4-translated
 * `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (what DNS64 answers on IPv6-only networks, so a
 * public one must pass) and 6to4 `2002:aabb:ccdd::/48`. Two forms are refused whatever they carry:
 * Teredo `2001::/32`, a NAT-traversal tunnel for client machines that no webhook receiver is reached
 * through, whose packets also go to a second IPv4 (its server's), so checking the client address alone
 * would not be enough; and local-use NAT64 `64:ff9b:1::/48`, whose prefix length, and so where
 * the IPv4 address sits, is the local network's choice and cannot be read from the address.
 */
export function refusedAddressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return `not an IP address: ${address}`;
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  if (parsed.kind() === 'ipv4') return range === 'unicast' ? null : `address ${address} is ${range}`;

  const ipv6 = parsed as ipaddr.IPv6;
  const bytes = ipv6.toByteArray();
  const ipv4At = (offset: number) => new ipaddr.IPv4(bytes.slice(offset, offset + 4));
  const within = (cidr: string) => ipv6.match(ipaddr.IPv6.parseCIDR(cidr));
  let embedded: { form: string; ipv4: ipaddr.IPv4 } | undefined;
  if (range === 'ipv4Mapped') embedded = { form: 'IPv4-mapped', ipv4: ipv4At(12) };
  else if (range === 'rfc6145') embedded = { form: 'IPv4-translated', ipv4: ipv4At(12) };
  else if (range === 'rfc6052' && within('64:ff9b::/96')) embedded = { form: 'NAT64', ipv4: ipv4At(12) };
  else if (range === 'rfc6052') return `address ${address} is local-use NAT64 (64:ff9b:1::/48), where the embedded IPv4 address cannot be located`;
  else if (range === '6to4') embedded = { form: '6to4', ipv4: ipv4At(2) };
  else if (range === 'teredo') return `address ${address} is teredo (a Teredo tunnel to IPv4 addresses it hides)`;
  else if (range === 'unicast' && within('::/96')) embedded = { form: 'IPv4-compatible', ipv4: ipv4At(12) };

  if (!embedded) return range === 'unicast' ? null : `address ${address} is ${range}`;
  const embeddedRange = embedded.ipv4.range();
  return embeddedRange === 'unicast' ? null : `address ${address} is ${embedded.form} and carries ${embedded.ipv4.toString()}, which is ${embeddedRange}`;
}

/** Standard Webhooks headers for a body. */
export function signatureHeaders(secret: string, deliveryId: string, timestamp: Date, body: string): Record<string, string> {
  return {
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(deliveryId, timestamp, body),
  };
}

/** Seconds or an HTTP date, as a delay from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** What an HTTP status means for the delivery. */
export function classifyStatus(status: number): 'delivered' | 'retry' | 'permanent' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 429 || status === 408 || status >= 500) return 'retry';
  return 'permanent';
}

const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);

/** Requests in flight to one destination at most; more wait their turn, and their time limit starts when they are sent. */
export const PER_DESTINATION_CONCURRENCY = 16;
/** Destinations whose keep-alive connections are kept at most; the least recently used is closed first. */
const MAX_DESTINATIONS = 500;

/** One receiver address: its keep-alive connections and the requests it may have in flight. */
class Destination {
  private active = 0;
  private readonly queued: (() => void)[] = [];

  constructor(readonly agent: http.Agent) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= PER_DESTINATION_CONCURRENCY) await new Promise<void>((resolve) => this.queued.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.queued.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export class WebhookSender {
  private readonly resolve: (hostname: string) => Promise<{ address: string; family: number }[]>;
  /** Keep-alive connections per (scheme, checked address, port, TLS name): a connection is only ever reused for the address it was checked for. */
  private readonly destinations = new Map<string, Destination>();

  constructor(private readonly options: WebhookSenderOptions) {
    this.resolve = options.resolve ?? ((hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true }));
  }

  /** Closes the kept connections (at shutdown). */
  onApplicationShutdown(): void {
    for (const destination of this.destinations.values()) destination.agent.destroy();
    this.destinations.clear();
  }

  private destination(url: URL, address: string, servername: string | undefined): Destination {
    const key = `${url.protocol}|${address}|${url.port}|${servername ?? ''}`;
    let destination = this.destinations.get(key);
    if (destination) {
      this.destinations.delete(key); // Map order: most recently used last
    } else {
      const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
      destination = new Destination(new Agent({ keepAlive: true, maxSockets: PER_DESTINATION_CONCURRENCY, maxFreeSockets: PER_DESTINATION_CONCURRENCY }));
      if (this.destinations.size >= MAX_DESTINATIONS) {
        const [oldest, stale] = this.destinations.entries().next().value as [string, Destination];
        stale.agent.destroy();
        this.destinations.delete(oldest);
      }
    }
    this.destinations.set(key, destination);
    return destination;
  }

  async send(request: WebhookRequest): Promise<WebhookOutcome> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return { kind: 'permanent', error: `invalid URL: ${request.url}` };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { kind: 'permanent', error: `unsupported scheme ${url.protocol}` };
    if (url.username || url.password) return { kind: 'permanent', error: 'credentials in the URL are not allowed' };

    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: { address: string; family: number }[];
    try {
      addresses = ipaddr.isValid(hostname) ? [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }] : await this.resolve(hostname);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A name that does not exist will not exist on retry either; a resolver hiccup might pass.
      return code === 'ENOTFOUND'
        ? { kind: 'permanent', error: `cannot resolve ${hostname}` }
        : { kind: 'retry', error: `DNS lookup of ${hostname} failed: ${code ?? (error as Error).message}` };
    }
    if (addresses.length === 0) return { kind: 'permanent', error: `cannot resolve ${hostname}` };
    if (!this.options.allowPrivate) {
      for (const { address } of addresses) {
        const reason = refusedAddressReason(address);
        if (reason)
          return {
            kind: 'permanent',
            error: `Refused webhook to ${hostname}: ${reason} (private, loopback, link-local and metadata addresses are not allowed)`,
          };
      }
    }

    let signed: Record<string, string>;
    try {
      signed = signatureHeaders(request.secret, request.deliveryId, request.timestamp, request.body);
    } catch (error) {
      return { kind: 'permanent', error: `cannot sign: ${(error as Error).message}` };
    }
    const headers: Record<string, string> = { 'user-agent': 'Journeys-Webhook/1.0' };
    for (const [name, value] of Object.entries(request.headers ?? {})) if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) headers[name] = value;
    const withBody = request.method !== 'GET';
    Object.assign(headers, signed);
    if (withBody) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(request.body)) });

    const pinned = addresses[0];
    const lookup: LookupFunction = (_host, opts, callback) => {
      if ((opts as dns.LookupAllOptions).all)
        (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, [{ address: pinned.address, family: pinned.family }]);
      else callback(null, pinned.address, pinned.family);
    };
    const transport = url.protocol === 'https:' ? https : http;
    for (const [name, value] of Object.entries(headers)) {
      try {
        http.validateHeaderName(name);
        http.validateHeaderValue(name, value);
      } catch {
        return { kind: 'permanent', error: `invalid header ${JSON.stringify(name)}` };
      }
    }
    const servername = ipaddr.isValid(hostname) ? undefined : hostname;
    const destination = this.destination(url, pinned.address, servername);
    return destination.run(
      () =>
        new Promise<WebhookOutcome>((resolve) => {
          let settled = false;
          const finish = (outcome: WebhookOutcome) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(outcome);
          };
          const req = transport.request(url, { method: request.method, headers, lookup, agent: destination.agent, servername }, (res) => {
            res.resume(); // drain and drop the answer body
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const verdict = classifyStatus(status);
              if (verdict === 'delivered') return finish({ kind: 'delivered', status });
              if (verdict === 'retry') {
                const retryAfter = res.headers['retry-after'];
                return finish({
                  kind: 'retry',
                  status,
                  error: `HTTP ${status}`,
                  retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, request.timestamp),
                });
              }
              const redirect = status >= 300 && status < 400 ? ` (redirect to ${res.headers.location ?? '?'} not followed)` : '';
              finish({ kind: 'permanent', status, error: `HTTP ${status}${redirect}` });
            });
            res.on('error', (error) => finish({ kind: 'retry', status: res.statusCode, error: `reading the answer failed: ${error.message}` }));
          });
          const timer = setTimeout(() => {
            req.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`));
          }, this.options.timeoutMs);
          req.on('error', (error) => finish({ kind: 'retry', error: `network error: ${error.message}` }));
          if (withBody) req.write(request.body);
          req.end();
        }),
    );
  }
}

/** Exponential backoff with full jitter: attempt 1 → about 30 s, doubling, capped at one hour; Retry-After wins when longer. */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const base = Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(base / 2 + random() * (base / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}
