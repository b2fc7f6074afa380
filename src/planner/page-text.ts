/**
 * Words of the planner pages that do not come from a template: flash messages
 * after a redirect, error summaries of a refused form, log results and rates
 * as people read them. Plain text; the views escape it.
 */
import type { JourneysException } from '../common/journeys.exception';
import { formatDate } from './helpers/format-date.helper';

/** Messages after a redirect, by the `done` query value (never text from the request). */
const FLASH: Record<string, string> = {
  created: 'The journey was created. Plan its actions below, save them and enable the journey.',
  saved: 'Saved.',
  actionsSaved: 'The journey actions were saved.',
  enabled: 'The journey is enabled: new subscribers enter it and waiting ones carry on.',
  disabled: 'The journey is disabled: nobody new enters it and the subscribers inside are paused.',
  copied: 'The journey was copied. The copy starts disabled.',
  deleted: 'The journey was deleted.',
  retried: 'The entry’s action will be tried again now.',
  skipped: 'The entry skipped its action and carries on.',
};

/** A log result as people read it: a Wait's ISO wake-up time becomes "until 27 Nov 2026, 14:05". */
export function readableResult(result: string | null, timeZone: string): string | null {
  if (result && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(result) && !Number.isNaN(Date.parse(result))) return `until ${formatDate(result, timeZone)}`;
  return result;
}

/** A rate (0–1) as people read it: "12.5%" (one decimal at most), or null when there is none. */
export function percentText(rate: number | null): string | null {
  return rate === null ? null : `${Math.round(rate * 1000) / 10}%`;
}

export function flashText(key: string | undefined): string | null {
  return key && Object.prototype.hasOwnProperty.call(FLASH, key) ? FLASH[key] : null;
}

export function errorsOf(error: JourneysException | undefined) {
  if (!error) return { errors: null };
  const messages = error.violations.length ? error.violations.map((v) => v.message) : [error.message];
  return { errors: { summary: error.violations.length > 1 ? 'Please fix these problems:' : 'Please fix this problem:', messages } };
}
