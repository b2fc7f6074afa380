/**
 * One line per action card saying what it does, in the owner's names
 * ("Send “Welcome email”", "Yes when they open the email of Send Email
 * “Welcome email”; No after 3 days"). Plain text; the views escape it.
 */
import { customFieldIdOf } from '../engine/conditions';
import { pathLetter } from '../engine/event-settings';
import { isRecord } from '../engine/raw-input';
import type { RuleOperator } from '../engine/journey.types';
import { ATTRIBUTE_LABELS, nameOf, OPERATOR_LABELS, record, senderLabel, str, WEEKDAYS } from './action-fields';
import type { DraftRule } from './forms/action-settings.form';
import { allDraftActions, type DraftAction } from './forms/draft-tree';
import type { PlannerContext } from './planner-context';

export function summaryOf(action: DraftAction, ctx: PlannerContext): string {
  const s = action.settings ?? {};
  switch (action.type) {
    case 'wait':
      return waitText('Wait', s);
    case 'condition': {
      const rules = Array.isArray(s.rules) ? (s.rules as DraftRule[]) : [];
      const described = rules.map((r) => {
        const fieldId = customFieldIdOf(str(r.attribute));
        const attribute =
          fieldId !== null ? nameOf(ctx.fields, fieldId, 'customFieldId', 'name', 'field') : (ATTRIBUTE_LABELS[str(r.attribute)] ?? str(r.attribute));
        const operator = OPERATOR_LABELS[r.operator as RuleOperator] ?? str(r.operator);
        return [attribute, operator, r.value === undefined ? '' : `“${str(r.value)}”`].filter(Boolean).join(' ');
      });
      return described.length ? `If ${described.join(s.match === 'any' ? ' or ' : ' and ')}` : 'No rules yet';
    }
    case 'start_journey':
      return `Start “${nameOf(ctx.journeys, s.journeyId, 'journeyId', 'name', 'journey')}”`;
    case 'exit_journey': {
      const ids = Array.isArray(s.journeyIds) ? s.journeyIds : [];
      return ids.length ? `Exit ${ids.map((id) => `“${nameOf(ctx.journeys, id, 'journeyId', 'name', 'journey')}”`).join(', ')}` : 'No journeys chosen';
    }
    case 'exit_this_journey':
      return 'The subscriber leaves this journey here';
    case 'exit_all_other_journeys':
      return 'The subscriber leaves every other journey';
    case 'subscribe':
      return `Subscribe to ${nameOf(ctx.lists, s.listId, 'listId', 'name', 'list')}`;
    case 'unsubscribe':
      return `Unsubscribe from ${nameOf(ctx.lists, s.listId, 'listId', 'name', 'list')}`;
    case 'update_custom_field':
      return `Set ${nameOf(ctx.fields, s.fieldId, 'customFieldId', 'name', 'field')} to “${str(s.value)}”`;
    case 'webhook':
      return `${str(s.method) || 'POST'} ${str(s.url) || '(no URL yet)'}`;
    case 'send_email': {
      const email = str(s.emailId) === '' ? 'no email chosen yet' : `“${nameOf(ctx.emails, s.emailId, 'emailId', 'name', 'email')}”`;
      return `Send ${email} · if undeliverable: ${s.whenUndeliverable === 'exit' ? 'exit the journey' : 'skip it'}`;
    }
    case 'wait_for_event':
      return waitForEventText(s, ctx);
    case 'random_split': {
      const percents = Array.isArray(s.percents) ? s.percents : [];
      return percents.length ? percents.map((p, i) => `${pathLetter(i)} ${str(p) || '?'}%`).join(' · ') : 'No paths yet';
    }
    default:
      return '';
  }
}

function waitText(verb: string, s: Record<string, unknown>): string {
  const amount = Number(s.amount);
  const unit = str(s.unit) || 'days';
  const text = `${verb} ${str(s.amount) || '?'} ${amount === 1 ? unit.replace(/s$/, '') : unit}`;
  const window = record(s.window);
  const parts = [window.notBefore && `not before ${str(window.notBefore)}`, window.notAfter && `not after ${str(window.notAfter)}`].filter(Boolean);
  if (Array.isArray(window.weekdays) && window.weekdays.length) parts.push(`on ${window.weekdays.map((d) => WEEKDAYS[Number(d)] ?? '?').join(', ')}`);
  return parts.length ? `${text}, then ${parts.join(', ')}` : text;
}

/** "Yes when they click a link matching https://shop.example.com/* in the email of Send Email “Welcome”; No after 3 days". */
function waitForEventText(s: Record<string, unknown>, ctx: PlannerContext): string {
  const event = record(s.event);
  const target = event.emailIds;
  let email: string;
  if (isRecord(target)) {
    const sender = allDraftActions(ctx.tree).find((a) => a.id === str(target.sentBy) && a.type === 'send_email');
    email = sender ? `the email of ${senderLabel(sender, ctx)}` : 'the email of a Send Email (choose one)';
  } else if (Array.isArray(target)) {
    email = target.length ? target.map((id) => `“${nameOf(ctx.emails, id, 'emailId', 'name', 'email')}”`).join(' or ') : 'no email chosen';
  } else email = 'any email';
  let what: string;
  switch (event.type) {
    case 'link_clicked': {
      const link = record(event.link);
      const which = link.value ? (link.match === 'pattern' ? `a link matching ${str(link.value)}` : str(link.value)) : 'a link';
      what = `click ${which} in ${email}`;
      break;
    }
    case 'conversion':
      what = [
        `convert from ${email}`,
        event.channel && `on channel ${str(event.channel)}`,
        event.minValue !== undefined && `worth at least ${str(event.minValue)}`,
      ]
        .filter(Boolean)
        .join(' ');
      break;
    default:
      what = `open ${email}`;
  }
  return `Yes when they ${what}; ${waitText('No after', record(s.timeout))}`;
}
