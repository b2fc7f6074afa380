/**
 * Two worker PROCESSES (src/worker.main.ts) consume the same queue
 * over 1,000 entries, with the same entries queued several times in different
 * batches so both processes race for them: every effect happens once (custom
 * field appends, log rows, webhook deliveries).
 */
import type { ChildProcess } from 'child_process';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { startWorkerProcess, stopWorkerProcess } from './support/worker-process';
import { eventually, fieldValueCounts, insertJourney, journeyTables, logCounts, runtimeOf, subscriptionEvents } from './support/journey-fixtures';
import { chunk, JOB_RUN_ENTRIES, runJobOptions } from '../src/runtime/queues';

const N = 1000;

describe('Two worker processes', () => {
  let host: RefHost;
  let workers: ChildProcess[] = [];
  let receiver: Server;
  let receiverUrl = '';
  const deliveries: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        deliveries.push(String(req.headers['webhook-id']));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // The test process itself takes no jobs: only the two worker processes do.
    host = await startReferenceHost({ env: { ROLE: 'web' } });
    workers = await Promise.all([1, 2].map(() => startWorkerProcess(host, { WORKER_CONCURRENCY: '4', WEBHOOK_ALLOW_PRIVATE: 'true' })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorkerProcess));
    await host?.stop();
    await new Promise((r) => receiver.close(r));
  });

  it('1,000 entries raced by two processes: each field append, log row and webhook happens once', async () => {
    const { lists, fields } = host.demo;
    const table = host.tables.subscribers(lists.vip);
    const rows = Array.from({ length: N }, (_, i) => `('w${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '', 'c')`);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP, CustomField${fields.city}) VALUES ${rows.join(',')}`,
    );
    const ids = (await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` ORDER BY SubscriberID`)).map((r) => r.SubscriberID);
    expect(ids).toHaveLength(N);

    const append = (id: string) => ({
      id,
      type: 'update_custom_field' as const,
      settings: { fieldId: fields.city, value: `%Subscriber:CustomField${fields.city}%x` },
    });
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [append('first'), { id: 'hook', type: 'webhook', settings: { url: receiverUrl, method: 'POST' } }, append('second')],
    });
    const { intake, queue } = runtimeOf(host);
    await eventually(async () => (await queue.getWorkers()).length >= 2, 20_000, 'both worker processes connected to the queue');

    const accepted = await intake.acceptMany(subscriptionEvents(host, lists.vip, ids, 'import'));
    expect(accepted.enrolled).toBe(N);
    // The same entries again, in other batches: jobs that race the enrolment jobs in both processes.
    const entryIds = (await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${journeyTables(host).entries}\` WHERE JourneyID = ?`, [journeyId])).map(
      (r) => r.EntryID,
    );
    const extra = [...chunk(entryIds, 50), ...chunk([...entryIds].reverse(), 70)].map((batch, i) => ({
      name: JOB_RUN_ENTRIES,
      data: { entryIds: batch },
      opts: runJobOptions(`race:${i}`),
    }));
    await queue.addBulk(extra);

    const t = journeyTables(host);
    await eventually(
      async () => {
        const [row] = await host.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${t.entries}\` WHERE JourneyID = ? AND State = 'completed'`, [journeyId]);
        return Number(row.n) === N;
      },
      90_000,
      'all entries completed',
    );

    expect(await fieldValueCounts(host, lists.vip, fields.city)).toEqual([['cxx', N]]);
    expect(await logCounts(host, journeyId)).toEqual([
      ['first', 'done', N],
      ['hook', 'done', N],
      ['second', 'done', N],
    ]);
    expect(deliveries).toHaveLength(N);
    expect(new Set(deliveries).size).toBe(N);
  }, 120_000);
});
