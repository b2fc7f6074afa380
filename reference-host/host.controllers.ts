/**
 * The reference host's own pages and endpoints: login, dashboard, campaigns,
 * the subscribe / unsubscribe API and the tracking URLs.
 */
import {
  ArgumentsHost,
  Body,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  All,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryTypes } from 'sequelize';
import { JourneysException } from '../src/common/journeys.exception';
import { SESSION_COOKIE, SESSION_MAX_AGE_MS } from './session';
import { HOST_SERVICES, type HostServices } from './host-services';
import { messageIdOf, outboxIdOf } from './outbox-store';
import { enrolledText, sentEmailsData, setFlash, takeFlash, tryItData } from './try-it';
import { campaignsTemplate, dashboardTemplate, HOST_CSS, loginTemplate } from './views';

/** Host API errors in the host's shape: {"Errors":[{"Code":n,"Message":"…"}]}. */
@Catch(JourneysException)
export class HostApiErrorFilter implements ExceptionFilter {
  catch(error: JourneysException, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(error.httpStatus)
      .json({ Errors: [{ Code: error.code, Message: error.message }] });
  }
}

function positiveInt(value: unknown, name: string): number {
  const n = typeof value === 'number' ? value : /^\d{1,10}$/.test(String(value ?? '')) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw JourneysException.invalid(`${name} must be a positive integer`);
  return n;
}

function optionalInt(value: unknown, name: string): number | null {
  return value === undefined || value === null || value === '' ? null : positiveInt(value, name);
}

/** The OutboxID of a `MessageID` the host's Send Email answered (`outbox-<id>`), or null when none is given. */
function optionalMessageId(value: unknown): number | null {
  if (value === undefined || value === '') return null;
  const outboxId = typeof value === 'string' ? outboxIdOf(value) : null;
  if (outboxId === null) throw JourneysException.invalid(`MessageID must be a message id of this host, such as ${messageIdOf(42)}`);
  return outboxId;
}

/** Only same-site paths, so the login form cannot be turned into an open redirect. */
function safeNext(next: unknown): string {
  const value = String(next ?? '');
  return value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '/';
}

/** The login form's UserID: one positive whole number (not a list, not missing), or null. */
function loginUserId(value: unknown): number | null {
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
}

@Controller()
export class HostPagesController {
  constructor(@Inject(HOST_SERVICES) private readonly host: HostServices) {}

  @Get('host/assets/host.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=300')
  css(): string {
    return HOST_CSS;
  }

  @Get('login')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async loginPage(@Query('next') next: string): Promise<string> {
    return this.loginHtml(safeNext(next));
  }

  /** A UserID that is not one existing user answers the login page again (400) with what is wrong, and no session. */
  @Post('login')
  async login(@Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const next = safeNext(body?.next);
    const userId = loginUserId(body?.UserID);
    const user = userId === null ? null : await this.host.audience.getUser(userId);
    if (!user) {
      const error = userId === null ? 'UserID must be the id of one user: pick one below.' : `There is no user ${userId}: pick one below.`;
      res
        .status(400)
        .type('html')
        .send(await this.loginHtml(next, error));
      return;
    }
    res.cookie(SESSION_COOKIE, this.host.session.token(user.userId), { httpOnly: true, sameSite: 'lax', path: '/', maxAge: SESSION_MAX_AGE_MS });
    res.redirect(303, next);
  }

