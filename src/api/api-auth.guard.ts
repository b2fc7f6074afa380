/**
 * API requests run as the logged-in host user (AdminContextPort.currentUser).
 *
 * CSRF: a session cookie is sent by the browser with any request to this
 * site, including a form another site submits. Such a cross-site request can
 * only be a "simple" one: a form encoding and no custom header. So a request
 * is refused (403) unless its body is JSON (`Content-Type: application/json`)
 * or it carries the `X-Requested-With` header; a browser sends either
 * cross-site only after a CORS preflight, which this endpoint never grants.
 */
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { HOST_PORTS, type HostPorts, type HostUser } from '../host/host.ports';

export const API_CSRF_HEADER = 'X-Requested-With';
export const API_USER = Symbol('API_USER');

export type ApiRequest = Request & { [API_USER]?: HostUser };

export function isJsonRequest(req: Request): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(req.headers['content-type'] ?? '');
}

@Injectable()
export class ApiAuthGuard implements CanActivate {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ApiRequest>();
    const user = await this.host.admin.currentUser(req);
    if (!user) throw new JourneysException(JourneysErrorCode.NotLoggedIn, 'Not logged in: the API runs as the logged-in host user');
    if (!isJsonRequest(req) && req.headers[API_CSRF_HEADER.toLowerCase()] === undefined) {
      throw new JourneysException(
        JourneysErrorCode.Forbidden,
        `Send the parameters as JSON (Content-Type: application/json), or send the ${API_CSRF_HEADER} header with a form body`,
      );
    }
    req[API_USER] = user;
    return true;
  }
}
