/**
 * The host's Send Email path, used by the plug-in (through HostEmailSenderPort
 * and the HTTP host API): it "sends" one of the owner's emails to a subscriber
 * of the owner's list by recording it in the outbox, the host's log of what it
 * would have sent. Opens and clicks of it go through the ordinary tracking
 * URLs, so they fire Email.Opened and Link.Clicked like any other email's.
 *
 * Refusals are thrown as JourneysException (the HTTP API's 404 / 400):
 * another user's (or no) list, email or subscriber, a bad id or key.
 * A subscriber who may not receive mail gets an `undeliverable` answer,
 * checked in this order: not Subscribed, hard bounced, on the owner's
 * suppression list. Undeliverable answers are recorded too, so that a
 * repeated idempotency key answers what the first call did, whatever changed
 * since, and records nothing new.
 *
 * A batch takes two round trips whatever its size: one for the reads (lists,
 * emails, answered keys, the recipients of each list), one for the insert of
 * its rows and their read-back. Single sends arriving in the same tick are
 * carried out as one batch.
 */
import { JourneysException } from '../src/common/journeys.exception';
import type { Clock } from '../src/core/tokens';
import type { HostCallOutcome, SendEmailRequest, SendEmailResult } from '../src/host/host.ports';
import { IDEMPOTENCY_KEY_PATTERN } from '../src/host/http/host-api.protocol';
import { dbErrorCode, readTogether, sendTogether, type HostDb } from './host-db';
import {
  ownerKey,
  OutboxStore,
  rememberedOf,
  sendRequestText,
  type OutboxInsert,
  type OutboxRow,
  type Recipient,
  type SendFields,
  type UndeliverableReason,
} from './outbox-store';
import { answerFollowers, byList, fail, leadersByKey, replay, toHostCallOutcome, validId, type CallOutcome, type Plan } from './subscription-calls';
import { TickBatcher } from './tick-batcher';

/** The most single sends carried out in one batch. */
const SEND_BATCH_MAX = 500;

interface SendPlan extends Omit<Plan<SendEmailResult>, 'key'>, SendFields {}

/** What a batch's open plans need, read in one round trip. */
interface BatchReads {
  listOwner: Map<number, number>;
  emailOwner: Map<number, number>;
  /** Outbox rows by ownerKey(owner, key). */
  answered: Map<string, OutboxRow>;
  /** Recipients by list, then SubscriberID. */
  recipients: Map<number, Map<number, Recipient>>;
}

/** One row of the dashboard's "Emails the host would have sent". */
export interface OutboxEntry {
  outboxId: number;
  listId: number;
  subscriberId: number;
  emailId: number;
  emailName: string | null;
  emailAddress: string;
  journeyId: number;
  status: 'sent' | 'undeliverable';
  reason: UndeliverableReason | null;
  createdAt: Date;
  /** Opens and clicks tracked with this message's id. */
  opens: number;
  clicks: number;
}

function planSend(request: SendEmailRequest): SendPlan {
  const plan: SendPlan = {
    userId: request.userId,
    listId: request.listId,
    subscriberId: request.subscriberId,
    emailId: request.emailId,
    journeyId: request.journeyId,
    entryId: request.entryId,
    key: request.idempotencyKey,
    request: sendRequestText(request),
  };
  try {
    validId(plan.userId, 'UserID');
    validId(plan.listId, 'ListID');
    validId(plan.subscriberId, 'SubscriberID');
    validId(plan.emailId, 'EmailID');
    validId(plan.journeyId, 'JourneyID');
    validId(plan.entryId, 'EntryID');
    if (typeof plan.key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(plan.key)) {
      throw JourneysException.invalid('The idempotency key must be 1 to 200 printable ASCII characters without spaces');
    }
  } catch (error) {
    plan.outcome = fail(error);
  }
  return plan;
}

/** Why this recipient cannot receive mail, or null when they can. */
function undeliverableReason(recipient: Recipient): UndeliverableReason | null {
  if (recipient.SubscriptionStatus !== 'Subscribed') return 'not_subscribed';
  if (recipient.BounceType === 'Hard') return 'bounced';
  if (Number(recipient.Suppressed) === 1) return 'suppressed';
  return null;
}

export class HostEmailSender {
  private readonly store: OutboxStore;
  private readonly singles = new TickBatcher<SendEmailRequest, SendEmailResult>(SEND_BATCH_MAX, (requests) => this.sendCalls(requests));

  constructor(
    private readonly db: HostDb,
    prefix: string,
    private readonly clock: Clock,
  ) {
    this.store = new OutboxStore(prefix);
  }

  send(request: SendEmailRequest): Promise<SendEmailResult> {
    return this.singles.add(request);
  }

  /** One outcome per request, in order; a refusal is `permanent: true`, a failure of the database fails every request as transient. */
  async sendMany(requests: SendEmailRequest[]): Promise<HostCallOutcome<SendEmailResult>[]> {
    try {
      return (await this.sendCalls(requests)).map(toHostCallOutcome);
    } catch (error) {
      return requests.map(() => ({ ok: false, permanent: false, error: (error as Error).message }));
    }
  }

  /** Adds an address to the owner's suppression list: Send Email to it answers `suppressed` from now on. */
  async suppress(userId: number, emailAddress: string): Promise<void> {
    const address = String(emailAddress ?? '')
      .trim()
      .toLowerCase();
    if (address === '' || address.length > 250) throw JourneysException.invalid('EmailAddress must be 1 to 250 characters');
    await sendTogether(this.db, [this.store.suppress(validId(userId, 'UserID'), address, this.clock.now())]);
  }

