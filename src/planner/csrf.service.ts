/**
 * CSRF protection of every planner form: csrf-csrf's double submit, the token
 * bound to the logged-in user with an HMAC of SESSION_SECRET. The token travels
 * in a hidden `_csrf` field (or an `x-csrf-token` header for scripts) and in
 * an HttpOnly, SameSite=Strict cookie scoped to the plug-in's pages.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { doubleCsrf, type DoubleCsrfUtilities } from 'csrf-csrf';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { ADMIN_USER, type AdminRequest } from './page.decorators';
import { PLANNER_BASE } from './planner.paths';

export const CSRF_FIELD = '_csrf';

@Injectable()
export class CsrfService {
  private readonly csrf: DoubleCsrfUtilities;

  constructor(@Inject(PLUGIN_CONFIG) config: AppConfig) {
    this.csrf = doubleCsrf({
      getSecret: () => config.SESSION_SECRET,
      getSessionIdentifier: (req) => `user:${(req as AdminRequest)[ADMIN_USER]?.userId ?? ''}`,
      cookieName: 'journeys_csrf',
      cookieOptions: { sameSite: 'strict', path: PLANNER_BASE, httpOnly: true, secure: false },
      getCsrfTokenFromRequest: (req) => {
        const field = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
        return typeof field === 'string' ? field : req.headers['x-csrf-token'];
      },
    });
  }

  token(req: Request, res: Response): string {
    return this.csrf.generateCsrfToken(req, res);
  }

  isValid(req: Request): boolean {
    // No cookie jar (cookie-parser not run) means no token to compare with.
    if (!req.cookies) return false;
    return this.csrf.validateRequest(req);
  }
}
