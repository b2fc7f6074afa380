/**
 * A trigger in words, as the journey list shows it:
 * "When someone subscribes to Newsletter". Plain text; the views escape it.
 */
import { assertNever, type IdSelection, type Trigger } from '../engine/journey.types';

export interface TriggerNames {
  lists: ReadonlyMap<number, string>;
  emails: ReadonlyMap<number, string>;
}

export function describeTrigger(trigger: Trigger, names: TriggerNames): string {
  switch (trigger.type) {
    case 'subscription':
      return `When someone subscribes to ${selection(trigger.listIds, names.lists, 'any list', 'list')}`;
    case 'unsubscription':
      return `When someone unsubscribes from ${selection(trigger.listIds, names.lists, 'any list', 'list')}`;
    case 'email_opened':
      return `When someone opens ${selection(trigger.emailIds, names.emails, 'any email', 'email')}`;
    case 'link_clicked': {
      const link = trigger.link?.value ? (trigger.link.match === 'pattern' ? `a link matching ${trigger.link.value}` : trigger.link.value) : 'a link';
      return `When someone clicks ${link} in ${selection(trigger.emailIds, names.emails, 'any email', 'email')}`;
    }
    case 'conversion': {
      const parts = [`When someone converts from ${selection(trigger.emailIds, names.emails, 'any email', 'email')}`];
      if (trigger.channel) parts.push(`on channel ${trigger.channel}`);
      if (trigger.minValue !== undefined && trigger.minValue !== null) parts.push(`worth at least ${trigger.minValue}`);
      return parts.join(' ');
    }
    case 'manual':
      return 'Started manually (by a Start Journey action or the API)';
    default:
      return assertNever(trigger, 'trigger');
  }
}

function selection(ids: IdSelection | undefined, names: ReadonlyMap<number, string>, anyText: string, noun: string): string {
  if (ids === undefined || ids === 'any') return anyText;
  const named = ids.map((id) => names.get(id) ?? `${noun} #${id} (not found)`);
  if (named.length === 0) return `no ${noun}`;
  if (named.length === 1) return named[0];
  return `${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}`;
}
