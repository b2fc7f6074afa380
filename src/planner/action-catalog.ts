/**
 * How the planner groups the action types in its "Add action" menus, with a
 * one-line hint each, all read from the engine's action registry, the one
 * place that describes an action type.
 */
import { ACTION_REGISTRY } from '../engine/action-registry';
import type { ActionType } from '../engine/journey.types';

export interface ActionTypeInfo {
  type: ActionType;
  label: string;
  hint: string;
  group: 'Flow' | 'Subscriber' | 'Journeys' | 'Integrations';
}

/** The "Add action" menu, in the order the groups and types read best; label, group and hint come from the registry. */
const MENU_ORDER: readonly ActionType[] = [
  'wait',
  'wait_for_event',
  'condition',
  'random_split',
  'send_email',
  'update_custom_field',
  'subscribe',
  'unsubscribe',
  'start_journey',
  'exit_journey',
  'exit_this_journey',
  'exit_all_other_journeys',
  'webhook',
];

export const ACTION_CATALOG: readonly ActionTypeInfo[] = MENU_ORDER.map((type) => ({
  type,
  label: ACTION_REGISTRY[type].label,
  ...ACTION_REGISTRY[type].menu,
}));

export function actionTypeInfo(type: string): ActionTypeInfo | undefined {
  return ACTION_CATALOG.find((info) => info.type === type);
}
