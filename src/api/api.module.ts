/**
 * The API commands (POST /journeys/api) over the journeys services. Its body
 * parser is mounted on the Express instance while the application is created,
 * ahead of the host's parsers (see api-body.middleware.ts).
 */
import { Inject, Module, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { JourneyDefinitionsModule } from '../journeys/journey-definitions.module';
import { ApiAuthGuard } from './api-auth.guard';
import { apiBodyParser } from './api-body.middleware';
import { ApiCommands } from './api-commands.service';
import { API_PATH, ApiController } from './api.controller';
import { ApiExceptionFilter } from './api-exception.filter';

@Module({
  imports: [JourneyDefinitionsModule],
  controllers: [ApiController],
  providers: [ApiCommands, ApiAuthGuard, ApiExceptionFilter],
})
export class ApiModule {
  constructor(@Optional() @Inject(HttpAdapterHost) adapterHost?: HttpAdapterHost) {
    adapterHost?.httpAdapter?.use(`/${API_PATH}`, apiBodyParser());
  }
}
