/**
 * The SubscriptionCommandsPort the reference host gives the plug-in: its own
 * subscription path (HostSubscriptions), with refusals that retrying cannot
 * change (an unknown list, an invalid address, a reused idempotency key)
 * thrown as the contract's PermanentHostError, and custom field writes by the
 * MySQL writer, inside the plug-in's transaction when it passes one.
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
import type { MySqlCustomFieldWriter } from '../src/host/mysql/mysql-custom-field-writer';
import type { CallOutcome, SubscribeResult, UnsubscribeResult } from './subscription-calls';
import type { HostSubscriptions } from './subscriptions.service';

function asPort<T>(outcome: CallOutcome<T>): HostCallOutcome<T> {
  if (outcome.ok) return { ok: true, ...outcome.result };
  return { ok: false, permanent: outcome.error instanceof JourneysException, error: outcome.error.message };
}

async function permanentWhenRefused<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof JourneysException) throw new PermanentHostError(error.message);
    throw error;
  }
}

export class HostSubscriptionCommands implements SubscriptionCommandsPort {
  constructor(
    /** The host's own path behind the port (the benchmark reads its deadlock counter). */
    readonly subscriptions: HostSubscriptions,
    private readonly fieldWriter: MySqlCustomFieldWriter,
  ) {}

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

  async subscribeMany(userId: number, requests: SubscribeRequest[]): Promise<HostCallOutcome<SubscribeResult>[]> {
    return (await permanentWhenRefused(() => this.subscriptions.subscribeMany(userId, requests))).map(asPort);
  }

  async unsubscribeMany(userId: number, requests: UnsubscribeRequest[]): Promise<HostCallOutcome<UnsubscribeResult>[]> {
    return (await permanentWhenRefused(() => this.subscriptions.unsubscribeMany(userId, requests))).map(asPort);
  }

  setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: unknown): Promise<void> {
    return this.fieldWriter.setCustomField(userId, ref, fieldId, value, transaction);
  }

  setCustomFields(userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void> {
    return this.fieldWriter.setCustomFields(userId, listId, writes, transaction);
  }
}
