/**
 * Settings that describe email events (an open, a click, a conversion), read
 * from raw input: for triggers, for the Wait for event action, for goals. And
 * the settings of the actions built around email: Send Email, Wait for event,
 * Random split. Like every parser: known keys only, form values coerced,
 * every problem reported.
 */
import { parseWaitSettings, unknownEmailIds } from './action-settings';
import type { AwaitedEvent, EmailTarget, IdSelection, LinkSpec, RandomSplitAction, SendEmailAction, WaitForEventAction } from './journey.types';
import { MAX_SPLIT_PATHS, MIN_SPLIT_PATHS, UNDELIVERABLE_CHOICES } from './journey.types';
import { isRecord, readIdSelection, readInteger, readKeyword, readNumber, readOptionalText, readText } from './raw-input';
import type { Report, ValidationContext, ViolationCode } from './validation.types';

type Raw = Record<string, unknown>;

const MAX_LINK_LENGTH = 2048;
const MAX_CHANNEL_LENGTH = 100;
const ACTION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A list or email selection ("any" or ids), each id checked against the owner's. `code`: what a bad selection is reported as. */
export function readSelection(
  raw: unknown,
  what: 'list' | 'email',
  unknownIds: (selection: IdSelection) => number[],
  report: Report,
  code: ViolationCode,
): IdSelection {
  const selection = readIdSelection(raw);
  if (selection === null || (selection !== 'any' && selection.length === 0)) {
    report(code, `Choose at least one ${what}, or any ${what}`);
    return [];
  }
  const unknown = unknownIds(selection);
  if (unknown.length > 0)
    report(what === 'list' ? 'unknown_list' : 'unknown_email', `${what === 'list' ? 'List' : 'Email'} ${unknown.join(', ')} is not one of yours`);
  return selection;
}

/** An optional link of a click: `{ match: 'exact' | 'pattern', value }`. */
export function readLink(raw: unknown, report: Report, code: ViolationCode): LinkSpec | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (!isRecord(raw)) {
    report(code, 'Link must be an object with match ("exact" or "pattern") and value');
    return undefined;
  }
  const match = raw.match === undefined ? 'exact' : readKeyword(raw.match);
  const value = readOptionalText(raw.value);
  if (match !== 'exact' && match !== 'pattern') report(code, 'Link match must be "exact" or "pattern"');
  if (!value) report(code, 'Link needs a URL or a pattern');
  else if (value.length > MAX_LINK_LENGTH) report(code, `Link must be at most ${MAX_LINK_LENGTH} characters`);
  if ((match !== 'exact' && match !== 'pattern') || !value || value.length > MAX_LINK_LENGTH) return undefined;
  return { match, value };
}

/** The optional channel and minimum value of a conversion. */
export function readConversionExtras(raw: Raw, report: Report, code: ViolationCode): { channel?: string; minValue?: number } {
  const extras: { channel?: string; minValue?: number } = {};
  const channel = readOptionalText(raw.channel);
  if (channel === null || (channel && channel.length > MAX_CHANNEL_LENGTH)) report(code, `Channel must be text of at most ${MAX_CHANNEL_LENGTH} characters`);
  else if (channel !== undefined) extras.channel = channel;
  if (raw.minValue !== undefined && raw.minValue !== null && raw.minValue !== '') {
    const minValue = readNumber(raw.minValue);
    if (minValue === null || minValue < 0) report(code, 'Minimum value must be a number ≥ 0');
    else extras.minValue = minValue;
  }
  return extras;
}

/* ---------- Send Email ---------- */

export function parseSendEmailSettings(raw: Raw, ctx: ValidationContext, report: Report): SendEmailAction['settings'] {
  const emailId = readInteger(raw.emailId);
  if (emailId === null || emailId < 1) report('invalid_settings', 'Send Email needs the email to send');
  else if (unknownEmailIds(ctx, [emailId]).length > 0) report('unknown_email', `Email ${emailId} is not one of yours`);
  const choice = raw.whenUndeliverable === undefined || raw.whenUndeliverable === '' ? 'skip' : readKeyword(raw.whenUndeliverable);
  const whenUndeliverable = UNDELIVERABLE_CHOICES.find((c) => c === choice);
  if (!whenUndeliverable) report('invalid_settings', `When the subscriber cannot receive it must be one of ${UNDELIVERABLE_CHOICES.join(', ')}`);
  return { emailId: emailId ?? 0, whenUndeliverable: whenUndeliverable ?? 'skip' };
}

