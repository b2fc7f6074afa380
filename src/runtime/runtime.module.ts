/**
 * The runtime: enrolment (the TriggerIntake), the entry queue and its worker,
 * external actions and webhooks, the sweeper, metrics and health.
 * Does not import the journeys module (which depends on this one); journey
 * rows are read through JourneyStore.
 */
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { EnrolmentService } from './enrolment.service';
import { EntryProcessor, EntryWorker } from './entry.processor';
import { EntryQueue } from './entry-queue.service';
import { EntryRunner } from './entry-runner';
import { EntryExits } from './entry-exits';
import { EntryScheduler } from './entry-scheduler';
import { ExternalActions, WEBHOOK_SENDER } from './external-actions';
import { HostFacts } from './host-facts';
import { JourneyStore } from './journey-store';
import { ENTRY_QUEUE } from './queues';
import { RuntimeHealth } from './runtime.health';
import { RuntimeMetrics } from './runtime.metrics';
import { Sweeper } from './sweeper.service';
import { TRIGGER_INTAKE } from './trigger-intake';
import { WebhookSender } from './webhook-sender';

@Module({
  imports: [BullModule.registerQueue({ name: ENTRY_QUEUE })],
  providers: [
    JourneyStore,
    EntryQueue,
    RuntimeMetrics,
    HostFacts,
    EnrolmentService,
    { provide: TRIGGER_INTAKE, useExisting: EnrolmentService },
    {
      provide: WEBHOOK_SENDER,
      useFactory: (config: AppConfig) => new WebhookSender({ timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE }),
      inject: [PLUGIN_CONFIG],
    },
    EntryRunner,
    ExternalActions,
    EntryExits,
    EntryScheduler,
    EntryWorker,
    EntryProcessor,
    Sweeper,
    RuntimeHealth,
  ],
  exports: [TRIGGER_INTAKE, EnrolmentService, EntryScheduler, EntryWorker, EntryQueue, Sweeper, RuntimeMetrics, RuntimeHealth, JourneyStore],
})
export class RuntimeModule {}
