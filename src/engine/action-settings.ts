/**
 * One settings parser per action type: whitelist the known keys, coerce what
 * a form sends, report every problem (never stop at the first), and return
 * the best settings that could be read.
 */
import { attributeKind, customFieldIdOf, isActivityAttribute, operatorsFor, ruleValueProblem, VALUELESS_OPERATORS } from './conditions';
import type {
  ConditionAction,
  ConditionRule,
  ExitJourneyAction,
  IdSelection,
  RuleAttribute,
  RuleOperator,
  SendWindow,
  StartJourneyAction,
  SubscribeAction,
  UpdateCustomFieldAction,
  WaitAction,
  WebhookAction,
  WebhookMethod,
} from './journey.types';
import { RULE_OPERATORS, WAIT_UNITS, WEBHOOK_METHODS, assertNever } from './journey.types';
import { mergeTagsIn } from './merge-tags';
import { isRecord, readBoolean, readIdList, readIdSelection, readInteger, readKeyword, readOptionalText, readText } from './raw-input';
import { parseClockTime, WAIT_UNIT_MS } from './send-window';
import type { Report, ValidationContext } from './validation.types';

type Raw = Record<string, unknown>;

export const MAX_WAIT_DAYS = 3650;
export const MAX_FIELD_VALUE_LENGTH = 10_000;
export const MAX_WEBHOOK_HEADERS = 20;

/* ---------- ownership ---------- */

function isOwnList(ctx: ValidationContext, listId: number): boolean {
  return ctx.lists.some((list) => list.listId === listId);
}
function isOwnField(ctx: ValidationContext, fieldId: number): boolean {
  return ctx.customFields.some((field) => field.customFieldId === fieldId);
}
function isOwnJourney(ctx: ValidationContext, journeyId: number): boolean {
  return ctx.journeys.some((journey) => journey.journeyId === journeyId);
}
export function unknownEmailIds(ctx: ValidationContext, selection: IdSelection): number[] {
  return selection === 'any' ? [] : selection.filter((id) => !ctx.emails.some((email) => email.emailId === id));
}
export function unknownListIds(ctx: ValidationContext, selection: IdSelection): number[] {
  return selection === 'any' ? [] : selection.filter((id) => !isOwnList(ctx, id));
}

/* ---------- wait ---------- */

function singularToPlural(unit: string): string {
  return unit.endsWith('s') ? unit : `${unit}s`;
}

function readClock(raw: unknown, what: string, report: Report): string | undefined {
  const text = readOptionalText(raw);
  if (text === undefined) return undefined;
  // Forms may send '9:00'; the stored form is always 'HH:MM'.
  const padded = text !== null && /^\d:\d\d$/.test(text) ? `0${text}` : text;
  if (padded === null || parseClockTime(padded) === null) {
    report('invalid_send_window', `Send window "${what}" must be a time HH:MM between 00:00 and 23:59`);
    return undefined;
  }
  return padded;
}

function readWeekdays(raw: unknown, report: Report): number[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const days = Array.isArray(raw) ? raw.map(readInteger) : [null];
  if (days.some((day) => day === null || day < 0 || day > 6)) {
    report('invalid_send_window', 'Send window weekdays must be a list of days 0 (Sunday) to 6 (Saturday)');
    return undefined;
  }
  if (days.length === 0) {
    report('invalid_send_window', 'Send window needs at least one weekday, or no weekday restriction at all');
    return undefined;
  }
  return [...new Set(days as number[])].sort((a, b) => a - b);
}

function parseSendWindow(raw: unknown, report: Report): SendWindow | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    report('invalid_send_window', 'Send window must be an object with notBefore, notAfter and weekdays');
    return undefined;
  }
  const window: SendWindow = {};
  const notBefore = readClock(raw.notBefore, 'not before', report);
  const notAfter = readClock(raw.notAfter, 'not after', report);
  const weekdays = readWeekdays(raw.weekdays, report);
  if (notBefore !== undefined) window.notBefore = notBefore;
  if (notAfter !== undefined) window.notAfter = notAfter;
  if (weekdays !== undefined) window.weekdays = weekdays;
  return Object.keys(window).length > 0 ? window : undefined;
}

