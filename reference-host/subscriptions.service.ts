/**
 * The host's own subscription path, used by its HTTP API, its dashboard and
 * the plug-in (through HostSubscriptionCommands): it writes the subscriber
 * rows, records the list's autoresponders once per real subscription, numbers
 * each subscription and unsubscription by a row of its own (the hook's
 * EventID) and fires Subscriber.Subscribed / Subscriber.Unsubscribed after
 * commit, carrying the plug-in's Causation along.
 *
 * It implements the port contract itself, refusals thrown as JourneysException
 * (the API's 404 / 400); HostSubscriptionCommands hands it to the plug-in with
 * refusals as PermanentHostError.
 *
 * A call may carry an idempotency key: the first call's answer is stored with
 * its effect, in the same transaction, and a repeated key answers it again
 * without running the path. Batches (several calls of one owner) take a few
 * statements per list; each call gets its own answer, and a call that fails
 * does not fail the others.
 *
 * Each call: one round trip of reads (the lists, custom fields and keys it
 * names), then its transaction (subscription-store.ts), then its hook.
 */
import { Logger } from '@nestjs/common';
import { JourneysException } from '../src/common/journeys.exception';
import type { Clock } from '../src/core/tokens';
import type { SubscribedHookPayload, UnsubscribedHookPayload } from '../src/host/hook-payloads';
import type { CausationContext, CustomFieldWrite, HookBusPort, HostCallOutcome, SubscriberRef, SubscriptionCommandsPort } from '../src/host/host.ports';
import { customFieldColumn, hostTables, type HostTables } from '../src/host/mysql/host-tables';
import type { MySqlCustomFieldWriter } from '../src/host/mysql/mysql-custom-field-writer';
import { dbErrorCode, inTransaction, readTogether, type HostDb, type HostTransaction } from './host-db';
import {
  answerFollowers,
  byList,
  fail,
  leadersByKey,
  planSubscribe,
  planUnsubscribe,
  replay,
  toHostCallOutcome,
  validId,
  type CallOutcome,
  type Plan,
  type SubscribeCall,
  type SubscribeInput,
  type SubscribePlan,
  type SubscribeResult,
  type UnsubscribeCall,
  type UnsubscribePlan,
  type UnsubscribeResult,
} from './subscription-calls';
import { ConcurrentSignUp, SubscriptionStore, type Owner, type RememberedCall } from './subscription-store';
import { TickBatcher } from './tick-batcher';

/** The path is built to need no deadlock retry; one stays as a safety net, counted in `deadlockRetries`. */
const TRANSACTION_ATTEMPTS = 3;

/** The most public sign-ups written in one batch. */
const PUBLIC_BATCH_MAX = 500;

/** A call's answer decided in the transaction, and the event row its hook announces after commit. */
interface Written<T> {
  outcome: CallOutcome<T>;
  event?: { subscriberId: number; emailAddress: string; eventIds: Promise<Map<number, number>> };
}

export class HostSubscriptions implements SubscriptionCommandsPort {
  private readonly tables: HostTables;
  private readonly store: SubscriptionStore;
  private readonly logger = new Logger('HostSubscriptions');
  /** Transactions run again after a deadlock (the benchmark prints it; it should stay 0). */
  deadlockRetries = 0;
  /** Batches that collided with another sign-up of one of their addresses and ran again (the benchmark prints it). */
  collidedBatches = 0;
  private readonly publicSignUps = new TickBatcher<SubscribeCall, SubscribeResult>(PUBLIC_BATCH_MAX, (calls) => this.publicSignUpBatch(calls));

  constructor(
    private readonly db: HostDb,
    prefix: string,
    private readonly fieldWriter: MySqlCustomFieldWriter,
    private readonly hooks: HookBusPort,
    private readonly clock: Clock,
  ) {
    this.tables = hostTables(prefix);
    this.store = new SubscriptionStore(prefix);
  }

