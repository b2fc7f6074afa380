/**
 * The dashboard's "try it" panel: host forms that subscribe / unsubscribe
 * through the host's own subscription path (the same one as the JSON API, so
 * autoresponders, hooks and journeys fire), the flash message telling what
 * happened, and the data the panel shows (the user's lists, fields, emails,
 * recent subscribers with "simulate open / click" links to the tracking URLs),
 * and the emails the host "sent" for journeys, with the same links.
 *
 * Forms carry a CSRF token (an HMAC of the session, HostSessions.csrfToken),
 * checked on POST (403 when missing or wrong, before anything is read or written).
 */
import { Body, Controller, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryTypes } from 'sequelize';
import { JourneysErrorCode, JourneysException } from '../src/common/journeys.exception';
import type { HostUser } from '../src/host/host.ports';
import type { FiredHook } from './hook-bus';
import { HOST_SERVICES, type HostServices } from './host-services';
import { messageIdOf } from './outbox-store';
import { DEMO } from './seed';
import { readCookie, type HostLogin } from './session';
import { forbiddenTemplate } from './views';

export const FLASH_COOKIE = 'host_flash';
export const CSRF_FIELD = 'CSRFToken';
/** The URL the dashboard's "simulate click" links say was clicked. */
export const SIMULATED_CLICK_URL = DEMO.clickedUrl;
const RECENT_SUBSCRIBERS = 12;
const OUTBOX_ROWS = 20;
/** Where the outbox panel's simulate links come back to. */
const OUTBOX_ANCHOR = 'sent-emails';

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

/** Puts a one-time message for the next page of this browser in a signed cookie. */
export function setFlash(res: Response, host: HostServices, flash: Flash): void {
  const value = Buffer.from(JSON.stringify({ kind: flash.kind, text: flash.text.slice(0, 1000) })).toString('base64url');
  res.cookie(FLASH_COOKIE, host.session.sign(value), { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 60_000 });
}

/** The flash message of this request, if any (and clears it). A cookie whose signature does not fit is ignored. */
export function takeFlash(req: Request, res: Response, host: HostServices): Flash | null {
  const raw = (req as Request & { cookies?: Record<string, string> }).cookies?.[FLASH_COOKIE] ?? readCookie(req.headers.cookie, FLASH_COOKIE);
  if (raw === undefined) return null;
  res.clearCookie(FLASH_COOKIE, { path: '/' });
  const value = host.session.unsign(raw);
  if (value === null) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<Flash>;
    if ((parsed.kind !== 'ok' && parsed.kind !== 'error') || typeof parsed.text !== 'string') return null;
    return { kind: parsed.kind, text: parsed.text };
  } catch {
    return null;
  }
}

/** "1 journey enrolled" from what the plug-in's hook handler returned for the outer hook; '' when no listener reported a count. */
export function enrolledText(fired: FiredHook[], hookName: string): string {
  const outer = fired.find((f) => f.hookName === hookName);
  if (!outer) return '';
  const counts = outer.results
    .map((r) => (r && typeof r === 'object' ? (r as { enrolled?: unknown }).enrolled : undefined))
    .filter((n): n is number => typeof n === 'number');
  if (counts.length === 0) return '';
  const enrolled = counts.reduce((a, b) => a + b, 0);
  return `${enrolled} journey${enrolled === 1 ? '' : 's'} enrolled`;
}

function positiveInt(value: unknown, name: string): number {
  const n = /^\d{1,10}$/.test(String(value ?? '').trim()) ? Number(String(value).trim()) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw JourneysException.invalid(`${name} must be a positive integer`);
  return n;
}

function joinParts(parts: string[]): string {
  return parts.filter((p) => p !== '').join('; ');
}

/**
 * The tracking URLs of one email to one subscriber, as the dashboard's
 * "simulate open / click" links call them (`Return` brings the browser back to `back`).
 */
function simulateUrls(ref: { listId: number; subscriberId: number; emailId: number }, back: string, messageId?: string) {
  const path = `/${ref.listId}/${ref.subscriberId}/${ref.emailId}`;
  const message = messageId === undefined ? '' : `MessageID=${encodeURIComponent(messageId)}&`;
  return {
    openUrl: `/track/open${path}?${message}Return=${encodeURIComponent(back)}`,
    clickUrl: `/track/click${path}?${message}URL=${encodeURIComponent(SIMULATED_CLICK_URL)}&Return=${encodeURIComponent(back)}`,
  };
}

/** The dashboard's "Emails the host would have sent": the owner's latest outbox rows, with simulate links for the sent ones. */
export async function sentEmailsData(host: HostServices, userId: number) {
  const entries = await host.email.latest(userId, OUTBOX_ROWS);
  return entries.map((e) => {
    const messageId = messageIdOf(e.outboxId);
    return {
      sentAt: e.createdAt.toISOString().replace('T', ' ').slice(0, 19),
      emailAddress: e.emailAddress,
      emailName: e.emailName ?? `email ${e.emailId}`,
      journeyId: e.journeyId,
      journeyUrl: `/journeys/${e.journeyId}`,
      messageId,
      status: e.status === 'sent' ? 'sent' : `undeliverable (${e.reason})`,
      opens: e.opens,
      clicks: e.clicks,
      ...(e.status === 'sent' ? simulateUrls(e, `/#${OUTBOX_ANCHOR}`, messageId) : { openUrl: null, clickUrl: null }),
    };
  });
}

