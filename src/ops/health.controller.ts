/**
 * GET /journeys/health — for load balancers and orchestrators: MySQL
 * (SELECT 1) and Redis (PING), each time-limited.
 * 200 `{"status":"ok","checks":{"mysql":{"status":"up"},"redis":{"status":"up"}}}`, or 503 with `"status":"error"`.
 * No login: it tells only whether the dependencies answer.
 */
import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { RuntimeHealth } from '../runtime/runtime.health';

@Controller('journeys/health')
export class HealthController {
  constructor(private readonly health: RuntimeHealth) {}

  @Get()
  async check(@Res() res: Response): Promise<void> {
    const report = await this.health.check();
    const ok = report.status === 'up';
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ok ? 'ok' : 'error', checks: { mysql: report.mysql, redis: report.redis } });
  }
}
