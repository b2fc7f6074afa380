/** `{{#if (eq a b)}}`: compares as text, so a form's "3" equals an id 3. */
export function eq(a: unknown, b: unknown): boolean {
  return a !== undefined && a !== null && b !== undefined && b !== null && String(a) === String(b);
}
