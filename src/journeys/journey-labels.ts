/**
 * Short labels of actions for stats, the funnel and history rows: the
 * registry's label, with the amount for a Wait ("Wait 2 days") since a funnel
 * of several Waits is unreadable otherwise.
 */
import { ACTION_REGISTRY, isActionType } from '../engine/action-registry';
import type { Action } from '../engine/journey.types';

export function actionTypeLabel(type: string): string {
  return isActionType(type) ? ACTION_REGISTRY[type].label : type;
}

export function actionLabel(action: Action): string {
  if (action.type === 'wait' && action.settings && Number.isFinite(action.settings.amount)) {
    const { amount, unit } = action.settings;
    return `Wait ${amount} ${amount === 1 ? String(unit).replace(/s$/, '') : unit}`;
  }
  return actionTypeLabel(action.type);
}
