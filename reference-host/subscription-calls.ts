/**
 * The calls of the host's subscription path and what it plans for each one
 * before writing: the checked input, the idempotency key it carries, and its
 * answer once it has one (a refusal, or the answer a repeated key stored).
 * Pure functions: no database here.
 */
import { JourneysException } from '../src/common/journeys.exception';
import type { CausationContext, HostCallOutcome, SubscriberRef } from '../src/host/host.ports';
import { assertId } from '../src/host/mysql/host-tables';
import { IDEMPOTENCY_KEY_MAX } from './schema';
import type { FieldValue, RememberedCall } from './subscription-store';

export interface SubscribeInput {
  emailAddress: string;
  customFields?: Record<number, string>;
  ip?: string;
}

export interface SubscribeResult {
  subscriberId: number;
  alreadySubscribed: boolean;
}

export interface UnsubscribeResult {
  wasSubscribed: boolean;
}

export interface SubscribeCall {
  listId: number;
  emailAddress: string;
  customFields?: Record<number, string>;
  /** Where the sign-up came from (the public API's client); '' for the plug-in's calls. */
  ip?: string;
  causation?: CausationContext;
  idempotencyKey?: string;
}

export interface UnsubscribeCall {
  ref: SubscriberRef;
  causation?: CausationContext;
  idempotencyKey?: string;
}

/** One call's answer; a JourneysException error is a refusal that retrying cannot change. */
export type CallOutcome<T> = { ok: true; result: T } | { ok: false; error: Error };

export interface Plan<T> {
  listId: number;
  causation?: CausationContext;
  key?: string;
  /** What the key stands for: a key used again for another request is refused. */
  request: string;
  /** An earlier call of the same batch with the same key: this one answers as that one did. */
  follows?: Plan<T>;
  outcome?: CallOutcome<T>;
}

export interface SubscribePlan extends Plan<SubscribeResult> {
  emailAddress: string;
  ip: string;
  fieldInput: Record<string, unknown>;
  fields: FieldValue[];
}

export interface UnsubscribePlan extends Plan<UnsubscribeResult> {
  subscriberId: number;
}

const EMAIL_PATTERN = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,185}\.[A-Za-z0-9-]{2,}$/;

export const fail = (error: unknown): { ok: false; error: Error } => ({ ok: false, error: error as Error });

/** The contract's shape of an answer: a refusal (JourneysException) is permanent, anything else may pass on a retry. */
export function toHostCallOutcome<T>(outcome: CallOutcome<T>): HostCallOutcome<T> {
  if (outcome.ok) return { ok: true, ...outcome.result };
  return { ok: false, permanent: outcome.error instanceof JourneysException, error: outcome.error.message };
}

/** A positive integer id, or ValidationFailed naming it. */
export function validId(value: unknown, what: string): number {
  try {
    return assertId(value, what);
  } catch (error) {
    throw JourneysException.invalid((error as Error).message);
  }
}

function checkKey(key: unknown): void {
  if (key === undefined) return;
  if (typeof key !== 'string' || key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX)
    throw JourneysException.invalid(`The idempotency key must be a string of 1 to ${IDEMPOTENCY_KEY_MAX} characters`);
}

/** Checks in the order the HTTP API always answered: list id, CustomFields' shape, the address. */
export function planSubscribe(call: SubscribeCall): SubscribePlan {
  const emailAddress = String(call.emailAddress ?? '')
    .trim()
    .toLowerCase();
  const plan: SubscribePlan = {
    listId: call.listId,
    emailAddress,
    ip: call.ip ?? '',
    fieldInput: {},
    fields: [],
    causation: call.causation,
    key: call.idempotencyKey,
    request: `subscribe ${call.listId} ${emailAddress}`,
  };
  try {
    validId(call.listId, 'ListID');
    checkKey(call.idempotencyKey);
    const fields: unknown = call.customFields ?? {};
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      throw JourneysException.invalid('CustomFields must be an object of CustomFieldID → value');
    }
    plan.fieldInput = fields as Record<string, unknown>;
    if (!EMAIL_PATTERN.test(emailAddress)) throw JourneysException.invalid(`EmailAddress ${JSON.stringify(call.emailAddress)} is not a valid email address`);
  } catch (error) {
    plan.outcome = fail(error);
  }
  return plan;
}

export function planUnsubscribe(call: UnsubscribeCall): UnsubscribePlan {
  const plan: UnsubscribePlan = {
    listId: call.ref?.listId,
    subscriberId: call.ref?.subscriberId,
    causation: call.causation,
    key: call.idempotencyKey,
    request: `unsubscribe ${call.ref?.listId} ${call.ref?.subscriberId}`,
  };
  try {
    validId(plan.listId, 'ListID');
    validId(plan.subscriberId, 'SubscriberID');
    checkKey(call.idempotencyKey);
  } catch (error) {
    plan.outcome = fail(error);
  }
  return plan;
}

/** The first open plan of each key; later plans of the same key follow it. */
export function leadersByKey<T>(plans: Plan<T>[]): Map<string, Plan<T>> {
  const leaders = new Map<string, Plan<T>>();
  for (const plan of plans) {
    if (plan.outcome || plan.key === undefined) continue;
    const leader = leaders.get(plan.key);
    if (leader) plan.follows = leader;
    else leaders.set(plan.key, plan);
  }
  return leaders;
}

/** The answer a key stored, if it was stored for this same request. */
export function replay<T>(plan: Plan<T>, call: RememberedCall): CallOutcome<T> {
  return call.request === plan.request ? { ok: true, result: JSON.parse(call.result) as T } : keyReused(plan, call.request);
}

/** Followers answer as their leader did, unless they ask something else under its key. */
export function answerFollowers<T>(plans: Plan<T>[]): void {
  for (const plan of plans) {
    if (plan.follows) plan.outcome = plan.follows.request === plan.request ? plan.follows.outcome : keyReused(plan, plan.follows.request);
  }
}

function keyReused<T>(plan: Plan<T>, firstRequest: string): CallOutcome<T> {
  return fail(JourneysException.invalid(`Idempotency key ${JSON.stringify(plan.key)} was first used for another request (${firstRequest})`));
}

/** Grouped by list, lists in ascending order (the order their rows are locked in). */
export function byList<P extends { listId: number }>(plans: P[]): [number, P[]][] {
  const groups = new Map<number, P[]>();
  for (const plan of plans) {
    const group = groups.get(plan.listId);
    if (group) group.push(plan);
    else groups.set(plan.listId, [plan]);
  }
  return [...groups].sort(([a], [b]) => a - b);
}