/** What the dashboard shows in its "try it" panel, all of it the logged-in user's. */
export async function tryItData(host: HostServices, { user, session }: HostLogin, requestedEmailId: unknown) {
  const t = host.tables;
  const [lists, fields, emails] = await Promise.all([
    host.audience.listLists(user.userId),
    host.audience.listCustomFields(user.userId),
    host.audience.listEmails(user.userId),
  ]);
  const listName = new Map(lists.map((l) => [l.listId, l.name]));
  const wanted = Number(requestedEmailId);
  const email = emails.find((e) => e.emailId === wanted) ?? emails[0] ?? null;

  const perList = await Promise.all(
    lists.map((l) =>
      host.sequelize
        .query<{ SubscriberID: number; EmailAddress: string; SubscriptionStatus: string; SubscriptionDate: Date | null }>(
          `SELECT SubscriberID, EmailAddress, SubscriptionStatus, SubscriptionDate FROM \`${t.subscribers(l.listId)}\` ORDER BY SubscriptionDate DESC, SubscriberID DESC LIMIT ${RECENT_SUBSCRIBERS}`,
          { type: QueryTypes.SELECT },
        )
        .then((rows) => rows.map((r) => ({ ...r, listId: l.listId }))),
    ),
  );
  const recent = perList
    .flat()
    .sort(
      (a, b) =>
        (b.SubscriptionDate ? new Date(b.SubscriptionDate).getTime() : 0) - (a.SubscriptionDate ? new Date(a.SubscriptionDate).getTime() : 0) ||
        b.SubscriberID - a.SubscriberID,
    )
    .slice(0, RECENT_SUBSCRIBERS);

  const activity = new Map<string, { opens: number; clicks: number }>();
  if (email && recent.length > 0) {
    for (const [kind, table] of [
      ['opens', t.opens],
      ['clicks', t.clicks],
    ] as const) {
      const rows = await host.sequelize.query<{ RelListID: number; RelSubscriberID: number; N: number }>(
        `SELECT RelListID, RelSubscriberID, COUNT(*) AS N FROM \`${table}\` WHERE RelOwnerUserID = ? AND RelEmailID = ? GROUP BY RelListID, RelSubscriberID`,
        { type: QueryTypes.SELECT, replacements: [user.userId, email.emailId] },
      );
      for (const r of rows) {
        const key = `${r.RelListID}:${r.RelSubscriberID}`;
        const entry = activity.get(key) ?? { opens: 0, clicks: 0 };
        entry[kind] = Number(r.N);
        activity.set(key, entry);
      }
    }
  }
  const back = email ? `/?EmailID=${email.emailId}` : '/';
  return {
    csrfField: CSRF_FIELD,
    csrfToken: host.session.csrfToken(session),
    lists: lists.map((l) => ({ listId: l.listId, name: l.name })),
    fields: fields.map((f) => ({
      name: `CustomField${f.customFieldId}`,
      label: f.name,
      scope: f.listId === 0 ? '' : `${listName.get(f.listId) ?? `list ${f.listId}`} only`,
    })),
    emails: emails.map((e) => ({ emailId: e.emailId, name: e.name, selected: email?.emailId === e.emailId })),
    selectedEmail: email ? { emailId: email.emailId, name: email.name } : null,
    subscribers: recent.map((s) => {
      const a = activity.get(`${s.listId}:${s.SubscriberID}`) ?? { opens: 0, clicks: 0 };
      const links = email ? simulateUrls({ listId: s.listId, subscriberId: s.SubscriberID, emailId: email.emailId }, back) : { openUrl: null, clickUrl: null };
      return {
        emailAddress: s.EmailAddress,
        listName: listName.get(s.listId),
        subscriberId: s.SubscriberID,
        status: s.SubscriptionStatus,
        subscribedAt: s.SubscriptionDate ? new Date(s.SubscriptionDate).toISOString().replace('T', ' ').slice(0, 19) : '',
        opens: a.opens,
        clicks: a.clicks,
        historyUrl: `/journeys/history?email=${encodeURIComponent(s.EmailAddress)}`,
        ...links,
      };
    }),
  };
}

/** The dashboard's subscribe / unsubscribe forms. */
@Controller('dashboard')
export class HostTryItController {
  constructor(@Inject(HOST_SERVICES) private readonly host: HostServices) {}

