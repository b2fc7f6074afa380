import * as fc from 'fast-check';
import { API_MAX_DEPTH, formBodyViolations, parametersViolations, parameterValueViolation } from './api-input-limits';

const nestedArrays = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};
const messageOf = (name: string, value: unknown) => parameterValueViolation(name, value)?.message ?? null;

describe(parameterValueViolation.name, () => {
  it('accepts a value exactly API_MAX_DEPTH deep and refuses one level more', () => {
    expect(messageOf('Actions', nestedArrays(API_MAX_DEPTH))).toBeNull();
    expect(messageOf('Actions', nestedArrays(API_MAX_DEPTH + 1))).toBe(`Actions is nested deeper than ${API_MAX_DEPTH} levels`);
  });

  it('walks a value nested 200,000 deep without exhausting the stack', () => {
    expect(messageOf('Trigger', JSON.parse('{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000)))).toBe(`Trigger is nested deeper than ${API_MAX_DEPTH} levels`);
  });

  it('refuses a prototype key at any depth, including own __proto__ keys that JSON.parse creates', () => {
    expect(messageOf('JourneyID', JSON.parse('{"constructor":1}'))).toBe('JourneyID must not contain the key "constructor"');
    expect(messageOf('Trigger', JSON.parse('{"type":"manual","x":[{"__proto__":{}}]}'))).toBe('Trigger must not contain the key "__proto__"');
    expect(messageOf('Actions', [{ settings: { prototype: 1 } }])).toBe('Actions must not contain the key "prototype"');
  });

  it('refuses a lone surrogate in a string or a key, and accepts a valid pair', () => {
    const invalid = 'EmailAddress contains text that is not valid Unicode (a lone surrogate)';
    expect(messageOf('EmailAddress', '\ud800@example.com')).toBe(invalid);
    expect(messageOf('EmailAddress', ['ok', { ['x\udfff']: 1 }])).toBe(invalid);
    expect(messageOf('EmailAddress', 'rocket🚀@example.com')).toBeNull();
  });

  it('agrees with the recursive definition of an acceptable value on generated values', () => {
    const wellFormed = (text: string) => {
      try {
        return encodeURIComponent(text) !== undefined; // throws URIError on a lone surrogate
      } catch {
        return false;
      }
    };
    const acceptable = (value: unknown, depth = 0): boolean => {
      if (typeof value === 'string') return wellFormed(value);
      if (value === null || typeof value !== 'object') return true;
      if (depth + 1 > API_MAX_DEPTH) return false;
      if (Array.isArray(value)) return value.every((item) => acceptable(item, depth + 1));
      return Object.entries(value).every(
        ([key, item]) => !['__proto__', 'constructor', 'prototype'].includes(key) && wellFormed(key) && acceptable(item, depth + 1),
      );
    };
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\ud800', 'a\udfff', '🚀'));
    // A step wraps in an array (undefined) or an object under a key; hostile keys are rare so that deep clean values occur too.
    const step = fc.oneof(
      { arbitrary: fc.oneof(fc.constant(undefined), fc.constantFrom('type', 'yes'), fc.string()), weight: 50 },
      { arbitrary: fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'prototype')), weight: 1 },
    );
    const leaf = fc.oneof(text, fc.integer(), fc.constant(null), fc.array(text, { maxLength: 3 }));
    const depth = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: API_MAX_DEPTH - 2, max: API_MAX_DEPTH + 2 }));
    const path = depth.chain((n) => fc.array(step, { minLength: n, maxLength: n }));
    const wrapped = fc.tuple(leaf, path).map(([inner, steps]) =>
      // JSON.parse keeps a __proto__ key as the object's own, as a JSON body does.
      steps.reduceRight<unknown>((value, k) => (k === undefined ? [value] : JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(value)}}`)), inner),
    );
    fc.assert(
      fc.property(wrapped, (value) => (messageOf('Trigger', value) === null) === acceptable(value)),
      { numRuns: 500 },
    );
  });
});

describe(parametersViolations.name, () => {
  it('names each bad parameter once, and refuses a prototype key as a parameter name', () => {
    const params = JSON.parse(`{"Name":"\\ud800","Actions":${JSON.stringify(nestedArrays(100))},"constructor":1,"JourneyID":7}`);
    expect(parametersViolations(params).map((v) => v.message)).toEqual([
      'Name contains text that is not valid Unicode (a lone surrogate)',
      `Actions is nested deeper than ${API_MAX_DEPTH} levels`,
      '"constructor" is not allowed as a parameter name',
    ]);
  });

  it('shows at most 64 characters of a long parameter name', () => {
    const [violation] = parametersViolations({ ['N'.repeat(1000)]: '\udc00' });
    expect(violation.message).toBe(`${'N'.repeat(64)}… contains text that is not valid Unicode (a lone surrogate)`);
  });
});

describe(formBodyViolations.name, () => {
  it('refuses the prototype keys qs would keep or silently drop, naming the parameter', () => {
    expect(formBodyViolations('Command=journey.get&ExpectedVersion[constructor]=1').map((v) => v.message)).toEqual([
      'ExpectedVersion must not contain the key "constructor"',
    ]);
    expect(formBodyViolations('Trigger%5Ba%5D%5B__proto__%5D=1&Name[prototype]=x').map((v) => v.message)).toEqual([
      'Trigger must not contain the key "__proto__"',
      'Name must not contain the key "prototype"',
    ]);
    expect(formBodyViolations('constructor=1').map((v) => v.message)).toEqual(['"constructor" is not allowed as a parameter name']);
  });

  it('refuses a key with more bracket levels than API_MAX_DEPTH, and accepts one at the limit', () => {
    expect(formBodyViolations(`Actions${'[]'.repeat(API_MAX_DEPTH)}=1`)).toEqual([]);
    expect(formBodyViolations(`Actions${'[a]'.repeat(API_MAX_DEPTH + 1)}=1`).map((v) => v.message)).toEqual([
      `Actions is nested deeper than ${API_MAX_DEPTH} levels`,
    ]);
  });

  it('splits a key at "]=" the way qs does, so brackets inside the value do not count', () => {
    expect(formBodyViolations(`Name[a]=${'[b]'.repeat(API_MAX_DEPTH + 1)}&Notes=[constructor]`)).toEqual([]);
  });
});
