/**
 * Each action's settings as the planner form posts them (`a.<id>.<setting>`
 * fields), turned into the shapes the engine parses, and the settings a
 * freshly added action starts with. Nothing is validated here: a value that
 * cannot be read is passed on as typed, so the journeys service names it.
 */
import { ACTION_REGISTRY } from '../../engine/action-registry';
import type { ActionType } from '../../engine/journey.types';
import { MAX_SPLIT_PATHS } from '../../engine/journey.types';
import type { DraftAction } from './draft-tree';
import { each, many, numeric, text, type FormBody } from './form-values';

export interface DraftRule {
  attribute: string;
  operator: string;
  value?: string;
  emailIds?: unknown;
}

/** How a Wait for event names its email: any, the ticked ones, or the one a Send Email action before it sent. */
export const EMAIL_TARGETS = ['any', 'chosen', 'sentBy'] as const;

export function settingsFromForm(body: FormBody, id: string, type: string): Record<string, unknown> {
  const field = (name: string) => text(body, `a.${id}.${name}`);
  switch (type) {
    case 'wait':
      return waitFromForm(body, id);
    case 'condition':
      return { match: field('match') === 'any' ? 'any' : 'all', rules: rulesFromForm(body, id) };
    case 'start_journey':
      return { journeyId: numeric(field('journeyId')) };
    case 'exit_journey':
      return { journeyIds: many(body, `a.${id}.journeyIds`).map(numeric) };
    case 'subscribe':
    case 'unsubscribe':
      return { listId: numeric(field('listId')) };
    case 'update_custom_field': {
      const raw = body[`a.${id}.value`];
      return { fieldId: numeric(field('fieldId')), value: typeof raw === 'string' ? raw : '' };
    }
    case 'webhook': {
      const headers = headersFromText(typeof body[`a.${id}.headers`] === 'string' ? (body[`a.${id}.headers`] as string) : '');
      return {
        url: field('url'),
        method: field('method') || 'POST',
        ...(Object.keys(headers).length ? { headers } : {}),
        includeCustomFields: field('includeCustomFields') === '1',
      };
    }
    case 'send_email':
      return { emailId: numeric(field('emailId')), whenUndeliverable: field('whenUndeliverable') || 'skip' };
    case 'wait_for_event':
      return { event: awaitedEventFromForm(body, id), timeout: waitFromForm(body, id) };
    case 'random_split':
      // One field per path, in path order; a blank one stays in its place for the validator to name. Twice the
      // most paths a split may have is enough for the validator to say there are too many, and bounds a hostile form.
      return {
        percents: each(body, `a.${id}.percent`)
          .slice(0, MAX_SPLIT_PATHS * 2)
          .map(numeric),
      };
    default:
      return {};
  }
}

/** A Wait's fields (also a Wait for event's timeout): amount, unit, and the optional send window. */
function waitFromForm(body: FormBody, id: string): Record<string, unknown> {
  const field = (name: string) => text(body, `a.${id}.${name}`);
  const window: Record<string, unknown> = {};
  if (field('notBefore')) window.notBefore = field('notBefore');
  if (field('notAfter')) window.notAfter = field('notAfter');
  const weekdays = many(body, `a.${id}.weekdays`).map(numeric);
  // All seven days (or none) ticked means no weekday restriction.
  if (weekdays.length > 0 && weekdays.length < 7) window.weekdays = weekdays;
  return { amount: numeric(field('amount')), unit: field('unit'), ...(Object.keys(window).length ? { window } : {}) };
}

function awaitedEventFromForm(body: FormBody, id: string): Record<string, unknown> {
  const field = (name: string) => text(body, `a.${id}.${name}`);
  const type = field('event') || 'email_opened';
  const target = field('emailTarget');
  const emailIds = target === 'sentBy' ? { sentBy: field('sentBy') } : target === 'chosen' ? many(body, `a.${id}.emailIds`).map(numeric) : 'any';
  const event: Record<string, unknown> = { type, emailIds };
  if (type === 'link_clicked' && field('link')) event.link = { match: field('linkMatch') === 'pattern' ? 'pattern' : 'exact', value: field('link') };
  if (type === 'conversion') {
    if (field('channel')) event.channel = field('channel');
    if (field('minValue')) event.minValue = numeric(field('minValue'));
  }
  return event;
}

function rulesFromForm(body: FormBody, id: string): DraftRule[] {
  const prefix = `a.${id}.rule.`;
  const indexes = new Set<number>();
  for (const key of Object.keys(body)) {
    if (!key.startsWith(prefix)) continue;
    const n = Number(key.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(n) && n >= 0 && n < 100) indexes.add(n);
  }
  return [...indexes]
    .sort((a, b) => a - b)
    .map((n) => {
      const field = (name: string) => text(body, `${prefix}${n}.${name}`);
      const rule: DraftRule = { attribute: field('attribute'), operator: field('operator') };
      if (field('value') !== '' && rule.operator !== 'is_set' && rule.operator !== 'is_not_set') rule.value = field('value');
      if (rule.attribute === 'Opens' || rule.attribute === 'Clicks') {
        const emails = field('emails');
        rule.emailIds = emails === '' || emails === 'any' ? 'any' : [numeric(emails)];
      }
      return rule;
    });
}

/** "Name: value" per line. */
export function headersFromText(value: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of value.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (name) headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function headersToText(headers: unknown): string {
  if (!headers || typeof headers !== 'object') return '';
  return Object.entries(headers as Record<string, unknown>)
    .map(([name, value]) => `${name}: ${String(value)}`)
    .join('\n');
}

export function blankRule(): DraftRule {
  return { attribute: 'EmailAddress', operator: 'contains', value: '' };
}

/** The percentages of `count` paths shared as evenly as whole numbers allow (the first paths take the remainder): 3 → 34, 33, 33. */
export function evenPercents(count: number): number[] {
  const base = Math.floor(100 / count);
  return Array.from({ length: count }, (_, i) => base + (i < 100 - base * count ? 1 : 0));
}

/** A freshly added action: the registry's default settings, friendlier starting values where a form needs them, empty branches. */
export function newAction(type: ActionType, id: string): DraftAction {
  switch (type) {
    case 'condition':
      return { id, type, settings: { match: 'all', rules: [blankRule()] }, yes: [], no: [] };
    case 'wait_for_event':
      return { id, type, settings: ACTION_REGISTRY.wait_for_event.defaultSettings(), yes: [], no: [] };
    case 'random_split': {
      const settings = ACTION_REGISTRY.random_split.defaultSettings();
      return { id, type, settings, paths: settings.percents.map(() => []) };
    }
    case 'webhook':
      return { id, type, settings: { url: 'https://', method: 'POST', includeCustomFields: true } };
    case 'wait':
    case 'exit_journey':
      return { id, type, settings: ACTION_REGISTRY[type].defaultSettings() };
    case 'update_custom_field':
      return { id, type, settings: { value: '' } };
    case 'send_email':
      // No email chosen yet: the form shows "Choose an email…".
      return { id, type, settings: { whenUndeliverable: 'skip' } };
    default:
      return { id, type, settings: {} };
  }
}
