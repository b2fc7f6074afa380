/**
 * What a batch of planned steps writes, decided without I/O: each entry's new
 * position, the log rows (the claims: a step already claimed is never applied
 * again), the local effects (custom field writes, Start Journey enrolments,
 * exits of other entries) and the external actions to claim as pending.
 * The step runner and the list-import path carry the decision out.
 */
import { actionDefinition, isExternalAction, type ExternalAction } from '../../engine/action-registry';
import { findAction } from '../../engine/action-tree';
import type { HostSubscriber } from '../../engine/host-facts.types';
import type { LocalEffect, StepResult } from '../../engine/step.types';
import { ended, refOf, subscriberKey, type EntryRow, type FinalPosition, type LogRow } from '../entry.types';
import type { RuntimeJourney } from '../journey-store';
import type { EnrolRequest } from '../intake/admission';

/** One entry's step as the planner decided it. */
export interface Plan {
  entry: EntryRow;
  journey: RuntimeJourney;
  subscriber: HostSubscriber | null;
  result: StepResult;
}

export interface FieldWrite {
  ownerUserId: number;
  listId: number;
  subscriberId: number;
  fieldId: number;
  value: string | null;
}

export interface Decision {
  positions: Map<number, FinalPosition>;
  /** Entries (of this batch or not) ended by another entry's exit effect. */
  exitedByEffect: Set<number>;
  logs: LogRow[];
  enrolRequests: EnrolRequest[];
  fieldWrites: FieldWrite[];
  /** The external action each entry now stands at, claimed in this decision. */
  externalOf: Map<number, Plan & { action: ExternalAction }>;
  runCounts: Map<string, number>;
  failCounts: Map<string, number>;
}

/** Where a step's claim lives: `entryId:actionId`. */
export function claimKey(entryId: number, actionId: string): string {
  return `${entryId}:${actionId}`;
}

/**
 * Decides the writes of `plans`, in order (a later entry of the same
 * subscriber sees the earlier one's exits). `claimed`: claims that exist
 * already (extended as this decision claims). `liveOf`: the live entries of
 * each subscriber's person, what its exits end (locked by the caller; see
 * same-person.ts). `targets`: Start Journey targets
 * (undefined: not the owner's or gone). `lease`: the lease on external
 * actions claimed here, held by this step's worker; null when nobody holds one
 * yet (a worker takes it later).
 */
export function decideSteps(
  plans: readonly Plan[],
  claimed: Set<string>,
  liveOf: ReadonlyMap<string, readonly EntryRow[]>,
  targets: ReadonlyMap<number, RuntimeJourney | undefined>,
  lease: { until: Date; owner: string } | null,
): Decision {
  const d: Decision = {
    positions: new Map(),
    exitedByEffect: new Set(),
    logs: [],
    enrolRequests: [],
    fieldWrites: [],
    externalOf: new Map(),
    runCounts: new Map(),
    failCounts: new Map(),
  };
  const count = (counts: Map<string, number>, type: string) => counts.set(type, (counts.get(type) ?? 0) + 1);

  for (const plan of plans) {
    const { entry, journey, result } = plan;
    if (d.exitedByEffect.has(entry.EntryID)) continue; // an earlier entry of this batch ended it
    const journeyId = journey.definition.journeyId;
    const log = (
      actionId: string,
      type: string,
      status: LogRow['status'],
      fields: Partial<Pick<LogRow, 'result' | 'detail' | 'leaseUntil' | 'leaseOwner' | 'attempts'>> = {},
    ) => d.logs.push({ entryId: entry.EntryID, journeyId, actionId, type, status, result: null, detail: null, leaseUntil: null, ...fields });
    let failure: { actionId: string; error: string } | null = null;
    for (const ran of result.ran) {
      if (claimed.has(claimKey(entry.EntryID, ran.actionId))) continue; // this step ran already: never twice
      let note: string | null = ran.result ?? null;
      try {
        for (const effect of result.effects) {
          if (effect.actionId !== ran.actionId) continue;
          note = applyEffect(effect, plan, liveOf, targets, d) ?? note;
        }
      } catch (error) {
        failure = { actionId: ran.actionId, error: `${ran.type}: ${(error as Error).message}` };
        log(ran.actionId, ran.type, 'failed', { detail: failure.error });
        count(d.failCounts, ran.type);
        break;
      }
      claimed.add(claimKey(entry.EntryID, ran.actionId));
      log(ran.actionId, ran.type, 'done', { result: note });
      count(d.runCounts, ran.type);
    }
    const newStepSeq = entry.StepSeq + 1;
    const at = (state: FinalPosition['state'], currentActionId: string | null, more: Partial<FinalPosition> = {}): FinalPosition => ({
      state,
      currentActionId,
      wakeAt: null,
      exitReason: null,
      lastError: null,
      newStepSeq,
      ...more,
    });
    let position: FinalPosition;
    const outcome = result.outcome;
    if (failure) {
      position = at('failed', failure.actionId, { lastError: failure.error });
    } else {
      switch (outcome.kind) {
        case 'wait':
          if (outcome.eventsSince) {
            // A Wait for event is logged once, when it resolves (its Yes or No is the claim).
            position = at('waiting', outcome.actionId, { wakeAt: outcome.wakeAt, waitingSince: outcome.eventsSince });
            break;
          }
          if (!claimed.has(claimKey(entry.EntryID, outcome.actionId))) {
            log(outcome.actionId, 'wait', 'done', { result: outcome.wakeAt.toISOString() });
            claimed.add(claimKey(entry.EntryID, outcome.actionId));
          }
          position = at('waiting', outcome.actionId, { wakeAt: outcome.wakeAt });
          break;
        case 'unchanged':
          continue; // still waiting where it waits: nothing to write
        case 'converted':
          position = at('converted', outcome.actionId ?? entry.CurrentActionID, { exitReason: outcome.reason.slice(0, 255) });
          break;
        case 'external':
          if (!claimed.has(claimKey(entry.EntryID, outcome.action.id))) {
            log(outcome.action.id, outcome.action.type, 'pending', {
              leaseUntil: lease?.until ?? null,
              leaseOwner: lease?.owner ?? null,
              attempts: lease ? 1 : 0,
            });
            claimed.add(claimKey(entry.EntryID, outcome.action.id));
            d.externalOf.set(entry.EntryID, { ...plan, action: outcome.action });
          }
          position = at('active', outcome.action.id);
          break;
        case 'completed':
          position = at('completed', result.ran.at(-1)?.actionId ?? entry.CurrentActionID);
          break;
        case 'exited':
          position = at('exited', outcome.actionId ?? entry.CurrentActionID, { exitReason: outcome.reason.slice(0, 255) });
          break;
        case 'failed': {
          const type = findAction(journey.definition.actions, outcome.actionId)?.type ?? 'unknown';
          if (!claimed.has(claimKey(entry.EntryID, outcome.actionId))) log(outcome.actionId, type, 'failed', { detail: outcome.error });
          position = at('failed', outcome.actionId, { lastError: outcome.error });
          count(d.failCounts, type);
          break;
        }
      }
    }
    d.positions.set(entry.EntryID, position);
  }

  // An entry ended by a later entry's exit effect does not carry out its claimed external action.
  for (const entryId of d.exitedByEffect) {
    if (!d.externalOf.delete(entryId)) continue;
    for (const log of d.logs) {
      if (log.entryId === entryId && log.status === 'pending')
        Object.assign(log, { status: 'skipped', leaseUntil: null, detail: 'Entry exited before the action was carried out' });
    }
  }
  return d;
}

