/**
 * Plans a step for entries already locked (or new, not yet visible to
 * anyone): reads their subscribers' facts through the host ports, calls the
 * pure engine's advance() for each, and cuts a result at an effect that
 * cannot be carried out (a custom field that is not the owner's or not on the
 * entry's list, a Start Journey target that is gone). Entries parked at an
 * external action whose claim is still pending come back to be carried out
 * instead of stepped.
 */
import { Injectable } from '@nestjs/common';
import type { SqlTransaction } from '../../database/db';
import { isExternalAction } from '../../engine/action-registry';
import { findAction } from '../../engine/action-tree';
import { requiredActivity } from '../../engine/conditions';
import { advance } from '../../engine/step';
import type { SubscriberEvent } from '../../engine/host-facts.types';
import type { LocalEffect, StepResult, StepStart } from '../../engine/step.types';
import { refOf, splitKeyOf, subscriberKey, type EntryRow, type PendingExternal } from '../entry.types';
import { SubscriberEvents } from '../intake/subscriber-events';

/** An entry standing at an external action whose claim is still pending: to be carried out (once its lease is taken), not stepped. */
export type ResumedExternal = Omit<PendingExternal, 'attempt'>;
import { HostFacts, type OwnerFacts } from '../host-facts';
import { JourneyStore, type RuntimeJourney } from '../journey-store';
import { RuntimeMetrics } from '../runtime.metrics';
import type { Plan } from './step-decisions';

/** Start Journey targets met while planning: the owner's journey, or undefined when it does not exist for that owner. */
export type StartTargets = Map<number, RuntimeJourney | undefined>;

@Injectable()
export class StepPlanner {
  constructor(
    private readonly facts: HostFacts,
    private readonly journeys: JourneyStore,
    private readonly metrics: RuntimeMetrics,
    private readonly subscriberEvents: SubscriberEvents,
  ) {}

  /**
   * advance() for each runnable entry, in order; later entries of a
   * subscriber see the field writes of earlier ones. `claims`: the claim
   * status of entries standing at an external action.
   */
  async plan(
    tx: SqlTransaction,
    runnable: readonly EntryRow[],
    journeys: ReadonlyMap<number, RuntimeJourney>,
    claims: ReadonlyMap<number, { Status: string }>,
    now: Date,
    targets: StartTargets,
  ): Promise<{ plans: Plan[]; resumeExternals: ResumedExternal[] }> {
    const subscribers = await this.facts.subscribers(runnable.map((entry) => ({ ownerUserId: entry.RelOwnerUserID, ref: refOf(entry) })));
    const events = await this.eventsOf(
      tx,
      runnable.filter((entry) => journeys.get(entry.JourneyID)?.reactsToEvents),
    );
    const activity = await this.facts.activity(
      runnable
        .filter((entry) => journeys.has(entry.JourneyID))
        .map((entry) => ({
          ownerUserId: entry.RelOwnerUserID,
          ref: refOf(entry),
          selections: requiredActivity(journeys.get(entry.JourneyID)!.definition.actions),
        }))
        .filter((w) => w.selections.length > 0),
    );

    const plans: Plan[] = [];
    const resumeExternals: ResumedExternal[] = [];
    for (const entry of runnable) {
      const journey = journeys.get(entry.JourneyID);
      const subscriber = subscribers.get(subscriberKey(refOf(entry))) ?? null;
      if (!journey) {
        plans.push({ entry, journey: placeholderJourney(entry), subscriber, result: exitWith(entry.CurrentActionID, 'Journey no longer exists') });
        continue;
      }
      if (!subscriber) {
        plans.push({ entry, journey, subscriber, result: exitWith(entry.CurrentActionID, 'Subscriber no longer exists in the list') });
        continue;
      }
      let start: StepStart = { from: 'beginning' };
      if (entry.CurrentActionID) {
        const action = findAction(journey.definition.actions, entry.CurrentActionID);
        if (isExternalAction(action)) {
          const claim = claims.get(entry.EntryID);
          if (!claim || claim.Status === 'pending') {
            if (entry.State === 'active' || !entry.WakeAt || entry.WakeAt.getTime() <= now.getTime())
              resumeExternals.push({ entry, journey, action, subscriber });
            continue; // (a retry not due yet waits for its time)
          }
          if (claim.Status === 'failed') continue; // parked; the entry is (or is about to be) failed
          start = { from: 'after', actionId: entry.CurrentActionID };
        } else if (entry.State === 'waiting') {
          const until = entry.WakeAt ?? now;
          start = { from: 'waiting', actionId: entry.CurrentActionID, since: entry.WaitingSince ?? entry.CreatedAt, until };
          if (until.getTime() <= now.getTime()) this.metrics.wakeLateness.observe((now.getTime() - until.getTime()) / 1000);
        } else {
          start = { from: 'after', actionId: entry.CurrentActionID };
        }
      }
      const owner = await this.facts.owner(entry.RelOwnerUserID);
      let result: StepResult;
      try {
        result = advance({
          journey: journey.definition,
          start,
          now,
          entry: { key: splitKeyOf(entry), enteredAt: entry.CreatedAt },
          facts: {
            subscriber,
            activity: activity.get(subscriberKey(refOf(entry))) ?? {},
            timeZone: owner.timeZone,
            customFieldNames: owner.customFieldNames,
            events: events.get(subscriberKey(refOf(entry))),
          },
        });
      } catch (error) {
        const actionId = entry.CurrentActionID ?? journey.definition.actions[0]?.id ?? '-';
        result = { ran: [], effects: [], outcome: { kind: 'failed', actionId, error: `Engine error: ${(error as Error).message}` } };
      }
      result = await this.checkEffects(tx, entry, result, owner, targets);
      // Later entries of this subscriber in the batch see these writes (a merge tag reading the field gets the new value).
      const written = result.effects.filter((e): e is Extract<LocalEffect, { kind: 'set_custom_field' }> => e.kind === 'set_custom_field');
      if (written.length > 0) {
        const customFields = { ...subscriber.customFields };
        for (const write of written) customFields[write.fieldId] = write.value;
        subscribers.set(subscriberKey(refOf(entry)), { ...subscriber, customFields });
      }
      plans.push({ entry, journey, subscriber, result });
    }
    return { plans, resumeExternals };
  }

