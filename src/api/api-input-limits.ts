/**
 * Limits on the shape of API parameters, checked as soon as a body is read and
 * before anything converts it (qs, class-transformer, the engine's parsers):
 * a value nested deeper than any journey needs, a key that names a prototype
 * slot (`__proto__`, `constructor`, `prototype`), or text with a lone UTF-16
 * surrogate is refused with a message naming the parameter. The checks walk
 * with an explicit stack, so no input depth can exhaust the call stack.
 */
import { MAX_BRANCH_DEPTH } from '../engine/validate-journey';
import type { Violation } from '../common/journeys.exception';

/**
 * Deepest value a legitimate request needs, counted in arrays and objects from
 * the parameter's value: an action tree takes two levels per list of actions
 * (the list, the action), and Yes/No branches may hold MAX_BRANCH_DEPTH lists
 * below the top one; the deepest settings (a condition's rule's emailIds) take
 * four more. The margin leaves room for settings that grow a level.
 */
export const API_MAX_DEPTH = 2 * (MAX_BRANCH_DEPTH + 1) + 8;

/** Keys that reach an object's prototype machinery in the code that converts parameters. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** In a u-mode pattern a valid surrogate pair is one code point, so only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;
const SHOWN_NAME_MAX = 64;

function shown(name: string): string {
  const text = name.length > SHOWN_NAME_MAX ? `${name.slice(0, SHOWN_NAME_MAX)}…` : name;
  return LONE_SURROGATE.test(text) ? JSON.stringify(text) : text;
}

const tooDeep = (name: string): Violation => ({
  code: 'parameter_too_deep',
  actionId: null,
  message: `${shown(name)} is nested deeper than ${API_MAX_DEPTH} levels`,
});
const prototypeKey = (name: string, key: string): Violation => ({
  code: 'forbidden_key',
  actionId: null,
  message: `${shown(name)} must not contain the key "${key}"`,
});
const loneSurrogate = (name: string): Violation => ({
  code: 'invalid_text',
  actionId: null,
  message: `${shown(name)} contains text that is not valid Unicode (a lone surrogate)`,
});

/** The first problem of one parameter's value, or null when its shape is acceptable. */
export function parameterValueViolation(name: string, value: unknown): Violation | null {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) return loneSurrogate(name);
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > API_MAX_DEPTH) return tooDeep(name);
    if (Array.isArray(current)) {
      for (const item of current) pending.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(current)) {
      if (PROTOTYPE_KEYS.has(key)) return prototypeKey(name, key);
      if (LONE_SURROGATE.test(key)) return loneSurrogate(name);
      pending.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return null;
}

function parameterNameViolation(name: string): Violation | null {
  if (PROTOTYPE_KEYS.has(name)) return { code: 'forbidden_key', actionId: null, message: `"${name}" is not allowed as a parameter name` };
  if (LONE_SURROGATE.test(name)) return loneSurrogate(name);
  return null;
}

/** Every parameter whose name or value is refused, one violation each. */
export function parametersViolations(params: Record<string, unknown>): Violation[] {
  const violations: Violation[] = [];
  for (const name of Object.keys(params)) {
    const violation = parameterNameViolation(name) ?? parameterValueViolation(name, params[name]);
    if (violation) violations.push(violation);
  }
  return violations;
}

/** Form text as qs decodes it: `+` is a space, a bad percent escape is kept as written. */
function decodeFormText(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

const BRACKET_SEGMENT = /\[([^[\]]*)]/g;

/**
 * The raw form body read the way qs splits its keys (`a[b][c]=…`), before qs
 * builds any object: qs silently drops a `__proto__` segment and answers a
 * too-deep key without naming it, so both are caught here first.
 */
export function formBodyViolations(body: string): Violation[] {
  const byParameter = new Map<string, Violation>();
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const bracketEquals = pair.indexOf(']=');
    const equals = bracketEquals === -1 ? pair.indexOf('=') : bracketEquals + 1;
    const key = decodeFormText(equals === -1 ? pair : pair.slice(0, equals));
    const firstBracket = key.search(BRACKET_SEGMENT);
    const segments = [...key.matchAll(BRACKET_SEGMENT)].map((match) => match[1]);
    // qs counts every segment against its depth, the first one too when it stands for the name (`[a][b]=…`).
    const depth = segments.length;
    const name = firstBracket > 0 ? key.slice(0, firstBracket) : firstBracket === 0 ? segments.shift()! : key;
    if (byParameter.has(name)) continue;
    const forbidden = segments.find((segment) => PROTOTYPE_KEYS.has(segment));
    const violation = parameterNameViolation(name) ?? (depth > API_MAX_DEPTH ? tooDeep(name) : forbidden !== undefined ? prototypeKey(name, forbidden) : null);
    if (violation) byParameter.set(name, violation);
  }
  return [...byParameter.values()];
}
