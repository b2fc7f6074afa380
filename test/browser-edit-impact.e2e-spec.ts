/**
 * planner.js's question before saving a live journey, in a real headless
 * Chromium against the reference host: an action added after a Wait where two
 * subscribers wait is named with the two who will run it, in the server's words.
 */
import request from 'supertest';
import type { Browser, Page } from 'playwright-core';
import { addAction, logInAsDemoUser, openBrowser, waitFor } from './support/browser';
import { startReferenceHost, type RefHost } from './support/reference-host';

jest.setTimeout(120_000);

describe('Planner in a browser: the question before a live save names the new actions', () => {
  let host: RefHost;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let dialogs: string[];

  beforeAll(async () => {
    host = await startReferenceHost({ listen: true });
    ({ browser, page, pageErrors, dialogs } = await openBrowser());
  });

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
  });

  it('says how many subscribers will run an action added ahead of them, then saves', async () => {
    const A = host.demo.userA.userId;
    const api = (body: Record<string, unknown>) => request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(A)).send(body).expect(200);
    const journeyId = (await api({ Command: 'journey.create', Name: 'Waiting room', Trigger: { type: 'manual' } })).body.Journey.journeyId as number;
    await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [{ id: 'w1', type: 'wait', settings: { amount: 3, unit: 'days' } }] });
    await api({ Command: 'journey.enable', JourneyID: journeyId });
    const { alice, bob } = host.demo.subscribers;
    for (const s of [alice, bob]) await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, ListID: s.listId, SubscriberID: s.subscriberId });
    // Both reach the Wait (their first step runs on the workers).
    await waitFor(async () => {
      const [{ n }] = await host.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM \`${host.prefix}journeys_entries\` WHERE JourneyID = ? AND CurrentActionID = 'w1'`,
        [journeyId],
      );
      return Number(n) === 2;
    }, 15_000);

    const baseUrl = `${host.baseUrl}`; // set: the host listens
    await logInAsDemoUser(page, baseUrl);
    await page.goto(`${baseUrl}/journeys/${journeyId}/planner`);
    await addAction(page, 'after.w1', 'exit_all_other_journeys');
    dialogs.length = 0;
    await page.getByRole('button', { name: 'Save Journey Actions' }).last().click();
    await page.waitForURL(/done=actionsSaved/);

    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toContain('This journey is live. Saving affects 2 subscribers:\n- Exit All Other Journeys (new): 2 subscribers before it will run it.');
    const [row] = await host.query<{ Actions: string }>(`SELECT Actions FROM \`${host.prefix}journeys\` WHERE JourneyID = ?`, [journeyId]);
    expect(JSON.parse(row.Actions).map((a: { type: string }) => a.type)).toEqual(['wait', 'exit_all_other_journeys']);
    expect(pageErrors).toEqual([]);
  });
});
