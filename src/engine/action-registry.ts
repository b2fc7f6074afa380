/**
 * The one answer per action type: what the planner shows (label, description,
 * menu group and hint, the settings partial that edits it, default settings),
 * how its settings are read from raw input, whether it holds branches, and
 * whether the runtime carries it out outside MySQL (external: the step stops
 * before it and a runtime executor performs it after commit; the runtime
 * checks at start that every external type has an executor).
 * The mapped type makes a missing entry a compile error; assertRegistryComplete()
 * repeats the check at start-up for anything built around the types.
 */
import {
  parseConditionSettings,
  parseExitJourneySettings,
  parseListSettings,
  parseNoSettings,
  parseStartJourneySettings,
  parseUpdateCustomFieldSettings,
  parseWaitSettings,
  parseWebhookSettings,
} from './action-settings';
import { parseRandomSplitSettings, parseSendEmailSettings, parseWaitForEventSettings } from './event-settings';
import type { Action, ActionType } from './journey.types';
import { ACTION_TYPES } from './journey.types';
import type { Report, ValidationContext } from './validation.types';

export type SettingsOf<T extends ActionType> = Extract<Action, { type: T }>['settings'];

export interface ActionDefinition<T extends ActionType = ActionType> {
  type: T;
  label: string;
  description: string;
  /** Carried out outside the step's MySQL transaction (host subscription path, HTTP): the entry parks there. */
  external: boolean;
  /** Holds branches (Yes and No, or the paths of a split); actions go on inside them, never after it. */
  branches: boolean;
  /** Where the planner's "Add action" menu lists it, with a one-line hint. */
  menu: { group: 'Flow' | 'Subscriber' | 'Journeys' | 'Integrations'; hint: string };
  /** The partial (views/partials/…) that edits its settings in the planner. */
  settingsPartial: string;
  /** Settings of a freshly added action in the planner (not necessarily valid: e.g. no list chosen yet). */
  defaultSettings(): SettingsOf<T>;
  parseSettings(raw: Record<string, unknown>, ctx: ValidationContext, report: Report): SettingsOf<T>;
}

export type ActionRegistry = { readonly [T in ActionType]: ActionDefinition<T> };

