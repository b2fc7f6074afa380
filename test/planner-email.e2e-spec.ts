/**
 * Send Email, Wait for event, Random split and the journey goal through the
 * planner's plain HTML forms (no JavaScript), on the reference host with real
 * MariaDB and Redis: building and saving such a journey button by button,
 * the stored tree and the page it renders (branches side by side, per-branch
 * counts), the counts, conversion rate, funnel and history of its entries,
 * the goal on Create Journey, and every problem of a bad draft listed at
 * once. (The goal on Journey Information: planner-goal.e2e-spec.ts.)
 */
import { DEMO } from '../reference-host/seed';
import { cardOf, plannerClient, plannerFields, type FormFields } from './support/planner-client';
import { startReferenceHost, type RefHost } from './support/reference-host';

jest.setTimeout(60_000);

const { emails } = DEMO;

/** The ids of the cards of a page, in page order (not the templates planner.js adds from). */
const cardIds = (html: string) => [...html.matchAll(/<article [^>]*id="action-([^"]+)"/g)].map((m) => m[1]).filter((id) => id !== '__ID__');
/** The one card id of the page that is not among the known ones (the action a form post just added). */
function addedId(html: string, known: string[]): string {
  const fresh = cardIds(html).filter((id) => !known.includes(id));
  if (fresh.length !== 1) throw new Error(`expected one new card, found ${fresh.join(', ') || 'none'}`);
  return fresh[0];
}
/** The markup of one branch section, up to the next one. */
function branchOf(html: string, slot: string): string {
  const start = html.indexOf(`data-branch="${slot}"`);
  if (start === -1) throw new Error(`no branch ${slot} in the page`);
  const next = html.indexOf('<section class="jr-branch', start + 10);
  return html.slice(start, next === -1 ? undefined : next);
}
/** The value of the planner's tree field, parsed. */
const treeIn = (html: string) => JSON.parse(/name="tree" value="([^"]*)"/.exec(html)![1].replace(/&quot;/g, '"'));

