/**
 * Turns what a planner controller returns into a response: a view model is
 * rendered with the handler's @Page view inside the host layout; a
 * PageRedirect becomes a 303 (so a reload never re-posts a form).
 * Before the handler runs it notes the handler's @RerenderOnInvalid on the
 * request for the PlannerExceptionFilter.
 */
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { from, mergeMap, type Observable } from 'rxjs';
import { INVALID_FORM, INVALID_FORM_ON_REQUEST, PAGE_VIEW, type AdminRequest, type InvalidForm } from './page.decorators';
import { PageRedirect, type PageModel } from './page-model';
import { PageRenderer } from './page-renderer.service';

@Injectable()
export class PageInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly renderer: PageRenderer,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<AdminRequest>();
    const res = http.getResponse<Response>();
    const view = this.reflector.get<string | undefined>(PAGE_VIEW, context.getHandler());
    const invalidForm = this.reflector.get<InvalidForm | undefined>(INVALID_FORM, context.getHandler());
    if (invalidForm) req[INVALID_FORM_ON_REQUEST] = invalidForm;
    return next.handle().pipe(mergeMap((result: unknown) => from(this.respond(req, res, view, result))));
  }

  private async respond(req: AdminRequest, res: Response, view: string | undefined, result: unknown): Promise<unknown> {
    if (result instanceof PageRedirect) {
      res.status(303).location(result.url).type('text');
      return `See ${result.url}`;
    }
    if (!view) return result;
    const model = result as PageModel;
    const html = await this.renderer.render(req, res, view, model);
    res.status(model.status ?? 200).type('html');
    return html;
  }
}
