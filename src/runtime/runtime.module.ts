/**
 * The runtime: the trigger intake, the step runner and its list-import fast
 * path, the entry store (every statement on entries and the log), the entry
 * queue and its worker, external actions and webhooks, the sweeper, metrics
 * and health. Does not import the journeys module (which depends on this one);
 * journey rows are read through JourneyStore.
 *
 *   intake/    events in: coalescer → TriggerIntakeService (dedupe, batches) → TriggerMatcher → admission → Enrolment
 *   step/      StepRunner (lock, plan, decide, write) · StepPlanner · SamePerson · decideSteps (pure) · DecisionWriter · ListImport
 *   external/  ExternalActions and one executor per external action type
 */
import { BullModule } from '@nestjs/bull';
import { Module, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { assertRegistryComplete } from '../engine/action-registry';
import { EntryQueue } from './entry-queue.service';
import { EntryScheduler } from './entry-scheduler';
import { EntryStore } from './entry-store';
import { EntryProcessor, EntryWorker } from './entry.processor';
import { ExternalActions } from './external/external-actions';
import { SendEmailExecutor } from './external/send-email-executor';
import { SubscribeExecutor, UnsubscribeExecutor } from './external/subscription-executors';
import { WEBHOOK_SENDER, WebhookExecutor } from './external/webhook-executor';
import { HostFacts } from './host-facts';
import { Enrolment } from './intake/enrolment';
import { ProcessedEvents } from './intake/processed-events';
import { SubscriberEvents } from './intake/subscriber-events';
import { TRIGGER_INTAKE } from './trigger-intake';
import { TriggerIntakeService } from './intake/trigger-intake.service';
import { TriggerMatcher } from './intake/trigger-matcher';
import { JourneyStore } from './journey-store';
import { QueueConnection } from './queue-connection';
import { ENTRY_QUEUE } from './queues';
import { RuntimeHealth } from './runtime.health';
import { RuntimeMetrics } from './runtime.metrics';
import { DecisionWriter } from './step/decision-writer';
import { EventWaits } from './step/event-waits';
import { WokenEntries } from './step/woken-entries';
import { ListImport } from './step/list-import';
import { SamePerson } from './step/same-person';
import { StepPlanner } from './step/step-planner';
import { StepRunner } from './step/step-runner';
import { Sweeper } from './sweeper.service';
import { WebhookSender } from './webhook-sender';

@Module({
  imports: [BullModule.registerQueue({ name: ENTRY_QUEUE })],
  providers: [
    JourneyStore,
    EntryStore,
    QueueConnection,
    EntryQueue,
    RuntimeMetrics,
    HostFacts,
    ProcessedEvents,
    SubscriberEvents,
    EventWaits,
    WokenEntries,
    TriggerMatcher,
    Enrolment,
    StepPlanner,
    SamePerson,
    DecisionWriter,
    StepRunner,
    ListImport,
    TriggerIntakeService,
    { provide: TRIGGER_INTAKE, useExisting: TriggerIntakeService },
    {
      provide: WEBHOOK_SENDER,
      useFactory: (config: AppConfig) => new WebhookSender({ timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE }),
      inject: [PLUGIN_CONFIG],
    },
    SubscribeExecutor,
    UnsubscribeExecutor,
    WebhookExecutor,
    SendEmailExecutor,
    ExternalActions,
    EntryScheduler,
    EntryWorker,
    EntryProcessor,
    Sweeper,
    RuntimeHealth,
  ],
  exports: [
    TRIGGER_INTAKE,
    TriggerIntakeService,
    ProcessedEvents,
    EntryScheduler,
    EntryWorker,
    EntryQueue,
    Sweeper,
    RuntimeMetrics,
    RuntimeHealth,
    JourneyStore,
  ],
})
export class RuntimeModule implements OnModuleInit {
  /** Start-up check: every action type has its registry entry (external ones also an executor, checked by ExternalActions). */
  onModuleInit(): void {
    assertRegistryComplete();
  }
}
