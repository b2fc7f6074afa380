/**
 * The entries an open, click or conversion may move (waiting at a Wait for
 * event, or live in a journey with a goal), stepped inside the intake's
 * transaction that records the events: the Yes branch (or "converted")
 * commits together with the event, with no queue job in between. Under a
 * stream the intake's batches grow with the load, so one locked step moves
 * the wake-ups of a whole batch; a queue job per batch (one or two entries
 * each) capped a stream of opens at the workers' job rate.
 *
 * The step is the workers' own (StepRunner.stepInline: external
 * actions are claimed and their entries handed to a worker). Its entries are
 * locked in id order before the batch's enrolments lock theirs: should a
 * worker wait the other way round, MariaDB breaks the deadlock and the
 * intake retries the batch, as for any transient error.
 *
 * An entry that starts waiting in a step committing while this transaction
 * runs is not among those it reads (READ COMMITTED), and that step's own
 * look for events (EventWaits.catchUp) does not see these events before they
 * commit: the intake looks once more after commit (EventWaits.wake, leaving
 * out the entries stepped here).
 */
import { Injectable } from '@nestjs/common';
import type { SqlTransaction } from '../../database/db';
import type { SubscriberRef } from '../../engine/host-facts.types';
import { EntryStore } from '../entry-store';
import type { FirstStepFollowUps } from './list-import';
import { StepRunner } from './step-runner';

@Injectable()
export class WokenEntries {
  constructor(
    private readonly store: EntryStore,
    private readonly runner: StepRunner,
  ) {}

  /**
   * One step, in `tx`, for the entries of these subscribers that their new
   * events may move. Returns what to queue after commit, and the entries it
   * stepped (each was judged under its lock, as it stood then).
   */
  async stepInline(tx: SqlTransaction, refs: readonly SubscriberRef[], now: Date): Promise<{ followUps: FirstStepFollowUps; stepped: Set<number> }> {
    const rows = await this.store.reactiveEntriesOf(refs, tx);
    return { followUps: await this.runner.stepInline(tx, rows, now), stepped: new Set(rows.map((r) => r.EntryID)) };
  }
}
