/**
 * fast-check generators of requests to POST /journeys/api: every command name
 * (valid and not), each command's own parameters with plausible values and now
 * and then a hostile one, stray and hostile parameters (deep nesting,
 * prototype keys, lone surrogates, huge numbers, NaN-like text, arrays where
 * scalars belong, nulls, long text), as JSON or as form bodies (JSON text or
 * qs bracket syntax), logged in as the owner, another user or nobody.
 */
import * as fc from 'fast-check';
import { API_MAX_DEPTH } from '../../src/api/api-input-limits';
import type { DemoData } from '../../reference-host/seed';

export interface FuzzRequest {
  user: 'A' | 'B' | 'nobody';
  /** `vendor-json`: a `+json` type the guard accepts but the JSON parser leaves unread. */
  encoding: 'json' | 'form' | 'vendor-json';
  body: string;
}

export interface FuzzContext {
  demo: DemoData;
  /** Every API command the plug-in serves. */
  commands: string[];
  /** Journeys of user A made before the run (e.g. an enabled manual one and a draft). */
  journeyIds: number[];
}

/** Stands for the subscriber selector: ListID + SubscriberID, or EmailAddress. */
const SUBSCRIBER = 'ListID+SubscriberID|EmailAddress';
/** Each command's parameters (see api-params.dto.ts), for the requests a well-meaning client sends. */
const PARAMETERS_OF: Record<string, { required: string[]; optional: string[] }> = {
  'journey.create': { required: ['Name', 'Trigger'], optional: ['Notes', 'ReEntry'] },
  'journey.update': { required: ['JourneyID'], optional: ['Name', 'Notes', 'Trigger', 'ReEntry'] },
  'journey.actions.update': { required: ['JourneyID', 'Actions'], optional: ['ExpectedVersion', 'PreviewOnly'] },
  'journey.entry.retry': { required: ['EntryID'], optional: [] },
  'journey.entry.skip': { required: ['EntryID'], optional: [] },
  'subscriber.journey.trigger': { required: ['JourneyID', SUBSCRIBER], optional: [] },
  'subscriber.journey.exit': { required: ['JourneyID', SUBSCRIBER], optional: [] },
  'subscriber.journey.list': { required: [SUBSCRIBER], optional: ['JourneyID'] },
  ...Object.fromEntries(
    ['journey.get', 'journey.enable', 'journey.disable', 'journey.delete', 'journey.stats'].map((c) => [c, { required: ['JourneyID'], optional: [] }]),
  ),
};
const PARAMETER_NAMES = [
  'JourneyID',
  'EntryID',
  'ListID',
  'SubscriberID',
  'EmailAddress',
  'Name',
  'Notes',
  'Trigger',
  'ReEntry',
  'Actions',
  'ExpectedVersion',
  'PreviewOnly',
];
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];
const HOSTILE_NAMES = [...PROTOTYPE_KEYS, 'toString', 'hasOwnProperty', 'UserID', 'JourneyId', '', 'Actions[]'];
/** Over the API's 1 MB body limit. */
const OVERSIZED = `{"Command":"journey.create","Name":"${'x'.repeat(1_100_000)}","Trigger":{"type":"manual"}}`;

type Entries = [string, unknown][];

/** An object with these own keys (JSON.parse keeps a __proto__ key as its own, as a JSON body does). */
const objectOf = (entries: Entries): unknown => JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);

/** `leaf` inside `levels` arrays or objects (built as text and parsed once: per-level rebuilding is quadratic). */
function nested(levels: number, kind: 'array' | 'object', key: string, leaf: unknown): unknown {
  const [open, close] = kind === 'array' ? ['[', ']'] : [`{${JSON.stringify(key)}:`, '}'];
  return JSON.parse(open.repeat(levels) + JSON.stringify(leaf) + close.repeat(levels));
}

