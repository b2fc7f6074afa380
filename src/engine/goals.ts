/**
 * A journey's goal and the events an entry waits for, decided without I/O.
 *
 * Events are the subscriber's opens, clicks and conversions the plug-in has
 * seen (StepFacts.events), each with when it happened. An awaited event or an
 * event goal is met by an event that fits it (as a trigger of that kind would
 * fit it) and happened within the window given: since the entry reached its
 * Wait for event, or since the entry entered the journey.
 */
import { parseRule, unknownEmailIds } from './action-settings';
import { findAction } from './action-tree';
import { evaluateRule } from './conditions';
import { readConversionExtras, readLink, readSelection } from './event-settings';
import type { StepFacts, SubscriberEvent } from './host-facts.types';
import type { Action, AwaitedEvent, IdSelection, JourneyGoal, Trigger } from './journey.types';
import { GOAL_TYPES, assertNever } from './journey.types';
import { isRecord, readKeyword } from './raw-input';
import { matchesTrigger } from './trigger-match';
import type { Report, ValidationContext, Violation } from './validation.types';

/** The event that meets an awaited event within [since, until], or undefined. `actions`: the journey's, to find "the email a Send Email action sent". */
export function awaitedEventIn(
  awaited: AwaitedEvent,
  actions: readonly Action[],
  events: readonly SubscriberEvent[],
  since: Date,
  until: Date,
): SubscriberEvent | undefined {
  const emailIds = resolveEmailTarget(awaited.emailIds, actions);
  if (emailIds === null) return undefined;
  const trigger = { ...awaited, emailIds } as Trigger;
  return events.find(
    (e) =>
      e.occurredAt.getTime() >= since.getTime() &&
      e.occurredAt.getTime() <= until.getTime() &&
      matchesTrigger(trigger, { ...e, userId: 0, listId: 0, subscriberId: 0 }),
  );
}

/** "Any", ids, or the email of the named Send Email action (null when the tree has no such action). */
function resolveEmailTarget(target: AwaitedEvent['emailIds'], actions: readonly Action[]): IdSelection | null {
  if (target === 'any' || Array.isArray(target)) return target;
  const sender = findAction(actions, target.sentBy);
  return sender?.type === 'send_email' ? [sender.settings.emailId] : null;
}

/** What met the goal, in words for the history, or null while it is not met. `enteredAt`: events count from when the entry entered. */
export function goalMet(goal: JourneyGoal, facts: StepFacts, enteredAt: Date, now: Date): string | null {
  switch (goal.type) {
    case 'conversion':
    case 'link_clicked': {
      const event = (facts.events ?? []).find(
        (e) =>
          e.occurredAt.getTime() >= enteredAt.getTime() &&
          e.occurredAt.getTime() <= now.getTime() &&
          matchesTrigger(goal, { ...e, userId: 0, listId: 0, subscriberId: 0 }),
      );
      if (!event) return null;
      return goal.type === 'conversion'
        ? `conversion of email ${event.emailId ?? '?'}${event.value != null ? ` (value ${event.value})` : ''}${event.channel ? ` via ${event.channel}` : ''}, event ${event.eventId}`
        : `click on ${event.url ?? 'a link'} of email ${event.emailId ?? '?'}, event ${event.eventId}`;
    }
    case 'custom_field': {
      let met: boolean;
      try {
        met = evaluateRule(goal.rule, facts);
      } catch {
        return null; // a rule that cannot be judged (activity not loaded) is not met
      }
      return met
        ? `${goal.rule.attribute.replace('CustomField:', 'custom field ')} ${goal.rule.operator.replace(/_/g, ' ')}${goal.rule.value !== undefined ? ` ${goal.rule.value}` : ''}`
        : null;
    }
    default:
      return assertNever(goal, 'goal');
  }
}

/** Reads a goal from raw input: null (or absent) for none; every problem reported. */
export function parseGoal(raw: unknown, ctx: ValidationContext): { goal: JourneyGoal | null; violations: Violation[] } {
  const violations: Violation[] = [];
  const report: Report = (code, message) => violations.push({ code, actionId: null, message: `Goal: ${message}` });
  if (raw === undefined || raw === null || raw === '') return { goal: null, violations };
  if (!isRecord(raw)) {
    report('invalid_goal', 'must be an object with a type, or null for none');
    return { goal: null, violations };
  }
  const typeText = readKeyword(raw.type);
  if (typeText === 'none' || typeText === '') return { goal: null, violations };
  const type = GOAL_TYPES.find((t) => t === typeText);
  if (!type) {
    report('invalid_goal', `type must be one of ${GOAL_TYPES.join(', ')}`);
    return { goal: null, violations };
  }
  const emails = () => readSelection(raw.emailIds ?? 'any', 'email', (selection) => unknownEmailIds(ctx, selection), report, 'invalid_goal');
  let goal: JourneyGoal | null;
  switch (type) {
    case 'conversion':
      goal = { type, emailIds: emails(), ...readConversionExtras(raw, report, 'invalid_goal') };
      break;
    case 'link_clicked': {
      const link = readLink(raw.link, report, 'invalid_goal');
      goal = link ? { type, emailIds: emails(), link } : { type, emailIds: emails() };
      break;
    }
    case 'custom_field': {
      const rule = parseRule(raw.rule, 1, ctx, report);
      goal = rule ? { type, rule } : null;
      if (rule && !rule.attribute.startsWith('CustomField:')) report('invalid_goal', 'the rule must be on one of your custom fields');
      break;
    }
    default:
      return assertNever(type, 'goal type');
  }
  return { goal: violations.length > 0 ? null : goal, violations };
}
