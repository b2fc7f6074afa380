/**
 * The journey shapes of the stream benchmark (STREAM_JOURNEY), both triggered
 * by a subscription to the step lists, both ending every carried entry at the
 * same 30-day Wait after a field write (whose commit ends the latency):
 *
 * - `field`: each step streams `Subscriber.Subscribed`; the event enrols the
 *   subscriber into Update Custom Field (merge tag) → Wait 30 days.
 * - `wait_for_event`: before a step, its list's subscribers are all enrolled
 *   in bulk (untimed) and wait at a Wait for event "opened email E" (timeout
 *   30 days); the step then streams `Email.Opened` of E, each moving its
 *   subscriber's entry down the Yes branch: Update Custom Field (merge tag) →
 *   Wait 30 days (No: the end).
 *
 * How the wait_for_event shape enrols (STREAM_ENROL): `intake` (default),
 * subscription events through the intake's acceptMany (the path a
 * subscription hook or a list import takes: each entry is inserted where its
 * first step leaves it); `manual`, the journeys service's manual enrolment
 * (the API's "add subscribers": entries inserted, their first step run by the
 * workers). This benchmark found the intake's entries not woken by an open
 * (WaitingSince was not written on insert); `manual` keeps the other path
 * measurable.
 */
import type { Action } from '../src/engine/journey.types';
import type { TriggerEvent } from '../src/engine/trigger-event';
import { TriggerIntakeService } from '../src/runtime/intake/trigger-intake.service';
import { fmtInt, log, waitForCount, type BenchHost } from './bench-support';
import type { StreamEvents } from './stream-events';

export const STREAM_JOURNEYS = ['field', 'wait_for_event'] as const;
export type StreamJourney = (typeof STREAM_JOURNEYS)[number];
export const STREAM_ENROLMENTS = ['intake', 'manual'] as const;
export type StreamEnrolment = (typeof STREAM_ENROLMENTS)[number];

export const isStreamJourney = (value: string): value is StreamJourney => (STREAM_JOURNEYS as readonly string[]).includes(value);
export const isStreamEnrolment = (value: string): value is StreamEnrolment => (STREAM_ENROLMENTS as readonly string[]).includes(value);

/** Where every entry of a journey step ends once its event has been carried through. */
export const END_ACTION = 'stream_wait';
const AWAIT_ACTION = 'await_open';
/** How long the bulk enrolment before a step may take to leave every entry at the Wait for event. */
const PREPARE_TIMEOUT_MS = 300_000;
/** Subscribers per manual enrolment call (one transaction each). */
const MANUAL_CHUNK = 5_000;

export interface StreamShape {
  journey: StreamJourney;
  /** What every step streams, on both sides. */
  events: StreamEvents;
  /** The journey in words, for titles and notes. */
  description: string;
  actions: Action[];
  /** Where END_ACTION stands, for the checks column. */
  endLabel: string;
  /** Untimed, before a journey step sends: leaves subscribers 1…n of the list where that step's events find them. */
  prepare(journeyId: number, listId: number, n: number): Promise<void>;
}

export function streamShape(host: BenchHost, journey: StreamJourney, enrol: StreamEnrolment): StreamShape {
  const setCity: Action = {
    id: 'set_city',
    type: 'update_custom_field',
    settings: { fieldId: host.demo.fields.city, value: 'Streamed %Subscriber:EmailAddress%' },
  };
  const wait: Action = { id: END_ACTION, type: 'wait', settings: { amount: 30, unit: 'days' } };
  if (journey === 'field') {
    return {
      journey,
      events: { hook: 'Subscriber.Subscribed' },
      description: 'Subscriber.Subscribed into Update Custom Field (merge tag) → Wait 30 days',
      actions: [setCity, wait],
      endLabel: 'at Wait',
      prepare: async () => undefined,
    };
  }
  const emailId = host.demo.emails.newsletter;
  const how = enrol === 'manual' ? 'manual enrolment' : "the intake's acceptMany";
  return {
    journey,
    events: { hook: 'Email.Opened', emailId },
    description: `Email.Opened of email ${emailId} moving an entry waiting at Wait for event (opened, timeout 30 days; enrolled before by ${how}, untimed) down Yes: Update Custom Field (merge tag) → Wait 30 days`,
    actions: [
      {
        id: AWAIT_ACTION,
        type: 'wait_for_event',
        settings: { event: { type: 'email_opened', emailIds: [emailId] }, timeout: { amount: 30, unit: 'days' } },
        yes: [setCity, wait],
        no: [],
      },
    ],
    endLabel: "at Yes's Wait",
    prepare: (journeyId, listId, n) => enrolWaiting(host, enrol, journeyId, listId, n),
  };
}

/** Subscribers 1…n of the list enrolled in bulk, then polled until every entry waits at the Wait for event. */
async function enrolWaiting(host: BenchHost, enrol: StreamEnrolment, journeyId: number, listId: number, n: number): Promise<void> {
  const userId = host.demo.userA.userId;
  const started = Date.now();
  let enrolled = 0;
  if (enrol === 'intake') {
    const occurredAt = new Date();
    const events = Array.from({ length: n }, (_, i): TriggerEvent => {
      return { eventId: `stream-enrol-${listId}-${i + 1}`, type: 'subscription', userId, listId, subscriberId: i + 1, occurredAt };
    });
    enrolled = (await host.app.get(TriggerIntakeService).acceptMany(events)).enrolled;
  } else {
    for (let from = 1; from <= n; from += MANUAL_CHUNK) {
      const refs = Array.from({ length: Math.min(MANUAL_CHUNK, n - from + 1) }, (_, i) => ({ listId, subscriberId: from + i }));
      enrolled += (await host.journeys.enrolSubscribers(userId, journeyId, refs)).enrolled;
    }
  }
  if (enrolled !== n) throw new Error(`list ${listId}: ${fmtInt(enrolled)} of ${fmtInt(n)} subscribers enrolled`);
  const waiting = `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ? AND State = 'waiting' AND CurrentActionID = ?`;
  await waitForCount(host, waiting, [listId, AWAIT_ACTION], n, PREPARE_TIMEOUT_MS);
  log(`list ${listId}: ${fmtInt(n)} entries waiting for the open (enrolled by ${enrol} in ${fmtInt(Date.now() - started)} ms, untimed)`);
}
