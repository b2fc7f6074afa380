/**
 * The trigger part of the Create Journey and Journey Information forms.
 * Fields: triggerType, listIds[] ('any' or ids), emailIds[] ('any' or ids),
 * linkMatch + link (click), channel + minValue (conversion).
 * Parsing leaves validation (ownership of lists and emails included) to the
 * journeys service, which reports every problem at once.
 */
import { TRIGGER_TYPES, type IdSelection, type Trigger, type TriggerType } from '../../engine/journey.types';
import { many, numeric, text, type FormBody } from './form-values';

export interface TriggerFormValues {
  triggerType: TriggerType | '';
  listIds: string[];
  emailIds: string[];
  linkMatch: 'exact' | 'pattern';
  link: string;
  channel: string;
  minValue: string;
}

export const EMPTY_TRIGGER_FORM: TriggerFormValues = {
  triggerType: 'subscription',
  listIds: [],
  emailIds: [],
  linkMatch: 'exact',
  link: '',
  channel: '',
  minValue: '',
};

export function triggerFormFromBody(body: FormBody): TriggerFormValues {
  const type = text(body, 'triggerType');
  return {
    triggerType: (TRIGGER_TYPES as readonly string[]).includes(type) ? (type as TriggerType) : '',
    listIds: many(body, 'listIds'),
    emailIds: many(body, 'emailIds'),
    linkMatch: text(body, 'linkMatch') === 'pattern' ? 'pattern' : 'exact',
    link: text(body, 'link'),
    channel: text(body, 'channel'),
    minValue: text(body, 'minValue'),
  };
}

export function triggerFormFromTrigger(trigger: Trigger): TriggerFormValues {
  const ids = (selection: IdSelection) => (selection === 'any' ? ['any'] : selection.map(String));
  const values: TriggerFormValues = { ...EMPTY_TRIGGER_FORM, triggerType: trigger.type };
  switch (trigger.type) {
    case 'subscription':
    case 'unsubscription':
      return { ...values, listIds: ids(trigger.listIds) };
    case 'email_opened':
      return { ...values, emailIds: ids(trigger.emailIds) };
    case 'link_clicked':
      return { ...values, emailIds: ids(trigger.emailIds), linkMatch: trigger.link?.match ?? 'exact', link: trigger.link?.value ?? '' };
    case 'conversion':
      return {
        ...values,
        emailIds: ids(trigger.emailIds),
        channel: trigger.channel ?? '',
        minValue: trigger.minValue === undefined ? '' : String(trigger.minValue),
      };
    default:
      return values;
  }
}

/** The trigger as the service takes it (unknown: the service validates). */
export function triggerFromForm(values: TriggerFormValues): unknown {
  const selection = (picked: string[]): unknown => (picked.includes('any') ? 'any' : picked.map(numeric));
  switch (values.triggerType) {
    case 'subscription':
    case 'unsubscription':
      return { type: values.triggerType, listIds: selection(values.listIds) };
    case 'email_opened':
      return { type: values.triggerType, emailIds: selection(values.emailIds) };
    case 'link_clicked':
      return {
        type: values.triggerType,
        emailIds: selection(values.emailIds),
        ...(values.link ? { link: { match: values.linkMatch, value: values.link } } : {}),
      };
    case 'conversion':
      return {
        type: values.triggerType,
        emailIds: selection(values.emailIds),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(values.minValue ? { minValue: numeric(values.minValue) } : {}),
      };
    case 'manual':
      return { type: 'manual' };
    default:
      return { type: values.triggerType || undefined };
  }
}