/* ---------- Wait for event ---------- */

const AWAITED_EVENT_TYPES = ['email_opened', 'link_clicked', 'conversion'] as const;

/** "any", email ids, or `{ sentBy: <Send Email action id> }` (checked against the tree by parseActions). */
function readEmailTarget(raw: unknown, ctx: ValidationContext, report: Report): EmailTarget {
  if (isRecord(raw) && raw.sentBy !== undefined) {
    const actionId = readText(raw.sentBy)?.trim() ?? '';
    if (!ACTION_ID.test(actionId)) report('unknown_action', 'Choose the Send Email action whose email to wait for');
    return { sentBy: actionId };
  }
  return readSelection(raw, 'email', (selection) => unknownEmailIds(ctx, selection), report, 'invalid_settings');
}

export function parseAwaitedEvent(raw: unknown, ctx: ValidationContext, report: Report): AwaitedEvent {
  if (!isRecord(raw)) {
    report('invalid_settings', 'Choose the event to wait for: an open, a click or a conversion');
    return { type: 'email_opened', emailIds: 'any' };
  }
  const typeText = readKeyword(raw.type);
  const type = AWAITED_EVENT_TYPES.find((t) => t === typeText);
  if (!type) report('invalid_settings', `The event to wait for must be one of ${AWAITED_EVENT_TYPES.join(', ')}`);
  const emailIds = readEmailTarget(raw.emailIds ?? 'any', ctx, report);
  switch (type ?? 'email_opened') {
    case 'link_clicked': {
      const link = readLink(raw.link, report, 'invalid_settings');
      return link ? { type: 'link_clicked', emailIds, link } : { type: 'link_clicked', emailIds };
    }
    case 'conversion':
      return { type: 'conversion', emailIds, ...readConversionExtras(raw, report, 'invalid_settings') };
    default:
      return { type: 'email_opened', emailIds };
  }
}

export function parseWaitForEventSettings(raw: Raw, ctx: ValidationContext, report: Report): WaitForEventAction['settings'] {
  const event = parseAwaitedEvent(raw.event, ctx, report);
  if (!isRecord(raw.timeout)) {
    report('invalid_wait', 'Wait for event needs a timeout (amount and unit)');
    return { event, timeout: { amount: 3, unit: 'days' } };
  }
  const timeout = parseWaitSettings(raw.timeout, ctx, (code, message) => report(code, `Timeout: ${message}`));
  return { event, timeout };
}

/* ---------- Random split ---------- */

export function parseRandomSplitSettings(raw: Raw, _ctx: ValidationContext, report: Report): RandomSplitAction['settings'] {
  const list = Array.isArray(raw.percents) ? raw.percents : null;
  const countOk = !!list && list.length >= MIN_SPLIT_PATHS && list.length <= MAX_SPLIT_PATHS;
  if (!countOk) report('invalid_split', `A Random split has ${MIN_SPLIT_PATHS} to ${MAX_SPLIT_PATHS} paths, each with a percentage`);
  const percents = (list ?? []).slice(0, MAX_SPLIT_PATHS).map((value, index) => {
    const percent = readInteger(value);
    if (percent === null || percent < 1 || percent > 99) {
      if (countOk) report('invalid_split', `Path ${pathLetter(index)}: the percentage must be a whole number from 1 to 99`);
      return 0;
    }
    return percent;
  });
  const sum = percents.reduce((a, b) => a + b, 0);
  if (countOk && sum !== 100) report('invalid_split', `The percentages add up to ${sum}; they must add up to 100`);
  return { percents: percents.length >= MIN_SPLIT_PATHS ? percents : [50, 50] };
}

/** A, B, C… for the paths of a split. */
export function pathLetter(index: number): string {
  return String.fromCharCode(65 + index);
}
