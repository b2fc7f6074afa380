/**
 * Backpressure, not collapse: while the intake's backlog is at its bound
 * (INTAKE_MAX_BACKLOG), the signed ingest answers 503 with Retry-After and
 * takes nothing in, an in-process hook caller waits for room, and every event
 * that was answered for (or is waited on) is enrolled once the backlog drains.
 * The backlog is made to build by holding a table lock the intake needs.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { pluginTables } from '../src/database/tables';
import { TriggerIntakeService } from '../src/runtime/intake/trigger-intake.service';
import { insertJourney } from './support/journey-fixtures';
import { signedHookPost, startReferenceHost, subscribedPayload, type RefHost } from './support/reference-host';

describe('Intake backpressure', () => {
  let host: RefHost;
  let locker: Connection;

  beforeAll(async () => {
    host = await startReferenceHost({ env: { INTAKE_MAX_BACKLOG: '1' } });
    locker = await createConnection({ host: host.config.DB_HOST, port: host.config.DB_PORT, user: host.config.DB_USER, database: host.config.DB_NAME });
  });
  afterAll(async () => {
    await locker?.end();
    await host?.stop();
  });

  const subscribed = (s: { listId: number; subscriberId: number; emailAddress: string }) => JSON.stringify(subscribedPayload(host, s));
  const post = (body: string) => signedHookPost(host, 'Subscriber.Subscribed', body).then((res) => res);

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a full backlog answers the signed ingest 503 with Retry-After, holds in-process callers, and loses nothing', async () => {
    const { alice, bob, erin } = host.demo.subscribers;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: 'any' },
      actions: [{ id: 'w', type: 'wait', settings: { amount: 1, unit: 'days' } }],
    });
    const intake = host.app.get(TriggerIntakeService);
    const entries = pluginTables(host.prefix).entries;
    await locker.query(`LOCK TABLES \`${entries}\` WRITE`);
    let unlocked = false;
    try {
      // A batch in flight (blocked on the lock), then one event waiting: the bound (a second batch
      // would start only for a deeper backlog).
      const accepted = [post(subscribed(alice))];
      await until(() => intake.backlog === 1, 'a batch in flight');
      accepted.push(post(subscribed(bob)));
      await until(() => intake.saturated, 'a full backlog');

      const refused = await post(subscribed(erin));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.body).toEqual({ Success: false, Errors: [{ Code: 10, Message: expect.stringContaining('busy') }] });

      // In process, the caller is held until there is room, then enrolled.
      let held = false;
      const inProcess = host.hooks.fire('Subscriber.Subscribed', JSON.parse(subscribed(erin))).then(() => (held = true));
      await new Promise((r) => setTimeout(r, 200));
      expect(held).toBe(false);
      expect(intake.backlog).toBe(2);

      await locker.query('UNLOCK TABLES');
      unlocked = true;
      const answers = await Promise.all(accepted);
      expect(answers.map((a) => [a.status, a.body.Result])).toEqual(Array(2).fill([200, { enrolled: 1 }]));
      await inProcess;
      const rows = await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${entries}\` WHERE JourneyID = ? ORDER BY SubscriberID`, [journeyId]);
      expect(rows.map((r) => r.SubscriberID).sort((a, b) => a - b)).toEqual([alice, bob, erin].map((s) => s.subscriberId).sort((a, b) => a - b));
      expect(intake.backlog).toBe(0);
    } finally {
      if (!unlocked) await locker.query('UNLOCK TABLES');
    }
  });
});
