/**
 * POST /journeys/hooks/:hookName — a host hook posted over HTTP, signed the
 * Standard Webhooks way. 200 `{"Success":true,"Hook":…,"Duplicate":false,"Result":…}`,
 * or `{"Success":true,"Duplicate":true}` for a webhook-id already processed.
 */
import { Controller, HttpCode, Param, Post, Req, UseFilters } from '@nestjs/common';
import { ApiExceptionFilter } from '../api/api-exception.filter';
import { HookIngest } from './hook-ingest.service';
import type { RawBodyRequest } from './raw-body.middleware';

export const INGEST_PATH = 'journeys/hooks';

@Controller(INGEST_PATH)
@UseFilters(ApiExceptionFilter)
export class IngestController {
  constructor(private readonly ingest: HookIngest) {}

  @Post(':hookName')
  @HttpCode(200)
  async receive(@Param('hookName') hookName: string, @Req() req: RawBodyRequest): Promise<Record<string, unknown>> {
    const result = await this.ingest.receive({ hookName, headers: req.headers, rawBody: req.rawBody });
    return { Success: true, ...result };
  }
}
