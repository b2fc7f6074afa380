/**
 * The signed-ingest feed of the stream benchmark, in a process of its own (as
 * a host posting its hooks would be): on each `run` message it posts the
 * run's events (`Subscriber.Subscribed` or `Email.Opened`) to
 * POST /journeys/hooks/<hook> at a fixed open-loop rate, each signed the
 * Standard Webhooks way with the host's HOOK_SECRET, over a keep-alive
 * agent. It answers `sent` once the last event is handed in and `done` with
 * every hand-in and answer time once all are answered. Forked by
 * stream.bench.ts; not run on its own.
 */
import * as http from 'http';
import { Webhook } from 'standardwebhooks';
import { openLoop } from './bench-latency';
import { streamPayload, type StreamEvents } from './stream-events';

export interface FeedRun {
  type: 'run';
  baseUrl: string;
  hookSecret: string;
  events: StreamEvents;
  rate: number;
  userId: number;
  listId: number;
  /** Subscribers 1…count of the list, one event each. */
  count: number;
  tag: string;
  sockets: number;
}

export type FeederMessage =
  | { type: 'ready' }
  | { type: 'sent'; at: number }
  | { type: 'done'; handIn: number[]; answered: number[]; errors: number; firstError?: string; maxLagMs: number };

const send = (message: FeederMessage) => process.send?.(message);

function post(agent: http.Agent, url: URL, webhook: Webhook, id: string, body: string): Promise<void> {
  const at = new Date();
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, at, body),
  };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if (res.statusCode === 200 && text.includes('"Duplicate":false')) resolve();
        else reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function run(msg: FeedRun): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: msg.sockets });
  const url = new URL(`/journeys/hooks/${msg.events.hook}`, msg.baseUrl);
  const webhook = new Webhook(msg.hookSecret);
  const { userId, listId, tag } = msg;
  const occurredAt = new Date().toISOString();
  const loop = openLoop(msg.rate, msg.count, (i) => {
    const payload = streamPayload(msg.events, { userId, listId, subscriberId: i + 1, tag, occurredAt });
    return post(agent, url, webhook, `msg_${payload.EventID}`, JSON.stringify(payload));
  });
  void loop.sendingDone.then((at) => send({ type: 'sent', at }));
  void loop.allAnswered.then(() => {
    agent.destroy();
    const { count, first } = loop.errors();
    send({ type: 'done', handIn: [...loop.handIn], answered: [...loop.answered], errors: count, firstError: first, maxLagMs: loop.maxLagMs() });
  });
}

process.on('message', (msg: FeedRun | { type: 'exit' }) => {
  if (msg.type === 'run') run(msg);
  else process.exit(0);
});
send({ type: 'ready' });
// The parent going away ends this process too.
process.on('disconnect', () => process.exit(0));