  @Post('subscribe')
  async subscribe(@Req() req: Request, @Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const user = await this.formUser(req, body, res);
    if (!user) return;
    await this.run(res, async () => {
      const list = await this.ownList(user, body?.ListID);
      const emailAddress = String(body?.EmailAddress ?? '').trim();
      const customFields: Record<number, string> = {};
      const named: string[] = [];
      for (const field of await this.host.audience.listCustomFields(user.userId)) {
        const value = body?.[`CustomField${field.customFieldId}`];
        if (typeof value !== 'string' || value.trim() === '') continue;
        if (field.listId !== 0 && field.listId !== list.listId) {
          const owner = await this.host.audience.getList(user.userId, field.listId);
          throw JourneysException.invalid(
            `${field.name} is a field of ${owner?.name ?? `list ${field.listId}`}, not of ${list.name}: leave it empty or pick ${owner?.name ?? 'that list'}. Nothing was written`,
          );
        }
        customFields[field.customFieldId] = value.trim();
        named.push(field.name);
      }
      const [{ MaxLogID }] = await this.host.sequelize.query<{ MaxLogID: number }>(
        `SELECT COALESCE(MAX(LogID), 0) AS MaxLogID FROM \`${this.host.tables.autoresponderLog}\``,
        {
          type: QueryTypes.SELECT,
        },
      );
      // The host's own subscription path, exactly as POST /api/subscribers/subscribe takes it.
      const { result, fired } = await this.host.hooks.collect(() =>
        this.host.subscriptions.subscribe(user.userId, list.listId, { emailAddress, customFields, ip: req.ip }),
      );
      const address = emailAddress.toLowerCase();
      if (result.alreadySubscribed) {
        return joinParts([
          `${address} is already subscribed to ${list.name}: no hook fired, no autoresponder recorded`,
          named.length > 0 ? `${named.join(', ')} updated` : '',
        ]);
      }
      const autoresponders = await this.host.sequelize.query<{ AutoResponderName: string }>(
        `SELECT a.AutoResponderName FROM \`${this.host.tables.autoresponderLog}\` g JOIN \`${this.host.tables.autoresponders}\` a ON a.AutoResponderID = g.RelAutoResponderID
          WHERE g.LogID > ? AND g.RelListID = ? AND g.RelSubscriberID = ? ORDER BY g.LogID`,
        { type: QueryTypes.SELECT, replacements: [MaxLogID, list.listId, result.subscriberId] },
      );
      return joinParts([
        `${address} subscribed to ${list.name}`,
        autoresponders.length === 0 ? 'no autoresponder' : `autoresponder ${autoresponders.map((a) => a.AutoResponderName).join(', ')} recorded`,
        enrolledText(fired, 'Subscriber.Subscribed'),
      ]);
    });
  }

  @Post('unsubscribe')
  async unsubscribe(@Req() req: Request, @Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const user = await this.formUser(req, body, res);
    if (!user) return;
    await this.run(res, async () => {
      const list = await this.ownList(user, body?.ListID);
      const address = String(body?.EmailAddress ?? '')
        .trim()
        .toLowerCase();
      if (address === '') throw JourneysException.invalid('EmailAddress is required');
      const subscriberId = await this.host.subscriptions.subscriberIdByEmail(list.listId, address);
      if (!subscriberId) throw JourneysException.invalid(`${address} is not a subscriber of ${list.name}; nothing was written`);
      const { result, fired } = await this.host.hooks.collect(() => this.host.subscriptions.unsubscribe(user.userId, { listId: list.listId, subscriberId }));
      if (!result.wasSubscribed) return `${address} was already unsubscribed from ${list.name}: no hook fired`;
      return joinParts([`${address} unsubscribed from ${list.name}`, enrolledText(fired, 'Subscriber.Unsubscribed')]);
    });
  }

  /** The logged-in user, when the form's CSRF token is their session's; otherwise answers (login redirect or 403) and returns null. */
  private async formUser(req: Request, body: Record<string, unknown>, res: Response): Promise<HostUser | null> {
    const login = await this.host.admin.currentLogin(req);
    if (!login) {
      res.redirect(303, '/login');
      return null;
    }
    if (!this.host.session.checkCsrf(login.session, body?.[CSRF_FIELD])) {
      res
        .status(403)
        .type('html')
        .send(forbiddenTemplate({ message: "The form's security token is missing or wrong. Reload the dashboard and send the form again." }));
      return null;
    }
    return login.user;
  }

  /** One of the user's own lists; another user's (or no) list is refused before anything is written. */
  private async ownList(user: HostUser, rawListId: unknown) {
    const listId = positiveInt(rawListId, 'ListID');
    const list = await this.host.audience.getList(user.userId, listId);
    if (!list) throw new JourneysException(JourneysErrorCode.NotFound, `List ${listId} is not one of your lists; nothing was written`);
    return list;
  }

  /** Runs the form's work and goes back to the dashboard (303) with what happened, or with the error. */
  private async run(res: Response, work: () => Promise<string>): Promise<void> {
    try {
      setFlash(res, this.host, { kind: 'ok', text: await work() });
    } catch (error) {
      if (!(error instanceof JourneysException)) throw error;
      setFlash(res, this.host, { kind: 'error', text: error.message });
    }
    res.redirect(303, '/');
  }
}
