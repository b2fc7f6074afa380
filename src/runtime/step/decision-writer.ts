/**
 * Writes a step decision inside the step's transaction: the custom field
 * writes through the host (one batch per list when the host offers it, else
 * one call per value, in this transaction so they commit with the claims),
 * the log rows, the entries' new positions, the Start Journey enrolments and
 * the journeys' last activity; then counts the actions run and failed.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { SqlTransaction } from '../../database/db';
import { HOST_PORTS, type HostPorts } from '../../host/host.ports';
import { EntryStore } from '../entry-store';
import type { FinalPosition } from '../entry.types';
import { batchFieldWriter, lastWrites } from '../host-batch';
import { Enrolment, type EnrolResult } from '../intake/enrolment';
import { JourneyStore } from '../journey-store';
import { RuntimeMetrics } from '../runtime.metrics';
import type { Decision, FieldWrite } from './step-decisions';

@Injectable()
export class DecisionWriter {
  constructor(
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    private readonly store: EntryStore,
    private readonly journeys: JourneyStore,
    private readonly enrolment: Enrolment,
    private readonly metrics: RuntimeMetrics,
  ) {}

  /**
   * `positions`: the entry positions to update (a list import inserts its new
   * entries at their positions itself and passes only the others').
   * Returns the Start Journey enrolments, to queue after commit.
   */
  async write(
    tx: SqlTransaction,
    decision: Decision,
    positions: ReadonlyMap<number, FinalPosition>,
    journeyIds: Iterable<number>,
    now: Date,
  ): Promise<EnrolResult> {
    await this.writeFields(tx, decision.fieldWrites);
    await this.store.insertLogs(tx, decision.logs, now);
    await this.store.writePositions(tx, positions, now);
    const started = await this.enrolment.enrol(tx, decision.enrolRequests);
    await this.journeys.touch(tx, journeyIds, now);
    for (const [type, n] of decision.runCounts) this.metrics.actionsRun.inc({ type }, n);
    for (const [type, n] of decision.failCounts) this.metrics.actionsFailed.inc({ type }, n);
    return started;
  }

  private async writeFields(tx: SqlTransaction, writes: readonly FieldWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const batch = batchFieldWriter(this.host.subscriptions);
    if (!batch) {
      for (const w of writes)
        await this.host.subscriptions.setCustomField(w.ownerUserId, { listId: w.listId, subscriberId: w.subscriberId }, w.fieldId, w.value, tx);
      return;
    }
    const groups = new Map<string, FieldWrite[]>();
    for (const w of writes) {
      const key = `${w.ownerUserId}:${w.listId}`;
      const group = groups.get(key);
      if (group) group.push(w);
      else groups.set(key, [w]);
    }
    for (const group of groups.values()) await batch(group[0].ownerUserId, group[0].listId, lastWrites(group), tx);
  }
}
