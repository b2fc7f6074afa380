/**
 * Subscribe and Unsubscribe go through the host's own path (which fires the
 * host's hooks, so the target list's autoresponders and journeys run; the
 * causation chain goes along to bound loops), each with the claim's
 * idempotency key. A batch uses the host's subscribeMany / unsubscribeMany
 * when it offers them (one call per owner and up to HOST_BATCH requests),
 * else one call per request, a few at a time.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { SubscriberRef } from '../../engine/host-facts.types';
import { HOST_PORTS, type HostPorts } from '../../host/host.ports';
import { chunk } from '../queues';
import { refOf } from '../entry.types';
import { mapLimited, outcomeOfError, outcomeOfHostCall, withQuickRetries, type ExternalExecutor, type ExternalOutcome, type PendingOf } from './executors';
import { causationOf, idempotencyKeyOf } from './external-claims';

/** Single host calls in flight at once (the host's path takes row locks on its own tables). */
const HOST_CALLS_IN_FLIGHT = 8;
/** Requests in one batch call at most. */
const HOST_BATCH = 100;

/** Runs `perItem` for each group of items of one owner; fills the outcomes in the items' order. */
async function byOwner<I extends { entry: { RelOwnerUserID: number } }>(
  items: readonly I[],
  perOwner: (ownerUserId: number, items: I[]) => Promise<ExternalOutcome[]>,
): Promise<ExternalOutcome[]> {
  const groups = new Map<number, number[]>();
  items.forEach((item, i) => groups.set(item.entry.RelOwnerUserID, [...(groups.get(item.entry.RelOwnerUserID) ?? []), i]));
  const outcomes: ExternalOutcome[] = new Array(items.length);
  await Promise.all(
    [...groups].map(async ([owner, indexes]) => {
      const results = await perOwner(
        owner,
        indexes.map((i) => items[i]),
      );
      indexes.forEach((index, k) => (outcomes[index] = results[k]));
    }),
  );
  return outcomes;
}

@Injectable()
export class SubscribeExecutor implements ExternalExecutor<'subscribe'> {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  performMany(items: readonly PendingOf<'subscribe'>[]): Promise<ExternalOutcome[]> {
    const port = this.host.subscriptions;
    const describe = (r: { subscriberId: number; alreadySubscribed: boolean }) =>
      r.alreadySubscribed ? 'already subscribed' : `subscribed #${r.subscriberId}`;
    return byOwner(items, async (owner, mine) => {
      if (!port.subscribeMany) {
        return mapLimited(mine, HOST_CALLS_IN_FLIGHT, 'subscribe', async ({ entry, action, subscriber }) => {
          const r = await withQuickRetries(() =>
            port.subscribe(owner, action.settings.listId, { emailAddress: subscriber.emailAddress }, causationOf(entry), idempotencyKeyOf(entry, action.id)),
          );
          return { kind: 'done', result: describe(r) };
        });
      }
      const outcomes: ExternalOutcome[] = [];
      for (const part of chunk(mine, HOST_BATCH)) {
        const requests = part.map(({ entry, action, subscriber }) => ({
          listId: action.settings.listId,
          emailAddress: subscriber.emailAddress,
          causation: causationOf(entry),
          idempotencyKey: idempotencyKeyOf(entry, action.id),
        }));
        let answers: Awaited<ReturnType<NonNullable<typeof port.subscribeMany>>>;
        try {
          answers = await port.subscribeMany!(owner, requests);
        } catch (error) {
          outcomes.push(...part.map(() => outcomeOfError('subscribe', error))); // the whole call failed: each request's attempt did
          continue;
        }
        part.forEach((_, i) => outcomes.push(outcomeOfHostCall('subscribe', answers[i], describe)));
      }
      return outcomes;
    });
  }
}

@Injectable()
export class UnsubscribeExecutor implements ExternalExecutor<'unsubscribe'> {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  /** One request per (item, subscriber of the email address in the target list); an item is done when all of its are. */
  performMany(items: readonly PendingOf<'unsubscribe'>[]): Promise<ExternalOutcome[]> {
    const port = this.host.subscriptions;
    return byOwner(items, async (owner, mine) => {
      return mapLimited(mine, HOST_CALLS_IN_FLIGHT, 'unsubscribe', async ({ entry, action, subscriber }) => {
        const listId = action.settings.listId;
        const targets: SubscriberRef[] =
          listId === entry.ListID
            ? [refOf(entry)]
            : (await this.host.audience.findSubscribersByEmail(owner, subscriber.emailAddress))
                .filter((s) => s.listId === listId)
                .map((s) => ({ listId: s.listId, subscriberId: s.subscriberId }));
        if (targets.length === 0) return { kind: 'done', result: 'not in list' };
        const keyOf = (ref: SubscriberRef) =>
          targets.length === 1 ? idempotencyKeyOf(entry, action.id) : `${idempotencyKeyOf(entry, action.id)}:${ref.subscriberId}`;
        let was = false;
        if (port.unsubscribeMany) {
          const answers = await port.unsubscribeMany(
            owner,
            targets.map((ref) => ({ ref, causation: causationOf(entry), idempotencyKey: keyOf(ref) })),
          );
          for (const answer of answers) {
            const outcome = outcomeOfHostCall('unsubscribe', answer, () => '');
            if (outcome.kind !== 'done') return outcome;
            was = (answer as { wasSubscribed?: boolean }).wasSubscribed || was;
          }
        } else {
          for (const ref of targets) was = (await withQuickRetries(() => port.unsubscribe(owner, ref, causationOf(entry), keyOf(ref)))).wasSubscribed || was;
        }
        return { kind: 'done', result: was ? 'unsubscribed' : 'not subscribed' };
      });
    });
  }
}
