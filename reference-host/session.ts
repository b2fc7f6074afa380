/**
 * The host's login session: a cookie `host_session=<UserID>.<HMAC>` signed with
 * SESSION_SECRET. Enough for a reference host; a real host has its own.
 */
import { createHmac, timingSafeEqual } from 'crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'host_session';

export class SessionSigner {
  constructor(private readonly secret: string) {}

  private mac(userId: number): string {
    return createHmac('sha256', this.secret).update(`session:${userId}`).digest('base64url');
  }

  token(userId: number): string {
    return `${userId}.${this.mac(userId)}`;
  }

  /** `Cookie` header value logging `userId` in. */
  cookie(userId: number): string {
    return `${SESSION_COOKIE}=${this.token(userId)}`;
  }

  /**
   * CSRF token of the host's own forms: an HMAC of the session token (so of
   * the logged-in user) with SESSION_SECRET, sent as a hidden field.
   */
  csrfToken(userId: number): string {
    return createHmac('sha256', this.secret)
      .update(`csrf:${this.token(userId)}`)
      .digest('base64url');
  }

  /** True when `given` is the CSRF token of `userId`'s session. */
  checkCsrf(userId: number, given: unknown): boolean {
    if (typeof given !== 'string' || given.length === 0 || given.length > 200) return false;
    return safeEqual(this.csrfToken(userId), given);
  }

  /** `value.<HMAC>`: a value the host hands to the browser (the flash cookie) and later trusts again. */
  sign(value: string): string {
    return `${value}.${createHmac('sha256', this.secret).update(`signed:${value}`).digest('base64url')}`;
  }

  /** The value of `sign(value)`, or null when the signature is missing or wrong. */
  unsign(signed: unknown): string | null {
    if (typeof signed !== 'string') return null;
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return null;
    const value = signed.slice(0, dot);
    return safeEqual(this.sign(value), signed) ? value : null;
  }

  userIdOf(req: Request): number | null {
    const raw = (req as Request & { cookies?: Record<string, string> }).cookies?.[SESSION_COOKIE] ?? readCookie(req.headers.cookie, SESSION_COOKIE);
    const match = /^(\d{1,10})\.([A-Za-z0-9_-]+)$/.exec(raw ?? '');
    if (!match) return null;
    const userId = Number(match[1]);
    const expected = Buffer.from(this.mac(userId));
    const given = Buffer.from(match[2]);
    return expected.length === given.length && timingSafeEqual(expected, given) ? userId : null;
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
