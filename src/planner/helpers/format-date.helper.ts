/**
 * `{{formatDate date timeZone}}` → "27 Nov 2026, 14:05" in the user's time zone;
 * "—" for no date. Returns plain text, which Handlebars escapes.
 */
export function formatDate(value: unknown, timeZone: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) return '—';
  const options: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  try {
    return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: typeof timeZone === 'string' && timeZone ? timeZone : 'UTC' }).format(date);
  } catch {
    return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' }).format(date) + ' UTC';
  }
}
