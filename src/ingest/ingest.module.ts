/**
 * The signed HTTP hook ingest. The raw-body reader is mounted on the Express
 * instance while the application is being created, which is before Nest adds
 * its body parsers (at init): that is what keeps the exact bytes for the
 * signature whatever `rawBody` / body-parser options the host chose.
 */
import { Inject, Module, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PluginIntake } from '../plugin/plugin-intake';
import { RuntimeModule } from '../runtime/runtime.module';
import { HookIngest } from './hook-ingest.service';
import { INGEST_PATH, IngestController } from './ingest.controller';
import { rawBodyCapture } from './raw-body.middleware';

@Module({
  imports: [RuntimeModule],
  controllers: [IngestController],
  providers: [PluginIntake, HookIngest],
  exports: [PluginIntake, HookIngest],
})
export class IngestModule {
  constructor(@Optional() @Inject(HttpAdapterHost) adapterHost?: HttpAdapterHost) {
    // No HTTP server in a worker process (createApplicationContext).
    const adapter = adapterHost?.httpAdapter;
    if (adapter) adapter.use(`/${INGEST_PATH}`, rawBodyCapture());
  }
}
