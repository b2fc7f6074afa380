/** The planner's script and stylesheet, served as files (the pages allow no inline script or style). */
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { join } from 'node:path';
import { pluginFiles } from './plugin-files';
import { PLANNER_BASE } from './planner.paths';

const ASSETS: Record<string, string> = {
  'planner.js': 'text/javascript; charset=utf-8',
  'planner-settings.js': 'text/javascript; charset=utf-8',
  'journeys.css': 'text/css; charset=utf-8',
};

@Controller(`${PLANNER_BASE}/assets`)
export class AssetsController {
  @Get(':file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    if (!Object.prototype.hasOwnProperty.call(ASSETS, file)) throw new NotFoundException();
    res.setHeader('Content-Type', ASSETS[file]);
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.sendFile(join(pluginFiles.public, file));
  }
}
