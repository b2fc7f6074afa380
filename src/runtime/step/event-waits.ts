/**
 * Opens, clicks and conversions move entries that wait for them, as soon as
 * they arrive: entries at a Wait for event (Yes branch) and every live entry
 * of a journey with a goal (converted). The intake steps the entries it sees
 * in the transaction that records the events (WokenEntries). Two checks, each
 * after its own commit, catch the rest, so that whichever of "the entry starts
 * waiting" and "the event is recorded" commits second sees the first:
 * - the intake, having recorded events, queues the subscribers' reactive
 *   entries it did not step;
 * - a step, having parked entries at a Wait for event, looks for events that
 *   arrived since they reached it and queues those entries.
 * The step that runs them decides under the entries' locks (one branch per visit).
 */
import { Injectable } from '@nestjs/common';
import type { SubscriberRef } from '../../engine/host-facts.types';
import { EntryQueue } from '../entry-queue.service';
import { EntryStore } from '../entry-store';
import { subscriberKey } from '../entry.types';
import { SubscriberEvents } from '../intake/subscriber-events';
import type { EntryStep } from '../queues';

/** An entry that started waiting for an event in a step. */
export interface EventWait extends EntryStep {
  ref: SubscriberRef;
  since: Date;
}

@Injectable()
export class EventWaits {
  constructor(
    private readonly store: EntryStore,
    private readonly events: SubscriberEvents,
    private readonly queue: EntryQueue,
  ) {}

  /** After the intake committed these subscribers' events: their entries that may move now run now, but for those it stepped already. */
  async wake(refs: readonly SubscriberRef[], stepped: ReadonlySet<number> = new Set()): Promise<void> {
    if (refs.length === 0) return;
    const entries = (await this.store.reactiveEntriesOf(refs)).filter((e) => !stepped.has(e.EntryID));
    await this.queue.runNow(entries.map((e) => ({ entryId: e.EntryID, stepSeq: e.StepSeq })));
  }

  /** After a step committed entries waiting for an event: those whose subscriber had an event since run now. */
  async catchUp(waits: readonly EventWait[]): Promise<void> {
    if (waits.length === 0) return;
    const since = new Date(Math.min(...waits.map((w) => w.since.getTime())));
    const events = await this.events.since(
      waits.map((w) => w.ref),
      since,
    );
    const due = waits.filter((w) => (events.get(subscriberKey(w.ref)) ?? []).some((e) => e.occurredAt.getTime() >= w.since.getTime()));
    await this.queue.runNow(due.map(({ entryId, stepSeq }) => ({ entryId, stepSeq })));
  }
}
