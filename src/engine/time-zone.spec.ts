import { firstInstantWithWall, isValidTimeZone, wallClockMs, zonedStartOfDay, zoneOffsetMs } from './time-zone';

const HOUR = 3_600_000;

describe(zoneOffsetMs.name, () => {
  it('gives the offset at an instant, following DST', () => {
    expect(zoneOffsetMs(Date.parse('2024-01-15T12:00:00Z'), 'America/New_York')).toBe(-5 * HOUR);
    expect(zoneOffsetMs(Date.parse('2024-07-15T12:00:00Z'), 'America/New_York')).toBe(-4 * HOUR);
    expect(zoneOffsetMs(Date.parse('2024-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * HOUR);
    expect(zoneOffsetMs(Date.parse('2024-07-15T12:00:00Z'), 'UTC')).toBe(0);
  });

  it('throws RangeError for an unknown zone', () => {
    expect(() => zoneOffsetMs(0, 'Nowhere/Special')).toThrow(RangeError);
  });
});

describe(wallClockMs.name, () => {
  it('is the local clock reading as if it were UTC', () => {
    expect(new Date(wallClockMs(Date.parse('2024-07-15T12:00:00Z'), 'Europe/Istanbul')).toISOString()).toBe('2024-07-15T15:00:00.000Z');
  });
});

describe(isValidTimeZone.name, () => {
  it('accepts IANA names and refuses others', () => {
    expect(isValidTimeZone('Europe/Istanbul')).toBe(true);
    expect(isValidTimeZone('Not/AZone')).toBe(false);
  });
});

describe(zonedStartOfDay.name, () => {
  it('is local midnight', () => {
    expect(new Date(zonedStartOfDay(2024, 7, 15, 'Europe/Istanbul')).toISOString()).toBe('2024-07-14T21:00:00.000Z');
  });

  it('is the transition when midnight does not exist', () => {
    // Santiago, 2024-09-08: 00:00 jumps to 01:00 (at 04:00Z).
    expect(new Date(zonedStartOfDay(2024, 9, 8, 'America/Santiago')).toISOString()).toBe('2024-09-08T04:00:00.000Z');
  });
});

describe(firstInstantWithWall.name, () => {
  it('answers null when no wall time is acceptable', () => {
    expect(firstInstantWithWall(0, 'UTC', () => null)).toBeNull();
  });
});
