/**
 * Runs a batch of entries one step: load, decide (the pure engine), claim and
 * apply in one MySQL transaction, then queue what comes next.
 *
 * 1. An unlocked look at the batch: entries of disabled journeys stay frozen,
 *    waits not yet due are handed back to the queue for their time.
 * 2. One READ COMMITTED transaction: every live entry of the batch's
 *    subscribers (of their whole person when their journey has an Exit
 *    Journey or Exit All Other Journeys: same-person.ts) is locked in id
 *    order (EntryStore.lockLive), then re-read under the lock; only then
 *    are the subscribers' facts read and advance() called (StepPlanner). One
 *    subscriber's entries are thus never moved by two workers at once, and a
 *    merge tag sees what another journey just wrote.
 * 3. The execution-log rows are the claims (decideSteps): a step whose log row
 *    exists is not applied again. Local effects and the entries' new positions
 *    commit together (DecisionWriter).
 * 4. External actions are claimed (log row `pending` with a lease) and carried
 *    out after commit by ExternalActions.
 */
import { randomBytes } from 'crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/env';
import { CLOCK, DB, PLUGIN_CONFIG, type Clock } from '../../core/tokens';
import type { Db, SqlTransaction } from '../../database/db';
import { EntryQueue, type TimedEntryStep } from '../entry-queue.service';
import { claimKeyOf, EntryStore } from '../entry-store';
import { refOf, type EntryRow, type PendingExternal } from '../entry.types';
import { JourneyStore, type RuntimeJourney } from '../journey-store';
import type { EntryStep } from '../queues';
import { externalLeaseMs } from '../runtime.limits';
import { DecisionWriter } from './decision-writer';
import { EventWaits, type EventWait } from './event-waits';
import { liveByPerson, otherSubscribers, SamePerson } from './same-person';
import { decideSteps, standsAtExternal } from './step-decisions';
import { StepPlanner, type ResumedExternal, type StartTargets } from './step-planner';

/** A token naming one taker of leases (22 characters of base64url). */
function leaseToken(): string {
  return randomBytes(16).toString('base64url');
}

export interface StepReport {
  /** Entries that moved in this step. */
  moved: number;
  externals: PendingExternal[];
}

/** What a locked step leaves to do after commit. */
export interface StepFollowUps {
  moved: number;
  externals: PendingExternal[];
  wakes: TimedEntryStep[];
  /** Entries to run now: Start Journey enrolments, and (inline steps) entries whose external action a worker carries out. */
  runNow: EntryStep[];
  /** Entries that started waiting for an event: checked for events that arrived meanwhile, after commit. */
  eventWaits: EventWait[];
}

