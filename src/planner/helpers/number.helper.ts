/** `{{number n}}` → "12,345". Returns plain text, which Handlebars escapes. */
export function number(value: unknown): string {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '0';
}
