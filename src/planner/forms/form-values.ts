/** Reading urlencoded form bodies: every field may be missing, a string, or repeated (an array). */
export type FormBody = Record<string, unknown>;

export function text(body: FormBody, name: string): string {
  const value = body[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0].trim() : '';
  return typeof value === 'string' ? value.trim() : '';
}

export function many(body: FormBody, name: string): string[] {
  const value = body[name];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * A number when the text is one, the text itself otherwise (so the service's
 * validation names the bad value), undefined when empty.
 */
export function numeric(value: string): number | string | undefined {
  if (value === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/** Every value of a repeated field in order, blanks kept (their position means something, e.g. the path of a percentage). */
export function each(body: FormBody, name: string): string[] {
  const value = body[name];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.map((v) => (typeof v === 'string' ? v.trim() : ''));
}