describe('Planner: Send Email, Wait for event, Random split and the goal (no JavaScript)', () => {
  let host: RefHost;
  let client: ReturnType<typeof plannerClient>;
  let A: number;

  beforeAll(async () => {
    host = await startReferenceHost();
    client = plannerClient(host);
    A = host.demo.userA.userId;
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('building a journey with all three actions and a goal', () => {
    let journeyId: number;
    const ids = { send: '', wait: '', split: '', exit: '' };
    /** The settings fields of the draft as the page would post them back. */
    const settings = (): FormFields => ({
      [`a.${ids.send}.type`]: 'send_email',
      [`a.${ids.send}.emailId`]: String(emails.welcome),
      [`a.${ids.send}.whenUndeliverable`]: 'exit',
      [`a.${ids.wait}.type`]: 'wait_for_event',
      [`a.${ids.wait}.event`]: 'link_clicked',
      [`a.${ids.wait}.emailTarget`]: 'sentBy',
      [`a.${ids.wait}.sentBy`]: ids.send,
      [`a.${ids.wait}.linkMatch`]: 'pattern',
      [`a.${ids.wait}.link`]: 'https://example.com/*',
      [`a.${ids.wait}.amount`]: '2',
      [`a.${ids.wait}.unit`]: 'days',
      [`a.${ids.split}.type`]: 'random_split',
      [`a.${ids.split}.percent`]: ['70', '30'],
      [`a.${ids.exit}.type`]: 'exit_this_journey',
    });

    it('creates the journey with a conversion goal from the Create Journey form', async () => {
      const create = await client.get('/journeys/new');
      for (const type of ['none', 'conversion', 'link_clicked', 'custom_field']) expect(create.text).toContain(`name="goalType" value="${type}"`);
      expect(create.text).toMatch(/name="goalType" value="none" checked/);
      journeyId = await client.createJourney('Email journey', {
        triggerType: 'subscription',
        listIds: String(host.demo.lists.newsletter),
        goalType: 'conversion',
        goalEmailIds: 'any',
        goalMinValue: '10',
      });
      const [row] = (await client.journeyRows(A)).filter((r) => r.JourneyID === journeyId);
      expect(JSON.parse(row.Goal!)).toEqual({ type: 'conversion', emailIds: 'any', minValue: 10 });
      // Create Journey may leave the goal empty.
      const plain = await client.createJourney('No goal yet');
      expect((await client.journeyRows(A)).find((r) => r.JourneyID === plain)!.Goal).toBeNull();
    });

    it('adds Send Email, offering only the owner’s emails and what to do when it cannot be delivered', async () => {
      const page = await client.get(`/journeys/${journeyId}/planner`);
      for (const type of ['send_email', 'wait_for_event', 'random_split']) expect(page.text).toContain(`name="op" value="add:root:${type}"`);
      expect(page.text).toContain('The subscriber converts from any email worth at least 10');

      const res = await client.post(`/journeys/${journeyId}/planner`, plannerFields([], {}, { op: 'add:root:send_email', version: '1' }));
      expect(res.status).toBe(200);
      ids.send = addedId(res.text, []);
      const card = cardOf(res.text, ids.send);
      expect(card).toContain(`name="a.${ids.send}.emailId"`);
      expect(card).toContain(`<option value="${emails.welcome}" data-name="Welcome email">Welcome email (autoresponder Welcome`);
      expect(card).not.toContain(`<option value="${emails.leadsIntro}"`);
      expect(card).toContain(`name="a.${ids.send}.whenUndeliverable" value="skip" checked`);
      expect(card).toContain(`name="a.${ids.send}.whenUndeliverable" value="exit"`);
      expect(res.text).toContain(`data-slot="after.${ids.send}"`);
    });

    it('adds a Wait for event after it, waiting for the email that Send Email sent, with Yes and No and no slot after it', async () => {
      const res = await client.post(
        `/journeys/${journeyId}/planner`,
        plannerFields([{ id: ids.send }], settings(), { op: `add:after.${ids.send}:wait_for_event`, version: '1' }),
      );
      expect(res.status).toBe(200);
      ids.wait = addedId(res.text, [ids.send]);
      const card = cardOf(res.text, ids.wait);
      expect(card).toContain(`name="a.${ids.wait}.emailTarget" value="sentBy" checked`);
      expect(card).toContain(`<option value="${ids.send}" selected>Send Email “Welcome email”</option>`);
      expect(card).toContain(`name="a.${ids.wait}.amount" value="3"`);
      expect(res.text).toContain(`data-branch="yes.${ids.wait}"`);
      expect(res.text).toContain(`data-branch="no.${ids.wait}"`);
      expect(res.text).not.toContain(`data-slot="after.${ids.wait}"`);
      // The Send Email keeps what was chosen.
      expect(cardOf(res.text, ids.send)).toContain(`<option value="${emails.welcome}" data-name="Welcome email" selected>`);
    });

    it('adds a Random split in the Yes branch, adds and removes a path, and an action in Path B', async () => {
      const shape = () => [{ id: ids.send }, { id: ids.wait, yes: ids.split ? [{ id: ids.split, paths: [[], []] }] : [], no: [] }];
      let res = await client.post(
        `/journeys/${journeyId}/planner`,
        plannerFields(shape(), settings(), { op: `add:yes.${ids.wait}:random_split`, version: '1' }),
      );
      ids.split = addedId(res.text, [ids.send, ids.wait]);
      expect(branchOf(res.text, `yes.${ids.wait}`)).toContain(`id="action-${ids.split}"`);
      expect(cardOf(res.text, ids.split).match(/name="a\.[^"]+\.percent" value="50"/g)).toHaveLength(2);

      res = await client.post(`/journeys/${journeyId}/planner`, plannerFields(shape(), settings(), { op: `add-path:${ids.split}`, version: '1' }));
      expect([...cardOf(res.text, ids.split).matchAll(/\.percent" value="(\d+)"/g)].map((m) => m[1])).toEqual(['34', '33', '33']);
      expect(res.text).toContain(`data-branch="path3.${ids.split}"`);
      expect(treeIn(res.text)[1].yes[0].paths).toEqual([[], [], []]);

      res = await client.post(
        `/journeys/${journeyId}/planner`,
        plannerFields(
          [{ id: ids.send }, { id: ids.wait, yes: [{ id: ids.split, paths: [[], [], []] }], no: [] }],
          {
            ...settings(),
            [`a.${ids.split}.percent`]: ['34', '33', '33'],
          },
          { op: `remove-path:${ids.split}:2`, version: '1' },
        ),
      );
      expect(res.text).not.toContain(`data-branch="path3.${ids.split}"`);
      expect([...cardOf(res.text, ids.split).matchAll(/\.percent" value="(\d+)"/g)].map((m) => m[1])).toEqual(['50', '50']);

      res = await client.post(
        `/journeys/${journeyId}/planner`,
        plannerFields(shape(), settings(), { op: `add:path2.${ids.split}:exit_this_journey`, version: '1' }),
      );
      ids.exit = addedId(res.text, [ids.send, ids.wait, ids.split]);
      expect(branchOf(res.text, `path2.${ids.split}`)).toContain(`id="action-${ids.exit}"`);
      expect(branchOf(res.text, `path1.${ids.split}`)).not.toContain('<article');
    });

    it('saves the whole tree as the engine shapes it, and shows the branches side by side with their counts', async () => {
      const shape = [{ id: ids.send }, { id: ids.wait, yes: [{ id: ids.split, paths: [[], [{ id: ids.exit }]] }], no: [] }];
      const res = await client.post(`/journeys/${journeyId}/planner`, plannerFields(shape, settings(), { op: 'save', version: '1' }));
      expect(res.status).toBe(303);
      const [row] = (await client.journeyRows(A)).filter((r) => r.JourneyID === journeyId);
      expect(JSON.parse(row.Actions)).toEqual([
        { id: ids.send, type: 'send_email', settings: { emailId: emails.welcome, whenUndeliverable: 'exit' } },
        {
          id: ids.wait,
          type: 'wait_for_event',
          settings: {
            event: { type: 'link_clicked', emailIds: { sentBy: ids.send }, link: { match: 'pattern', value: 'https://example.com/*' } },
            timeout: { amount: 2, unit: 'days' },
          },
          yes: [
            { id: ids.split, type: 'random_split', settings: { percents: [70, 30] }, paths: [[], [{ id: ids.exit, type: 'exit_this_journey', settings: {} }]] },
          ],
          no: [],
        },
      ]);

      const page = await client.get(`/journeys/${journeyId}/planner`);
      expect(cardOf(page.text, ids.send)).toContain('Send “Welcome email” · if undeliverable: exit the journey');
      expect(cardOf(page.text, ids.wait)).toContain(
        'Yes when they click a link matching https://example.com/* in the email of Send Email “Welcome email”; No after 2 days',
      );
      expect(cardOf(page.text, ids.split)).toContain('A 70% · B 30%');
      // Both branches of each sit in one row of branches.
      expect(page.text).toMatch(new RegExp(`jr-branches--2" data-branches>\\s*<section class="jr-branch jr-branch--Yes" data-branch="yes\\.${ids.wait}"`));
      expect(page.text).toMatch(new RegExp(`jr-branches--2" data-branches>\\s*<section class="jr-branch jr-branch--Path" data-branch="path1\\.${ids.split}"`));
      expect(branchOf(page.text, `path1.${ids.split}`)).toContain('70%');
      for (const slot of [`yes.${ids.wait}`, `no.${ids.wait}`, `path1.${ids.split}`, `path2.${ids.split}`]) {
        expect(branchOf(page.text, slot)).toContain('data-branch-count="0"');
        expect(branchOf(page.text, slot)).toContain(`data-slot="${slot}"`);
      }
      expect(page.text).not.toContain(`data-slot="after.${ids.split}"`);
    });

    describe('with entries', () => {
      const entries = () => `${host.prefix}journeys_entries`;
      const log = () => `${host.prefix}journeys_log`;

      /** An entry of the journey, with its log rows: [ActionID, Status, Result, Detail]. */
      async function entry(
        subscriber: { listId: number; subscriberId: number },
        state: string,
        at: string,
        rows: [string, string, string | null, string | null][],
        exitReason: string | null = null,
      ): Promise<void> {
        const now = new Date();
        const live = ['active', 'waiting', 'failed'].includes(state);
        await host.sequelize.query(
          `INSERT INTO \`${entries()}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, ActiveLock, CurrentActionID, WakeAt, WaitingSince, ExitReason,
             JourneyVersion, ChainID, CreatedAt, UpdatedAt, EndedAt)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?)`,
          {
            replacements: [
              journeyId,
              A,
              subscriber.listId,
              subscriber.subscriberId,
              state,
              live ? 1 : null,
              at,
              state === 'waiting' ? new Date(now.getTime() + 86_400_000) : null,
              state === 'waiting' ? now : null,
              exitReason,
              `test-${subscriber.listId}-${subscriber.subscriberId}`,
              now,
              now,
              live ? null : now,
            ],
          },
        );
        const [{ EntryID }] = await host.query<{ EntryID: number }>(
          `SELECT EntryID FROM \`${entries()}\` WHERE JourneyID = ? AND ListID = ? AND SubscriberID = ?`,
          [journeyId, subscriber.listId, subscriber.subscriberId],
        );
        for (const [actionId, status, result, detail] of rows) {
          const type = { [ids.send]: 'send_email', [ids.wait]: 'wait_for_event', [ids.split]: 'random_split', [ids.exit]: 'exit_this_journey' }[actionId];
          await host.sequelize.query(
            `INSERT INTO \`${log()}\` (EntryID, JourneyID, ActionID, ActionType, Status, Result, Detail, CreatedAt, CompletedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            { replacements: [EntryID, journeyId, actionId, type, status, result, detail, now, now] },
          );
        }
      }

      beforeAll(async () => {
        const { alice, bob, carol, dave, aliceCustomer } = host.demo.subscribers;
        const sent = (n: number): [string, string, string, null] => [ids.send, 'done', `sent #outbox-${n}`, null];
        await entry(alice, 'completed', ids.split, [sent(1), [ids.wait, 'done', 'yes: clicked-1', null], [ids.split, 'done', 'path A', null]]);
        await entry(
          bob,
          'exited',
          ids.exit,
          [sent(2), [ids.wait, 'done', 'yes: clicked-2', null], [ids.split, 'done', 'path B', null], [ids.exit, 'done', null, null]],
          'Exit This Journey',
        );
        await entry(carol, 'completed', ids.wait, [
          [ids.send, 'skipped', 'skipped: not_subscribed', 'not subscribed: carol@example.com is not subscribed to list 1'],
          [ids.wait, 'done', 'no: timed out', null],
        ]);
        await entry(dave, 'waiting', ids.wait, [sent(3)]);
        await entry(aliceCustomer, 'converted', ids.wait, [sent(4)], 'Goal met: conversion of email 1 (value 25), event conv-9');
      });

      it('counts each branch taken on the cards, skipped sends apart, and a Wait for event passed once it resolved', async () => {
        const page = await client.get(`/journeys/${journeyId}/planner`);
        expect(cardOf(page.text, ids.send)).toMatch(/<strong>4<\/strong> passed.*<strong>1<\/strong> skipped/s);
        // One subscriber waits at the Wait for event; the three whose wait resolved have passed it.
        expect(cardOf(page.text, ids.wait)).toMatch(/<strong>1<\/strong> here now.*<strong>3<\/strong> passed/s);
        expect(branchOf(page.text, `yes.${ids.wait}`)).toContain('data-branch-count="2"');
        expect(branchOf(page.text, `no.${ids.wait}`)).toContain('data-branch-count="1"');
        expect(branchOf(page.text, `path1.${ids.split}`)).toContain('data-branch-count="1"');
        expect(branchOf(page.text, `path2.${ids.split}`)).toContain('<strong>1</strong> took this path');
      });

      it('shows the conversion rate on the journey list (converted entries are not active) and on the funnel', async () => {
        const list = await client.get('/journeys');
        const row = list.text.slice(list.text.indexOf(`data-journey="${journeyId}"`));
        const numbers = [...row.slice(0, row.indexOf('</tr>')).matchAll(/<td class="jr-num"[^>]*>(.*?)<\/td>/gs)].map((m) =>
          m[1].replace(/<[^>]+>/g, '').trim(),
        );
        expect(numbers).toEqual(['1', '5', '1 20%']);

        const funnel = await client.get(`/journeys/${journeyId}/funnel`);
        expect(funnel.text).toMatch(/<li class="jr-stat--converted" data-converted><strong>1<\/strong><span>Converted <em>\(20% of entries\)<\/em>/);
        expect(funnel.text).toMatch(/jr-funnel-row--converted">\s*<text[^>]*>Converted \(met the goal\)<\/text>/);
        expect(funnel.text).toContain('Path B › ');
        // Every entry reached the Wait for event, though it logs a row only when it resolves (Dave still waits, the converted one left while waiting).
        expect(funnel.text).toContain(
          'Entered the journey: 5; Send Email: 5; Wait for event: 5; Random split: 2; Exit This Journey: 1; Converted (met the goal): 1',
        );
      });

      it('shows in the history what each send did, and what met the goal', async () => {
        const carol = await client.get(`/journeys/${journeyId}/history?email=carol%40example.com`);
        expect(carol.text).toMatch(
          /jr-log--skipped">.*<strong>Send Email<\/strong> <span class="jr-log-status">skipped<\/span> <span class="jr-log-result">skipped: not_subscribed<\/span> <span class="jr-muted">not subscribed: carol@example.com is not subscribed to list 1<\/span>/,
        );
        expect(carol.text).toContain('no: timed out');
        const alice = await client.get(`/journeys/${journeyId}/history?email=alice%40example.com`);
        expect(alice.text).toContain('jr-state--converted">converted<');
        expect(alice.text).toContain('Goal met: conversion of email 1 (value 25), event conv-9');
        expect(alice.text).not.toContain('Exit: Goal met');
        expect(alice.text).toContain('sent #outbox-1');
        expect(alice.text).toContain('path A');
      });
    });
  });

  describe('every problem of a bad draft at once', () => {
    it('names percentages adding up to 110 and a Wait for event on a Send Email that is not there, keeps the draft and saves nothing', async () => {
      const id = await client.createJourney('Bad split');
      const res = await client.post(
        `/journeys/${id}/planner`,
        plannerFields(
          [{ id: 'w1', yes: [{ id: 'r1', paths: [[], []] }], no: [] }],
          {
            'a.w1.type': 'wait_for_event',
            'a.w1.event': 'email_opened',
            'a.w1.emailTarget': 'sentBy',
            'a.w1.sentBy': 'gone',
            'a.w1.amount': '1',
            'a.w1.unit': 'days',
            'a.r1.type': 'random_split',
            'a.r1.percent': ['60', '50'],
          },
          { op: 'save', version: '1' },
        ),
      );
      expect(res.status).toBe(422);
      expect(res.text).toContain('2 problems to fix before the actions can be saved:');
      expect(res.text).toContain('<a href="#action-r1">The percentages add up to 110; they must add up to 100</a>');
      expect(res.text).toContain('<a href="#action-w1">Wait for event: &quot;gone&quot; is not a Send Email action of this journey</a>');
      expect(cardOf(res.text, 'r1')).toContain('jr-violations');
      expect(cardOf(res.text, 'r1')).toContain('value="60"');
      expect(cardOf(res.text, 'w1')).toContain('<option value="gone" selected>“gone”: not a Send Email before this action</option>');
      expect(JSON.parse((await client.journeyRows(A)).find((r) => r.JourneyID === id)!.Actions)).toEqual([]);
    });
  });
});
