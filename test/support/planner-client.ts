/**
 * The planner pages as a browser without JavaScript uses them: supertest
 * requests with a user's host session cookie and the plug-in's CSRF cookie
 * (set by the first page the user opens), form posts carrying the CSRF token
 * of a page, and helpers to read what the pages show.
 */
import request from 'supertest';
import type { Response } from 'supertest';
import type { RefHost } from './reference-host';

export type FormFields = Record<string, string | string[]>;

export interface JourneyRow {
  JourneyID: number;
  Name: string;
  Status: string;
  TriggerType: string;
  TriggerSettings: string;
  Actions: string;
  Goal: string | null;
  Version: number;
}

export function tokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field in the page');
  return match[1];
}

/** The planner's draft as posted without JavaScript: tree shape + one field per setting. */
export function plannerFields(tree: unknown[], settings: FormFields, extra: Record<string, string> = {}): FormFields {
  return { tree: JSON.stringify(tree), ...settings, ...extra };
}

/** Form fields as an urlencoded body (a list value as repeated keys). */
export function formBody(fields: FormFields): URLSearchParams {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) for (const v of ([] as string[]).concat(value)) body.append(key, v);
  return body;
}

/** The text of the card of one action (up to the next card). */
export function cardOf(html: string, actionId: string): string {
  const start = html.indexOf(`id="action-${actionId}"`);
  if (start === -1) throw new Error(`no card of action ${actionId} in the page`);
  const next = html.indexOf('<article', start + 10);
  return html.slice(start, next === -1 ? undefined : next);
}

export function plannerClient(host: RefHost) {
  const csrfCookies = new Map<number, string>();
  const defaultUser: number = host.demo.userA.userId;

  const cookies = (user: number) => [host.cookieFor(user), csrfCookies.get(user)].filter(Boolean).join('; ');

  function remember(user: number, res: Response): void {
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const csrf = setCookie.find((c) => c.startsWith('journeys_csrf='));
    if (csrf) csrfCookies.set(user, csrf.split(';')[0]);
  }

  async function get(path: string, user = defaultUser): Promise<Response> {
    const res = await request(host.server).get(path).set('Cookie', cookies(user));
    remember(user, res);
    return res;
  }

  /** A form post with the CSRF token of a page the user opened (Create Journey by default). */
  async function post(path: string, fields: FormFields, opts: { user?: number; token?: string | null } = {}): Promise<Response> {
    const user = opts.user ?? defaultUser;
    let token = opts.token;
    if (token === undefined) token = tokenIn((await get('/journeys/new', user)).text);
    const body = formBody(fields);
    if (token !== null) body.append('_csrf', token);
    const res = await request(host.server).post(path).set('Cookie', cookies(user)).type('form').send(body.toString());
    remember(user, res);
    return res;
  }

  function journeyRows(userId: number): Promise<JourneyRow[]> {
    return host.query(
      `SELECT JourneyID, Name, Status, TriggerType, TriggerSettings, Actions, Goal, Version FROM \`${host.prefix}journeys\` WHERE RelOwnerUserID = ? ORDER BY JourneyID`,
      [userId],
    );
  }

  /** Creates a journey through the Create Journey form; answers its id (the post lands on its planner). */
  async function createJourney(
    name: string,
    fields: FormFields = { triggerType: 'subscription', listIds: String(host.demo.lists.newsletter) },
    user = defaultUser,
  ): Promise<number> {
    const res = await post('/journeys', { name, ...fields }, { user });
    const match = res.status === 303 ? /^\/journeys\/(\d+)\/planner\?done=created$/.exec(res.headers.location) : null;
    if (!match) throw new Error(`Create Journey answered ${res.status} ${res.headers.location ?? res.text.slice(0, 300)}`);
    return Number(match[1]);
  }

  return { cookies, get, post, journeyRows, createJourney };
}
