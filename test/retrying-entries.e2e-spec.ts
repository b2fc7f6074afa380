/**
 * Entries retrying an external action (a Webhook answering 5xx) are visible
 * and actionable like failed ones, through the reference host: the Failed and
 * retrying entries page lists them with the last error, "attempt N of 8" and
 * the next attempt in the owner's time zone, with Retry now and Skip (CSRF
 * forms); the planner card, the funnel figures and the API's journey.stats
 * count them; another user's entry answers 404 and stays as it was.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import request from 'supertest';
import type { Response } from 'supertest';
import { formatDate } from '../src/planner/helpers/format-date.helper';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { insertJourney, logOf, MovableClock, runtimeOf, setJourneyStatus, type EntryView } from './support/journey-fixtures';

/** Answers 410 Gone (a permanent failure) for carol's deliveries and 500 for everyone else's; records each delivery's webhook-id. */
class FailingReceiver {
  readonly sends = new Map<string, number>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        this.sends.set(id, (this.sends.get(id) ?? 0) + 1);
        const email = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { subscriber: { emailAddress: string } } }).data.subscriber.emailAddress;
        res.writeHead(email === 'carol@example.com' ? 410 : 500).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  /** Deliveries of every webhook-id, in the order of their counts. */
  counts(): number[] {
    return [...this.sends.values()].sort();
  }
}

