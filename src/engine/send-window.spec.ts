import fc from 'fast-check';
import type { SendWindow, WaitUnit } from './journey.types';
import { computeWakeAt, isWithinSendWindow, parseClockTime, WAIT_UNIT_MS } from './send-window';

const at = (iso: string) => new Date(iso);

describe(computeWakeAt.name, () => {
  describe('without a window', () => {
    it('adds the exact duration of each unit', () => {
      const now = at('2025-01-01T00:00:00Z');
      expect(computeWakeAt(now, 30, 'seconds', undefined, 'UTC').toISOString()).toBe('2025-01-01T00:00:30.000Z');
      expect(computeWakeAt(now, 5, 'minutes', undefined, 'UTC').toISOString()).toBe('2025-01-01T00:05:00.000Z');
      expect(computeWakeAt(now, 2, 'hours', undefined, 'UTC').toISOString()).toBe('2025-01-01T02:00:00.000Z');
      expect(computeWakeAt(now, 3, 'days', undefined, 'UTC').toISOString()).toBe('2025-01-04T00:00:00.000Z');
    });

    it('is exact for waits longer than 25 days (beyond a 32-bit timer)', () => {
      const now = at('2025-01-01T10:20:30.456Z');
      expect(computeWakeAt(now, 90, 'days', undefined, 'UTC').getTime() - now.getTime()).toBe(90 * 86_400_000);
    });

    it('treats a day as 24 hours even across a DST change', () => {
      const now = at('2024-03-09T12:00:00Z');
      expect(computeWakeAt(now, 1, 'days', undefined, 'America/New_York').toISOString()).toBe('2024-03-10T12:00:00.000Z');
    });

    it('ignores an empty window', () => {
      const now = at('2025-01-01T00:00:00Z');
      expect(computeWakeAt(now, 1, 'hours', {}, 'UTC').toISOString()).toBe('2025-01-01T01:00:00.000Z');
      expect(computeWakeAt(now, 1, 'hours', { weekdays: [] }, 'UTC').toISOString()).toBe('2025-01-01T01:00:00.000Z');
    });
  });

  describe('with a day window', () => {
    const window: SendWindow = { notBefore: '09:00', notAfter: '17:00' };

    it('moves a time before the window to its opening', () => {
      expect(computeWakeAt(at('2025-01-06T07:00:00Z'), 1, 'hours', window, 'UTC').toISOString()).toBe('2025-01-06T09:00:00.000Z');
    });

    it('keeps a time inside the window', () => {
      expect(computeWakeAt(at('2025-01-06T11:00:00Z'), 1, 'hours', window, 'UTC').toISOString()).toBe('2025-01-06T12:00:00.000Z');
    });

    it('allows the whole closing minute and nothing after it', () => {
      expect(computeWakeAt(at('2025-01-06T16:00:30Z'), 1, 'hours', window, 'UTC').toISOString()).toBe('2025-01-06T17:00:30.000Z');
      expect(computeWakeAt(at('2025-01-06T16:01:00Z'), 1, 'hours', window, 'UTC').toISOString()).toBe('2025-01-07T09:00:00.000Z');
    });

    it("reads the window in the owner's time zone", () => {
      // 07:00Z is 10:00 in Istanbul (UTC+3): inside 09:00–17:00.
      expect(computeWakeAt(at('2025-01-06T06:00:00Z'), 1, 'hours', window, 'Europe/Istanbul').toISOString()).toBe('2025-01-06T07:00:00.000Z');
      // 15:00Z is 18:00 there: next day 09:00 local = 06:00Z.
      expect(computeWakeAt(at('2025-01-06T14:00:00Z'), 1, 'hours', window, 'Europe/Istanbul').toISOString()).toBe('2025-01-07T06:00:00.000Z');
    });

    it('with only "not before", allows until midnight', () => {
      expect(computeWakeAt(at('2025-01-06T22:00:00Z'), 1, 'hours', { notBefore: '09:00' }, 'UTC').toISOString()).toBe('2025-01-06T23:00:00.000Z');
      expect(computeWakeAt(at('2025-01-06T23:30:00Z'), 1, 'hours', { notBefore: '09:00' }, 'UTC').toISOString()).toBe('2025-01-07T09:00:00.000Z');
    });

    it('with only "not after", opens at midnight', () => {
      expect(computeWakeAt(at('2025-01-06T12:00:00Z'), 1, 'hours', { notAfter: '08:00' }, 'UTC').toISOString()).toBe('2025-01-07T00:00:00.000Z');
    });
  });

  describe('with an overnight window (not after earlier than not before)', () => {
    const overnight: SendWindow = { notBefore: '22:00', notAfter: '06:00' };

    it('waits for the evening opening during the day', () => {
      expect(computeWakeAt(at('2025-01-06T11:00:00Z'), 1, 'hours', overnight, 'UTC').toISOString()).toBe('2025-01-06T22:00:00.000Z');
    });

    it('allows the small hours', () => {
      expect(computeWakeAt(at('2025-01-06T02:00:00Z'), 1, 'hours', overnight, 'UTC').toISOString()).toBe('2025-01-06T03:00:00.000Z');
    });

    it('judges the weekday on the local date of the instant itself', () => {
      // Friday 2025-01-10 23:00 is allowed (Friday); Saturday 01:00 is not, so Monday 00:00 is next.
      const fridayNights: SendWindow = { ...overnight, weekdays: [1, 5] };
      expect(computeWakeAt(at('2025-01-10T22:00:00Z'), 1, 'hours', fridayNights, 'UTC').toISOString()).toBe('2025-01-10T23:00:00.000Z');
      expect(computeWakeAt(at('2025-01-11T00:00:00Z'), 1, 'hours', fridayNights, 'UTC').toISOString()).toBe('2025-01-13T00:00:00.000Z');
    });
  });

  describe('with weekdays', () => {
    it('moves to the next allowed weekday at the window opening', () => {
      // Wednesday 2025-01-08 → Monday 2025-01-13 09:00.
      const mondays: SendWindow = { notBefore: '09:00', notAfter: '17:00', weekdays: [1] };
      expect(computeWakeAt(at('2025-01-08T10:00:00Z'), 1, 'minutes', mondays, 'UTC').toISOString()).toBe('2025-01-13T09:00:00.000Z');
    });

    it('without times, allows the whole day', () => {
      // Saturday 2025-01-11 12:00 → Sunday excluded → Monday 00:00.
      expect(computeWakeAt(at('2025-01-11T11:00:00Z'), 1, 'hours', { weekdays: [1, 2, 3, 4, 5] }, 'UTC').toISOString()).toBe('2025-01-13T00:00:00.000Z');
    });

    it('uses the weekday of the local date, not of UTC', () => {
      // 2025-01-12 (Sunday) 23:30Z is Monday 02:30 in Istanbul: allowed on Mondays.
      expect(computeWakeAt(at('2025-01-12T23:00:00Z'), 30, 'minutes', { weekdays: [1] }, 'Europe/Istanbul').toISOString()).toBe('2025-01-12T23:30:00.000Z');
    });
  });

  describe('across daylight saving changes', () => {
    it('reaches a local opening time that does not exist at the transition (spring forward)', () => {
      // New York, 2024-03-10: 02:00 EST jumps to 03:00 EDT at 07:00Z; 02:30 never happens.
      const wake = computeWakeAt(at('2024-03-10T05:00:00Z'), 1, 'hours', { notBefore: '02:30', notAfter: '05:00' }, 'America/New_York');
      expect(wake.toISOString()).toBe('2024-03-10T07:00:00.000Z');
    });

    it('allows the second pass of a repeated hour (fall back)', () => {
      // New York, 2024-11-03: 01:59:59 EDT (05:59:59Z) is followed by 01:00 EST (06:00Z).
      const wake = computeWakeAt(at('2024-11-03T05:15:00Z'), 30, 'minutes', { notBefore: '01:00', notAfter: '01:30' }, 'America/New_York');
      expect(wake.toISOString()).toBe('2024-11-03T06:00:00.000Z');
    });

    it('keeps the local opening time on both sides of the change', () => {
      const window = { notBefore: '09:00', notAfter: '10:00' };
      // London: 09:00 GMT = 09:00Z before 2024-03-31, 09:00 BST = 08:00Z after.
      expect(computeWakeAt(at('2024-03-30T12:00:00Z'), 1, 'minutes', window, 'Europe/London').toISOString()).toBe('2024-03-31T08:00:00.000Z');
      expect(computeWakeAt(at('2024-03-29T12:00:00Z'), 1, 'minutes', window, 'Europe/London').toISOString()).toBe('2024-03-30T09:00:00.000Z');
    });
  });

  describe('refuses', () => {
    it('a negative or non-finite amount', () => {
      expect(() => computeWakeAt(new Date(0), -1, 'days', undefined, 'UTC')).toThrow(RangeError);
      expect(() => computeWakeAt(new Date(0), Number.NaN, 'days', undefined, 'UTC')).toThrow(RangeError);
    });

    it('an unknown time zone when a window must be placed', () => {
      expect(() => computeWakeAt(new Date(0), 1, 'days', { notBefore: '09:00' }, 'Mars/Olympus')).toThrow(RangeError);
    });

    it('a malformed time or a window with no real weekday', () => {
      expect(() => computeWakeAt(new Date(0), 1, 'days', { notBefore: '9am' }, 'UTC')).toThrow(/HH:MM/);
      expect(() => computeWakeAt(new Date(0), 1, 'days', { weekdays: [9] }, 'UTC')).toThrow(/weekday/);
    });
  });
});