  /** Ends this browser's session on the server too, so a copy of the cookie stops working. */
  @Get('logout')
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.host.session.sessionOf(req);
    if (session) await this.host.session.revoke(session);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  }

  private async loginHtml(next: string, error?: string): Promise<string> {
    const users = await this.host.sequelize.query<Record<string, unknown>>(
      `SELECT UserID, EmailAddress, FirstName, LastName FROM \`${this.host.tables.users}\` ORDER BY UserID`,
      { type: QueryTypes.SELECT },
    );
    return loginTemplate({
      next,
      error,
      users: users.map((u) => ({ userId: u.UserID, emailAddress: u.EmailAddress, firstName: u.FirstName, lastName: u.LastName })),
    });
  }

  @Get()
  async dashboard(@Req() req: Request, @Res() res: Response, @Query('EmailID') emailId?: string): Promise<void> {
    const login = await this.host.admin.currentLogin(req);
    if (!login) return res.redirect(302, `/login?next=${encodeURIComponent('/')}`);
    const { user } = login;
    const lists = await this.host.audience.listLists(user.userId);
    const counted = await Promise.all(
      lists.map(async (l) => {
        const [c] = await this.host.sequelize.query<{ Total: number; Subscribed: number }>(
          `SELECT COUNT(*) AS Total, COALESCE(SUM(SubscriptionStatus = 'Subscribed'), 0) AS Subscribed FROM \`${this.host.tables.subscribers(l.listId)}\``,
          { type: QueryTypes.SELECT },
        );
        return { ...l, total: Number(c.Total), subscribed: Number(c.Subscribed) };
      }),
    );
    const log = await this.host.sequelize.query<Record<string, unknown>>(
      `SELECT g.ScheduledFor, g.EmailAddress, a.AutoResponderName, l.Name AS ListName
         FROM \`${this.host.tables.autoresponderLog}\` g
         JOIN \`${this.host.tables.autoresponders}\` a ON a.AutoResponderID = g.RelAutoResponderID
         JOIN \`${this.host.tables.lists}\` l ON l.ListID = g.RelListID
        WHERE g.RelOwnerUserID = ? ORDER BY g.LogID DESC LIMIT 20`,
      { type: QueryTypes.SELECT, replacements: [user.userId] },
    );
    const content = dashboardTemplate({
      flash: takeFlash(req, res, this.host),
      tryIt: await tryItData(this.host, login, emailId),
      sentEmails: await sentEmailsData(this.host, user.userId),
      lists: counted,
      autoresponderLog: log.map((r) => ({
        scheduledFor: new Date(r.ScheduledFor as Date).toISOString(),
        emailAddress: r.EmailAddress,
        autoResponderName: r.AutoResponderName,
        listName: r.ListName,
      })),
    });
    res.type('html').send(await this.host.admin.renderLayout(req, { title: 'Dashboard', content, activeMenu: 'Dashboard' }));
  }

  @Get('campaigns')
  async campaigns(@Req() req: Request, @Res() res: Response): Promise<void> {
    const user = await this.host.admin.currentUser(req);
    if (!user) return res.redirect(302, `/login?next=${encodeURIComponent('/campaigns')}`);
    const t = this.host.tables;
    const campaigns = await this.host.sequelize.query(
      `SELECT c.CampaignID, c.CampaignName, c.CampaignStatus, e.EmailName FROM \`${t.campaigns}\` c JOIN \`${t.emails}\` e ON e.EmailID = c.RelEmailID WHERE c.RelOwnerUserID = ? ORDER BY c.CampaignID`,
      { type: QueryTypes.SELECT, replacements: [user.userId] },
    );
    const autoresponders = await this.host.sequelize.query(
      `SELECT a.AutoResponderID, a.AutoResponderName, a.TriggerTimeType, a.TriggerTime, l.Name AS ListName, e.EmailName
         FROM \`${t.autoresponders}\` a JOIN \`${t.lists}\` l ON l.ListID = a.RelListID JOIN \`${t.emails}\` e ON e.EmailID = a.RelEmailID
        WHERE a.RelOwnerUserID = ? ORDER BY a.AutoResponderID`,
      { type: QueryTypes.SELECT, replacements: [user.userId] },
    );
    res
      .type('html')
      .send(
        await this.host.admin.renderLayout(req, { title: 'Campaigns', content: campaignsTemplate({ campaigns, autoresponders }), activeMenu: 'Campaigns' }),
      );
  }
}

@Controller('api/subscribers')
@UseFilters(HostApiErrorFilter)
export class HostSubscribersApiController {
  constructor(@Inject(HOST_SERVICES) private readonly host: HostServices) {}

  /** The list's public subscription path: the list decides the owner. An `Idempotency-Key` header makes a repeat answer the first call again. */
  @Post('subscribe')
  @HttpCode(200)
  async subscribe(@Body() body: Record<string, unknown>, @Req() req: Request): Promise<object> {
    const listId = positiveInt(body?.ListID, 'ListID');
    const result = await this.host.subscriptions.subscribeToList(
      listId,
      { emailAddress: String(body?.EmailAddress ?? ''), customFields: (body?.CustomFields ?? {}) as Record<number, string>, ip: req.ip },
      idempotencyKey(req),
    );
    return { Success: true, SubscriberID: result.subscriberId, AlreadySubscribed: result.alreadySubscribed };
  }

  @Post('unsubscribe')
  @HttpCode(200)
  async unsubscribe(@Body() body: Record<string, unknown>, @Req() req: Request): Promise<object> {
    const listId = positiveInt(body?.ListID, 'ListID');
    const ownerUserId = await this.host.subscriptions.listOwner(listId);
    const subscriberId =
      body?.SubscriberID !== undefined
        ? positiveInt(body.SubscriberID, 'SubscriberID')
        : await this.host.subscriptions.subscriberIdByEmail(listId, String(body?.EmailAddress ?? ''));
    if (!subscriberId) throw JourneysException.notFound(`Subscriber ${JSON.stringify(body?.EmailAddress ?? '')} of list ${listId}`);
    const result = await this.host.subscriptions.unsubscribe(ownerUserId, { listId, subscriberId }, undefined, idempotencyKey(req));
    return { Success: true, SubscriberID: subscriberId, WasSubscribed: result.wasSubscribed };
  }
}

/** The `Idempotency-Key` request header, when sent (its length is checked by the subscription path). */
function idempotencyKey(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  return Array.isArray(key) ? key[0] : key;
}

