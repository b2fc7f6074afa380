/**
 * Subscribe and Unsubscribe go through the host's own path (which fires the
 * host's hooks, so the target list's autoresponders and journeys run; the
 * causation chain goes along to bound loops), with the claim's idempotency key.
 */
import { Inject, Injectable } from '@nestjs/common';
import { HOST_PORTS, type HostPorts } from '../../host/host.ports';
import { refOf } from '../entry.types';
import type { ExternalExecutor, ExternalOutcome, PendingOf } from './executors';
import { causationOf, idempotencyKeyOf } from './external-claims';

@Injectable()
export class SubscribeExecutor implements ExternalExecutor<'subscribe'> {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  async perform({ entry, action, subscriber }: PendingOf<'subscribe'>): Promise<ExternalOutcome> {
    const r = await this.host.subscriptions.subscribe(
      entry.RelOwnerUserID,
      action.settings.listId,
      { emailAddress: subscriber.emailAddress },
      causationOf(entry),
      idempotencyKeyOf(entry, action.id),
    );
    return { kind: 'done', result: r.alreadySubscribed ? 'already subscribed' : `subscribed #${r.subscriberId}` };
  }
}

@Injectable()
export class UnsubscribeExecutor implements ExternalExecutor<'unsubscribe'> {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  async perform({ entry, action, subscriber }: PendingOf<'unsubscribe'>): Promise<ExternalOutcome> {
    const owner = entry.RelOwnerUserID;
    const listId = action.settings.listId;
    const targets =
      listId === entry.ListID
        ? [refOf(entry)]
        : (await this.host.audience.findSubscribersByEmail(owner, subscriber.emailAddress))
            .filter((s) => s.listId === listId)
            .map((s) => ({ listId: s.listId, subscriberId: s.subscriberId }));
    if (targets.length === 0) return { kind: 'done', result: 'not in list' };
    let was = false;
    for (const ref of targets) {
      const key = targets.length === 1 ? idempotencyKeyOf(entry, action.id) : `${idempotencyKeyOf(entry, action.id)}:${ref.subscriberId}`;
      was = (await this.host.subscriptions.unsubscribe(owner, ref, causationOf(entry), key)).wasSubscribed || was;
    }
    return { kind: 'done', result: was ? 'unsubscribed' : 'not subscribed' };
  }
}
