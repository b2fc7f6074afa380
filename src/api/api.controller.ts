/**
 * The API endpoint, in the host's style: one URL, the command named by the
 * `Command` parameter, the other parameters beside it (JSON or form body).
 *
 *   POST /journeys/api  {"Command":"journey.get","JourneyID":7}
 *   → 200 {"Success":true,"Journey":{…}}
 *   → 4xx {"Success":false,"Errors":[{"Code":1,"Message":"Journey 7 not found"}]}
 */
import { Body, Controller, HttpCode, Post, Req, UseFilters, UseGuards } from '@nestjs/common';
import { JourneysException } from '../common/journeys.exception';
import { ApiAuthGuard, API_USER, type ApiRequest } from './api-auth.guard';
import { ApiCommands } from './api-commands.service';
import { ApiExceptionFilter } from './api-exception.filter';

export const API_PATH = 'journeys/api';

@Controller(API_PATH)
@UseGuards(ApiAuthGuard)
@UseFilters(ApiExceptionFilter)
export class ApiController {
  constructor(private readonly commands: ApiCommands) {}

  @Post()
  @HttpCode(200)
  async run(@Req() req: ApiRequest, @Body() body: unknown): Promise<Record<string, unknown>> {
    const user = req[API_USER]!;
    if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
      throw JourneysException.invalid('The parameters must be a JSON object or a form body');
    }
    const { Command, ...params } = (body ?? {}) as Record<string, unknown>;
    const result = await this.commands.run(user.userId, Command, params);
    return { Success: true, ...result };
  }
}
