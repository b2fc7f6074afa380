/**
 * Controllers return plain view models; these decorators say how the
 * PageInterceptor renders them and how the PlannerExceptionFilter re-renders a
 * form that the journeys service refused.
 */
import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { JourneysException } from '../common/journeys.exception';
import type { HostUser } from '../host/host.ports';
import type { FormBody } from './forms/form-values';
import type { PageModel } from './page-model';
import type { JourneyPages } from './journey-pages.service';

export const PAGE_VIEW = 'journeys:page-view';
export const INVALID_FORM = 'journeys:invalid-form';

/** The view under views/pages/ that renders the handler's result, e.g. `journeys/list`. */
export const Page = (view: string) => SetMetadata(PAGE_VIEW, view);

export interface InvalidFormContext {
  user: HostUser;
  body: FormBody;
  params: Record<string, string>;
  error: JourneysException;
}

export interface InvalidForm {
  view: string;
  model: (pages: JourneyPages, ctx: InvalidFormContext) => Promise<PageModel>;
}

/** When the service refuses the form (validation), render `view` again with the values and every message. */
export const RerenderOnInvalid = (view: string, model: InvalidForm['model']) => SetMetadata(INVALID_FORM, { view, model } satisfies InvalidForm);

export const ADMIN_USER = Symbol('journeys:admin-user');
export const INVALID_FORM_ON_REQUEST = Symbol('journeys:invalid-form');
/** The request as the planner sees it: the logged-in user, and the handler's re-render rule for the filter. */
export type AdminRequest = Request & { [ADMIN_USER]?: HostUser; [INVALID_FORM_ON_REQUEST]?: InvalidForm };

/** The logged-in host user (AdminUserGuard put it there). */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): HostUser => {
  const user = ctx.switchToHttp().getRequest<AdminRequest>()[ADMIN_USER];
  if (!user) throw new Error('CurrentUser used on a route without AdminUserGuard');
  return user;
});
