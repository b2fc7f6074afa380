/**
 * The host's login sessions: a cookie `host_session=<UserID>.<SessionID>.<IssuedAt>.<HMAC>`
 * signed with SESSION_SECRET, where SessionID is random and IssuedAt is the host clock's time
 * in milliseconds. Enough for a reference host; a real host has its own.
 *
 * A session ends SESSION_MAX_AGE_MS after IssuedAt, checked here from the signed time (the
 * cookie's Max-Age only asks the browser to forget it), and at logout, which records its
 * SessionID in `<prefix>revoked_sessions` until it would have expired anyway.
 *
 * Why a table of revoked session ids rather than a table of live sessions or a per-user session
 * version: minting a session stays a function of the secret and the clock alone, so `cookie(userId)`
 * (tests, scripts) needs no database write or read; logging out in one browser ends that session
 * only, where a version bumped at logout would end every browser of the user; and the table holds
 * only sessions revoked within the last SESSION_MAX_AGE_MS, so it stays small.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'crypto';
import type { Request } from 'express';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Clock } from '../src/core/tokens';
import type { HostUser } from '../src/host/host.ports';
import { revokedSessionsTable } from './schema';
import { toSqlDateMs } from './sql-dates';

export const SESSION_COOKIE = 'host_session';
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;

export interface HostSession {
  userId: number;
  sessionId: string;
  /** Milliseconds since the epoch, host clock. */
  issuedAt: number;
}

/** Who is logged in, and through which session (the host's CSRF tokens belong to the session). */
export interface HostLogin {
  user: HostUser;
  session: HostSession;
}

const TOKEN = /^([1-9]\d{0,9})\.([A-Za-z0-9_-]{22})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

export class HostSessions {
  private readonly revokedTable: string;

  constructor(
    private readonly secret: string,
    private readonly clock: Clock,
    private readonly sequelize: Sequelize,
    prefix: string,
  ) {
    this.revokedTable = revokedSessionsTable(prefix);
  }

  private mac(purpose: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${value}`).digest('base64url');
  }

  /** A new session of `userId`, issued now. */
  token(userId: number): string {
    const payload = `${userId}.${randomBytes(16).toString('base64url')}.${this.clock.now().getTime()}`;
    return `${payload}.${this.mac('session', payload)}`;
  }

  /** `Cookie` header value logging `userId` in with a new session. */
  cookie(userId: number): string {
    return `${SESSION_COOKIE}=${this.token(userId)}`;
  }

  /** The request's session when its signature fits, it has not expired and it was not logged out; otherwise null. */
  async sessionOf(req: Request): Promise<HostSession | null> {
    const raw = (req as Request & { cookies?: Record<string, string> }).cookies?.[SESSION_COOKIE] ?? readCookie(req.headers.cookie, SESSION_COOKIE);
    const match = TOKEN.exec(raw ?? '');
    if (!match) return null;
    const [, userId, sessionId, issuedAt, mac] = match;
    if (!safeEqual(this.mac('session', `${userId}.${sessionId}.${issuedAt}`), mac)) return null;
    if (this.clock.now().getTime() - Number(issuedAt) >= SESSION_MAX_AGE_MS) return null;
    const revoked = await this.sequelize.query(`SELECT 1 FROM \`${this.revokedTable}\` WHERE SessionID = ?`, {
      type: QueryTypes.SELECT,
      replacements: [sessionId],
    });
    return revoked.length > 0 ? null : { userId: Number(userId), sessionId, issuedAt: Number(issuedAt) };
  }

  /** Logs the session out for good, and forgets revoked sessions that have expired meanwhile. */
  async revoke(session: HostSession): Promise<void> {
    const now = this.clock.now();
    await this.sequelize.query(`DELETE FROM \`${this.revokedTable}\` WHERE ExpiresAt <= ?`, { replacements: [toSqlDateMs(now)] });
    await this.sequelize.query(`INSERT IGNORE INTO \`${this.revokedTable}\` (SessionID, RelUserID, RevokedAt, ExpiresAt) VALUES (?, ?, ?, ?)`, {
      replacements: [session.sessionId, session.userId, toSqlDateMs(now), toSqlDateMs(new Date(session.issuedAt + SESSION_MAX_AGE_MS))],
    });
  }

  /** CSRF token of the host's own forms: an HMAC of the session, sent as a hidden field; it ends with the session. */
  csrfToken(session: HostSession): string {
    return this.mac('csrf', `${session.userId}.${session.sessionId}`);
  }

  /** True when `given` is the CSRF token of `session`. */
  checkCsrf(session: HostSession, given: unknown): boolean {
    if (typeof given !== 'string' || given.length === 0 || given.length > 200) return false;
    return safeEqual(this.csrfToken(session), given);
  }

  /** `value.<HMAC>`: a value the host hands to the browser (the flash cookie) and later trusts again. */
  sign(value: string): string {
    return `${value}.${this.mac('signed', value)}`;
  }

  /** The value of `sign(value)`, or null when the signature is missing or wrong. */
  unsign(signed: unknown): string | null {
    if (typeof signed !== 'string') return null;
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return null;
    const value = signed.slice(0, dot);
    return safeEqual(this.sign(value), signed) ? value : null;
  }
}

function safeEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}
