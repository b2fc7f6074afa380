/**
 * Prometheus metrics of the runtime, in a registry of their own so several
 * applications in one process (tests) do not collide. The web layer serves
 * `registry.metrics()`.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DB, TABLES } from '../core/tokens';
import type { Db } from '../database/db';
import type { PluginTables } from '../database/tables';
import { EntryQueue } from './entry-queue.service';

@Injectable()
export class RuntimeMetrics {
  readonly registry = new Registry();

  readonly eventsIn = new Counter({
    name: 'journeys_events_in_total',
    help: 'Trigger events received, by outcome (new, duplicate)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly enrolled = new Counter({ name: 'journeys_entries_enrolled_total', help: 'Entries created by enrolment', registers: [this.registry] });
  readonly loopsRefused = new Counter({
    name: 'journeys_loops_refused_total',
    help: 'Enrolments refused by the causation depth bound',
    registers: [this.registry],
  });
  readonly actionsRun = new Counter({ name: 'journeys_actions_run_total', help: 'Actions run, by type', labelNames: ['type'], registers: [this.registry] });
  readonly actionsFailed = new Counter({
    name: 'journeys_actions_failed_total',
    help: 'Actions failed for good, by type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly eventToEffect = new Histogram({
    name: 'journeys_event_to_effect_seconds',
    help: 'From a trigger event handed to the intake to the commit of its enrolment and first instant actions',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly wakeLateness = new Histogram({
    name: 'journeys_wake_lateness_seconds',
    help: 'How late a waiting entry resumed after its wake-at time',
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });

  constructor(@Inject(DB) db: Db, @Inject(TABLES) tables: PluginTables, @Optional() entryQueue?: EntryQueue) {
    new Gauge({
      name: 'journeys_entries',
      help: 'Entries by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const rows = await db.select<{ State: string; n: number }>(`SELECT State, COUNT(*) AS n FROM \`${tables.entries}\` GROUP BY State`);
        this.reset();
        for (const row of rows) this.set({ state: row.State }, Number(row.n));
      },
    });
    new Gauge({
      name: 'journeys_queue_depth',
      help: 'Jobs in the entry queue, by Bull state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!entryQueue?.connection.available) return; // Redis away: no figures rather than a scrape held until it returns
        const counts = await entryQueue.queue.getJobCounts();
        for (const [state, n] of Object.entries(counts)) this.set({ state }, Number(n));
      },
    });
  }
}
