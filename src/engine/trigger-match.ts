/**
 * Does a host event fit a journey's trigger? `triggerTargets` gives the ids a
 * journey is indexed under (so matching is an indexed lookup by list or email,
 * never a scan of all journeys); `matchesTrigger` is the full check on the
 * candidates that lookup returns.
 */
import type { IdSelection, Trigger } from './journey.types';
import { assertNever } from './journey.types';
import type { TriggerEvent } from './trigger-event';

/** The index value that stands for "any list / any email of the owner". */
export const ANY_TARGET = 0;

function targetsOf(selection: IdSelection): number[] {
  return selection === 'any' ? [ANY_TARGET] : [...selection];
}

/**
 * Ids to index a journey under: list ids for (un)subscription, email ids for
 * the email triggers, [0] for "any", [] for manual (no event enrols it).
 */
export function triggerTargets(trigger: Trigger): number[] {
  switch (trigger.type) {
    case 'subscription':
    case 'unsubscription':
      return targetsOf(trigger.listIds);
    case 'email_opened':
    case 'conversion':
    case 'link_clicked':
      return targetsOf(trigger.emailIds);
    case 'manual':
      return [];
    default:
      return assertNever(trigger, 'trigger');
  }
}

function selects(selection: IdSelection, id: number | undefined): boolean {
  if (selection === 'any') return true;
  return id !== undefined && selection.includes(id);
}

/**
 * `*` matches any run of characters (including none); everything else is
 * literal; case is ignored. A linear wildcard walk rather than a RegExp, so a
 * pattern full of stars cannot make matching backtrack for ages.
 */
export function linkPatternMatches(pattern: string, url: string): boolean {
  const glob = pattern.trim().toLowerCase();
  const text = url.trim().toLowerCase();
  let g = 0;
  let t = 0;
  let lastStar = -1;
  let textAtStar = 0;
  while (t < text.length) {
    if (g < glob.length && glob[g] === '*') {
      lastStar = g++;
      textAtStar = t;
    } else if (g < glob.length && glob[g] === text[t]) {
      g++;
      t++;
    } else if (lastStar >= 0) {
      // Let the last star swallow one more character and try again from there.
      g = lastStar + 1;
      t = ++textAtStar;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

function linkMatches(link: Extract<Trigger, { type: 'link_clicked' }>['link'], url: string | undefined): boolean {
  if (!link) return true;
  if (url === undefined) return false;
  return link.match === 'exact' ? url.trim() === link.value.trim() : linkPatternMatches(link.value, url);
}

function conversionMatches(trigger: Extract<Trigger, { type: 'conversion' }>, event: TriggerEvent): boolean {
  if (trigger.channel !== undefined && (event.channel ?? '').trim().toLowerCase() !== trigger.channel.trim().toLowerCase()) return false;
  if (trigger.minValue !== undefined && (typeof event.value !== 'number' || !(event.value >= trigger.minValue))) return false;
  return true;
}

/** The full check of an event against a trigger (the owner is matched by the caller's query). */
export function matchesTrigger(trigger: Trigger, event: TriggerEvent): boolean {
  if (trigger.type !== event.type) return false;
  switch (trigger.type) {
    case 'subscription':
    case 'unsubscription':
      return selects(trigger.listIds, event.listId);
    case 'email_opened':
      return selects(trigger.emailIds, event.emailId);
    case 'conversion':
      return selects(trigger.emailIds, event.emailId) && conversionMatches(trigger, event);
    case 'link_clicked':
      return selects(trigger.emailIds, event.emailId) && linkMatches(trigger.link, event.url);
    case 'manual':
      // Manual journeys are entered by Start Journey or the API, never by a host event.
      return false;
    default:
      return assertNever(trigger, 'trigger');
  }
}
