/** `{{#if (includes picked value)}}`: is the value among the picked ones (compared as text). */
export function includes(list: unknown, value: unknown): boolean {
  return Array.isArray(list) && value !== undefined && value !== null && list.some((item) => String(item) === String(value));
}