/** 1×1 transparent GIF answered by the open-tracking URL. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

@Controller('track')
@UseFilters(HostApiErrorFilter)
export class HostTrackingController {
  constructor(@Inject(HOST_SERVICES) private readonly host: HostServices) {}

  @Get('open/:listId/:subscriberId/:emailId')
  async open(@Param() p: Record<string, string>, @Query() q: Record<string, string>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const target = this.target(p, q);
    const back = await this.dashboardReturn(req, q, target.listId);
    const { fired } = await this.host.hooks.collect(() => this.host.activity.open(target));
    if (back) return this.backWithFlash(res, back, 'open', target, fired, 'Email.Opened');
    res.set({ 'Content-Type': 'image/gif', 'Cache-Control': 'no-store' }).send(PIXEL);
  }

  @Get('click/:listId/:subscriberId/:emailId')
  async click(@Param() p: Record<string, string>, @Query() q: Record<string, string>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const url = String(q.URL ?? '');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw JourneysException.invalid('URL must be an absolute http(s) URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw JourneysException.invalid('URL must be an absolute http(s) URL');
    const target = this.target(p, q);
    const back = await this.dashboardReturn(req, q, target.listId);
    const { fired } = await this.host.hooks.collect(() => this.host.activity.click(target, parsed.toString()));
    if (back) return this.backWithFlash(res, back, 'click', target, fired, 'Link.Clicked');
    res.redirect(302, parsed.toString());
  }

  /**
   * The dashboard's "simulate open / click" links add `Return=<same-site path>`:
   * after recording, the browser goes back there with a note of what happened
   * instead of getting the pixel or following the link. Only for the list's
   * owner logged in here (the note names the subscriber); anyone else gets the
   * ordinary answer.
   */
  private async dashboardReturn(req: Request, q: Record<string, string>, listId: number): Promise<{ path: string; userId: number } | null> {
    if (q.Return === undefined || q.Return === '') return null;
    const path = safeNext(q.Return);
    const user = await this.host.admin.currentUser(req);
    if (!user || !(await this.host.audience.getList(user.userId, listId))) return null;
    return { path, userId: user.userId };
  }

  private async backWithFlash(
    res: Response,
    back: { path: string; userId: number },
    kind: 'open' | 'click',
    target: { listId: number; subscriberId: number; emailId: number },
    fired: Parameters<typeof enrolledText>[0],
    hookName: string,
  ): Promise<void> {
    const [subscriber, emails] = await Promise.all([
      this.host.audience.getSubscriber(back.userId, { listId: target.listId, subscriberId: target.subscriberId }),
      this.host.audience.listEmails(back.userId),
    ]);
    const emailName = emails.find((e) => e.emailId === target.emailId)?.name ?? `email ${target.emailId}`;
    const text = [
      `Recorded ${kind === 'open' ? 'an open' : 'a click'} of "${emailName}" by ${subscriber?.emailAddress ?? `subscriber ${target.subscriberId}`}`,
      enrolledText(fired, hookName),
    ]
      .filter((part) => part !== '')
      .join('; ');
    setFlash(res, this.host, { kind: 'ok', text });
    res.redirect(303, back.path);
  }

  /** Server-to-server conversion postback; parameters in the query string or a JSON / form body. */
  @All('postback')
  async postback(@Query() q: Record<string, unknown>, @Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const input = { ...(q ?? {}), ...(body && typeof body === 'object' ? body : {}) };
    const rawValue = input.Value;
    const value = rawValue === undefined || rawValue === '' ? null : Number(rawValue);
    if (value !== null && !Number.isFinite(value)) throw JourneysException.invalid('Value must be a number');
    const transactionId = input.TransactionID === undefined || input.TransactionID === '' ? null : String(input.TransactionID).slice(0, 128);
    const result = await this.host.activity.conversion(
      {
        listId: positiveInt(input.ListID, 'ListID'),
        subscriberId: positiveInt(input.SubscriberID, 'SubscriberID'),
        emailId: positiveInt(input.EmailID, 'EmailID'),
        campaignId: optionalInt(input.CampaignID, 'CampaignID'),
        autoResponderId: optionalInt(input.AutoResponderID, 'AutoResponderID'),
      },
      { channel: input.Channel === undefined || input.Channel === '' ? null : String(input.Channel).slice(0, 100), value, transactionId },
    );
    res.status(200).json({ Success: true, ConversionID: result.statId, Repeated: result.repeated });
  }

  private target(p: Record<string, string>, q: Record<string, string>) {
    return {
      listId: positiveInt(p.listId, 'ListID'),
      subscriberId: positiveInt(p.subscriberId, 'SubscriberID'),
      emailId: positiveInt(p.emailId, 'EmailID'),
      campaignId: optionalInt(q.CampaignID, 'CampaignID'),
      autoResponderId: optionalInt(q.AutoResponderID, 'AutoResponderID'),
      messageId: optionalMessageId(q.MessageID),
    };
  }
}
