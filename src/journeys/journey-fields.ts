/**
 * Checks of a journey's own fields (name, notes, re-entry rule) as Create
 * Journey, Journey Information and the API send them: each problem is appended
 * to `violations`, so the caller reports them all at once.
 */
import type { Violation } from '../common/journeys.exception';
import type { ReEntryRule } from '../engine/journey.types';
import { JOURNEY_NAME_MAX, JOURNEY_NOTES_MAX } from './journey.dto';

export function checkName(value: unknown, violations: Violation[]): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (name.length === 0) violations.push({ code: 'name_required', actionId: null, message: 'Enter a name for the journey' });
  else if (name.length > JOURNEY_NAME_MAX) {
    violations.push({ code: 'name_too_long', actionId: null, message: `The journey name must be at most ${JOURNEY_NAME_MAX} characters` });
  }
  return name;
}

export function checkNotes(value: unknown, violations: Violation[]): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value !== 'string') {
    violations.push({ code: 'notes_invalid', actionId: null, message: 'Notes must be text' });
    return null;
  }
  if (value.length > JOURNEY_NOTES_MAX) {
    violations.push({ code: 'notes_too_long', actionId: null, message: `Notes must be at most ${JOURNEY_NOTES_MAX} characters` });
  }
  return value;
}

export function checkReEntry(value: unknown, violations: Violation[]): ReEntryRule {
  if (value === 'allow' || value === 'once') return value;
  violations.push({ code: 'reentry_invalid', actionId: null, message: 'Re-entry must be "allow" or "once"' });
  return 'allow';
}
