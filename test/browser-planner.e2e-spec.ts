/**
 * The planner in a real headless Chromium against the reference host listening
 * on a port, with the runtime's workers: log in, create a journey triggered by
 * subscription to Newsletter, plan Update Custom Field → Wait → Yes/No with a
 * Webhook on Yes (all with the page's script), save, enable, subscribe someone
 * through the host's subscribe API, and watch the per-action counts, the
 * webhook and the subscriber's history. Saves a screenshot of the planner to
 * test-artifacts/planner.png; with UPDATE_DOCS_SCREENSHOT=1 also to
 * docs/planner.png (the README's picture), so a test run leaves the tree clean.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import type { Browser, Page } from 'playwright-core';
import { addAction as addActionIn, logInAsDemoUser, openBrowser, screenshot, see, waitFor, type DomElement } from './support/browser';
import { startReferenceHost, type RefHost } from './support/reference-host';

jest.setTimeout(120_000);

describe('Planner in a browser (headless Chromium, reference host)', () => {
  let host: RefHost;
  let browser: Browser;
  let page: Page;
  let receiver: Server;
  let receiverUrl: string;
  const received: { headers: Record<string, unknown>; body: string }[] = [];
  let pageErrors: string[];
  let dialogs: string[];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/journey-hook`;
    host = await startReferenceHost({ listen: true, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    ({ browser, page, pageErrors, dialogs } = await openBrowser());
  });

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const url = (path: string) => `${host.baseUrl}${path}`;

  /** A full-page screenshot of the current page in test-artifacts/ (gitignored), for a human look. */
  const shoot = (name: string) => screenshot(page, name);

  /** Opens the "Add action" menu of a slot and picks an action type. */
  const addAction = (slot: string, type: string) => addActionIn(page, slot, type);

  /** The card of the only action of this type. */
  const card = (type: string) => page.locator(`article[data-type="${type}"]`);

  async function countsOf(type: string): Promise<string> {
    return (await card(type).locator('[data-counts]').first().innerText()).replace(/\s+/g, ' ').trim();
  }

  it('plans, saves and enables a journey, then shows it working', async () => {
    // Log in through the host.
    await logInAsDemoUser(page, url(''));
    await page.goto(url('/journeys'));
    await page.getByRole('link', { name: 'Create Journey' }).click();

    // Create Journey: the script shows only the chosen trigger's fields.
    await page.getByLabel('Journey name').fill('Welcome journey');
    await page.getByRole('radio', { name: /Email opened/ }).check();
    await see(page.locator('[data-trigger-group="subscription unsubscription"]')).toBeHidden();
    await see(page.locator('[data-trigger-group="email_opened link_clicked conversion"]')).toBeVisible();
    await page.getByRole('radio', { name: /^Subscription/ }).check();
    await see(page.locator('[data-trigger-group="email_opened link_clicked conversion"]')).toBeHidden();
    await page.getByRole('checkbox', { name: 'Newsletter', exact: true }).check();
    await shoot('create');
    await page.getByRole('button', { name: 'Create Journey and Plan Actions' }).click();
    await page.waitForURL(/\/journeys\/\d+\/planner\?done=created/);
    const journeyId = Number(/journeys\/(\d+)\//.exec(page.url())![1]);
    expect(await page.locator('.jr-start').innerText()).toContain('When someone subscribes to Newsletter');

    // Update Custom Field Value → Wait → Yes/No, with a Webhook on Yes.
    await addAction('root', 'update_custom_field');
    await card('update_custom_field').getByLabel('Set').selectOption({ label: 'City' });
    await card('update_custom_field').getByLabel('to', { exact: true }).fill('Istanbul');
    const fieldId = await card('update_custom_field').getAttribute('data-action');

    await addAction(`after.${fieldId}`, 'wait');
    await card('wait').getByLabel('Wait', { exact: true }).fill('2');
    await card('wait').getByLabel('Unit').selectOption('seconds');
    const waitId = await card('wait').getAttribute('data-action');

    await addAction(`after.${waitId}`, 'condition');
    const condition = card('condition');
    const conditionId = await condition.getAttribute('data-action');
    await condition.getByLabel('Attribute').selectOption({ label: 'Email address' });
    await condition.getByLabel('Operator').selectOption({ label: 'ends with' });
    await condition.getByLabel('Value').fill('@example.com');
    // The operator list follows the attribute: a number field offers numeric operators.
    await condition.getByLabel('Attribute').selectOption({ label: 'Field: Age' });
    expect(await condition.getByLabel('Operator').locator('option').allInnerTexts()).toContain('is greater than');
    expect(await condition.getByLabel('Operator').locator('option').allInnerTexts()).not.toContain('contains');
    await condition.getByLabel('Attribute').selectOption({ label: 'Email address' });
    await condition.getByLabel('Operator').selectOption({ label: 'ends with' });

    await addAction(`yes.${conditionId}`, 'webhook');
    await card('webhook').getByLabel('URL').fill(receiverUrl);
    // Move / remove in the page: a throw-away Exit This Journey on No, moved and removed.
    await addAction(`no.${conditionId}`, 'exit_this_journey');
    await card('exit_this_journey')
      .getByRole('button', { name: /Remove Exit This Journey/ })
      .click();
    await see(card('exit_this_journey')).toHaveCount(0);

    // The Yes/No shows its branches side by side.
    const yesBox = await page.locator(`[data-branch="yes.${conditionId}"]`).boundingBox();
    const noBox = await page.locator(`[data-branch="no.${conditionId}"]`).boundingBox();
    expect(Math.abs(yesBox!.y - noBox!.y)).toBeLessThan(2);
    expect(noBox!.x).toBeGreaterThan(yesBox!.x + yesBox!.width - 1);

    await page.getByRole('button', { name: 'Save Journey Actions' }).last().click();
    await page.waitForURL(/done=actionsSaved/);
    await see(page.locator('.jr-alert--success')).toContainText('The journey actions were saved.');
    const [row] = await host.query<{ Actions: string }>(`SELECT Actions FROM \`${host.prefix}journeys\` WHERE JourneyID = ?`, [journeyId]);
    const saved = JSON.parse(row.Actions);
    expect(saved.map((a: { type: string }) => a.type)).toEqual(['update_custom_field', 'wait', 'condition']);
    expect(saved[2].yes.map((a: { type: string }) => a.type)).toEqual(['webhook']);
    expect(saved[2].no).toEqual([]);

    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.waitForURL(/done=enabled/);
    await see(page.locator('.jr-status').first()).toHaveText('Enabled');

    // Someone subscribes through the host's subscribe API.
    const subscribed = await fetch(url('/api/subscribers/subscribe'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ListID: host.demo.lists.newsletter, EmailAddress: 'zoe@example.com' }),
    });
    expect(subscribed.status).toBe(200);

    // The planner's counts follow: the field update passed, then the wait, the condition and the webhook.
    await waitFor(async () => {
      await page.reload();
      return (await countsOf('webhook')).includes('1 passed');
    }, 30_000);
    expect(await countsOf('update_custom_field')).toContain('1 passed');
    expect(await countsOf('wait')).toContain('1 passed');
    expect(await countsOf('condition')).toContain('1 passed');
    expect(received).toHaveLength(1);
    expect(received[0].headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(received[0].body)).toMatchObject({
      type: 'journey.webhook',
      data: { subscriber: { emailAddress: 'zoe@example.com', customFields: { City: 'Istanbul' } }, journey: { name: 'Welcome journey' } },
    });
    const sub = await host.query<{ SubscriberID: number }>(
      `SELECT SubscriberID FROM \`${host.tables.subscribers(host.demo.lists.newsletter)}\` WHERE EmailAddress = 'zoe@example.com'`,
    );
    const subscriberRow = await host.subscriberRow({ listId: host.demo.lists.newsletter, subscriberId: sub[0].SubscriberID });
    expect(subscriberRow?.[`CustomField${host.demo.fields.city}`]).toBe('Istanbul');

    // The subscriber's history, searched by email address.
    await page.getByRole('link', { name: 'Subscriber History' }).click();
    await page.getByLabel('Email address').fill('zoe@example.com');
    await page.getByRole('button', { name: 'Show history' }).click();
    const history = page.locator('.jr-history-entry');
    await see(history).toHaveCount(1);
    await see(history).toContainText('Welcome journey');
    await see(history.locator('.jr-log')).toHaveCount(4);
    await see(history.locator('.jr-state--completed')).toHaveCount(1);
    await shoot('history');

    // The journey list shows the totals.
    await page.getByRole('link', { name: 'Journeys', exact: true }).first().click();
    const listRow = page.locator(`tr[data-journey="${journeyId}"]`);
    await see(listRow).toContainText('When someone subscribes to Newsletter');
    await see(listRow.locator('td.jr-num').nth(1)).toHaveText('1');
    await shoot('list');

    // The funnel.
    await page.goto(url(`/journeys/${journeyId}/funnel`));
    await see(page.locator('svg .jr-funnel-bar')).toHaveCount(5);
    await shoot('funnel');

    // Editing the live journey: the script asks how many subscribers the save affects, then saves.
    await page.goto(url(`/journeys/${journeyId}/planner`));
    await card('wait').getByLabel('Wait', { exact: true }).fill('3');
    dialogs.length = 0;
    await page.getByRole('button', { name: 'Save Journey Actions' }).last().click();
    await page.waitForURL(/done=actionsSaved/);
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toContain('This journey is live.');
    expect(dialogs[0]).toContain('Saving affects 0 subscribers');
    const [edited] = await host.query<{ Actions: string; Version: number }>(`SELECT Actions, Version FROM \`${host.prefix}journeys\` WHERE JourneyID = ?`, [
      journeyId,
    ]);
    expect(JSON.parse(edited.Actions)[1].settings.amount).toBe(3);

    // The picture for the README: the planner with its counts, taken while a
    // second subscriber (who will take the No branch) sits at the Wait.
    await fetch(url('/api/subscribers/subscribe'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ListID: host.demo.lists.newsletter, EmailAddress: 'yusuf@example.org' }),
    });
    await page.goto(url(`/journeys/${journeyId}/planner`));
    await waitFor(async () => {
      await page.reload();
      return (await countsOf('wait')).includes('1 here now');
    }, 5_000).catch(() => undefined);
    await page.setViewportSize({ width: 1360, height: 1100 });
    await page.locator('.jr-bar').evaluate((bar) => ((bar as unknown as DomElement).style.position = 'static'));
    await screenshot(page, 'planner', { docs: process.env.UPDATE_DOCS_SCREENSHOT === '1' });

    expect(pageErrors).toEqual([]);
  });

  it('keeps the planner usable from the keyboard', async () => {
    await page.goto(url('/journeys/new'));
    await page.getByLabel('Journey name').fill('Keyboard journey');
    await page.getByRole('radio', { name: /^Manual/ }).check();
    await page.keyboard.press('Enter');
    await page.waitForURL(/planner\?done=created/);
    // Open the first "Add action" menu with the keyboard and add a Wait.
    const summary = page.locator('details[data-slot="root"] summary');
    await summary.focus();
    await page.keyboard.press('Enter');
    const wait = page.locator('details[data-slot="root"]').getByRole('button', { name: /^Wait Pause/ });
    await wait.focus();
    await page.keyboard.press('Enter');
    // Focus moves into the new action's first field.
    await see(page.locator('article[data-type="wait"] input[type=number]')).toBeFocused();
    // Escape closes an open menu and returns to its toggle.
    await summary.focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Escape');
    await see(summary).toBeFocused();
    expect(await page.locator('details[data-slot="root"]').getAttribute('open')).toBeNull();
    // A focused control shows a visible focus ring.
    const outline = await summary.evaluate((el) => (el as unknown as DomElement).ownerDocument.defaultView.getComputedStyle(el).outlineStyle);
    expect(outline).not.toBe('none');
    expect(pageErrors).toEqual([]);
  });
});