describe('Entries retrying an external action: pages and API', () => {
  let host: RefHost;
  let A: number;
  let B: number;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));
  const receiver = new FailingReceiver();
  const csrfCookies = new Map<number, string>();
  let journeyId: number;
  let entry: { alice: number; bob: number; carol: number };
  /** A second journey of user A, with dave retrying in it. */
  let otherJourney: number;
  let daveEntry: number;

  beforeAll(async () => {
    await receiver.start();
    // ROLE web: no queue worker in this process; the test runs each entry's job itself.
    host = await startReferenceHost({ clock, env: { ROLE: 'web', WEBHOOK_ALLOW_PRIVATE: 'true' } });
    A = host.demo.userA.userId;
    B = host.demo.userB.userId;
    const { alice, bob, carol } = host.demo.subscribers;
    journeyId = await webhookJourney(A, 'Notify CRM');
    const ids = await enrolAndRun(A, journeyId, [alice, bob, carol]);
    entry = { alice: ids[0], bob: ids[1], carol: ids[2] };
  });
  afterAll(async () => {
    await host?.stop();
    await receiver.stop();
  });

  /** A manual journey: Webhook to the receiver, then (for user A) an Update Custom Field. */
  function webhookJourney(owner: number, name: string): Promise<number> {
    const after = { id: 'after', type: 'update_custom_field' as const, settings: { fieldId: host.demo.fields.city, value: 'notified' } };
    return insertJourney(host, {
      ownerUserId: owner,
      name,
      trigger: { type: 'manual' },
      actions: [{ id: 'hook', type: 'webhook', settings: { url: receiver.url, method: 'POST' } }, ...(owner === A ? [after] : [])],
    });
  }

  /** Enrols the subscribers and runs their first step: each makes its first webhook attempt. */
  async function enrolAndRun(owner: number, id: number, refs: { listId: number; subscriberId: number }[]): Promise<number[]> {
    const { scheduler, worker } = runtimeOf(host);
    const { entryIds } = await scheduler.enrolManually(owner, id, refs);
    await worker.run(entryIds);
    return entryIds;
  }

  async function entryRow(entryId: number): Promise<EntryView> {
    const [row] = await host.query<EntryView>(`SELECT * FROM \`${host.prefix}journeys_entries\` WHERE EntryID = ?`, [entryId]);
    return row;
  }

  function cookies(user: number): string {
    return [host.cookieFor(user), csrfCookies.get(user)].filter(Boolean).join('; ');
  }

  async function get(path: string, user = A): Promise<Response> {
    const res = await request(host.server).get(path).set('Cookie', cookies(user));
    const csrf = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('journeys_csrf='));
    if (csrf) csrfCookies.set(user, csrf.split(';')[0]);
    return res;
  }

  /** A form post with the CSRF token of the user's own Failed Entries page. */
  async function post(path: string, user = A, pageOf = journeyId): Promise<Response> {
    const page = await get(`/journeys/${pageOf}/failed`, user);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error('no CSRF field in the page');
    return request(host.server)
      .post(path)
      .set('Cookie', cookies(user))
      .type('form')
      .send(`_csrf=${encodeURIComponent(token)}`);
  }

  const api = (body: Record<string, unknown>, user = A) => request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(user)).send(body);

  /** The table row of one entry on the page. */
  function rowOf(html: string, entryId: number): string {
    const start = html.indexOf(`<tr data-entry="${entryId}"`);
    expect(start).toBeGreaterThan(-1);
    return html.slice(start, html.indexOf('</tr>', start));
  }

  it('lists a retrying entry with its last error, "attempt 1 of 8" and the next attempt in the owner’s time zone, beside a failed one', async () => {
    const alice = await entryRow(entry.alice);
    expect(alice).toMatchObject({ State: 'waiting', Attempts: 1, CurrentActionID: 'hook' });
    expect(alice.LastError).toBe('attempt 1 failed: HTTP 500');
    expect(await entryRow(entry.carol)).toMatchObject({ State: 'failed', LastError: 'HTTP 410' });

    const res = await get(`/journeys/${journeyId}/failed`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Failed and retrying entries');
    const row = rowOf(res.text, entry.alice);
    expect(row).toContain('alice@example.com');
    expect(row).toContain('attempt 1 failed: HTTP 500');
    expect(row).toContain('attempt 1 of 8');
    expect(row).toContain(formatDate(alice.WakeAt, host.demo.userA.timeZone));
    expect(row).toContain(`<time datetime="${new Date(alice.WakeAt!).toISOString()}"`);
    expect(row).toMatch(
      new RegExp(`<form method="post" action="/journeys/${journeyId}/entries/${entry.alice}/retry">\\s*<input type="hidden" name="_csrf" value="[^"]+">`),
    );
    expect(row).toContain('Retry now<span class="jr-sr"> (alice@example.com)</span></button>');
    expect(row).toContain(`action="/journeys/${journeyId}/entries/${entry.alice}/skip"`);
    expect(row).toContain('Skip<span class="jr-sr"> (alice@example.com)</span></button>');

    // The failed entry shows as before: its error, Retry and Skip, in the failed table (which comes first).
    const failed = rowOf(res.text, entry.carol);
    expect(failed).toContain('carol@example.com');
    expect(failed).toContain('HTTP 410');
    expect(failed).toContain(`action="/journeys/${journeyId}/entries/${entry.carol}/retry"`);
    expect(failed).not.toContain('of 8');
    expect(res.text.indexOf(`data-entry="${entry.carol}"`)).toBeLessThan(res.text.indexOf(`data-entry="${entry.alice}"`));
  });

  it('counts retrying entries on the planner card, in the funnel figures and in journey.stats', async () => {
    const planner = await get(`/journeys/${journeyId}/planner`);
    const card = planner.text.slice(planner.text.indexOf('id="action-hook"'), planner.text.indexOf('id="action-after"'));
    expect(card).toMatch(/<strong>3<\/strong> here now/);
    expect(card).toMatch(/<strong>2<\/strong> retrying/);
    expect(card).toMatch(/<strong>1<\/strong> failed/);

    const funnel = await get(`/journeys/${journeyId}/funnel`);
    expect(funnel.text).toMatch(/<strong>2<\/strong><span>Retrying<\/span>/);
    expect(funnel.text).toMatch(/<strong>0<\/strong><span>In progress<\/span>/);
    expect(funnel.text).toMatch(/<strong>1<\/strong><span>Failed<\/span>/);

    const stats = (await api({ Command: 'journey.stats', JourneyID: journeyId }).expect(200)).body.Stats;
    expect(stats.Entries).toEqual({ active: 0, waiting: 0, retrying: 2, completed: 0, exited: 0, failed: 1, converted: 0, total: 3 });
    expect(stats.ConversionRate).toBe(0);
    expect(stats.Actions.hook).toEqual({ current: 3, passed: 0, failed: 1, retrying: 2, skipped: 0 });
    const alice = await entryRow(entry.alice);
    expect(stats.FailedEntries.map((e: { EntryID: number; Status: string }) => [e.EntryID, e.Status])).toEqual([
      [entry.carol, 'failed'],
      ...[entry.alice, entry.bob].map(() => [expect.any(Number), 'retrying']),
    ]);
    expect(stats.FailedEntries.find((e: { EntryID: number }) => e.EntryID === entry.alice)).toEqual({
      EntryID: entry.alice,
      ListID: host.demo.subscribers.alice.listId,
      SubscriberID: host.demo.subscribers.alice.subscriberId,
      EmailAddress: 'alice@example.com',
      ActionID: 'hook',
      ActionLabel: expect.any(String),
      Status: 'retrying',
      LastError: 'attempt 1 failed: HTTP 500',
      Attempts: 1,
      MaxAttempts: 8,
      NextAttemptAt: new Date(alice.WakeAt!).toISOString(),
      UpdatedAt: expect.any(String),
    });
    expect(stats.FailedEntries[0]).toMatchObject({ Status: 'failed', LastError: 'HTTP 410', NextAttemptAt: null });
  });

  it('Retry now makes the next attempt at once, with the same webhook-id, without waiting for the backoff', async () => {
    expect(receiver.counts()).toEqual([1, 1, 1]);
    const res = await post(`/journeys/${journeyId}/entries/${entry.alice}/retry`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/journeys/${journeyId}/failed?done=retried`);
    expect((await entryRow(entry.alice)).WakeAt!.getTime()).toBe(clock.now().getTime());

    await runtimeOf(host).worker.run([entry.alice]); // the clock did not move: the backoff (15–30 s) is not waited for
    expect(receiver.counts()).toEqual([1, 1, 2]);
    expect(await entryRow(entry.alice)).toMatchObject({ State: 'waiting', Attempts: 2, LastError: 'attempt 2 failed: HTTP 500' });
    expect(rowOf((await get(`/journeys/${journeyId}/failed`)).text, entry.alice)).toContain('attempt 2 of 8');

    // The API's journey.entry.retry does the same.
    expect((await api({ Command: 'journey.entry.retry', EntryID: entry.alice }).expect(200)).body).toEqual({
      Success: true,
      EntryID: entry.alice,
      Retried: true,
    });
    await runtimeOf(host).worker.run([entry.alice]);
    expect(receiver.counts()).toEqual([1, 1, 3]);
  });

  it('Skip moves a retrying entry on after its action: the log shows the webhook skipped and the next action done', async () => {
    const res = await post(`/journeys/${journeyId}/entries/${entry.bob}/skip`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/journeys/${journeyId}/failed?done=skipped`);
    await runtimeOf(host).worker.run([entry.bob]);
    expect(await entryRow(entry.bob)).toMatchObject({ State: 'completed', LastError: null });
    expect((await logOf(host, entry.bob)).map((l) => [l.ActionID, l.Status])).toEqual([
      ['hook', 'skipped'],
      ['after', 'done'],
    ]);
    expect((await host.subscriberRow(host.demo.subscribers.bob))![`CustomField${host.demo.fields.city}`]).toBe('notified');
    const page = await get(`/journeys/${journeyId}/failed?done=skipped`);
    expect(page.text).not.toContain(`data-entry="${entry.bob}"`);

    // Over the API too: alice is skipped with journey.entry.skip.
    expect((await api({ Command: 'journey.entry.skip', EntryID: entry.alice }).expect(200)).body).toEqual({
      Success: true,
      EntryID: entry.alice,
      Skipped: true,
    });
    await runtimeOf(host).worker.run([entry.alice]);
    expect(await entryRow(entry.alice)).toMatchObject({ State: 'completed' });
    const stats = (await api({ Command: 'journey.stats', JourneyID: journeyId }).expect(200)).body.Stats;
    expect(stats.Entries).toMatchObject({ retrying: 0, completed: 2, failed: 1 });
  });

  it("answers 404 to retry and skip of another user's retrying entry (pages and API), and to an entry of another journey, changing nothing", async () => {
    const foreignJourney = await webhookJourney(B, 'B notifies');
    const [frank] = await enrolAndRun(B, foreignJourney, [host.demo.subscribers.frank]);
    const before = await entryRow(frank);
    expect(before).toMatchObject({ State: 'waiting', Attempts: 1 });
    const sends = receiver.counts();

    for (const command of ['retry', 'skip']) {
      expect((await post(`/journeys/${journeyId}/entries/${frank}/${command}`)).status).toBe(404);
      expect((await post(`/journeys/${foreignJourney}/entries/${frank}/${command}`)).status).toBe(404);
      const res = await api({ Command: `journey.entry.${command}`, EntryID: frank }).expect(404);
      expect(res.body.Errors[0].Code).toBe(1);
    }
    // B's own page lists it; A's journey page does not.
    expect(rowOf((await get(`/journeys/${foreignJourney}/failed`, B)).text, frank)).toContain('attempt 1 of 8');
    expect((await get(`/journeys/${journeyId}/failed`)).text).not.toContain(`data-entry="${frank}"`);

    // An entry of A's other journey is refused on this journey's routes.
    otherJourney = await webhookJourney(A, 'Another hook');
    [daveEntry] = await enrolAndRun(A, otherJourney, [host.demo.subscribers.dave]);
    expect((await post(`/journeys/${journeyId}/entries/${daveEntry}/retry`)).status).toBe(404);
    expect(await entryRow(daveEntry)).toMatchObject({ State: 'waiting', Attempts: 1 });

    await runtimeOf(host).worker.run([frank]);
    expect(await entryRow(frank)).toMatchObject({ State: 'waiting', Attempts: 1, WakeAt: before.WakeAt, StepSeq: before.StepSeq });
    expect(receiver.counts()).toEqual([...sends, 1].sort()); // dave's first attempt; none for frank
  });

  it('says when a journey has nothing retrying, and that retries wait while their journey is disabled', async () => {
    const empty = await get(`/journeys/${journeyId}/failed`);
    expect(empty.text).toContain('No entry is retrying an action.');
    expect(empty.text).toContain(`data-entry="${entry.carol}"`);

    await setJourneyStatus(host, otherJourney, 'Disabled');
    const paused = await get(`/journeys/${otherJourney}/failed`);
    expect(rowOf(paused.text, daveEntry)).toContain('attempt 1 of 8');
    expect(paused.text).toContain('The journey is disabled: these retries wait until you enable it again.');
    expect(paused.text).toContain('No failed entries.');
  });
});
