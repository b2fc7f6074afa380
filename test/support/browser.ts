/**
 * A real headless Chromium for the browser tests (playwright-core, the
 * system's Chromium), with the page's errors collected, dialogs accepted and
 * recorded, and a few waiting assertions (playwright-core comes without
 * @playwright/test's expect).
 */
import { existsSync, mkdirSync } from 'fs';
import { join } from 'path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ROOT = join(__dirname, '..', '..');

/** The bits of the DOM the in-page functions use (the tests compile without lib.dom; casts only, as the functions run in the page). */
export interface DomElement {
  style: Record<string, string>;
  ownerDocument: { activeElement: unknown; defaultView: { getComputedStyle(element: unknown): { outlineStyle: string } } };
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Script errors, failed responses and console errors of the page. */
  pageErrors: string[];
  /** The text of every dialog (confirm, alert) the page opened; each is accepted. */
  dialogs: string[];
}

export async function openBrowser(viewport = { width: 1360, height: 900 }): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('response', (response) => {
    // Script, stylesheet or page that failed (the host has no favicon; that is not ours).
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) pageErrors.push(`${response.status()} ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.accept();
  });
  return { browser, page, pageErrors, dialogs };
}

/** A full-page screenshot in test-artifacts/ (gitignored), for a human look; also in docs/ when asked to be (the README's pictures). */
export async function screenshot(page: Page, name: string, options: { docs?: boolean } = {}): Promise<void> {
  for (const dir of options.docs ? ['test-artifacts', 'docs'] : ['test-artifacts']) {
    mkdirSync(join(ROOT, dir), { recursive: true });
    await page.screenshot({ path: join(ROOT, dir, `${name}.png`), fullPage: true });
  }
}

/** Opens the "Add action" menu of a slot and picks an action type. */
export async function addAction(page: Page, slot: string, type: string): Promise<void> {
  const menu = page.locator(`details[data-slot="${slot}"]`);
  await menu.locator('summary').click();
  await menu.locator(`button[data-add-type="${type}"]`).click();
}

/** Logs in as the demo user through the host's login page. */
export async function logInAsDemoUser(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/journeys`);
  await page.waitForURL(/\/login/);
  await page.getByRole('button', { name: /Demo User/ }).click();
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`Condition not met within ${timeoutMs} ms`);
}

/** Waiting assertions on locators. */
export function see(locator: Locator) {
  const poll = async (check: () => Promise<boolean>, what: string) => {
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Expected ${locator} ${what}`);
  };
  return {
    toBeHidden: () => poll(async () => !(await locator.isVisible()), 'to be hidden'),
    toBeVisible: () => poll(() => locator.isVisible(), 'to be visible'),
    toHaveCount: (n: number) => poll(async () => (await locator.count()) === n, `to have count ${n}`),
    toHaveText: (text: string) => poll(async () => (await locator.innerText()).trim() === text, `to have text ${text}`),
    toContainText: (text: string) => poll(async () => (await locator.innerText()).includes(text), `to contain text ${text}`),
    toHaveValue: (value: string) => poll(async () => (await locator.inputValue()) === value, `to have value ${value}`),
    toBeChecked: () => poll(() => locator.isChecked(), 'to be checked'),
    toBeFocused: () => poll(() => locator.evaluate((el) => el === (el as unknown as DomElement).ownerDocument.activeElement), 'to be focused'),
  };
}