  async subscribe(userId: number, listId: number, input: SubscribeInput, causation?: CausationContext, idempotencyKey?: string): Promise<SubscribeResult> {
    const owner = { userId: validId(userId, 'UserID') };
    return this.only(await this.subscribeCalls(owner, [{ ...input, listId, causation, idempotencyKey }]));
  }

  /**
   * The list's public subscription path (the HTTP API): the list decides the
   * owner, in the same round trip that checks it. Sign-ups arriving in the
   * same tick are written together, one batch per list, each still getting
   * its own answer: under load the host spends a few statements per batch
   * rather than per sign-up (the plug-in's intake coalesces its hooks alike).
   */
  async subscribeToList(listId: number, input: SubscribeInput, idempotencyKey?: string): Promise<SubscribeResult> {
    return this.publicSignUps.add({ ...input, listId: validId(listId, 'ListID'), idempotencyKey });
  }

  async subscribeMany(userId: number, calls: SubscribeCall[]): Promise<HostCallOutcome<SubscribeResult>[]> {
    return (await this.subscribeCalls({ userId: validId(userId, 'UserID') }, calls)).map(toHostCallOutcome);
  }

  async unsubscribe(userId: number, ref: SubscriberRef, causation?: CausationContext, idempotencyKey?: string): Promise<UnsubscribeResult> {
    return this.only(await this.unsubscribeCalls(userId, [{ ref, causation, idempotencyKey }]));
  }

  async unsubscribeMany(userId: number, calls: UnsubscribeCall[]): Promise<HostCallOutcome<UnsubscribeResult>[]> {
    return (await this.unsubscribeCalls(userId, calls)).map(toHostCallOutcome);
  }

  setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: unknown): Promise<void> {
    return this.fieldWriter.setCustomField(userId, ref, fieldId, value, transaction);
  }

  setCustomFields(userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void> {
    return this.fieldWriter.setCustomFields(userId, listId, writes, transaction);
  }

  /** The owner of a list; NotFound when there is no such list. */
  async listOwner(listId: number): Promise<number> {
    const [[list]] = (await readTogether(this.db, [this.store.lists([validId(listId, 'ListID')])])) as { RelOwnerUserID: number }[][];
    if (!list) throw JourneysException.notFound(`List ${listId}`);
    return Number(list.RelOwnerUserID);
  }

  /** The subscriber lookup of the public unsubscribe API, which may name an email address instead of an id. */
  async subscriberIdByEmail(listId: number, emailAddress: string): Promise<number | null> {
    const [[row]] = (await readTogether(this.db, [
      [`SELECT SubscriberID FROM \`${this.tables.subscribers(listId)}\` WHERE EmailAddress = ?`, [String(emailAddress).trim().toLowerCase()]],
    ])) as { SubscriberID: number }[][];
    return row ? Number(row.SubscriberID) : null;
  }

  /** One batch per list (the list decides the owner), the lists at the same time; outcomes in call order. */
  private async publicSignUpBatch(calls: SubscribeCall[]): Promise<CallOutcome<SubscribeResult>[]> {
    const outcomes: CallOutcome<SubscribeResult>[] = new Array(calls.length);
    await Promise.all(
      byList(calls.map((call, index) => ({ listId: call.listId, call, index }))).map(async ([listId, items]) => {
        try {
          const listOutcomes = await this.subscribeCalls(
            { ownerOfList: listId },
            items.map((item) => item.call),
          );
          items.forEach((item, i) => (outcomes[item.index] = listOutcomes[i]));
        } catch (error) {
          for (const item of items) outcomes[item.index] = fail(error);
        }
      }),
    );
    return outcomes;
  }

  private only<T>([outcome]: CallOutcome<T>[]): T {
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  private async unsubscribeCalls(userId: number, calls: UnsubscribeCall[]): Promise<CallOutcome<UnsubscribeResult>[]> {
    const owner = { userId: validId(userId, 'UserID') };
    const plans = calls.map(planUnsubscribe);
    const ownerUserId = await this.prepare(owner, plans, []);
    await this.carryOut(ownerUserId, plans, (work) => this.optOutAll(ownerUserId, work));
    return plans.map((p) => p.outcome!);
  }

  private async subscribeCalls(owner: Owner, calls: SubscribeCall[]): Promise<CallOutcome<SubscribeResult>[]> {
    const plans = calls.map(planSubscribe);
    const ownerUserId = await this.prepare(owner, plans, plans);
    await this.carryOut(ownerUserId, plans, (work) => this.signUpAll(ownerUserId, work));
    return plans.map((p) => p.outcome!);
  }

  /**
   * One round trip of reads: the answers stored for the plans' keys, their
   * lists (refused unless the owner's) and, for plans writing custom fields,
   * the fields they may write. Returns the owner's UserID (0 when the public
   * API named a list that does not exist).
   */
  private async prepare<T>(owner: Owner, plans: Plan<T>[], fieldPlans: SubscribePlan[]): Promise<number> {
    const leaders = leadersByKey(plans);
    const open = plans.filter((p) => !p.outcome && !p.follows);
    const listIds = [...new Set(open.map((p) => p.listId))];
    const writingFields = fieldPlans.filter((p) => !p.outcome && !p.follows && Object.keys(p.fieldInput).length > 0);
    const reads = [
      this.store.lists(listIds.length > 0 ? listIds : [0]),
      ...(leaders.size > 0 ? [this.store.remembered(owner, [...leaders.keys()])] : []),
      ...(writingFields.length > 0 ? [this.store.customFields(owner, listIds)] : []),
    ];
    const [lists, ...rest] = await readTogether(this.db, reads);
    const remembered = leaders.size > 0 ? (rest.shift() as ({ IdempotencyKey: string } & RememberedCall)[]) : [];
    const fields = writingFields.length > 0 ? (rest.shift() as { CustomFieldID: number; RelListID: number }[]) : [];

    const ownerOfList = new Map((lists as { ListID: number; RelOwnerUserID: number }[]).map((l) => [Number(l.ListID), Number(l.RelOwnerUserID)]));
    const ownerUserId = 'userId' in owner ? owner.userId : (ownerOfList.get(owner.ownerOfList) ?? 0);
    for (const row of remembered) leaders.get(row.IdempotencyKey)!.outcome = replay(leaders.get(row.IdempotencyKey)!, row);
    for (const plan of open) {
      if (!plan.outcome && ownerOfList.get(plan.listId) !== ownerUserId) plan.outcome = fail(JourneysException.notFound(`List ${plan.listId}`));
    }
    const listOfField = new Map(fields.map((f) => [Number(f.CustomFieldID), Number(f.RelListID)]));
    for (const plan of writingFields) if (!plan.outcome) this.checkFields(plan, listOfField);
    return ownerUserId;
  }

  /** Custom fields must be the owner's global fields (list 0) or the list's own. */
  private checkFields(plan: SubscribePlan, listOfField: Map<number, number>): void {
    for (const [id, value] of Object.entries(plan.fieldInput)) {
      const fieldList = listOfField.get(Number(id));
      if (fieldList === undefined || (fieldList !== 0 && fieldList !== plan.listId)) {
        plan.outcome = fail(JourneysException.invalid(`CustomFields.${id} is not a custom field of list ${plan.listId}`));
        return;
      }
      plan.fields.push([customFieldColumn(Number(id)), value === null || value === undefined ? null : String(value)]);
    }
  }

  /**
   * Runs the open plans in one transaction. A batch that collides with
   * another sign-up (ER_DUP_ENTRY, ConcurrentSignUp) runs once more, now
   * seeing the other's rows; a batch that fails again, or for another reason,
   * runs call by call, so one call's failure is only its own. Plans following
   * a key answer last.
   */
  private async carryOut<T, P extends Plan<T>>(ownerUserId: number, plans: P[], write: (work: P[]) => Promise<Written<T>[]>): Promise<void> {
    const runPlans = async (work: P[], again: boolean): Promise<void> => {
      try {
        const written = await write(work);
        work.forEach((plan, i) => (plan.outcome = written[i].outcome));
      } catch (error) {
        if (work.length > 1) {
          const collided = error instanceof ConcurrentSignUp || dbErrorCode(error) === 'ER_DUP_ENTRY';
          if (collided) this.collidedBatches++;
          if (collided && again) return runPlans(work, false);
          await Promise.all(work.map((plan) => runPlans([plan], false)));
          return;
        }
        const [plan] = work;
        plan.outcome = (await this.storedMeanwhile(ownerUserId, plan, error)) ?? fail(error);
      }
    };
    const work = plans.filter((p) => !p.outcome && !p.follows);
    if (work.length > 0) await runPlans(work, true);
    answerFollowers(plans);
  }

  /** After ER_DUP_ENTRY on its key: a concurrent call with the same key committed first, so this one answers what that one did. */
  private async storedMeanwhile<T>(ownerUserId: number, plan: Plan<T>, error: unknown): Promise<CallOutcome<T> | undefined> {
    if (dbErrorCode(error) !== 'ER_DUP_ENTRY' || plan.key === undefined) return undefined;
    const [rows] = (await readTogether(this.db, [this.store.remembered({ userId: ownerUserId }, [plan.key])])) as RememberedCall[][];
    return rows[0] ? replay(plan, rows[0]) : undefined;
  }

  /**
   * The open plans in one transaction, list by list (lists in ascending
   * order), each answered call's key stored with its answer last; after
   * commit, the hooks.
   */
  private async writeCalls<T, P extends Plan<T>>(
    ownerUserId: number,
    work: P[],
    hookName: 'Subscriber.Subscribed' | 'Subscriber.Unsubscribed',
    writeList: (tx: HostTransaction, listId: number, plans: P[], now: Date) => Promise<Map<P, Written<T>>>,
  ): Promise<Written<T>[]> {
    const now = this.clock.now();
    const written = await this.transaction(async (tx) => {
      const out = new Map<P, Written<T>>();
      for (const [listId, plans] of byList(work)) for (const [plan, w] of await writeList(tx, listId, plans, now)) out.set(plan, w);
      const remember = new Map<string, RememberedCall>();
      for (const [plan, { outcome }] of out) {
        if (outcome.ok && plan.key !== undefined) remember.set(plan.key, { request: plan.request, result: JSON.stringify(outcome.result) });
      }
      this.store.remember(tx, ownerUserId, remember, now);
      return work.map((plan) => out.get(plan)!);
    });
    await this.announce(hookName, ownerUserId, now, work, written);
    return written;
  }

  private signUpAll(ownerUserId: number, work: SubscribePlan[]): Promise<Written<SubscribeResult>[]> {
    return this.writeCalls(ownerUserId, work, 'Subscriber.Subscribed', async (tx, listId, plans, now) => {
      const out = new Map<SubscribePlan, Written<SubscribeResult>>();
      const firstOf = new Map<string, SubscribePlan>();
      for (const plan of plans) if (!firstOf.has(plan.emailAddress)) firstOf.set(plan.emailAddress, plan);
      const signUps = [...firstOf.values()].map((p) => ({ emailAddress: p.emailAddress, fields: p.fields, ip: p.ip }));
      const signedUp = await this.store.signUp(tx, listId, signUps, now);
      const fresh = [...signedUp.values()].filter((s) => s.subscribed).map((s) => s.subscriberId);
      this.store.recordAutoresponders(tx, ownerUserId, listId, fresh, now);
      const eventIds = this.store.recordEvents(tx, ownerUserId, listId, 'Subscribed', fresh, now);
      for (const plan of plans) {
        const { subscriberId, subscribed } = signedUp.get(plan.emailAddress)!;
        const first = firstOf.get(plan.emailAddress) === plan;
        if (!first) this.store.setFields(tx, listId, subscriberId, plan.fields);
        const result = { subscriberId, alreadySubscribed: !(first && subscribed) };
        const event = result.alreadySubscribed ? undefined : { subscriberId, emailAddress: plan.emailAddress, eventIds };
        out.set(plan, { outcome: { ok: true, result }, event });
      }
      return out;
    });
  }

  private optOutAll(ownerUserId: number, work: UnsubscribePlan[]): Promise<Written<UnsubscribeResult>[]> {
    return this.writeCalls(ownerUserId, work, 'Subscriber.Unsubscribed', async (tx, listId, plans, now) => {
      const out = new Map<UnsubscribePlan, Written<UnsubscribeResult>>();
      const ids = [...new Set(plans.map((p) => p.subscriberId))];
      const optedOut = await this.store.optOut(tx, listId, ids, now);
      const leaving = ids.filter((id) => optedOut.get(id)?.wasSubscribed);
      const eventIds = this.store.recordEvents(tx, ownerUserId, listId, 'Unsubscribed', leaving, now);
      const answered = new Set<number>();
      for (const plan of plans) {
        const row = optedOut.get(plan.subscriberId);
        if (!row) {
          out.set(plan, { outcome: fail(JourneysException.notFound(`Subscriber ${plan.subscriberId} of list ${listId}`)) });
          continue;
        }
        const result = { wasSubscribed: row.wasSubscribed && !answered.has(plan.subscriberId) };
        answered.add(plan.subscriberId);
        const event = result.wasSubscribed ? { subscriberId: plan.subscriberId, emailAddress: row.emailAddress, eventIds } : undefined;
        out.set(plan, { outcome: { ok: true, result }, event });
      }
      return out;
    });
  }

  /** After commit: the hook of every call that changed something, EventID from its event row, started in call order. */
  private async announce<T>(
    hookName: 'Subscriber.Subscribed' | 'Subscriber.Unsubscribed',
    ownerUserId: number,
    now: Date,
    plans: Plan<T>[],
    written: Written<T>[],
  ): Promise<void> {
    const kind = hookName === 'Subscriber.Subscribed' ? 'subscribed' : 'unsubscribed';
    const payloads: (SubscribedHookPayload | UnsubscribedHookPayload)[] = [];
    for (const [i, { event }] of written.entries()) {
      if (!event) continue;
      const plan = plans[i];
      payloads.push({
        EventID: `${kind}-${(await event.eventIds).get(event.subscriberId)}`,
        UserID: ownerUserId,
        ListID: plan.listId,
        SubscriberID: event.subscriberId,
        EmailAddress: event.emailAddress,
        OccurredAt: now.toISOString(),
        ...(plan.causation ? { Causation: plan.causation } : {}),
      });
    }
    // Concurrently: the plug-in's intake takes hooks that arrive together as one batch.
    await Promise.all(payloads.map((payload) => this.fire(hookName, payload)));
  }

  private async transaction<T>(work: (tx: HostTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTransaction(this.db, work);
      } catch (error) {
        if (dbErrorCode(error) !== 'ER_LOCK_DEADLOCK' || attempt >= TRANSACTION_ATTEMPTS) throw error;
        this.deadlockRetries++;
        this.logger.warn(`deadlock in the subscription path, attempt ${attempt}: ${(error as Error).message}`);
      }
    }
  }

  /** A listener's failure is logged; the host's own write already happened and stays. */
  private async fire(hookName: string, payload: unknown): Promise<void> {
    try {
      await this.hooks.fire(hookName, payload);
    } catch (error) {
      this.logger.error(`${hookName}: ${(error as Error).message}`);
    }
  }
}
