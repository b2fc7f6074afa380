/**
 * Where the hook handlers hand their trigger events. The runtime provides the
 * implementation (matching, dedupe by event id, enrolment) under TRIGGER_INTAKE;
 * the handlers in hooks/ only know this interface.
 */
import type { TriggerEvent } from '../engine/trigger-event';

export const TRIGGER_INTAKE = Symbol('TRIGGER_INTAKE');

export interface TriggerIntake {
  /** Enrols the event's subscriber in every enabled journey whose trigger fits; a repeated eventId enrols nobody. */
  accept(event: TriggerEvent): Promise<{ enrolled: number }>;
  /** True while the intake's backlog is at its bound (accept() would hold its caller until there is room). */
  readonly saturated?: boolean;
}
