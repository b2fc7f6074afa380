/**
 * IANA time-zone arithmetic with nothing but Intl. A "wall" time is the
 * owner's local clock reading expressed as milliseconds since the epoch as if
 * it were UTC, so plain UTC arithmetic (days, weekdays) works on it.
 * Offsets change only at transitions (DST, law changes); between two of them
 * wall = instant + offset.
 */

const MS_PER_SECOND = 1000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Creating a formatter is the expensive part; reuse one per zone (a cache, not state: same input, same output).
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Offset of the zone at that instant, in ms (wall − instant). Throws RangeError for an unknown zone. */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(instantMs / MS_PER_SECOND) * MS_PER_SECOND;
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(wholeSecond))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - wholeSecond;
}

export function wallClockMs(instantMs: number, timeZone: string): number {
  return instantMs + zoneOffsetMs(instantMs, timeZone);
}

/**
 * First instant in (lo, hi] whose offset differs from `offset`, knowing that
 * lo has that offset and hi has not. Transitions fall on whole seconds.
 */
function findTransition(loMs: number, hiMs: number, offset: number, timeZone: string): number {
  let lo = Math.floor(loMs / MS_PER_SECOND);
  let hi = Math.ceil(hiMs / MS_PER_SECOND);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetMs(mid * MS_PER_SECOND, timeZone) === offset) lo = mid;
    else hi = mid;
  }
  return Math.max(hi * MS_PER_SECOND, loMs + 1);
}

/** How many offset segments the search may cross; real zones change at most twice a year. */
const MAX_SEGMENTS = 8;

/**
 * The earliest instant ≥ fromMs whose wall time is acceptable, where
 * `nextAcceptableWall(w)` gives the first acceptable wall time ≥ w (or null
 * when there is none). Walks offset segments so DST gaps and repeated hours
 * are handled: in a gap the answer is the transition itself, in a repeated
 * hour the second pass counts too.
 */
export function firstInstantWithWall(fromMs: number, timeZone: string, nextAcceptableWall: (wallMs: number) => number | null): number | null {
  let segmentStart = fromMs;
  for (let segment = 0; segment < MAX_SEGMENTS; segment++) {
    const offset = zoneOffsetMs(segmentStart, timeZone);
    const wall = nextAcceptableWall(segmentStart + offset);
    if (wall === null) return null;
    const candidate = wall - offset;
    if (zoneOffsetMs(candidate, timeZone) === offset) return candidate;
    // The offset changed before the candidate: nothing acceptable in this segment, go on from the transition.
    segmentStart = findTransition(segmentStart, candidate, offset, timeZone);
  }
  return null;
}

/** The first instant of a local calendar day (month 1–12). Midnight may not exist on a DST day. */
export function zonedStartOfDay(year: number, month: number, day: number, timeZone: string): number {
  const midnightWall = Date.UTC(year, month - 1, day);
  // Offsets are within ±14 h (a little more for historic local mean time), so start the search well before.
  const start = firstInstantWithWall(midnightWall - 30 * 3600_000, timeZone, (wall) => Math.max(wall, midnightWall));
  if (start === null) throw new RangeError(`No start of day ${year}-${month}-${day} in ${timeZone}`);
  return start;
}
