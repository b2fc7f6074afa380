/**
 * kill -9 of a worker process in the middle of a batch: its open transaction
 * is rolled back by the database, its leased external actions stay claimed
 * until their lease runs out, then another worker takes them over. Nothing is
 * lost and no instant action runs twice; a webhook in flight at the crash may
 * be delivered again (at least once, with the same webhook-id).
 */
import type { ChildProcess } from 'child_process';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { startWorkerProcess } from './support/worker-process';
import {
  eventually,
  fieldValueCounts,
  insertJourney,
  journeyTables,
  logCounts,
  MINUTE,
  MovableClock,
  runtimeOf,
  subscriptionEvents,
} from './support/journey-fixtures';
import { PER_DESTINATION_CONCURRENCY } from '../src/runtime/webhook-sender';

/** What a worker may have sent but not recorded: the chunks in flight (8 of 64, capped by 16 requests to one destination at a time, plus the one that was recording). */
const CHUNK_BOUND = 64 + PER_DESTINATION_CONCURRENCY;

const N = 300;

describe('A worker killed mid-batch (kill -9)', () => {
  let host: RefHost;
  let worker: ChildProcess;
  let receiver: Server;
  let receiverUrl = '';
  const deliveries: string[] = [];
  // The test's own clock starts at the real time; moving it on lets this process see the dead worker's leases as run out.
  const clock = new MovableClock(new Date());

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        deliveries.push(String(req.headers['webhook-id']));
        setTimeout(() => res.writeHead(204).end(), 30); // slow enough that deliveries are in flight when the worker dies
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    host = await startReferenceHost({ clock, env: { ROLE: 'web', WEBHOOK_ALLOW_PRIVATE: 'true' } });
    worker = await startWorkerProcess(host, { WORKER_CONCURRENCY: '4', WEBHOOK_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'silent' });
  }, 60_000);

  afterAll(async () => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await host?.stop();
    await new Promise((r) => receiver.close(r));
  });

  it('loses nothing and runs no instant action twice; in-flight webhooks are sent again under the same id', async () => {
    const { lists, fields } = host.demo;
    const table = host.tables.subscribers(lists.vip);
    const rows = Array.from({ length: N }, (_, i) => `('k${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '', 'c')`);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP, CustomField${fields.city}) VALUES ${rows.join(',')}`,
    );
    const ids = (await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` ORDER BY SubscriberID`)).map((r) => r.SubscriberID);
    const append = (id: string, letter: string) => ({
      id,
      type: 'update_custom_field' as const,
      settings: { fieldId: fields.city, value: `%Subscriber:CustomField${fields.city}%${letter}` },
    });
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [append('first', 'x'), { id: 'hook', type: 'webhook', settings: { url: receiverUrl, method: 'POST' } }, append('second', 'y')],
    });
    const { intake, queue, sweeper } = runtimeOf(host);
    await eventually(async () => (await queue.getWorkers()).length >= 1, 20_000, 'the worker process connected to the queue');
    expect((await intake.acceptMany(subscriptionEvents(host, lists.vip, ids, 'crash'))).enrolled).toBe(N);

    await eventually(async () => deliveries.length >= 40, 30_000, 'the worker delivering webhooks');
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    const atCrash = deliveries.length;
    expect(atCrash).toBeLessThan(N); // it died mid-batch

    // Recovery, as a surviving worker does it: the sweeper finds the stalled entries, their leases have run out.
    clock.advance(5 * MINUTE);
    await sweeper.sweep();
    const t = journeyTables(host);
    const entryIds = (await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ?`, [journeyId])).map((r) => r.EntryID);
    await eventually(
      async () => {
        await runtimeOf(host).worker.run(entryIds);
        const [row] = await host.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${t.entries}\` WHERE JourneyID = ? AND State = 'completed'`, [journeyId]);
        return Number(row.n) === N;
      },
      60_000,
      'every entry completed after the crash',
    );

    expect(await fieldValueCounts(host, lists.vip, fields.city)).toEqual([['cxy', N]]);
    expect(await logCounts(host, journeyId)).toEqual([
      ['first', 'done', N],
      ['hook', 'done', N],
      ['second', 'done', N],
    ]);
    expect(new Set(deliveries).size).toBe(N); // every webhook delivered
    // Sent again: only deliveries the dead worker had made but not recorded, each under its own webhook-id.
    const before = new Set(deliveries.slice(0, atCrash));
    const repeats = deliveries.slice(atCrash).filter((id) => before.has(id));
    expect(deliveries.length - N).toBe(repeats.length);
    expect(repeats.length).toBeLessThanOrEqual(CHUNK_BOUND);
  }, 120_000);
});