/** Applies one local effect to the decision; returns a note for the log's Result when it has one. Throws when it cannot be done. */
function applyEffect(
  effect: LocalEffect,
  plan: Plan,
  liveOf: ReadonlyMap<string, readonly EntryRow[]>,
  targets: ReadonlyMap<number, RuntimeJourney | undefined>,
  d: Decision,
): string | null {
  const { entry, journey } = plan;
  const ref = refOf(entry);
  switch (effect.kind) {
    case 'set_custom_field':
      d.fieldWrites.push({
        ownerUserId: entry.RelOwnerUserID,
        listId: ref.listId,
        subscriberId: ref.subscriberId,
        fieldId: effect.fieldId,
        value: effect.value,
      });
      return null;
    case 'start_journey': {
      const target = targets.get(effect.journeyId);
      if (!target) throw new Error(`journey ${effect.journeyId} does not exist`);
      if (!target.enabled) return 'target disabled';
      d.enrolRequests.push({ journey: target, ref, chainId: entry.ChainID, chainDepth: entry.ChainDepth + 1, triggerEvent: entry.TriggerEvent });
      return 'started';
    }
    case 'exit_journeys':
    case 'exit_all_other_journeys': {
      // The person's live entries: every subscriber of the owner with this email address (the owner checked again here).
      const exiting = (liveOf.get(subscriberKey(ref)) ?? []).filter(
        (row) =>
          row.EntryID !== entry.EntryID &&
          row.RelOwnerUserID === entry.RelOwnerUserID &&
          (effect.kind === 'exit_all_other_journeys' ? row.JourneyID !== journey.definition.journeyId : effect.journeyIds.includes(row.JourneyID)) &&
          !ended(d.positions.get(row.EntryID)?.state ?? row.State),
      );
      const label = actionDefinition(effect.kind === 'exit_all_other_journeys' ? 'exit_all_other_journeys' : 'exit_journey').label;
      const reason = `${label} in journey ${journey.definition.journeyId} (action ${effect.actionId})`;
      for (const row of exiting) {
        d.positions.set(row.EntryID, {
          state: 'exited',
          currentActionId: null,
          wakeAt: null,
          exitReason: reason,
          lastError: null,
          newStepSeq: row.StepSeq + 1,
        });
        d.exitedByEffect.add(row.EntryID);
      }
      return `exited ${exiting.length}`;
    }
  }
}

/** Whether an entry stands at an external action of its journey. */
export function standsAtExternal(entry: EntryRow, journey: RuntimeJourney | undefined): boolean {
  return !!journey && !!entry.CurrentActionID && isExternalAction(findAction(journey.definition.actions, entry.CurrentActionID));
}
