import { isDateText, parseDateText } from './dates';

describe(parseDateText.name, () => {
  it("reads a date as the whole local day in the owner's zone", () => {
    expect(parseDateText('2024-07-15', 'Europe/Istanbul')).toEqual({
      kind: 'day',
      start: Date.parse('2024-07-14T21:00:00Z'),
      end: Date.parse('2024-07-15T21:00:00Z'),
    });
  });

  it('reads a datetime with an offset exactly', () => {
    expect(parseDateText('2024-07-15T10:00:00+02:00', 'UTC')).toEqual({ kind: 'instant', at: Date.parse('2024-07-15T08:00:00Z') });
    expect(parseDateText('2024-07-15 10:00Z', 'Asia/Tokyo')).toEqual({ kind: 'instant', at: Date.parse('2024-07-15T10:00:00Z') });
  });

  it("reads a datetime without an offset as the owner's local time", () => {
    expect(parseDateText('2024-07-15T10:00', 'Asia/Tokyo')).toEqual({ kind: 'instant', at: Date.parse('2024-07-15T01:00:00Z') });
  });

  it('refuses impossible dates and other text', () => {
    expect(parseDateText('2024-02-30', 'UTC')).toBeNull();
    expect(parseDateText('2024-01-01T24:00', 'UTC')).toBeNull();
    expect(parseDateText('next week', 'UTC')).toBeNull();
  });
});

describe(isDateText.name, () => {
  it('tells dates from other text without a time zone', () => {
    expect(isDateText('2024-02-29')).toBe(true);
    expect(isDateText('2024-02-29T23:59:59.123Z')).toBe(true);
    expect(isDateText('2023-02-29')).toBe(false);
    expect(isDateText('29/02/2024')).toBe(false);
  });
});
