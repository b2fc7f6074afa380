/**
 * Batch custom field writes. The host contract's `setCustomField` writes one
 * value (three statements in the MySQL adapter); a list import moving 100,000
 * subscribers through an Update Custom Field action needs a few statements
 * per batch instead. A host's SubscriptionCommandsPort may offer
 * `setCustomFields` for that; the runtime uses it when present and falls back
 * to one call per value otherwise.
 */
import type { CustomFieldWrite, SubscriptionCommandsPort } from '../host/host.ports';

export type { CustomFieldWrite };

export type SetCustomFields = NonNullable<SubscriptionCommandsPort['setCustomFields']>;

export function batchFieldWriter(port: SubscriptionCommandsPort): SetCustomFields | null {
  return typeof port.setCustomFields === 'function' ? port.setCustomFields.bind(port) : null;
}

/** The last write of each (subscriber, field), in first-seen order. */
export function lastWrites(writes: readonly CustomFieldWrite[]): CustomFieldWrite[] {
  const byKey = new Map<string, CustomFieldWrite>();
  for (const write of writes) {
    const key = `${write.subscriberId}:${write.fieldId}`;
    byKey.delete(key);
    byKey.set(key, write);
  }
  return [...byKey.values()];
}
