/**
 * GET /journeys/metrics — Prometheus text exposition of the runtime's registry:
 * events in, entries by state (a gauge read with one grouped query per
 * scrape), actions run / failed, queue depth, wake-up lateness, ingest posts.
 * No login, as Prometheus scrapes it: expose it on the internal network only.
 */
import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { RuntimeMetrics } from '../runtime/runtime.metrics';

@Controller('journeys/metrics')
export class MetricsController {
  constructor(private readonly metrics: RuntimeMetrics) {}

  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    const text = await this.metrics.registry.metrics();
    // setHeader + end: Express's send() would add a charset to the exposition format's content type.
    res.status(200).setHeader('Content-Type', this.metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(text);
  }
}
