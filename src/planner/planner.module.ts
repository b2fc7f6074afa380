/**
 * The planner: the Journeys pages inside the host admin (Campaigns → Journeys).
 * Server-rendered Handlebars in the host layout, plain HTML forms with CSRF
 * tokens, a strict Content-Security-Policy, and public/planner.js to make the
 * Action Planner fluid.
 */
import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import cookieParser from 'cookie-parser';
import helmet, { type HelmetOptions } from 'helmet';
import { JourneyDefinitionsModule } from '../journeys/journey-definitions.module';
import { AdminUserGuard } from './admin-user.guard';
import { AssetsController } from './assets.controller';
import { CsrfService } from './csrf.service';
import { JourneyListController } from './journey-list.controller';
import { JourneyPages } from './journey-pages.service';
import { JourneyController } from './journey.controller';
import { PageInterceptor } from './page.interceptor';
import { PageRenderer } from './page-renderer.service';
import { PlannerExceptionFilter } from './planner-exception.filter';
import { PlannerForm } from './planner-form.service';

/** script-src 'self' and no inline anything: every script and style of the pages is a served file. */
export const PLANNER_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'self'"],
    baseUri: ["'self'"],
    objectSrc: ["'none'"],
  },
};

/** The security headers of the plug-in's pages; a host can give its own pages the same (the reference host does). */
export const PLANNER_HELMET_OPTIONS: HelmetOptions = { contentSecurityPolicy: PLANNER_CSP, crossOriginEmbedderPolicy: false };

@Module({
  imports: [JourneyDefinitionsModule],
  // Static routes (assets, list, new, history) before /journeys/:journeyId.
  controllers: [AssetsController, JourneyListController, JourneyController],
  providers: [PageRenderer, CsrfService, AdminUserGuard, PageInterceptor, PlannerExceptionFilter, JourneyPages, PlannerForm],
})
export class PlannerModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(cookieParser(), helmet(PLANNER_HELMET_OPTIONS)).forRoutes(AssetsController, JourneyListController, JourneyController);
  }
}
