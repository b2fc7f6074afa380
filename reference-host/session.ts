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

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}