export const ACTION_REGISTRY = {
  wait: {
    type: 'wait',
    label: 'Wait',
    description: 'Waits for a time, optionally until the send window opens in your time zone.',
    external: false as const,
    branches: false as const,
    menu: { group: 'Flow', hint: 'Pause for a while, optionally until a send window' },
    settingsPartial: 'settings/wait',
    defaultSettings: () => ({ amount: 1, unit: 'days' }),
    parseSettings: parseWaitSettings,
  },
  condition: {
    type: 'condition',
    label: 'Yes/No condition',
    description: 'Checks the subscriber against one or more rules and continues on the Yes or the No branch.',
    external: false as const,
    branches: true as const,
    menu: { group: 'Flow', hint: 'Split the flow on subscriber data or activity' },
    settingsPartial: 'settings/condition',
    defaultSettings: () => ({ match: 'all', rules: [] }),
    parseSettings: parseConditionSettings,
  },
  start_journey: {
    type: 'start_journey',
    label: 'Start Journey',
    description: 'Enrols the subscriber in another journey.',
    external: false as const,
    branches: false as const,
    menu: { group: 'Journeys', hint: 'Enrol the subscriber in another journey' },
    settingsPartial: 'settings/start_journey',
    defaultSettings: () => ({ journeyId: 0 }),
    parseSettings: parseStartJourneySettings,
  },
  exit_journey: {
    type: 'exit_journey',
    label: 'Exit Journey',
    description: 'Removes the subscriber from the chosen journeys.',
    external: false as const,
    branches: false as const,
    menu: { group: 'Journeys', hint: 'Remove the subscriber from other journeys' },
    settingsPartial: 'settings/exit_journey',
    defaultSettings: () => ({ journeyIds: [] }),
    parseSettings: parseExitJourneySettings,
  },
  exit_this_journey: {
    type: 'exit_this_journey',
    label: 'Exit This Journey',
    description: 'Ends this journey for the subscriber.',
    external: false as const,
    branches: false as const,
    menu: { group: 'Journeys', hint: 'End this journey here' },
    settingsPartial: 'settings/none',
    defaultSettings: parseNoSettings,
    parseSettings: parseNoSettings,
  },
  exit_all_other_journeys: {
    type: 'exit_all_other_journeys',
    label: 'Exit All Other Journeys',
    description: 'Removes the subscriber from every other journey they are in.',
    external: false as const,
    branches: false as const,
    menu: { group: 'Journeys', hint: 'Leave every other active journey' },
    settingsPartial: 'settings/none',
    defaultSettings: parseNoSettings,
    parseSettings: parseNoSettings,
  },
  subscribe: {
    type: 'subscribe',
    label: 'Subscribe to list',
    description: "Subscribes the subscriber's email address to another list, firing that list's autoresponders and journeys.",
    external: true as const,
    branches: false as const,
    menu: { group: 'Subscriber', hint: "Through the list's own subscription" },
    settingsPartial: 'settings/subscribe',
    defaultSettings: () => ({ listId: 0 }),
    parseSettings: parseListSettings,
  },
  unsubscribe: {
    type: 'unsubscribe',
    label: 'Unsubscribe from list',
    description: "Unsubscribes the subscriber's email address from a list through the normal unsubscription path.",
    external: true as const,
    branches: false as const,
    menu: { group: 'Subscriber', hint: "Through the list's own unsubscription" },
    settingsPartial: 'settings/unsubscribe',
    defaultSettings: () => ({ listId: 0 }),
    parseSettings: parseListSettings,
  },
  update_custom_field: {
    type: 'update_custom_field',
    label: 'Update Custom Field Value',
    description: 'Sets a custom field of the subscriber; merge tags such as %Subscriber:EmailAddress% are allowed.',
    external: false as const,
    branches: false as const,
    menu: { group: 'Subscriber', hint: 'Set a field, merge tags allowed' },
    settingsPartial: 'settings/update_custom_field',
    defaultSettings: () => ({ fieldId: 0, value: '' }),
    parseSettings: parseUpdateCustomFieldSettings,
  },
  webhook: {
    type: 'webhook',
    label: 'Webhook',
    description: "Sends the subscriber's data to a URL, signed with the journey's secret.",
    external: true as const,
    branches: false as const,
    menu: { group: 'Integrations', hint: 'Send the subscriber to a URL, signed' },
    settingsPartial: 'settings/webhook',
    defaultSettings: () => ({ url: '', method: 'POST', includeCustomFields: true }),
    parseSettings: parseWebhookSettings,
  },
  send_email: {
    type: 'send_email',
    label: 'Send Email',
    description: 'Asks the host to send one of your emails to the subscriber; skips it or exits when they cannot receive it.',
    external: true as const,
    branches: false as const,
    menu: { group: 'Subscriber', hint: 'One of your emails, sent and tracked by the host' },
    settingsPartial: 'settings/send_email',
    defaultSettings: () => ({ emailId: 0, whenUndeliverable: 'skip' as const }),
    parseSettings: parseSendEmailSettings,
  },
  wait_for_event: {
    type: 'wait_for_event',
    label: 'Wait for event',
    description: 'Waits until the subscriber opens, clicks or converts (Yes), or until the timeout passes (No).',
    external: false as const,
    branches: true as const,
    menu: { group: 'Flow', hint: 'Yes when they open, click or convert; No at the timeout' },
    settingsPartial: 'settings/wait_for_event',
    defaultSettings: () => ({ event: { type: 'email_opened' as const, emailIds: 'any' as const }, timeout: { amount: 3, unit: 'days' as const } }),
    parseSettings: parseWaitForEventSettings,
  },
  random_split: {
    type: 'random_split',
    label: 'Random split',
    description: 'Sends each subscriber down one of 2–5 paths by the percentages, chosen once per entry.',
    external: false as const,
    branches: true as const,
    menu: { group: 'Flow', hint: 'Test two or more paths against each other' },
    settingsPartial: 'settings/random_split',
    defaultSettings: () => ({ percents: [50, 50] }),
    parseSettings: parseRandomSplitSettings,
  },
} satisfies ActionRegistry;

/** The action types the runtime carries out outside MySQL, read off the registry. */
export type ExternalActionType = { [T in ActionType]: (typeof ACTION_REGISTRY)[T]['external'] extends true ? T : never }[ActionType];
export type ExternalAction = Extract<Action, { type: ExternalActionType }>;
export type InstantAction = Exclude<Action, ExternalAction>;

export const EXTERNAL_ACTION_TYPES: readonly ExternalActionType[] = ACTION_TYPES.filter((type): type is ExternalActionType => ACTION_REGISTRY[type].external);

export function isExternalAction(action: Action | undefined): action is ExternalAction {
  return !!action && ACTION_REGISTRY[action.type].external;
}

export function isActionType(value: unknown): value is ActionType {
  return typeof value === 'string' && (ACTION_TYPES as readonly string[]).includes(value);
}

export function actionDefinition<T extends ActionType>(type: T): ActionDefinition<T> {
  return (ACTION_REGISTRY as ActionRegistry)[type] as unknown as ActionDefinition<T>;
}

/** Start-up check: every action type has a registry entry of that type, and the registry names no other. */
export function assertRegistryComplete(
  registry: Readonly<Record<string, { type: string } | undefined>> = ACTION_REGISTRY,
  types: readonly string[] = ACTION_TYPES,
): void {
  const missing = types.filter((type) => registry[type]?.type !== type);
  const extra = Object.keys(registry).filter((type) => !types.includes(type));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`Action registry incomplete: missing ${missing.join(', ') || 'none'}; unknown ${extra.join(', ') || 'none'}`);
  }
}