  /** The recent opens, clicks and conversions of these entries' subscribers, since the earliest any of them needs. */
  private async eventsOf(tx: SqlTransaction, entries: readonly EntryRow[]): Promise<Map<string, SubscriberEvent[]>> {
    if (entries.length === 0) return new Map();
    const since = new Date(Math.min(...entries.map((e) => Math.min(e.CreatedAt.getTime(), e.WaitingSince?.getTime() ?? Infinity))));
    return this.subscriberEvents.since(entries.map(refOf), since, tx);
  }

  /**
   * Refuses, before anything is applied, the effects that cannot be carried
   * out. The step is cut at that action, which fails with the reason; the
   * actions before it stand.
   */
  private async checkEffects(tx: SqlTransaction, entry: EntryRow, result: StepResult, owner: OwnerFacts, targets: StartTargets): Promise<StepResult> {
    for (const effect of result.effects) {
      let problem: string | null = null;
      if (effect.kind === 'set_custom_field') {
        problem = await this.fieldProblem(entry, effect.fieldId, owner);
      } else if (effect.kind === 'start_journey') {
        if (!targets.has(effect.journeyId)) {
          const target = await this.journeys.get(effect.journeyId, tx);
          targets.set(effect.journeyId, target && target.definition.ownerUserId === entry.RelOwnerUserID ? target : undefined);
        }
        if (!targets.get(effect.journeyId)) problem = `journey ${effect.journeyId} does not exist`;
      }
      if (!problem) continue;
      const cut = result.ran.findIndex((r) => r.actionId === effect.actionId);
      const type = cut >= 0 ? result.ran[cut].type : effect.kind;
      const before = new Set(result.ran.slice(0, Math.max(0, cut)).map((r) => r.actionId));
      return {
        ran: result.ran.slice(0, Math.max(0, cut)),
        effects: result.effects.filter((e) => before.has(e.actionId)),
        outcome: { kind: 'failed', actionId: effect.actionId, error: `${type}: ${problem}` },
      };
    }
    return result;
  }

  private async fieldProblem(entry: EntryRow, fieldId: number, cached: OwnerFacts): Promise<string | null> {
    // A field missing from the cached facts may have been created since they were read: read them again before failing.
    const owner = cached.customFieldLists.has(fieldId) ? cached : await this.facts.owner(entry.RelOwnerUserID, true);
    const fieldList = owner.customFieldLists.get(fieldId);
    if (fieldList === undefined) return `custom field ${fieldId} does not exist`;
    if (fieldList !== 0 && fieldList !== entry.ListID) return `custom field ${fieldId} is not a field of list ${entry.ListID}`;
    return null;
  }
}

function exitWith(actionId: string | null, reason: string): StepResult {
  return { ran: [], effects: [], outcome: { kind: 'exited', actionId, reason } };
}

/** Stands in for a journey deleted under its entries, so they can exit with the reason. */
function placeholderJourney(entry: EntryRow): RuntimeJourney {
  return {
    enabled: true,
    webhookSecret: '',
    reactsToEvents: false,
    endsOtherEntries: false,
    definition: {
      journeyId: entry.JourneyID,
      ownerUserId: entry.RelOwnerUserID,
      name: '',
      status: 'Enabled',
      reEntry: 'allow',
      trigger: { type: 'manual' },
      actions: [],
      version: 0,
    },
  };
}