export function parseWaitSettings(raw: Raw, _ctx: ValidationContext, report: Report): WaitAction['settings'] {
  const amount = readInteger(raw.amount);
  const unitText = readKeyword(raw.unit);
  const unit = unitText === null ? null : singularToPlural(unitText);
  const validUnit = WAIT_UNITS.find((candidate) => candidate === unit);
  if (amount === null || amount < 1) report('invalid_wait', 'Wait amount must be a whole number ≥ 1');
  if (!validUnit) report('invalid_wait', `Wait unit must be one of ${WAIT_UNITS.join(', ')}`);
  const settings: WaitAction['settings'] = { amount: amount ?? 1, unit: validUnit ?? 'days' };
  if (amount !== null && validUnit && amount * WAIT_UNIT_MS[validUnit] > MAX_WAIT_DAYS * WAIT_UNIT_MS.days) {
    report('invalid_wait', `Wait must be at most ${MAX_WAIT_DAYS} days`);
  }
  const window = parseSendWindow(raw.window, report);
  if (window) settings.window = window;
  return settings;
}

/* ---------- condition ---------- */

const RULE_ATTRIBUTE_ALIASES = /^CustomField:?(\d+)$/i;

function readAttribute(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  const customField = RULE_ATTRIBUTE_ALIASES.exec(text);
  return customField ? `CustomField:${Number(customField[1])}` : text;
}

function describeAttribute(attribute: string): string {
  const fieldId = customFieldIdOf(attribute);
  return fieldId === null ? attribute : `custom field ${fieldId}`;
}

/** One condition rule (also a goal's rule), reported as "Rule <position>". */
export function parseRule(raw: unknown, position: number, ctx: ValidationContext, report: Report): ConditionRule | null {
  const label = `Rule ${position}`;
  if (!isRecord(raw)) {
    report('invalid_settings', `${label} must be an object with attribute, operator and value`);
    return null;
  }
  const attribute = readAttribute(raw.attribute);
  const kind = attribute === null ? null : attributeKind(attribute, ctx.customFields);
  if (attribute === null || attribute === '') report('unknown_attribute', `${label}: choose an attribute`);
  else if (kind === null) {
    if (customFieldIdOf(attribute) !== null) report('unknown_custom_field', `${label}: ${describeAttribute(attribute)} is not one of your custom fields`);
    else report('unknown_attribute', `${label}: "${attribute}" is not a subscriber attribute`);
  }
  const operatorText = readKeyword(raw.operator);
  const operator = RULE_OPERATORS.find((candidate) => candidate === operatorText);
  if (!operator) report('unknown_operator', `${label}: "${String(raw.operator ?? '')}" is not an operator`);
  else if (kind !== null && !operatorsFor(kind).includes(operator)) {
    report(
      'operator_not_allowed',
      `${label}: "${operator}" cannot be used with ${describeAttribute(attribute!)} (${kind}); use one of ${operatorsFor(kind).join(', ')}`,
    );
  }
  const value = readText(raw.value) ?? undefined;
  if (kind !== null && operator && operatorsFor(kind).includes(operator)) {
    const problem = ruleValueProblem(kind, operator, value, attribute!);
    if (problem) report('invalid_rule_value', `${label}: ${problem}`);
  }
  if (attribute === null || kind === null || !operator) return null;
  const rule: ConditionRule = { attribute: attribute as RuleAttribute, operator: operator as RuleOperator };
  if (value !== undefined && !VALUELESS_OPERATORS.includes(operator)) rule.value = value.trim();
  if (isActivityAttribute(attribute)) rule.emailIds = readRuleEmails(raw.emailIds, label, ctx, report);
  return rule;
}

