/**
 * The two feeds of the stream benchmark: how a step's events (subscriptions
 * or opens, bench/stream-events.ts) are handed in, and when each was handed
 * in and answered. `hookBusFeed`: the host's in-process hook bus
 * (host.hooks.fire), open loop in this process; `httpFeed`: the signed HTTP
 * ingest, posted by a feeder process of its own (bench/stream-feeder.ts).
 */
import type { ChildProcess } from 'child_process';
import { openLoop } from './bench-latency';
import type { ResourceMonitor } from './bench-resources';
import type { BenchHost } from './bench-support';
import { forkBenchScript, stopChildren } from './bench-workers';
import { streamPayload, type StreamEvents } from './stream-events';
import type { FeederMessage, FeedRun } from './stream-feeder';

/** How one step's events are handed in and when each was: in-process hook bus or the feeder process. */
export interface Feed {
  /** Starts sending; resolves when the last event is handed in. */
  send(rate: number, listId: number, n: number, tag: string): Promise<{ sendEnd: number; finished: Promise<Finished> }>;
  close(): Promise<void>;
}

export interface Finished {
  handIn: ArrayLike<number>;
  answered: ArrayLike<number>;
  errors: number;
  firstError?: string;
  maxLagMs: number;
}

export function hookBusFeed(host: BenchHost, events: StreamEvents): Feed {
  return {
    async send(rate, listId, n, tag) {
      const occurredAt = new Date().toISOString();
      const userId = host.demo.userA.userId;
      const payloads = Array.from({ length: n }, (_, i) => streamPayload(events, { userId, listId, subscriberId: i + 1, tag, occurredAt }));
      const loop = openLoop(rate, n, (i) => host.hooks.fire(events.hook, payloads[i]));
      const sendEnd = await loop.sendingDone;
      const finished = loop.allAnswered.then((): Finished => {
        const errors = loop.errors();
        return { handIn: loop.handIn, answered: loop.answered, maxLagMs: loop.maxLagMs(), errors: errors.count, firstError: errors.first };
      });
      return { sendEnd, finished };
    },
    close: async () => undefined,
  };
}

export async function httpFeed(host: BenchHost, events: StreamEvents, sockets: number, monitor: ResourceMonitor): Promise<Feed> {
  const child: ChildProcess = forkBenchScript('stream-feeder');
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`stream feeder exited with ${code} before it was ready`)));
  });
  if (child.pid !== undefined) monitor.watch('feeder process (load generator)', child.pid, { loadGenerator: true });
  return {
    send(rate, listId, n, tag) {
      const run: FeedRun = {
        type: 'run',
        baseUrl: host.baseUrl!,
        hookSecret: host.config.HOOK_SECRET,
        events,
        rate,
        userId: host.demo.userA.userId,
        listId,
        count: n,
        tag,
        sockets,
      };
      return new Promise((resolveSent) => {
        let resolveDone!: (f: Finished) => void;
        const finished = new Promise<Finished>((resolve) => (resolveDone = resolve));
        const onMessage = (msg: FeederMessage) => {
          if (msg.type === 'sent') resolveSent({ sendEnd: msg.at, finished });
          else if (msg.type === 'done') {
            child.off('message', onMessage);
            resolveDone({ handIn: msg.handIn, answered: msg.answered, errors: msg.errors, firstError: msg.firstError, maxLagMs: msg.maxLagMs });
          }
        };
        child.on('message', onMessage);
        child.send(run);
      });
    },
    close: () => stopChildren([child], monitor),
  };
}
