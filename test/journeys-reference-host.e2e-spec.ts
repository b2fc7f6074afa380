/**
 * The journeys services inside the whole plug-in, loaded by the reference host
 * with the real runtime (Bull on Redis, workers, MariaDB): a journey created,
 * saved and enabled through JourneysService enrols a subscriber of the host,
 * the stats and the history follow the entry, a live edit exits it, and manual
 * enrolment goes through the runtime.
 */
import { JourneysErrorCode, JourneysException } from '../src/common/journeys.exception';
import { ACTION_REMOVED_REASON } from '../src/engine/step';
import type { Action } from '../src/engine/journey.types';
import { JourneyStatsService } from '../src/journeys/journey-stats.service';
import { JourneysService } from '../src/journeys/journeys.service';
import { startReferenceHost, type RefHost } from './support/reference-host';

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('journeys services in the reference host', () => {
  let host: RefHost;
  let journeys: JourneysService;
  let stats: JourneyStatsService;

  beforeAll(async () => {
    host = await startReferenceHost();
    journeys = host.app.get(JourneysService, { strict: false });
    stats = host.app.get(JourneyStatsService, { strict: false });
  });
  afterAll(async () => {
    await host?.stop();
  });

  const entriesOf = (journeyId: number) =>
    host.query<{ EntryID: number; State: string; CurrentActionID: string | null; ExitReason: string | null }>(
      `SELECT EntryID, State, CurrentActionID, ExitReason FROM \`${host.prefix}journeys_entries\` WHERE JourneyID = ? ORDER BY EntryID`,
      [journeyId],
    );

  it('enrols a new subscriber of the trigger list, counts and logs the run, and exits the entry when its Wait is removed', async () => {
    const { userA, lists, fields } = host.demo;
    const j = await journeys.create(userA.userId, { name: 'Welcome', trigger: { type: 'subscription', listIds: [lists.newsletter] } });
    const tree: Action[] = [
      { id: 'city', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'Welcomed' } },
      { id: 'nap', type: 'wait', settings: { amount: 3, unit: 'days' } },
      { id: 'bye', type: 'exit_this_journey', settings: {} },
    ];
    await journeys.saveActions(userA.userId, j.journeyId, tree, 1);
    await journeys.enable(userA.userId, j.journeyId);

    const { subscriberId } = await host.ports.subscriptions.subscribe(userA.userId, lists.newsletter, { emailAddress: 'zoe@example.com' });
    const [entry] = await eventually(
      () => entriesOf(j.journeyId),
      (rows) => rows[0]?.State === 'waiting',
    );
    expect(entry).toMatchObject({ State: 'waiting', CurrentActionID: 'nap' });
    expect(await host.subscriberRow({ listId: lists.newsletter, subscriberId })).toMatchObject({ [`CustomField${fields.city}`]: 'Welcomed' });

    const counts = await stats.actionCounts(userA.userId, j.journeyId);
    expect(counts.city).toEqual({ current: 0, passed: 1, failed: 0, retrying: 0, skipped: 0 });
    expect(counts.nap).toEqual({ current: 1, passed: 0, failed: 0, retrying: 0, skipped: 0 });
    expect(counts.bye).toEqual({ current: 0, passed: 0, failed: 0, retrying: 0, skipped: 0 });
    expect((await journeys.list(userA.userId)).find((s) => s.journeyId === j.journeyId)).toMatchObject({ activeCount: 1, totalCount: 1, status: 'Enabled' });

    const [history] = await stats.history(userA.userId, 'zoe@example.com');
    expect(history).toMatchObject({ listId: lists.newsletter, listName: 'Newsletter', subscriberId });
    expect(history.entries[0]).toMatchObject({ journeyName: 'Welcome', state: 'waiting', currentActionId: 'nap' });
    expect(history.entries[0].log.map((l) => [l.actionId, l.label])).toEqual(expect.arrayContaining([['city', 'Update Custom Field Value']]));
    expect(history.entries[0].log.find((l) => l.actionId === 'city')?.status).toBe('done');

    // A live edit that removes the Wait: the preview says one subscriber, the save exits them.
    const edited = [tree[0], tree[2]];
    expect(await journeys.previewActions(userA.userId, j.journeyId, edited)).toMatchObject({ violations: [], affected: 1, removedActionIds: ['nap'] });
    expect(await journeys.saveActions(userA.userId, j.journeyId, edited, 2)).toMatchObject({ version: 3, exitedEntries: 1 });
    expect(await entriesOf(j.journeyId)).toEqual([expect.objectContaining({ State: 'exited', ExitReason: ACTION_REMOVED_REASON })]);
    expect(await stats.entriesSummary(userA.userId, j.journeyId)).toMatchObject({ exited: 1, waiting: 0, total: 1 });
  });

  it('enrols subscribers by hand into an enabled manual journey through the runtime', async () => {
    const { userA, userB, lists, fields, subscribers } = host.demo;
    const j = await journeys.create(userA.userId, { name: 'By hand', trigger: { type: 'manual' } });
    await journeys.saveActions(userA.userId, j.journeyId, [
      { id: 'tag', type: 'update_custom_field', settings: { fieldId: fields.firstName, value: 'Picked' } },
    ]);

    const disabled = await journeys
      .enrolSubscribers(userA.userId, j.journeyId, [{ listId: lists.newsletter, subscriberId: subscribers.bob.subscriberId }])
      .catch((e) => e);
    expect(disabled).toBeInstanceOf(JourneysException);
    expect((disabled as JourneysException).code).toBe(JourneysErrorCode.Conflict);

    await journeys.enable(userA.userId, j.journeyId);
    const result = await journeys.enrolSubscribers(userA.userId, j.journeyId, [{ listId: lists.newsletter, subscriberId: subscribers.bob.subscriberId }]);
    expect(result).toMatchObject({ enrolled: 1 });
    const rows = await eventually(
      () => entriesOf(j.journeyId),
      (r) => r[0]?.State === 'completed',
    );
    expect(rows).toEqual([expect.objectContaining({ State: 'completed' })]);
    expect(await host.subscriberRow(subscribers.bob)).toMatchObject({ [`CustomField${fields.firstName}`]: 'Picked' });

    const foreign = await journeys
      .enrolSubscribers(userB.userId, j.journeyId, [{ listId: lists.leads, subscriberId: subscribers.frank.subscriberId }])
      .catch((e) => e);
    expect((foreign as JourneysException).code).toBe(JourneysErrorCode.NotFound);
  });

  it('refuses to enable a journey whose saved tree points at a list the owner no longer has', async () => {
    const { userA, lists } = host.demo;
    const j = await journeys.create(userA.userId, { name: 'Stale list', trigger: { type: 'manual' } });
    await journeys.saveActions(userA.userId, j.journeyId, [{ id: 'sub', type: 'subscribe', settings: { listId: lists.vip } }]);
    await host.sequelize.query(`UPDATE \`${host.tables.lists}\` SET RelOwnerUserID = ? WHERE ListID = ?`, {
      replacements: [host.demo.userB.userId, lists.vip],
    });
    try {
      const refused = (await journeys.enable(userA.userId, j.journeyId).catch((e: unknown) => e)) as JourneysException;
      expect(refused.code).toBe(JourneysErrorCode.InvalidActions);
      expect(refused.violations.map((v) => v.actionId)).toEqual(['sub']);
      expect((await journeys.get(userA.userId, j.journeyId)).status).toBe('Disabled');
    } finally {
      await host.sequelize.query(`UPDATE \`${host.tables.lists}\` SET RelOwnerUserID = ? WHERE ListID = ?`, { replacements: [userA.userId, lists.vip] });
    }
  });
});