/** Percent-encoding that writes a lone surrogate as the bytes a careless encoder would send, instead of throwing. */
function encodeFormText(text: string): string {
  let out = '';
  for (const char of text) {
    const unit = char.charCodeAt(0);
    const lone = char.length === 1 && unit >= 0xd800 && unit <= 0xdfff;
    out += lone
      ? [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')
      : encodeURIComponent(char);
  }
  return out;
}

/** Form pairs for a value: scalars as text, arrays and objects in qs's bracket syntax (walked with a stack: values nest thousands deep). */
function formPairs(name: string, value: unknown): string[] {
  const pairs: string[] = [];
  const pending: [string, unknown][] = [[name, value]];
  while (pending.length > 0) {
    const [key, current] = pending.pop()!;
    if (Array.isArray(current)) current.forEach((item, i) => pending.push([`${key}[${i % 2 === 0 ? '' : i}]`, item]));
    else if (current !== null && typeof current === 'object') for (const [k, v] of Object.entries(current)) pending.push([`${key}[${k}]`, v]);
    else pairs.push(`${encodeFormText(key).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encodeFormText(String(current))}`);
  }
  return pairs;
}

const jsonText = (command: unknown, entries: Entries) =>
  `{${[...(command === undefined ? [] : [['Command', command]]), ...entries].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;

/** Objects and arrays as JSON text (the documented form usage) or in bracket syntax. */
const formText = (command: unknown, entries: Entries, objectsAsJson: boolean) =>
  [['Command', command] as [string, unknown], ...entries]
    .flatMap(([k, v]) => formPairs(k, objectsAsJson && typeof v === 'object' && v !== null ? JSON.stringify(v) : v))
    .join('&');

export function apiRequests({ demo, commands, journeyIds }: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const subscribers = Object.values(demo.subscribers);
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('\ud800', 'x\udfff', '\udc00\ud800', '🚀', '\u0000', "'; DROP TABLE x; --", '{{EmailAddress}}', '<script>'),
  );
  const id = fc.oneof(
    fc.constantFrom(...journeyIds, 1, 2, 3, 4, 0, -1),
    fc.integer(),
    fc.constantFrom(1e21, 1e308, 2 ** 53 + 1, 4294967295, 4294967296, Number.MAX_SAFE_INTEGER, -0, 0.5, 1e-7),
  );
  const numericText = fc.constantFrom(
    '7',
    ' 7 ',
    '007',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    '-1',
    '',
    'null',
    'true',
    '1',
    '0',
    '999999999999999',
    '4294967296',
    '1.5',
  );
  const email = fc.oneof(
    fc.constantFrom(...subscribers.map((s) => s.emailAddress)),
    fc.constantFrom('x@', '@', 'a@b', '\ud800@example.com', 'alice@example.com\u0000'),
  );
  const trigger = fc.oneof(
    fc.constant({ type: 'manual' }),
    fc.constantFrom(demo.lists.newsletter, demo.lists.leads, 999999).map((listId) => ({ type: 'subscription', listIds: [listId] })),
    fc.record({
      type: fc.constantFrom('email_opened', 'link_clicked', 'conversion', 'unsubscription', 'nope'),
      emailIds: fc.constantFrom('any', [1], [], 'all'),
    }),
  );
  const action = fc.oneof(
    fc.record({
      type: fc.constant('wait'),
      settings: fc.record({ amount: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer(), numericText), unit: fc.constantFrom('days', 'hours', 'weeks') }),
    }),
    fc.constant({ type: 'exit_this_journey', settings: {} }),
    fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), settings: fc.record({ listId: id }) }),
    fc.record({
      id: text,
      type: fc.oneof(text, fc.constant('condition')),
      settings: fc.constant({ match: 'all', rules: [{ attribute: 'Opens', operator: 'at_least', value: '1' }] }),
    }),
  );
  const actionTree = fc.oneof(
    fc.array(action, { maxLength: 3 }),
    fc.array(action, { maxLength: 4 }).map((actions) => [{ type: 'condition', settings: { match: 'any', rules: [] }, yes: actions, no: [] }]),
  );
  const scalar = fc.oneof(id, numericText, email, text, fc.boolean(), fc.constant(null), fc.double());
  const deep = fc
    .tuple(
      fc.oneof(fc.integer({ min: API_MAX_DEPTH - 2, max: API_MAX_DEPTH + 2 }), fc.integer({ min: 1, max: 3000 })),
      fc.constantFrom<'array' | 'object'>('array', 'object'),
      fc.constantFrom('a', 'yes', ...PROTOTYPE_KEYS, '\ud800'),
      scalar,
    )
    .map(([levels, kind, key, leaf]) => nested(levels, kind, key, leaf));
  const prototypeObject = fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), scalar, fc.constantFrom('type', 'settings')).map(([key, v, other]) =>
    objectOf([
      [other, v],
      [key, v],
    ]),
  );
  const hostile = fc.oneof(
    { arbitrary: scalar, weight: 8 },
    { arbitrary: fc.oneof(trigger, actionTree), weight: 4 },
    { arbitrary: fc.oneof(trigger, actionTree).map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: fc.array(scalar, { maxLength: 3 }), weight: 2 },
    { arbitrary: fc.dictionary(fc.oneof(text, fc.constantFrom(...PROTOTYPE_KEYS)), scalar, { maxKeys: 3 }), weight: 1 },
    {
      arbitrary: fc.oneof(
        deep,
        deep.map((v) => JSON.stringify(v)),
      ),
      weight: 2,
    },
    { arbitrary: prototypeObject, weight: 2 },
    { arbitrary: fc.integer({ min: 200, max: 70_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  );

  const plausible: Record<string, fc.Arbitrary<Entries>> = {
    // Journeys made during the run get the next ids, so low ids keep naming journeys after some are deleted.
    JourneyID: fc.oneof(fc.constantFrom(...journeyIds), fc.integer({ min: 1, max: 50 })).map((v) => [['JourneyID', v]]),
    EntryID: fc.integer({ min: 1, max: 20 }).map((v) => [['EntryID', v]]),
    [SUBSCRIBER]: fc.oneof(
      fc.constantFrom(...subscribers).map((s): Entries => [
        ['ListID', s.listId],
        ['SubscriberID', s.subscriberId],
      ]),
      fc.constantFrom(...subscribers).map((s): Entries => [['EmailAddress', s.emailAddress]]),
    ),
    Name: fc.string({ minLength: 1, maxLength: 30 }).map((v) => [['Name', v]]),
    Notes: fc.string({ maxLength: 100 }).map((v) => [['Notes', v]]),
    Trigger: fc
      .oneof(
        trigger,
        trigger.map((t) => JSON.stringify(t)),
      )
      .map((v) => [['Trigger', v]]),
    ReEntry: fc.constantFrom('allow', 'once', 'twice').map((v) => [['ReEntry', v]]),
    Actions: fc
      .oneof(
        actionTree,
        actionTree.map((t) => JSON.stringify(t)),
      )
      .map((v) => [['Actions', v]]),
    ExpectedVersion: fc.oneof(fc.integer({ min: 1, max: 5 }), numericText).map((v) => [['ExpectedVersion', v]]),
    PreviewOnly: fc.oneof(fc.boolean(), fc.constantFrom('true', '0', 'yes')).map((v) => [['PreviewOnly', v]]),
  };
  const parameter = (name: string) =>
    fc.oneof(
      { arbitrary: plausible[name], weight: 12 },
      { arbitrary: hostile.map((v): Entries => [[name === SUBSCRIBER ? 'EmailAddress' : name, v]]), weight: 2 },
      // null beside plausible values: the services tell "left out" from "given" by undefined alone.
      { arbitrary: plausible[name].map((entries): Entries => entries.map(([n, v], i) => [n, i === entries.length - 1 ? null : v])), weight: 1 },
      { arbitrary: fc.constant<Entries>([]), weight: 1 },
    );
  /** A command with its own parameters: mostly plausible, now and then one hostile or missing. */
  const wellMeant = fc.constantFrom(...commands).chain((command) => {
    const { required, optional } = PARAMETERS_OF[command] ?? { required: [], optional: [] };
    return fc
      .subarray(optional)
      .chain((chosen) => fc.tuple(...[...required, ...chosen].map(parameter)))
      .map((groups) => [command, groups.flat()] as const);
  });
  const command = fc.oneof(
    { arbitrary: fc.constantFrom(...commands), weight: 10 },
    { arbitrary: fc.constantFrom('', 'journey', 'journey.explode', 'JOURNEY.GET', ' journey.get', ...HOSTILE_NAMES), weight: 2 },
    { arbitrary: fc.oneof(text, fc.integer(), fc.constant(null), fc.array(fc.constantFrom(...commands), { maxLength: 2 }), prototypeObject), weight: 1 },
  );
  const name = fc.oneof(
    { arbitrary: fc.constantFrom(...PARAMETER_NAMES), weight: 10 },
    { arbitrary: fc.oneof(fc.constantFrom(...HOSTILE_NAMES), text), weight: 1 },
  );
  /** Any command (or none), with any parameters. */
  const stray = fc.tuple(fc.option(command, { nil: undefined }), fc.array(fc.tuple(name, hostile), { maxLength: 5 }));

  const jsonBody = fc.oneof(
    { arbitrary: wellMeant.map(([c, entries]) => jsonText(c, entries)), weight: 12 },
    { arbitrary: stray.map(([c, entries]) => jsonText(c, entries)), weight: 6 },
    {
      arbitrary: fc.constantFrom('[1,2]', '"journey.list"', 'null', '{}', '{"Command":', '', '{"Command":"journey.get","JourneyID":1,"JourneyID":2}'),
      weight: 1,
    },
    {
      arbitrary: fc
        .integer({ min: 1, max: 100_000 })
        .map((n) => `{"Command":"journey.actions.update","JourneyID":1,"Actions":${'['.repeat(n)}${']'.repeat(n)}}`),
      weight: 1,
    },
  );
  const deepFormKey = fc
    .tuple(fc.constantFrom(...PARAMETER_NAMES), fc.integer({ min: 1, max: 3000 }), fc.constantFrom('[a]', '[]', '[0]', ...PROTOTYPE_KEYS.map((k) => `[${k}]`)))
    .map(([n, levels, segment]) => `${n}${segment.repeat(levels)}=1`);
  const formBody = fc.oneof(
    { arbitrary: fc.tuple(wellMeant, fc.boolean()).map(([[c, entries], asJson]) => formText(c, entries, asJson)), weight: 12 },
    { arbitrary: fc.tuple(stray, fc.boolean()).map(([[c, entries], asJson]) => formText(c ?? '', entries, asJson)), weight: 6 },
    { arbitrary: fc.tuple(fc.constantFrom(...commands), deepFormKey).map(([c, key]) => `Command=${c}&${key}`), weight: 2 },
    {
      arbitrary: fc.constantFrom('&&&', '=', 'Command=%', 'Command=%E0%A4%A', 'Command=journey.get&JourneyID=1&JourneyID=2', 'Command[]=journey.list'),
      weight: 1,
    },
    { arbitrary: fc.constant(`Command=journey.list&${Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&')}`), weight: 1 },
  );

  const user = fc.oneof({ arbitrary: fc.constant('A' as const), weight: 18 }, { arbitrary: fc.constantFrom('B' as const, 'nobody' as const), weight: 1 });
  return fc.oneof(
    { arbitrary: fc.record({ user, encoding: fc.constant('json' as const), body: jsonBody }), weight: 120 },
    { arbitrary: fc.record({ user, encoding: fc.constant('form' as const), body: formBody }), weight: 72 },
    { arbitrary: fc.record({ user, encoding: fc.constant('vendor-json' as const), body: jsonBody }), weight: 12 },
    { arbitrary: fc.record({ user, encoding: fc.constantFrom('json' as const, 'form' as const), body: fc.constant(OVERSIZED) }), weight: 1 },
  );
}
