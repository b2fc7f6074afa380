/**
 * Dates as condition values and custom field values: 'YYYY-MM-DD' or an ISO
 * datetime. A date without a time means that whole local day, and a datetime
 * without an offset is a local time, both in the owner's time zone (never the
 * server's: the engine reads no ambient zone).
 */
import { firstInstantWithWall, zonedStartOfDay } from './time-zone';

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

export type ParsedDate =
  /** A whole local day: `start` is its first instant, `end` the first instant of the next day. */
  { kind: 'day'; start: number; end: number } | { kind: 'instant'; at: number };

function validCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Whether the text is a date this module understands (no time zone needed to tell). */
export function isDateText(text: string): boolean {
  const match = ISO_DATE_TIME.exec(text.trim());
  return match !== null && validCalendarDate(Number(match[1]), Number(match[2]), Number(match[3])) && timeIsValid(match);
}

function timeIsValid(match: RegExpExecArray): boolean {
  if (match[4] === undefined) return true;
  return Number(match[4]) <= 23 && Number(match[5]) <= 59 && Number(match[6] ?? 0) <= 59;
}

function offsetMs(designator: string): number {
  if (designator.toUpperCase() === 'Z') return 0;
  const sign = designator.startsWith('-') ? -1 : 1;
  const digits = designator.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

export function parseDateText(text: string, timeZone: string): ParsedDate | null {
  const match = ISO_DATE_TIME.exec(text.trim());
  if (!match || !timeIsValid(match)) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!validCalendarDate(year, month, day)) return null;
  if (match[4] === undefined) {
    const next = new Date(Date.UTC(year, month - 1, day + 1));
    return {
      kind: 'day',
      start: zonedStartOfDay(year, month, day, timeZone),
      end: zonedStartOfDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone),
    };
  }
  const millis = Number((match[7] ?? '0').padEnd(3, '0'));
  const wall = Date.UTC(year, month - 1, day, Number(match[4]), Number(match[5]), Number(match[6] ?? 0), millis);
  if (match[8] !== undefined) return { kind: 'instant', at: wall - offsetMs(match[8]) };
  const at = firstInstantWithWall(wall - 30 * 3600_000, timeZone, (w) => Math.max(w, wall));
  return at === null ? null : { kind: 'instant', at };
}
