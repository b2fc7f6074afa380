/**
 * How the planner groups the action types in its "Add action" menus, with a
 * one-line hint each. Labels come from the engine's action registry, the one
 * place that names an action type.
 */
import { ACTION_REGISTRY } from '../engine/action-registry';
import type { ActionType } from '../engine/journey.types';

export interface ActionTypeInfo {
  type: ActionType;
  label: string;
  hint: string;
  group: 'Flow' | 'Subscriber' | 'Journeys' | 'Integrations';
}

const MENU: readonly Omit<ActionTypeInfo, 'label'>[] = [
  { type: 'wait', hint: 'Pause for a while, optionally until a send window', group: 'Flow' },
  { type: 'condition', hint: 'Split the flow on subscriber data or activity', group: 'Flow' },
  { type: 'update_custom_field', hint: 'Set a field, merge tags allowed', group: 'Subscriber' },
  { type: 'subscribe', hint: "Through the list's own subscription", group: 'Subscriber' },
  { type: 'unsubscribe', hint: "Through the list's own unsubscription", group: 'Subscriber' },
  { type: 'start_journey', hint: 'Enrol the subscriber in another journey', group: 'Journeys' },
  { type: 'exit_journey', hint: 'Remove the subscriber from other journeys', group: 'Journeys' },
  { type: 'exit_this_journey', hint: 'End this journey here', group: 'Journeys' },
  { type: 'exit_all_other_journeys', hint: 'Leave every other active journey', group: 'Journeys' },
  { type: 'webhook', hint: 'Send the subscriber to a URL, signed', group: 'Integrations' },
];

export const ACTION_CATALOG: readonly ActionTypeInfo[] = MENU.map((entry) => ({ ...entry, label: ACTION_REGISTRY[entry.type].label }));

export function actionTypeInfo(type: string): ActionTypeInfo | undefined {
  return ACTION_CATALOG.find((info) => info.type === type);
}
