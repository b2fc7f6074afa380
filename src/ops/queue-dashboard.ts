/**
 * The queue dashboard (bull-board) at /journeys/admin/queues, for the
 * operators listed in ADMIN_USER_IDS only:
 * - not logged in: a page request goes to the host's login, an API call gets 401;
 * - logged in but not an operator: 403;
 * - a state-changing request (retry, clean, pause…) whose Origin (or Referer)
 *   is not this site: 403, because the dashboard trusts the session cookie
 *   (the browser sends Origin with every such request of the dashboard's own script).
 */
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Queue } from 'bull';
import type { AdminContextPort } from '../host/host.ports';

export const QUEUE_DASHBOARD_PATH = '/journeys/admin/queues';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const parseCookies = cookieParser();

/** The bull-board router for these queues, served under `basePath`. */
export function queueDashboardRouter(queues: Queue[], basePath = QUEUE_DASHBOARD_PATH): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullAdapter(queue)),
    // @bull-board/express 9.10.1 brings its own @bull-board/api 9.10.1; its adapter is the same interface under another copy of the types.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Journeys queues' } },
  });
  return serverAdapter.getRouter() as RequestHandler;
}

function sameOrigin(req: Request): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  if (!source) return false;
  try {
    return new URL(source).host === req.headers.host;
  } catch {
    return false;
  }
}

function refuse(req: Request, res: Response, status: number, message: string): void {
  if (req.accepts(['html', 'json']) === 'html') res.status(status).type('text').send(message);
  else res.status(status).json({ Success: false, Errors: [{ Code: status === 401 ? 6 : 5, Message: message }] });
}

/** Lets operators through; see the file comment for the rest. */
export function operatorsOnly(admin: AdminContextPort, operatorIds: ReadonlySet<number>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const withCookies = () => new Promise<void>((resolve) => (req.cookies ? resolve() : parseCookies(req, res, () => resolve())));
    withCookies()
      .then(() => admin.currentUser(req))
      .then((user) => {
        if (!user) {
          if (req.method === 'GET' && req.accepts(['html', 'json']) === 'html') return res.redirect(303, admin.loginUrl());
          return refuse(req, res, 401, 'Not logged in');
        }
        if (!operatorIds.has(user.userId)) return refuse(req, res, 403, 'The queue dashboard is for operators (ADMIN_USER_IDS) only');
        if (!SAFE_METHODS.has(req.method) && !sameOrigin(req)) return refuse(req, res, 403, 'Cross-site request refused');
        next();
      })
      .catch(next);
  };
}
