/**
 * Reading raw JSON from forms and the API: only the shapes we expect, with the
 * coercions a form needs (HTML forms send numbers as strings).
 */
import type { IdSelection } from './journey.types';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const INTEGER_TEXT = /^[+-]?\d+$/;

/** A safe integer from a number or a numeric string, else null. */
export function readInteger(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) {
    const parsed = Number(value.trim());
    return Number.isSafeInteger(parsed) ? parsed : null;
  }
  return null;
}

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** A finite number from a number or a decimal string, else null. */
export function readNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) return Number(value.trim());
  return null;
}

/** A string, or a number / boolean written as one; null otherwise. */
export function readText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return null;
}

/** Trimmed text; undefined when absent or blank; null when present but not text (a list, an object). */
export function readOptionalText(value: unknown): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  const text = readText(value);
  if (text === null) return null;
  return text.trim() === '' ? undefined : text.trim();
}

const TRUE_TEXT = ['true', '1', 'on', 'yes'];
const FALSE_TEXT = ['false', '0', 'off', 'no', ''];

export function readBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (TRUE_TEXT.includes(lower)) return true;
    if (FALSE_TEXT.includes(lower)) return false;
  }
  return null;
}

/** Distinct positive ids from an array (or one id), in the order given; null when any item is not an id. */
export function readIdList(value: unknown): number[] | null {
  const items = Array.isArray(value) ? value : [value];
  const ids: number[] = [];
  for (const item of items) {
    const id = readInteger(item);
    if (id === null || id < 1) return null;
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** 'any' or a list of ids; null when neither. An empty list is returned as [] for the caller to refuse. */
export function readIdSelection(value: unknown): IdSelection | null {
  if (typeof value === 'string' && value.trim().toLowerCase() === 'any') return 'any';
  if (value === undefined || value === null) return null;
  return readIdList(value);
}

/** A value as a lower-case identifier: 'Is Not' → 'is_not'. */
export function readKeyword(value: unknown): string | null {
  return typeof value === 'string'
    ? value
        .trim()
        .toLowerCase()
        .replace(/[\s-]+/g, '_')
    : null;
}
