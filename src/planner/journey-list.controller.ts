/** The journey list, Create Journey, and the subscriber history search (across journeys). */
import { Body, Controller, Get, Post, Query, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import type { HostUser } from '../host/host.ports';
import { JourneysService } from '../journeys/journeys.service';
import { AdminUserGuard } from './admin-user.guard';
import { text, type FormBody } from './forms/form-values';
import { goalFormFromBody, goalFromForm } from './forms/goal.form';
import { triggerFormFromBody, triggerFromForm } from './forms/trigger.form';
import { JourneyPages } from './journey-pages.service';
import { CurrentUser, Page, RerenderOnInvalid } from './page.decorators';
import { PageInterceptor } from './page.interceptor';
import { redirectTo } from './page-model';
import { PlannerExceptionFilter } from './planner-exception.filter';
import { PLANNER_BASE, plannerPaths } from './planner.paths';

function createValues(body: FormBody) {
  return { name: text(body, 'name'), notes: text(body, 'notes'), trigger: triggerFormFromBody(body), goal: goalFormFromBody(body) };
}

@Controller(PLANNER_BASE)
@UseGuards(AdminUserGuard)
@UseInterceptors(PageInterceptor)
@UseFilters(PlannerExceptionFilter)
export class JourneyListController {
  constructor(
    private readonly pages: JourneyPages,
    private readonly journeys: JourneysService,
  ) {}

  @Get()
  @Page('journeys/list')
  list(@CurrentUser() user: HostUser, @Query('done') done?: string) {
    return this.pages.list(user, done);
  }

  @Get('new')
  @Page('journeys/create')
  createForm(@CurrentUser() user: HostUser) {
    return this.pages.createForm(user);
  }

  @Post()
  @RerenderOnInvalid('journeys/create', (pages, { user, body, error }) => pages.createForm(user, createValues(body), error))
  async create(@CurrentUser() user: HostUser, @Body() body: FormBody) {
    const values = createValues(body);
    const journey = await this.journeys.create(user.userId, {
      name: values.name,
      notes: values.notes || null,
      trigger: triggerFromForm(values.trigger),
      goal: goalFromForm(values.goal),
    });
    return redirectTo(`${plannerPaths.planner(journey.journeyId)}?done=created`);
  }

  @Get('history')
  @Page('journeys/history')
  history(@CurrentUser() user: HostUser, @Query('email') email?: string) {
    return this.pages.history(user, typeof email === 'string' ? email.trim() : '');
  }
}
