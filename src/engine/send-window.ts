/**
 * When a Wait ends: now + the exact duration, then moved forward into the
 * owner's send window if it has one.
 *
 * Window semantics (all in the owner's IANA time zone, minute precision):
 * - `notBefore` 'HH:MM' opens the window at HH:MM:00; `notAfter` 'HH:MM'
 *   closes it at the end of that minute (the clock still reads HH:MM), so
 *   09:00–17:00 allows 17:00:59 but not 17:01.
 * - A missing `notBefore` means from 00:00, a missing `notAfter` until 23:59.
 * - `notAfter` earlier than `notBefore` is an overnight window: 22:00–06:00
 *   allows 22:00…23:59 and 00:00…06:00.
 * - `weekdays` (0 = Sunday … 6 = Saturday) are judged on the local date of the
 *   instant itself (for an overnight window, Friday 22:00–06:00 allows Friday
 *   from 22:00 and Friday until 06:00, not Saturday morning). Missing or empty
 *   means every day.
 * - DST: a local time that does not exist (spring forward) is reached at the
 *   transition; a repeated hour (fall back) is allowed in both passes.
 */
import { firstInstantWithWall } from './time-zone';
import type { SendWindow, WaitUnit } from './journey.types';

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1440;
const MS_PER_DAY = MINUTES_PER_DAY * MS_PER_MINUTE;

export const WAIT_UNIT_MS: Record<WaitUnit, number> = {
  seconds: 1000,
  minutes: MS_PER_MINUTE,
  hours: 60 * MS_PER_MINUTE,
  days: MS_PER_DAY,
};

const CLOCK_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes after midnight of an 'HH:MM' (24-hour) time, or null when it is not one. */
export function parseClockTime(value: string): number | null {
  const match = CLOCK_TIME.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

function clockMinutes(value: string, what: string): number {
  const minutes = parseClockTime(value);
  if (minutes === null) throw new RangeError(`Send window ${what} must be HH:MM, got ${JSON.stringify(value)}`);
  return minutes;
}

/** The window as allowed [start, end) minute ranges of a day and a set of allowed weekdays. */
interface DailyRanges {
  ranges: [number, number][];
  weekdays: ReadonlySet<number> | null;
}

function dailyRanges(window: SendWindow): DailyRanges {
  const opens = window.notBefore === undefined ? 0 : clockMinutes(window.notBefore, 'not before');
  const closes = window.notAfter === undefined ? MINUTES_PER_DAY : clockMinutes(window.notAfter, 'not after') + 1;
  const ranges: [number, number][] =
    opens < closes
      ? [[opens, closes]]
      : [
          [0, closes],
          [opens, MINUTES_PER_DAY],
        ];
  const weekdays = window.weekdays && window.weekdays.length > 0 ? new Set(window.weekdays) : null;
  return { ranges, weekdays };
}

function isUnrestricted(window: SendWindow): boolean {
  return window.notBefore === undefined && window.notAfter === undefined && !(window.weekdays && window.weekdays.length > 0);
}

/** First wall time ≥ wallMs inside the window, looking at most a week ahead. */
function nextWallInWindow(wallMs: number, { ranges, weekdays }: DailyRanges): number | null {
  const firstDay = Math.floor(wallMs / MS_PER_DAY) * MS_PER_DAY;
  for (let day = firstDay; day <= firstDay + 7 * MS_PER_DAY; day += MS_PER_DAY) {
    if (weekdays && !weekdays.has(new Date(day).getUTCDay())) continue;
    for (const [start, end] of ranges) {
      if (day + end * MS_PER_MINUTE > wallMs) return Math.max(day + start * MS_PER_MINUTE, wallMs);
    }
  }
  return null;
}

/** Whether an instant lies inside the window. */
export function isWithinSendWindow(instant: Date, window: SendWindow, timeZone: string): boolean {
  if (isUnrestricted(window)) return true;
  const at = instant.getTime();
  return firstInstantWithWall(at, timeZone, (wall) => nextWallInWindow(wall, dailyRanges(window))) === at;
}

/**
 * When a Wait of `amount` `unit`s started at `now` ends. Durations are exact
 * (a day is 24 h; a Wait of 90 days is 90 × 24 h), then the result moves
 * forward to the first instant inside the window. Throws RangeError for a
 * negative or non-finite amount, a malformed window, a window with no valid
 * weekday, or an unknown time zone.
 */
export function computeWakeAt(now: Date, amount: number, unit: WaitUnit, window: SendWindow | undefined, timeZone: string): Date {
  if (!Number.isFinite(amount) || amount < 0) throw new RangeError(`Wait amount must be a finite number ≥ 0, got ${amount}`);
  const base = now.getTime() + amount * WAIT_UNIT_MS[unit];
  if (!Number.isFinite(base) || Math.abs(base) > 8.64e15) throw new RangeError('Wait end is not a valid date');
  if (!window || isUnrestricted(window)) return new Date(base);
  const ranges = dailyRanges(window);
  const wake = firstInstantWithWall(base, timeZone, (wall) => nextWallInWindow(wall, ranges));
  if (wake === null) throw new RangeError('Send window allows no time: no valid weekday in 0–6');
  return new Date(wake);
}
