/**
 * Journey definitions (create, edit, save actions, enable / disable, copy,
 * delete, manual enrolment) and their stats and history. The planner pages and
 * the API use the two exported services; the runtime does not import this
 * module (it reads journey rows through journey.codec.ts).
 */
import { Module } from '@nestjs/common';
import type { Sequelize } from 'sequelize';
import { SEQUELIZE, TABLES } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import { RuntimeModule } from '../runtime/runtime.module';
import { JourneyStatsService } from './journey-stats.service';
import { JourneyValidation } from './journey-validation';
import { defineJourneyModels, JOURNEY_MODELS } from './journey.model';
import { JourneyRepository } from './journey.repository';
import { JourneysService } from './journeys.service';

@Module({
  imports: [RuntimeModule],
  providers: [
    {
      provide: JOURNEY_MODELS,
      useFactory: (sequelize: Sequelize, tables: PluginTables) => defineJourneyModels(sequelize, tables),
      inject: [SEQUELIZE, TABLES],
    },
    JourneyRepository,
    JourneyValidation,
    JourneysService,
    JourneyStatsService,
  ],
  exports: [JourneysService, JourneyStatsService],
})
export class JourneyDefinitionsModule {}
