/**
 * What validation knows about the journey's owner, and the violation codes it
 * reports. Every check of ownership happens against this context, which the
 * caller builds from the authenticated owner's data, never from the request.
 */
import type { HostCustomField, HostEmail, HostList } from './host-facts.types';
import type { TriggerType } from './journey.types';

export interface ValidationContext {
  /** The journey whose actions are being saved (a Start Journey may not target it). */
  journeyId: number;
  /** The owner's lists. */
  lists: readonly Pick<HostList, 'listId'>[];
  /** The owner's custom fields (all lists and global). */
  customFields: readonly Pick<HostCustomField, 'customFieldId' | 'fieldType'>[];
  /** The owner's emails (campaign and autoresponder emails). */
  emails: readonly Pick<HostEmail, 'emailId'>[];
  /** The owner's journeys, this one included. */
  journeys: readonly { journeyId: number; triggerType: TriggerType }[];
  /** Allow http:// webhook URLs (a setting for local receivers); https only otherwise. */
  allowHttp?: boolean;
}

/** A violation of the journey's constraints, shown next to the action it concerns. */
export interface Violation {
  code: string;
  actionId: string | null;
  message: string;
}

export const VIOLATION_CODES = [
  'not_a_list',
  'not_an_object',
  'unknown_type',
  'invalid_id',
  'duplicate_id',
  'invalid_settings',
  'unreachable_actions',
  'too_many_actions',
  'too_deep',
  'unknown_list',
  'unknown_custom_field',
  'unknown_journey',
  'unknown_email',
  'start_journey_self',
  'start_journey_cycle',
  'unknown_attribute',
  'unknown_operator',
  'operator_not_allowed',
  'invalid_rule_value',
  'empty_rules',
  'invalid_wait',
  'invalid_send_window',
  'invalid_webhook_url',
  'insecure_webhook_url',
  'invalid_webhook_header',
  'unknown_merge_tag',
  'unknown_trigger_type',
  'invalid_trigger',
  'invalid_split',
  'unknown_action',
  'invalid_goal',
] as const;
export type ViolationCode = (typeof VIOLATION_CODES)[number];

/** Reports one problem of the action being parsed. */
export type Report = (code: ViolationCode, message: string) => void;
