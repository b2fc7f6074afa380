/**
 * The SubscriptionCommandsPort the reference host gives the plug-in: its own
 * subscription path (HostSubscriptions), with refusals that retrying cannot
 * change (an unknown list, an invalid address, a reused idempotency key)
 * thrown as the contract's PermanentHostError rather than the host's own
 * JourneysException. Batch calls answer them as `permanent: true` outcomes.
 */
import { JourneysException } from '../src/common/journeys.exception';
import {
  PermanentHostError,
  type CausationContext,
  type CustomFieldWrite,
  type HostCallOutcome,
  type SubscribeRequest,
  type SubscriberRef,
  type SubscriptionCommandsPort,
  type UnsubscribeRequest,
} from '../src/host/host.ports';
import type { SubscribeResult, UnsubscribeResult } from './subscription-calls';
import type { HostSubscriptions } from './subscriptions.service';

/** Runs a call of the host's own path, its refusals (JourneysException) thrown as the contract's PermanentHostError. */
export async function permanentWhenRefused<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof JourneysException) throw new PermanentHostError(error.message);
    throw error;
  }
}

export class HostSubscriptionCommands implements SubscriptionCommandsPort {
  /** @param subscriptions the host's own path behind the port (the benchmark reads its counters). */
  constructor(readonly subscriptions: HostSubscriptions) {}

  subscribe(
    userId: number,
    listId: number,
    input: { emailAddress: string; customFields?: Record<number, string> },
    causation?: CausationContext,
    idempotencyKey?: string,
  ): Promise<SubscribeResult> {
    return permanentWhenRefused(() => this.subscriptions.subscribe(userId, listId, input, causation, idempotencyKey));
  }

  unsubscribe(userId: number, ref: SubscriberRef, causation?: CausationContext, idempotencyKey?: string): Promise<UnsubscribeResult> {
    return permanentWhenRefused(() => this.subscriptions.unsubscribe(userId, ref, causation, idempotencyKey));
  }

  subscribeMany(userId: number, requests: SubscribeRequest[]): Promise<HostCallOutcome<SubscribeResult>[]> {
    return permanentWhenRefused(() => this.subscriptions.subscribeMany(userId, requests));
  }

  unsubscribeMany(userId: number, requests: UnsubscribeRequest[]): Promise<HostCallOutcome<UnsubscribeResult>[]> {
    return permanentWhenRefused(() => this.subscriptions.unsubscribeMany(userId, requests));
  }

  setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: unknown): Promise<void> {
    return this.subscriptions.setCustomField(userId, ref, fieldId, value, transaction);
  }

  setCustomFields(userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void> {
    return this.subscriptions.setCustomFields(userId, listId, writes, transaction);
  }
}
