/**
 * JourneysException (and anything else thrown by a planner page) as a page:
 * not logged in → the host's login; a refused form → the same form again with
 * the values and every message (@RerenderOnInvalid); not found (another user's
 * id included) → a 404 page; a bad CSRF token → 403; the rest → an error page.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import { JourneyPages } from './journey-pages.service';
import { ADMIN_USER, INVALID_FORM_ON_REQUEST, type AdminRequest } from './page.decorators';
import { PageRenderer } from './page-renderer.service';

const FORM_CODES = new Set([JourneysErrorCode.ValidationFailed, JourneysErrorCode.InvalidActions, JourneysErrorCode.Conflict]);

const ERROR_PAGES: Record<number, { title: string; message: string }> = {
  400: { title: 'Bad request', message: 'The request could not be understood.' },
  403: { title: 'Not allowed', message: 'You are not allowed to do this.' },
  404: { title: 'Not found', message: 'This journey does not exist, or it is not yours.' },
  500: { title: 'Something went wrong', message: 'The page could not be shown. Please try again in a moment.' },
};

@Catch()
export class PlannerExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('JourneysPlanner');

  constructor(
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    private readonly renderer: PageRenderer,
    private readonly pages: JourneyPages,
  ) {}

  async catch(exception: unknown, argumentsHost: ArgumentsHost): Promise<void> {
    const http = argumentsHost.switchToHttp();
    const req = http.getRequest<AdminRequest>();
    const res = http.getResponse<Response>();
    try {
      if (exception instanceof JourneysException && exception.code === JourneysErrorCode.NotLoggedIn) {
        res.redirect(303, this.host.admin.loginUrl());
        return;
      }
      const invalidForm = req[INVALID_FORM_ON_REQUEST];
      const user = req[ADMIN_USER];
      if (exception instanceof JourneysException && FORM_CODES.has(exception.code) && invalidForm && user) {
        const model = await invalidForm.model(this.pages, {
          user,
          body: (req.body ?? {}) as Record<string, unknown>,
          params: req.params as Record<string, string>,
          error: exception,
        });
        await this.send(req, res, invalidForm.view, { ...model, status: exception.httpStatus });
        return;
      }
      const status = statusOf(exception);
      if (status >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      const known = ERROR_PAGES[status] ?? ERROR_PAGES[status >= 500 ? 500 : 400];
      const message = exception instanceof JourneysException && status < 500 && status !== 404 ? exception.message : known.message;
      await this.send(req, res, 'journeys/error', { title: known.title, status, message });
    } catch (renderError) {
      this.logger.error(`Error page failed: ${renderError instanceof Error ? renderError.stack : String(renderError)}`);
      if (!res.headersSent) res.status(statusOf(exception)).type('text').send('Journeys: the page could not be shown.');
    }
  }

  private async send(req: AdminRequest, res: Response, view: string, model: { title: string; status: number; [key: string]: unknown }): Promise<void> {
    const html = await this.renderer.render(req, res, view, model);
    res.status(model.status).type('html').send(html);
  }
}

function statusOf(exception: unknown): number {
  if (exception instanceof JourneysException) return exception.httpStatus;
  if (exception instanceof HttpException) return exception.getStatus();
  return 500;
}
