/**
 * A journey that sends email and waits for people, planned in a real
 * headless Chromium with the page's scripts against the reference host and
 * the runtime's workers: a conversion goal on Create Journey, then Send Email
 * → Wait for event (an open of the email that Send Email sent) → Yes: Random
 * split 50/50 with a Wait in each path; saved, enabled, and then two people
 * subscribe, both are sent the email (the host's outbox), one opens it (Yes,
 * into a path) and converts (leaves as converted, goal met). The planner's
 * cards, branch counts, the funnel, the list and the history show it. Saves
 * the planner to test-artifacts/planner-email.png; with
 * UPDATE_DOCS_SCREENSHOT=1 also to docs/planner-email.png (the README's picture).
 */
import type { Browser, Page } from 'playwright-core';
import { referenceHostTables } from '../reference-host/schema';
import { DEMO } from '../reference-host/seed';
import { addAction, logInAsDemoUser, openBrowser, screenshot, see, waitFor, type DomElement } from './support/browser';
import { startReferenceHost, type RefHost } from './support/reference-host';

jest.setTimeout(120_000);

describe('A journey that sends email and waits for people, in a browser (headless Chromium, reference host)', () => {
  let host: RefHost;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    host = await startReferenceHost({ listen: true });
    ({ browser, page, pageErrors } = await openBrowser());
  });
  afterAll(async () => {
    await browser?.close();
    await host?.stop();
  });

  const url = (path: string) => `${host.baseUrl}${path}`;
  const card = (id: string) => page.locator(`article[data-action="${id}"]`);
  const counts = async (id: string) => (await card(id).locator('[data-counts]').first().innerText()).replace(/\s+/g, ' ').trim();
  const branchCount = async (slot: string) => Number(await page.locator(`[data-branch="${slot}"] > [data-branch-count]`).getAttribute('data-branch-count'));
  const post = (path: string, body: Record<string, unknown>) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** Two boxes sit side by side: same top, the second right of the first. */
  async function sideBySide(first: string, second: string): Promise<void> {
    const a = await page.locator(`[data-branch="${first}"]`).boundingBox();
    const b = await page.locator(`[data-branch="${second}"]`).boundingBox();
    expect(Math.abs(a!.y - b!.y)).toBeLessThan(2);
    expect(b!.x).toBeGreaterThan(a!.x + a!.width - 1);
  }

  it('plans, saves and enables it with the page’s script, then shows people going through it and converting', async () => {
    await logInAsDemoUser(page, url(''));
    await page.goto(url('/journeys/new'));
    await page.getByLabel('Journey name').fill('Welcome offer');
    await page.getByRole('checkbox', { name: 'Newsletter', exact: true }).check();
    // The goal's fields show for the chosen kind of goal only.
    await see(page.locator('[data-goal-group="conversion"]')).toBeHidden();
    await page.getByRole('radio', { name: /^A conversion/ }).check();
    await see(page.locator('[data-goal-group="conversion"]')).toBeVisible();
    await see(page.locator('[data-goal-group="link_clicked"]')).toBeHidden();
    await page.locator('#goal-min').fill('20');
    await page.getByRole('button', { name: 'Create Journey and Plan Actions' }).click();
    await page.waitForURL(/\/journeys\/\d+\/planner\?done=created/);
    const journeyId = Number(/journeys\/(\d+)\//.exec(page.url())![1]);
    await see(page.locator('[data-goal]')).toContainText('The subscriber converts from any email worth at least 20');

    // Send Email → Wait for event, which waits for the email of the Send Email before it.
    await addAction(page, 'root', 'send_email');
    const sendId = (await page.locator('article[data-type="send_email"]').getAttribute('data-action'))!;
    await card(sendId).getByLabel('Send', { exact: true }).selectOption(String(DEMO.emails.welcome));
    await addAction(page, `after.${sendId}`, 'wait_for_event');
    const waitId = (await page.locator('article[data-type="wait_for_event"]').getAttribute('data-action'))!;
    const wait = card(waitId);
    await see(wait.locator('[data-senders]')).toHaveValue(sendId);
    await see(wait.locator('[data-target-sent-by]')).toBeChecked();
    expect(await wait.locator('[data-senders] option').allInnerTexts()).toEqual(['Send Email “Welcome email”']);
    await see(wait.locator('[data-event-group="link_clicked"]')).toBeHidden();
    await wait.getByLabel('Yes when').selectOption('link_clicked');
    await see(wait.locator('[data-event-group="link_clicked"]')).toBeVisible();
    await wait.getByLabel('Yes when').selectOption('email_opened');
    await wait.getByLabel('No after').fill('1');

    // Yes: a Random split; a third path added and removed again in the page.
    await addAction(page, `yes.${waitId}`, 'random_split');
    const splitId = (await page.locator('article[data-type="random_split"]').getAttribute('data-action'))!;
    const split = card(splitId);
    const percents = () => split.locator('[data-split-percent]').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
    expect(await percents()).toEqual(['50', '50']);
    await split.getByRole('button', { name: '+ Add path' }).click();
    expect(await percents()).toEqual(['34', '33', '33']);
    await see(page.locator(`[data-branch="path3.${splitId}"]`)).toHaveCount(1);
    await split.getByRole('button', { name: 'Remove path C and its actions' }).click();
    expect(await percents()).toEqual(['50', '50']);
    await see(page.locator(`[data-branch="path3.${splitId}"]`)).toHaveCount(0);
    await split.locator('[data-split-percent]').first().fill('60');
    await see(split.locator('[data-split-total]')).toContainText('must be 100%');
    await split.locator('[data-split-percent]').first().fill('50');
    await see(split.locator('[data-split-total]')).toHaveText('Total: 100%');

    // A Wait in each path, so that subscribers stay in the journey where the goal can find them.
    await addAction(page, `path1.${splitId}`, 'wait');
    await addAction(page, `path2.${splitId}`, 'wait');
    await page.locator(`[data-branch="path2.${splitId}"] input[name$=".amount"]`).fill('2');

    await sideBySide(`yes.${waitId}`, `no.${waitId}`);
    await sideBySide(`path1.${splitId}`, `path2.${splitId}`);

    await page.getByRole('button', { name: 'Save Journey Actions' }).last().click();
    await page.waitForURL(/done=actionsSaved/);
    const [row] = await host.query<{ Actions: string; Goal: string }>(`SELECT Actions, Goal FROM \`${host.prefix}journeys\` WHERE JourneyID = ?`, [journeyId]);
    expect(JSON.parse(row.Goal)).toEqual({ type: 'conversion', emailIds: 'any', minValue: 20 });
    const saved = JSON.parse(row.Actions);
    expect(saved).toEqual([
      { id: sendId, type: 'send_email', settings: { emailId: DEMO.emails.welcome, whenUndeliverable: 'skip' } },
      {
        id: waitId,
        type: 'wait_for_event',
        settings: { event: { type: 'email_opened', emailIds: { sentBy: sendId } }, timeout: { amount: 1, unit: 'days' } },
        yes: [
          {
            id: splitId,
            type: 'random_split',
            settings: { percents: [50, 50] },
            paths: [
              [{ id: expect.any(String), type: 'wait', settings: { amount: 1, unit: 'days' } }],
              [{ id: expect.any(String), type: 'wait', settings: { amount: 2, unit: 'days' } }],
            ],
          },
        ],
        no: [],
      },
    ]);

    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.waitForURL(/done=enabled/);
    await see(page.locator('.jr-status').first()).toHaveText('Enabled');

    // Two people subscribe: the host sends each the email.
    for (const email of ['zoe@example.com', 'yusuf@example.org']) {
      expect((await post('/api/subscribers/subscribe', { ListID: DEMO.lists.newsletter, EmailAddress: email })).status).toBe(200);
    }
    const outbox = referenceHostTables(host.prefix).emailOutbox;
    const sentTo = () =>
      host.query<{ OutboxID: number; RelListID: number; RelSubscriberID: number; RelEmailID: number; EmailAddress: string }>(
        `SELECT OutboxID, RelListID, RelSubscriberID, RelEmailID, EmailAddress FROM \`${outbox}\` WHERE JourneyID = ? AND Status = 'sent' ORDER BY OutboxID`,
        [journeyId],
      );
    await waitFor(async () => (await sentTo()).length === 2, 30_000);
    await waitFor(async () => {
      await page.reload();
      return (await counts(sendId)).includes('2 passed') && (await counts(waitId)).includes('2 here now');
    }, 30_000);

    // Zoe opens it: Yes, into one of the paths.
    const zoe = (await sentTo()).find((r) => r.EmailAddress === 'zoe@example.com')!;
    const opened = await fetch(url(`/track/open/${zoe.RelListID}/${zoe.RelSubscriberID}/${zoe.RelEmailID}?MessageID=outbox-${zoe.OutboxID}`));
    expect(opened.status).toBe(200);
    await waitFor(async () => {
      await page.reload();
      return (await branchCount(`yes.${waitId}`)) === 1;
    }, 30_000);
    expect(await branchCount(`no.${waitId}`)).toBe(0);
    expect((await branchCount(`path1.${splitId}`)) + (await branchCount(`path2.${splitId}`))).toBe(1);
    expect(await counts(waitId)).toMatch(/^1 here now · 1 passed/);

    // Then converts: the goal takes her out of the journey, wherever she waits.
    const conversion = await post('/track/postback', { ListID: zoe.RelListID, SubscriberID: zoe.RelSubscriberID, EmailID: zoe.RelEmailID, Value: 30 });
    expect(conversion.status).toBe(200);
    const entries = `${host.prefix}journeys_entries`;
    await waitFor(
      async () =>
        (await host.query<{ State: string }>(`SELECT State FROM \`${entries}\` WHERE JourneyID = ? AND SubscriberID = ?`, [journeyId, zoe.RelSubscriberID]))[0]
          ?.State === 'converted',
      30_000,
    );

    await page.goto(url(`/journeys/${journeyId}/history?email=zoe%40example.com`));
    const history = page.locator('.jr-history-entry');
    await see(history.locator('.jr-state--converted')).toHaveCount(1);
    await see(history).toContainText('Goal met: conversion of email');
    await see(history).toContainText(`sent #outbox-${zoe.OutboxID}`);
    await see(history).toContainText('yes: opened-');

    await page.goto(url(`/journeys/${journeyId}/funnel`));
    await see(page.locator('[data-converted]')).toContainText('Converted (50% of entries)');
    await see(page.locator('.jr-funnel-row--converted')).toHaveCount(1);
    await screenshot(page, 'email-funnel');

    await page.goto(url('/journeys'));
    await see(page.locator(`tr[data-journey="${journeyId}"] [data-conversion]`)).toHaveText('1 50%');

    // The picture for the README: the planner with its counts (Yusuf still waits for his open).
    await page.goto(url(`/journeys/${journeyId}/planner`));
    expect(await counts(waitId)).toMatch(/^1 here now · 1 passed/);
    await page.setViewportSize({ width: 1360, height: 1100 });
    await page.locator('.jr-bar').evaluate((bar) => ((bar as unknown as DomElement).style.position = 'static'));
    await screenshot(page, 'planner-email', { docs: process.env.UPDATE_DOCS_SCREENSHOT === '1' });

    // A goal on a custom field offers the operators of that field's kind (without saving it here).
    await page.goto(url(`/journeys/${journeyId}/info`));
    await page.getByRole('radio', { name: /^A custom field value/ }).check();
    await see(page.locator('[data-goal-group="custom_field"]')).toBeVisible();
    await see(page.locator('[data-goal-group="conversion"]')).toBeHidden();
    await page.locator('#goal-field').selectOption({ label: 'Age' });
    const operators = await page.locator('#goal-operator option').allInnerTexts();
    expect(operators).toContain('is greater than');
    expect(operators).not.toContain('contains');
    await page.locator('#goal-operator').selectOption('is_set');
    await see(page.locator('#goal-value')).toBeHidden();

    expect(pageErrors).toEqual([]);
  });
});