describe(parseClockTime.name, () => {
  it('reads 24-hour HH:MM and nothing else', () => {
    expect(parseClockTime('00:00')).toBe(0);
    expect(parseClockTime('23:59')).toBe(1439);
    expect(parseClockTime('24:00')).toBeNull();
    expect(parseClockTime('9:00')).toBeNull();
    expect(parseClockTime('09:60')).toBeNull();
  });
});

describe(isWithinSendWindow.name, () => {
  it('answers for an instant', () => {
    const window = { notBefore: '09:00', notAfter: '17:00', weekdays: [1] };
    expect(isWithinSendWindow(at('2025-01-13T09:00:00Z'), window, 'UTC')).toBe(true);
    expect(isWithinSendWindow(at('2025-01-13T08:59:59Z'), window, 'UTC')).toBe(false);
    expect(isWithinSendWindow(at('2025-01-14T10:00:00Z'), window, 'UTC')).toBe(false);
  });
});

/* ---------- properties, against an independent minute-by-minute oracle ---------- */

const ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Sao_Paulo', 'Europe/Istanbul'];
const oracleFormatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAY = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 } as Record<string, number>;

function localMinuteAndWeekday(ms: number, timeZone: string): { minute: number; weekday: number } {
  let formatter = oracleFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', weekday: 'short' });
    oracleFormatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { minute: Number(parts.hour) * 60 + Number(parts.minute), weekday: WEEKDAY[parts.weekday] };
}