@Injectable()
export class StepRunner {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    private readonly store: EntryStore,
    private readonly journeys: JourneyStore,
    private readonly planner: StepPlanner,
    private readonly writer: DecisionWriter,
    private readonly queue: EntryQueue,
    private readonly eventWaits: EventWaits,
    private readonly samePerson: SamePerson,
  ) {}

  /** One step for each runnable entry among `entryIds`. */
  async step(entryIds: readonly number[]): Promise<StepReport> {
    const ids = [...new Set(entryIds)];
    if (ids.length === 0) return { moved: 0, externals: [] };
    const now = this.clock.now();
    const seen = await this.store.peekRunnable(ids);
    if (seen.length === 0) return { moved: 0, externals: [] };
    const journeys = await this.journeys.load(seen.map((e) => e.JourneyID));
    const notDue: TimedEntryStep[] = [];
    const candidates = seen.filter((entry) => {
      const journey = journeys.get(entry.JourneyID);
      if (journey && !journey.enabled) return false; // a disabled journey freezes its entries: leave them exactly where they are
      // A wait not due yet is handed back for its time, unless an event may move it now (a goal, a Wait for event).
      if (entry.State === 'waiting' && entry.WakeAt && entry.WakeAt.getTime() > now.getTime() && !journey?.reactsToEvents) {
        notDue.push({ entryId: entry.EntryID, stepSeq: entry.StepSeq, wakeAt: entry.WakeAt });
        return false;
      }
      return true;
    });
    await this.queue.runAt(notDue);
    if (candidates.length === 0) return { moved: 0, externals: [] };

    const done = await this.db.transaction((tx) => this.stepLocked(tx, candidates, journeys, now, false));
    await this.queue.runAt(done.wakes);
    await this.queue.runNow(done.runNow);
    await this.eventWaits.catchUp(done.eventWaits);
    return { moved: done.moved, externals: done.externals };
  }

  /**
   * One step for these entries inside the caller's transaction (the intake's:
   * a list import's new entries, entries an event wakes); what is left to
   * queue after its commit comes back.
   */
  async stepInline(tx: SqlTransaction, rows: readonly EntryRow[], now: Date): Promise<Pick<StepFollowUps, 'wakes' | 'runNow' | 'eventWaits'>> {
    if (rows.length === 0) return { wakes: [], runNow: [], eventWaits: [] };
    const journeys = await this.journeys.load(
      rows.map((r) => r.JourneyID),
      tx,
    );
    const { wakes, runNow, eventWaits } = await this.stepLocked(tx, rows, journeys, now, true);
    return { wakes, runNow, eventWaits };
  }

  /**
   * The step under lock. `inline`: called inside an enrolment transaction (a
   * list import): external actions are claimed without a lease and their
   * entries handed to a worker rather than carried out here.
   */
  private async stepLocked(
    tx: SqlTransaction,
    candidates: readonly EntryRow[],
    journeys: ReadonlyMap<number, RuntimeJourney>,
    now: Date,
    inline: boolean,
  ): Promise<StepFollowUps> {
    // Entries whose journey can exit others lock their whole person's live entries too, in the same id-ordered statement.
    const persons = await this.samePerson.of(
      candidates.filter((c) => journeys.get(c.JourneyID)?.endsOtherEntries).map((c) => ({ ownerUserId: c.RelOwnerUserID, ref: refOf(c) })),
    );
    const others = otherSubscribers(persons, candidates.map(refOf)).map((ref) => ({ ListID: ref.listId, SubscriberID: ref.subscriberId }));
    const { locked, liveOf } = await this.store.lockLive(tx, [...candidates, ...others]);
    // The entries as they are now, under lock: still live, still runnable.
    const runnable = candidates
      .map((c) => locked.get(c.EntryID))
      .filter(
        (e): e is EntryRow =>
          !!e &&
          (e.State === 'active' ||
            (e.State === 'waiting' && (!e.WakeAt || e.WakeAt.getTime() <= now.getTime() || !!journeys.get(e.JourneyID)?.reactsToEvents))),
      )
      .sort((a, b) => a.EntryID - b.EntryID);
    if (runnable.length === 0) return { moved: 0, externals: [], wakes: [], runNow: [], eventWaits: [] };

    const claims = await this.store.claimsAt(
      tx,
      runnable.filter((entry) => standsAtExternal(entry, journeys.get(entry.JourneyID))),
    );
    const targets: StartTargets = new Map();
    const { plans, resumeExternals } = await this.planner.plan(tx, runnable, journeys, claims, now, targets);
    // Entries at an external action still pending (a retry, an import's claim): carried out by this worker once it holds
    // their leases, taken here under the entries' locks, one statement for the batch; the others are someone else's.
    const resumed = inline ? [] : await this.takeLeases(tx, resumeExternals, now);
    if (plans.length === 0) return { moved: 0, externals: resumed, wakes: [], runNow: [], eventWaits: [] };

    // Log rows are written only together with a StepSeq bump (or for the entry's current external action),
    // so an entry that never moved (StepSeq 0) has none: a list import's fresh entries skip this read.
    const claimed = await this.store.claimedSteps(
      tx,
      plans.filter((p) => p.entry.StepSeq > 0).map((p) => p.entry.EntryID),
    );
    const lease = inline ? null : { until: new Date(now.getTime() + externalLeaseMs(this.config)), owner: leaseToken() };
    const decision = decideSteps(plans, claimed, liveByPerson(liveOf, persons), targets, lease);
    const started = await this.writer.write(
      tx,
      decision,
      decision.positions,
      plans.map((p) => p.journey.definition.journeyId),
      now,
    );

    const out: StepFollowUps = { moved: plans.length, externals: [], wakes: [], runNow: started.entries, eventWaits: [] };
    for (const plan of plans) {
      const position = decision.positions.get(plan.entry.EntryID);
      if (!position) continue;
      const entryId = plan.entry.EntryID;
      if (position.state === 'waiting' && position.wakeAt) out.wakes.push({ entryId, stepSeq: position.newStepSeq, wakeAt: position.wakeAt });
      if (position.waitingSince) out.eventWaits.push({ entryId, stepSeq: position.newStepSeq, ref: refOf(plan.entry), since: position.waitingSince });
      const external = decision.externalOf.get(entryId);
      if (!external || position.state !== 'active') continue;
      if (inline) out.runNow.push({ entryId, stepSeq: position.newStepSeq });
      else {
        out.externals.push({
          entry: { ...plan.entry, State: 'active', CurrentActionID: external.action.id, StepSeq: position.newStepSeq, WakeAt: null },
          journey: plan.journey,
          action: external.action,
          subscriber: plan.subscriber!,
          attempt: 1,
        });
      }
    }
    out.externals.push(...resumed);
    return out;
  }

  private async takeLeases(tx: SqlTransaction, resumed: readonly ResumedExternal[], now: Date): Promise<PendingExternal[]> {
    if (resumed.length === 0) return [];
    const until = new Date(now.getTime() + externalLeaseMs(this.config));
    const taken = await this.store.takeLeases(
      tx,
      resumed.map((r) => ({ entryId: r.entry.EntryID, actionId: r.action.id })),
      leaseToken(),
      now,
      until,
    );
    return resumed.flatMap((r) => {
      const attempt = taken.get(claimKeyOf(r.entry.EntryID, r.action.id));
      return attempt === undefined ? [] : [{ ...r, attempt }];
    });
  }
}