function readRuleEmails(raw: unknown, label: string, ctx: ValidationContext, report: Report): IdSelection {
  if (raw === undefined || raw === null) return 'any';
  const selection = readIdSelection(raw);
  if (selection === null || (selection !== 'any' && selection.length === 0)) {
    report('invalid_rule_value', `${label}: emails must be "any" or a list of email ids`);
    return 'any';
  }
  const unknown = unknownEmailIds(ctx, selection);
  if (unknown.length > 0) report('unknown_email', `${label}: email ${unknown.join(', ')} is not one of yours`);
  return selection;
}

export function parseConditionSettings(raw: Raw, ctx: ValidationContext, report: Report): ConditionAction['settings'] {
  const matchText = raw.match === undefined ? 'all' : readKeyword(raw.match);
  const match = matchText === 'all' || matchText === 'any' ? matchText : null;
  if (!match) report('invalid_settings', 'Condition match must be "all" or "any"');
  const rawRules = raw.rules;
  if (rawRules !== undefined && !Array.isArray(rawRules)) report('invalid_settings', 'Condition rules must be a list');
  const list = Array.isArray(rawRules) ? rawRules : [];
  if (list.length === 0) report('empty_rules', 'A Yes/No condition needs at least one rule');
  const rules = list.map((rule, index) => parseRule(rule, index + 1, ctx, report)).filter((rule): rule is ConditionRule => rule !== null);
  return { match: match ?? 'all', rules };
}

/* ---------- journeys ---------- */

export function parseStartJourneySettings(raw: Raw, ctx: ValidationContext, report: Report): StartJourneyAction['settings'] {
  const journeyId = readInteger(raw.journeyId);
  if (journeyId === null || journeyId < 1) report('invalid_settings', 'Start Journey needs the journey to start');
  else if (journeyId === ctx.journeyId) report('start_journey_self', 'Start Journey cannot start the journey it is in');
  else if (!isOwnJourney(ctx, journeyId)) report('unknown_journey', `Journey ${journeyId} is not one of your journeys`);
  return { journeyId: journeyId ?? 0 };
}

export function parseExitJourneySettings(raw: Raw, ctx: ValidationContext, report: Report): ExitJourneyAction['settings'] {
  const journeyIds = raw.journeyIds === undefined ? null : readIdList(raw.journeyIds);
  if (journeyIds === null || journeyIds.length === 0) {
    report('invalid_settings', 'Exit Journey needs one or more journeys to exit');
    return { journeyIds: [] };
  }
  const unknown = journeyIds.filter((id) => !isOwnJourney(ctx, id));
  if (unknown.length > 0) report('unknown_journey', `Journey ${unknown.join(', ')} is not one of your journeys`);
  return { journeyIds };
}

/** Actions without settings: whatever came in, their settings are empty. */
export function parseNoSettings(_raw?: Record<string, unknown>, _ctx?: ValidationContext, _report?: Report): Record<string, never> {
  return {};
}

/* ---------- host writes ---------- */

export function parseListSettings(raw: Raw, ctx: ValidationContext, report: Report): SubscribeAction['settings'] {
  const listId = readInteger(raw.listId);
  if (listId === null || listId < 1) report('invalid_settings', 'Choose a list');
  else if (!isOwnList(ctx, listId)) report('unknown_list', `List ${listId} is not one of your lists`);
  return { listId: listId ?? 0 };
}

function checkMergeTags(value: string, ctx: ValidationContext, report: Report): void {
  for (const tag of mergeTagsIn(value)) {
    switch (tag.kind) {
      case 'subscriber':
        break;
      case 'custom_field':
        if (!isOwnField(ctx, tag.fieldId)) report('unknown_custom_field', `Merge tag ${tag.text}: custom field ${tag.fieldId} is not one of yours`);
        break;
      case 'unknown':
        report('unknown_merge_tag', `Merge tag ${tag.text} is not known`);
        break;
      default:
        assertNever(tag, 'merge tag');
    }
  }
}

