/** Builders for the engine's specs: small, valid defaults that a test overrides where it matters. */
import type { HostSubscriber } from './host-facts.types';
import type {
  Action,
  AwaitedEvent,
  ConditionAction,
  ConditionRule,
  JourneyDefinition,
  RandomSplitAction,
  SendWindow,
  WaitForEventAction,
  WaitUnit,
} from './journey.types';
import type { StepFacts, SubscriberEvent } from './host-facts.types';
import type { ValidationContext } from './validation.types';

export function aSubscriber(overrides: Partial<HostSubscriber> = {}): HostSubscriber {
  return {
    listId: 1,
    subscriberId: 42,
    emailAddress: 'Ada@Example.com',
    bounceType: 'Not Bounced',
    subscriptionStatus: 'Subscribed',
    subscriptionDate: new Date('2024-03-10T12:00:00Z'),
    subscriptionIp: '203.0.113.7',
    unsubscriptionDate: null,
    optInDate: null,
    customFields: { 7: 'Gold', 8: '42', 9: '2024-05-01' },
    ...overrides,
  };
}

export function someFacts(overrides: Partial<StepFacts> = {}): StepFacts {
  return {
    subscriber: aSubscriber(),
    activity: { any: { opens: 3, clicks: 1 }, '5': { opens: 1, clicks: 0 } },
    timeZone: 'UTC',
    ...overrides,
  };
}

export function aJourney(actions: Action[], overrides: Partial<JourneyDefinition> = {}): JourneyDefinition {
  return {
    journeyId: 100,
    ownerUserId: 1,
    name: 'Welcome',
    status: 'Enabled',
    reEntry: 'allow',
    trigger: { type: 'subscription', listIds: [1] },
    actions,
    version: 1,
    ...overrides,
  };
}

export function aContext(overrides: Partial<ValidationContext> = {}): ValidationContext {
  return {
    journeyId: 100,
    lists: [{ listId: 1 }, { listId: 2 }],
    customFields: [
      { customFieldId: 7, fieldType: 'Drop down' },
      { customFieldId: 8, fieldType: 'Number' },
      { customFieldId: 9, fieldType: 'Date field' },
      { customFieldId: 10, fieldType: 'Single line' },
    ],
    emails: [{ emailId: 5 }, { emailId: 6 }],
    journeys: [
      { journeyId: 100, triggerType: 'subscription' },
      { journeyId: 200, triggerType: 'manual' },
      { journeyId: 300, triggerType: 'email_opened' },
    ],
    ...overrides,
  };
}

/** Sequential ids: 'new-1', 'new-2', … */
export function idSequence(prefix = 'new'): () => string {
  let next = 0;
  return () => `${prefix}-${++next}`;
}

export const act = {
  wait: (id: string, amount = 1, unit: WaitUnit = 'days', window?: SendWindow): Action => ({
    id,
    type: 'wait',
    settings: window ? { amount, unit, window } : { amount, unit },
  }),
  condition: (id: string, rules: ConditionRule[], yes: Action[] = [], no: Action[] = [], match: 'all' | 'any' = 'all'): ConditionAction => ({
    id,
    type: 'condition',
    settings: { match, rules },
    yes,
    no,
  }),
  startJourney: (id: string, journeyId: number): Action => ({ id, type: 'start_journey', settings: { journeyId } }),
  exitJourney: (id: string, journeyIds: number[]): Action => ({ id, type: 'exit_journey', settings: { journeyIds } }),
  exitThis: (id: string): Action => ({ id, type: 'exit_this_journey', settings: {} }),
  exitOthers: (id: string): Action => ({ id, type: 'exit_all_other_journeys', settings: {} }),
  subscribe: (id: string, listId: number): Action => ({ id, type: 'subscribe', settings: { listId } }),
  unsubscribe: (id: string, listId: number): Action => ({ id, type: 'unsubscribe', settings: { listId } }),
  setField: (id: string, fieldId: number, value: string): Action => ({ id, type: 'update_custom_field', settings: { fieldId, value } }),
  webhook: (id: string, url = 'https://hooks.example.com/in'): Action => ({ id, type: 'webhook', settings: { url, method: 'POST' } }),
  sendEmail: (id: string, emailId: number, whenUndeliverable: 'skip' | 'exit' = 'skip'): Action => ({
    id,
    type: 'send_email',
    settings: { emailId, whenUndeliverable },
  }),
  waitForEvent: (id: string, event: AwaitedEvent, yes: Action[] = [], no: Action[] = [], timeoutHours = 72): WaitForEventAction => ({
    id,
    type: 'wait_for_event',
    settings: { event, timeout: { amount: timeoutHours, unit: 'hours' } },
    yes,
    no,
  }),
  split: (id: string, percents: number[], paths: Action[][]): RandomSplitAction => ({ id, type: 'random_split', settings: { percents }, paths }),
};

/** An open, click or conversion the subscriber made. */
export function anEvent(overrides: Partial<SubscriberEvent> = {}): SubscriberEvent {
  return { eventId: 'ev-1', type: 'email_opened', emailId: 5, occurredAt: new Date('2025-01-06T09:00:00Z'), ...overrides };
}
