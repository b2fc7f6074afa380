/**
 * What saving an edit of a journey's actions does to the subscribers inside,
 * in words: for the confirmation on the planner page and for the question
 * planner.js asks before a save (the same words, from the JSON preview).
 * Plain text; the views escape it.
 */
import { ACTION_REGISTRY } from '../engine/action-registry';
import type { ActionsPreview } from '../journeys/journey.dto';

export interface ImpactItem {
  /** The added action the line is about (an anchor to its card), or null for the subscribers who leave. */
  actionId: string | null;
  label: string | null;
  text: string;
}

export interface ImpactWords {
  /** After "Saving affects": "52 subscribers", "up to 3 subscribers", "0 subscribers". */
  affected: string;
  /** Why nobody is affected, or null when somebody is. */
  nobody: string | null;
  /** Who leaves, then each added action with the subscribers before it. */
  items: ImpactItem[];
}

const subscribers = (n: number): string => `${n.toLocaleString('en-US')} ${n === 1 ? 'subscriber' : 'subscribers'}`;

export function impactWords(preview: Omit<ActionsPreview, 'violations'>): ImpactWords {
  const { affected: leaving, reached, newActions } = preview;
  const total = leaving + reached.count;
  if (total === 0) {
    const nobody = `nobody is at an action this change removes${newActions.length > 0 ? ' or before an action it adds' : ''}`;
    return { affected: subscribers(0), nobody, items: [] };
  }
  const items: ImpactItem[] = [];
  if (leaving > 0) {
    const where = preview.removedActionIds.length === 1 ? 'an action' : 'actions';
    items.push({
      actionId: null,
      label: null,
      text: `${subscribers(leaving)} ${leaving === 1 ? 'is' : 'are'} at ${where} this change removes and will leave the journey`,
    });
  }
  for (const added of newActions) {
    const text =
      added.count === 0
        ? 'nobody stands before it yet'
        : added.upTo
          ? `up to ${subscribers(added.count)} before it may run it, only those who take its branch`
          : `${subscribers(added.count)} before it will run it`;
    items.push({ actionId: added.actionId, label: ACTION_REGISTRY[added.type].label, text });
  }
  return { affected: `${reached.upTo && reached.count > 0 ? 'up to ' : ''}${subscribers(total)}`, nobody: null, items };
}
