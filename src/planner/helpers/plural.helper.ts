/** `{{plural count "subscriber" "subscribers"}}` → "1 subscriber", "3 subscribers". Plain text, escaped by Handlebars. */
export function plural(count: unknown, singular: unknown, pluralForm: unknown): string {
  const n = typeof count === 'number' ? count : Number(count) || 0;
  return `${n.toLocaleString('en-US')} ${String(n === 1 ? singular : pluralForm)}`;
}
