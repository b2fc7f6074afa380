/**
 * One journey's pages (left menu: Journey Information, Action Planner, Funnel,
 * Failed and Retrying entries, Subscriber History) and its commands. Every route loads the
 * journey through the services with the logged-in user's id: another user's
 * journey answers 404.
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import type { HostUser } from '../host/host.ports';
import { JourneyStatsService } from '../journeys/journey-stats.service';
import { JourneysService } from '../journeys/journeys.service';
import { AdminUserGuard } from './admin-user.guard';
import { text, type FormBody } from './forms/form-values';
import { goalFormFromBody, goalFromForm } from './forms/goal.form';
import { triggerFormFromBody, triggerFromForm } from './forms/trigger.form';
import { IdPipe } from './journey-id.pipe';
import { JourneyPages } from './journey-pages.service';
import { CurrentUser, Page, RerenderOnInvalid } from './page.decorators';
import { PageInterceptor } from './page.interceptor';
import { redirectTo } from './page-model';
import { PlannerExceptionFilter } from './planner-exception.filter';
import { PlannerForm } from './planner-form.service';
import { PLANNER_BASE, plannerPaths } from './planner.paths';

function infoValues(body: FormBody) {
  return {
    name: text(body, 'name'),
    notes: text(body, 'notes'),
    reEntry: text(body, 'reEntry') === 'once' ? 'once' : 'allow',
    trigger: triggerFormFromBody(body),
    goal: goalFormFromBody(body),
  };
}

/** Where a command returns to: a fixed choice, never a URL from the request. */
function backTo(body: FormBody, journeyId: number, done: string): string {
  return `${text(body, 'back') === 'planner' ? plannerPaths.planner(journeyId) : plannerPaths.list()}?done=${done}`;
}

@Controller(`${PLANNER_BASE}/:journeyId`)
@UseGuards(AdminUserGuard)
@UseInterceptors(PageInterceptor)
@UseFilters(PlannerExceptionFilter)
export class JourneyController {
  constructor(
    private readonly pages: JourneyPages,
    private readonly journeys: JourneysService,
    private readonly stats: JourneyStatsService,
    private readonly plannerForm: PlannerForm,
  ) {}

  @Get()
  async journey(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number) {
    await this.journeys.get(user.userId, id);
    return redirectTo(plannerPaths.planner(id));
  }

  @Get('info')
  @Page('journeys/info')
  info(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Query('done') done?: string) {
    return this.pages.info(user, id, { flash: done });
  }

  @Post('info')
  @RerenderOnInvalid('journeys/info', (pages, { user, body, params, error }) => pages.info(user, Number(params.journeyId), { values: infoValues(body), error }))
  async saveInfo(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Body() body: FormBody) {
    const values = infoValues(body);
    await this.journeys.updateInfo(user.userId, id, {
      name: values.name,
      notes: values.notes || null,
      reEntry: values.reEntry as 'allow' | 'once',
      trigger: triggerFromForm(values.trigger),
      goal: goalFromForm(values.goal),
    });
    return redirectTo(`${plannerPaths.info(id)}?done=saved`);
  }

  @Get('planner')
  @Page('journeys/planner')
  planner(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Query('done') done?: string) {
    return this.pages.planner(user, id, { flash: done });
  }

  @Post('planner')
  @Page('journeys/planner')
  @RerenderOnInvalid('journeys/planner', (pages, { user, body, params, error }) => pages.plannerWithErrors(user, Number(params.journeyId), body, error))
  submitPlanner(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Body() body: FormBody) {
    return this.plannerForm.submit(user, id, body);
  }

  /** JSON for planner.js: how many subscribers a save of this draft affects (the same form fields as the planner). */
  @Post('planner/preview')
  @HttpCode(200)
  previewPlanner(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Body() body: FormBody) {
    return this.plannerForm.preview(user, id, body);
  }

  @Get('funnel')
  @Page('journeys/funnel')
  funnel(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number) {
    return this.pages.funnel(user, id);
  }

  @Get('failed')
  @Page('journeys/failed')
  failed(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Query('done') done?: string) {
    return this.pages.failed(user, id, done);
  }

  @Get('history')
  @Page('journeys/history')
  history(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Query('email') email?: string) {
    return this.pages.history(user, typeof email === 'string' ? email.trim() : '', id);
  }

  @Post('enable')
  @RerenderOnInvalid('journeys/planner', (pages, { user, params, error }) =>
    pages.planner(user, Number(params.journeyId), { violations: error.violations, error: error.message }),
  )
  async enable(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Body() body: FormBody) {
    await this.journeys.enable(user.userId, id);
    return redirectTo(backTo(body, id, 'enabled'));
  }

  @Post('disable')
  @Page('journeys/confirm')
  async disable(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Body() body: FormBody) {
    if (text(body, 'confirmed') !== '1') return this.pages.confirm(user, id, 'disable', text(body, 'back'));
    await this.journeys.disable(user.userId, id);
    return redirectTo(backTo(body, id, 'disabled'));
  }

  @Post('copy')
  async copy(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number) {
    await this.journeys.copy(user.userId, id);
    return redirectTo(`${plannerPaths.list()}?done=copied`);
  }

  @Post('delete')
  @Page('journeys/confirm')
  async delete(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Body() body: FormBody) {
    if (text(body, 'confirmed') !== '1') return this.pages.confirm(user, id, 'delete', text(body, 'back'));
    await this.journeys.delete(user.userId, id);
    return redirectTo(`${plannerPaths.list()}?done=deleted`);
  }

  @Post('entries/:entryId/retry')
  async retry(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Param('entryId', IdPipe) entryId: number) {
    await this.journeys.get(user.userId, id);
    await this.stats.retryEntry(user.userId, entryId, id);
    return redirectTo(`${plannerPaths.failed(id)}?done=retried`);
  }

  @Post('entries/:entryId/skip')
  async skip(@CurrentUser() user: HostUser, @Param('journeyId', IdPipe) id: number, @Param('entryId', IdPipe) entryId: number) {
    await this.journeys.get(user.userId, id);
    await this.stats.skipEntry(user.userId, entryId, id);
    return redirectTo(`${plannerPaths.failed(id)}?done=skipped`);
  }
}