export function parseUpdateCustomFieldSettings(raw: Raw, ctx: ValidationContext, report: Report): UpdateCustomFieldAction['settings'] {
  const fieldId = readInteger(raw.fieldId);
  if (fieldId === null || fieldId < 1) report('invalid_settings', 'Choose a custom field');
  else if (!isOwnField(ctx, fieldId)) report('unknown_custom_field', `Custom field ${fieldId} is not one of yours`);
  const value = raw.value === null ? '' : readText(raw.value);
  if (value === null) report('invalid_settings', 'Update Custom Field needs a value (it may be empty, which clears the field)');
  else if (value.length > MAX_FIELD_VALUE_LENGTH) report('invalid_settings', `The value must be at most ${MAX_FIELD_VALUE_LENGTH} characters`);
  else checkMergeTags(value, ctx, report);
  return { fieldId: fieldId ?? 0, value: value ?? '' };
}

/* ---------- webhook ---------- */

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the sender itself; a user header must not override the signature or the framing. */
const RESERVED_HEADERS = ['content-type', 'content-length', 'host', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'transfer-encoding', 'connection'];

function parseWebhookUrl(raw: unknown, ctx: ValidationContext, report: Report): string {
  const text = readOptionalText(raw);
  if (!text) {
    report('invalid_webhook_url', 'Webhook URL is required');
    return '';
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    report('invalid_webhook_url', `Webhook URL "${text}" is not a valid URL`);
    return text;
  }
  if (url.protocol === 'http:' && !ctx.allowHttp) report('insecure_webhook_url', 'Webhook URL must use https');
  else if (url.protocol !== 'https:' && url.protocol !== 'http:') report('invalid_webhook_url', 'Webhook URL must be an https:// address');
  else if (url.username || url.password) report('invalid_webhook_url', 'Webhook URL must not contain a user name or password; use a header');
  else if (!url.hostname) report('invalid_webhook_url', 'Webhook URL needs a host');
  return text;
}

function parseHeaders(raw: unknown, report: Report): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    report('invalid_webhook_header', 'Webhook headers must be an object of name → value');
    return undefined;
  }
  const entries = Object.entries(raw);
  if (entries.length > MAX_WEBHOOK_HEADERS) report('invalid_webhook_header', `At most ${MAX_WEBHOOK_HEADERS} webhook headers`);
  const headers: Record<string, string> = {};
  for (const [name, rawValue] of entries) {
    const value = readText(rawValue);
    if (!HEADER_NAME.test(name)) report('invalid_webhook_header', `Header name "${name}" is not valid`);
    else if (RESERVED_HEADERS.includes(name.toLowerCase()))
      report('invalid_webhook_header', `Header "${name}" is set by the webhook sender and cannot be changed`);
    else if (value === null || /[\r\n\0]/.test(value)) report('invalid_webhook_header', `Header "${name}" needs a single-line text value`);
    else headers[name] = value;
  }
  return Object.keys(headers).length > 0 ? headers : undefined;
}

export function parseWebhookSettings(raw: Raw, ctx: ValidationContext, report: Report): WebhookAction['settings'] {
  const url = parseWebhookUrl(raw.url, ctx, report);
  const methodText = raw.method === undefined ? 'POST' : typeof raw.method === 'string' ? raw.method.trim().toUpperCase() : '';
  const method = WEBHOOK_METHODS.find((candidate) => candidate === methodText) as WebhookMethod | undefined;
  if (!method) report('invalid_settings', `Webhook method must be one of ${WEBHOOK_METHODS.join(', ')}`);
  const settings: WebhookAction['settings'] = { url, method: method ?? 'POST' };
  const headers = parseHeaders(raw.headers, report);
  if (headers) settings.headers = headers;
  if (raw.includeCustomFields !== undefined) {
    const include = readBoolean(raw.includeCustomFields);
    if (include === null) report('invalid_settings', 'Webhook "include custom fields" must be true or false');
    else settings.includeCustomFields = include;
  }
  return settings;
}