  /** The owner's latest outbox rows, newest first. */
  async latest(userId: number, limit: number): Promise<OutboxEntry[]> {
    const [rows] = (await readTogether(this.db, [this.store.latest(validId(userId, 'UserID'), limit)])) as (OutboxRow & {
      EmailName: string | null;
      Opens: number;
      Clicks: number;
    })[][];
    return rows.map((r) => ({
      outboxId: Number(r.OutboxID),
      listId: Number(r.RelListID),
      subscriberId: Number(r.RelSubscriberID),
      emailId: Number(r.RelEmailID),
      emailName: r.EmailName,
      emailAddress: r.EmailAddress,
      journeyId: Number(r.JourneyID),
      status: r.Status,
      reason: r.Reason,
      createdAt: new Date(r.CreatedAt),
      opens: Number(r.Opens),
      clicks: Number(r.Clicks),
    }));
  }

  private async sendCalls(requests: SendEmailRequest[]): Promise<CallOutcome<SendEmailResult>[]> {
    const plans = requests.map(planSend);
    // Keys are per owner: the same key of two owners is two calls.
    for (const userId of new Set(plans.map((p) => p.userId))) leadersByKey(plans.filter((p) => p.userId === userId));
    const open = plans.filter((p) => !p.outcome && !p.follows);
    if (open.length > 0) {
      const reads = await this.read(open);
      const rows = open.map((plan) => this.decide(plan, reads)).filter((row): row is OutboxInsert => row !== null);
      if (rows.length > 0) await this.write(open, rows);
    }
    answerFollowers(plans);
    return plans.map((p) => p.outcome!);
  }

  /** A repeated key answers as it did; otherwise the request is checked and its row to record decided (null: answered already). */
  private decide(plan: SendPlan, reads: BatchReads): OutboxInsert | null {
    const answered = reads.answered.get(ownerKey(plan.userId, plan.key));
    if (answered) {
      plan.outcome = replay(plan, rememberedOf(answered));
      return null;
    }
    const recipient = reads.recipients.get(plan.listId)?.get(plan.subscriberId);
    if (reads.listOwner.get(plan.listId) !== plan.userId) plan.outcome = fail(JourneysException.notFound(`List ${plan.listId}`));
    else if (reads.emailOwner.get(plan.emailId) !== plan.userId) plan.outcome = fail(JourneysException.notFound(`Email ${plan.emailId}`));
    else if (!recipient) plan.outcome = fail(JourneysException.notFound(`Subscriber ${plan.subscriberId} of list ${plan.listId}`));
    else return { ...plan, emailAddress: recipient.EmailAddress, reason: undeliverableReason(recipient) };
    return null;
  }

  /**
   * The lists, emails, answered keys and recipients in one round trip. A list
   * that does not exist has no subscriber table, which fails that round trip:
   * then the lists are read first and only the existing ones' recipients after.
   */
  private async read(open: SendPlan[]): Promise<BatchReads> {
    const plansOfList = new Map(byList(open));
    const first = [
      this.store.lists([...plansOfList.keys()]),
      this.store.emails([...new Set(open.map((p) => p.emailId))]),
      this.store.answered([...new Set(open.map((p) => p.userId))], [...new Set(open.map((p) => p.key))]),
    ];
    const recipientsOf = (listIds: number[]) =>
      listIds.map((listId) => this.store.recipients(listId, [...new Set(plansOfList.get(listId)!.map((p) => p.subscriberId))]));
    let listIds = [...plansOfList.keys()];
    let results: unknown[];
    try {
      results = await readTogether(this.db, [...first, ...recipientsOf(listIds)]);
    } catch (error) {
      if (dbErrorCode(error) !== 'ER_NO_SUCH_TABLE') throw error;
      results = await readTogether(this.db, first);
      const existing = new Set((results[0] as { ListID: number }[]).map((l) => Number(l.ListID)));
      listIds = listIds.filter((id) => existing.has(id));
      results.push(...(await readTogether(this.db, recipientsOf(listIds))));
    }
    const [lists, emails, answered, ...recipients] = results as [
      { ListID: number; RelOwnerUserID: number }[],
      { EmailID: number; RelOwnerUserID: number }[],
      OutboxRow[],
      ...Recipient[][],
    ];
    return {
      listOwner: new Map(lists.map((l) => [Number(l.ListID), Number(l.RelOwnerUserID)])),
      emailOwner: new Map(emails.map((e) => [Number(e.EmailID), Number(e.RelOwnerUserID)])),
      answered: new Map(answered.map((row) => [ownerKey(Number(row.RelOwnerUserID), row.IdempotencyKey), row])),
      recipients: new Map(listIds.map((listId, i) => [listId, new Map(recipients[i].map((r) => [Number(r.SubscriberID), r]))])),
    };
  }

  /**
   * Records the rows and reads them back by key, in one round trip. A row
   * that another call with the same key recorded first stays, and this call
   * answers from it (or is refused, when that call asked something else).
   */
  private async write(open: SendPlan[], rows: OutboxInsert[]): Promise<void> {
    const [, stored] = (await sendTogether(this.db, [
      this.store.record(rows, this.clock.now()),
      this.store.answered([...new Set(rows.map((r) => r.userId))], [...new Set(rows.map((r) => r.key))]),
    ])) as [unknown, OutboxRow[]];
    const rowOf = new Map(stored.map((row) => [ownerKey(Number(row.RelOwnerUserID), row.IdempotencyKey), row]));
    for (const plan of open) {
      if (plan.outcome) continue;
      const row = rowOf.get(ownerKey(plan.userId, plan.key));
      plan.outcome = row ? replay(plan, rememberedOf(row)) : fail(new Error(`the outbox row of key ${JSON.stringify(plan.key)} was not read back`));
    }
  }
}
