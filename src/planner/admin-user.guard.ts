/**
 * Every planner page needs a logged-in host user (else: the host's login) and
 * every form post a valid CSRF token (else: 403).
 */
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import { CsrfService } from './csrf.service';
import { ADMIN_USER, type AdminRequest } from './page.decorators';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

@Injectable()
export class AdminUserGuard implements CanActivate {
  constructor(
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    private readonly csrf: CsrfService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AdminRequest>();
    const user = await this.host.admin.currentUser(req);
    if (!user) throw new JourneysException(JourneysErrorCode.NotLoggedIn, 'Please log in');
    req[ADMIN_USER] = user;
    if (!SAFE_METHODS.has(req.method) && !this.csrf.isValid(req)) {
      throw new JourneysException(JourneysErrorCode.Forbidden, 'The form has expired or did not come from this site. Please reload the page and try again.');
    }
    return true;
  }
}