function oracleAllows(ms: number, window: SendWindow, timeZone: string): boolean {
  const { minute, weekday } = localMinuteAndWeekday(ms, timeZone);
  if (window.weekdays && window.weekdays.length > 0 && !window.weekdays.includes(weekday)) return false;
  const opens = window.notBefore ? parseClockTime(window.notBefore)! : 0;
  const closes = window.notAfter ? parseClockTime(window.notAfter)! : 1439;
  return opens <= closes ? minute >= opens && minute <= closes : minute >= opens || minute <= closes;
}

const clock = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const windowArb: fc.Arbitrary<SendWindow> = fc.record(
  { notBefore: clock, notAfter: clock, weekdays: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }) },
  { requiredKeys: [] },
);
const caseArb = fc.record({
  now: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }),
  amount: fc.integer({ min: 0, max: 500 }),
  unit: fc.constantFrom<WaitUnit>('seconds', 'minutes', 'hours', 'days'),
  window: windowArb,
  timeZone: fc.constantFrom(...ZONES),
});

describe(`${computeWakeAt.name} (properties)`, () => {
  it('never wakes before now + the duration', () => {
    fc.assert(
      fc.property(caseArb, ({ now, amount, unit, window, timeZone }) => {
        expect(computeWakeAt(now, amount, unit, window, timeZone).getTime()).toBeGreaterThanOrEqual(now.getTime() + amount * WAIT_UNIT_MS[unit]);
      }),
      { numRuns: 300 },
    );
  });

  it('wakes inside the window', () => {
    fc.assert(
      fc.property(caseArb, ({ now, amount, unit, window, timeZone }) => {
        expect(oracleAllows(computeWakeAt(now, amount, unit, window, timeZone).getTime(), window, timeZone)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('wakes at the earliest allowed minute: no allowed minute between now + the duration and the wake time', () => {
    fc.assert(
      fc.property(caseArb, ({ now, amount, unit, window, timeZone }) => {
        const base = now.getTime() + amount * WAIT_UNIT_MS[unit];
        const wake = computeWakeAt(now, amount, unit, window, timeZone).getTime();
        if (wake === base) return;
        expect(oracleAllows(base, window, timeZone)).toBe(false);
        expect(wake % 60_000).toBe(0);
        for (let minute = Math.ceil(base / 60_000) * 60_000; minute < wake; minute += 60_000) {
          if (oracleAllows(minute, window, timeZone))
            throw new Error(`allowed earlier at ${new Date(minute).toISOString()}, woke ${new Date(wake).toISOString()}`);
        }
      }),
      { numRuns: 80 },
    );
  });
});

describe(`${computeWakeAt.name} near DST transitions (properties)`, () => {
  const transitions: [string, string][] = [
    ['America/New_York', '2024-03-10T07:00:00Z'],
    ['America/New_York', '2024-11-03T06:00:00Z'],
    ['Europe/London', '2024-03-31T01:00:00Z'],
    ['Europe/London', '2024-10-27T01:00:00Z'],
    ['Australia/Lord_Howe', '2024-04-06T15:00:00Z'],
    ['Australia/Lord_Howe', '2024-10-05T15:30:00Z'],
  ];
  const nearTransition = fc.record({
    transition: fc.constantFrom(...transitions),
    offsetMinutes: fc.integer({ min: -36 * 60, max: 12 * 60 }),
    amount: fc.integer({ min: 0, max: 180 }),
    window: windowArb,
  });

  it('is inside the window and minimal', () => {
    fc.assert(
      fc.property(nearTransition, ({ transition: [timeZone, iso], offsetMinutes, amount, window }) => {
        const now = new Date(Date.parse(iso) + offsetMinutes * 60_000);
        const base = now.getTime() + amount * 60_000;
        const wake = computeWakeAt(now, amount, 'minutes', window, timeZone).getTime();
        expect(oracleAllows(wake, window, timeZone)).toBe(true);
        for (let minute = Math.ceil(base / 60_000) * 60_000; minute < wake; minute += 60_000) {
          if (oracleAllows(minute, window, timeZone)) throw new Error(`allowed earlier at ${new Date(minute).toISOString()}`);
        }
      }),
      { numRuns: 150 },
    );
  });
});
