/**
 * Send Email: the host sends one of the user's emails to the subscriber (the
 * plug-in never sends mail itself), through the host contract's EmailSenderPort
 * with the claim's idempotency key; one `sendMany` call per batch of up to
 * HOST_BATCH when the host offers it, else one `send` per item, a few at a
 * time. A subscriber who cannot receive it (not subscribed, bounced,
 * suppressed) is skipped or exits, as the action says.
 */
import { Inject, Injectable } from '@nestjs/common';
import { HOST_PORTS, PermanentHostError, type HostPorts, type SendEmailRequest, type SendEmailResult } from '../../host/host.ports';
import { chunk } from '../queues';
import { mapLimited, outcomeOfError, outcomeOfHostCall, type ExternalExecutor, type ExternalOutcome, type PendingOf } from './executors';
import { idempotencyKeyOf } from './external-claims';

const HOST_CALLS_IN_FLIGHT = 16;
const HOST_BATCH = 100;

@Injectable()
export class SendEmailExecutor implements ExternalExecutor<'send_email'> {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  async performMany(items: readonly PendingOf<'send_email'>[]): Promise<ExternalOutcome[]> {
    const port = this.host.email;
    if (!port) return items.map(() => outcomeOfError('send_email', new PermanentHostError('this host does not send email (it offers no email port)')));
    const requests = items.map(({ entry, action }) => this.request(entry, action));
    if (!port.sendMany) {
      return mapLimited(items, HOST_CALLS_IN_FLIGHT, 'send_email', async (item) => this.outcomeOf(item, await port.send(requests[items.indexOf(item)])));
    }
    const outcomes: ExternalOutcome[] = [];
    for (const [part, partRequests] of chunk(items, HOST_BATCH).map((p, i) => [p, requests.slice(i * HOST_BATCH, (i + 1) * HOST_BATCH)] as const)) {
      let answers: Awaited<ReturnType<NonNullable<typeof port.sendMany>>>;
      try {
        answers = await port.sendMany(partRequests);
      } catch (error) {
        outcomes.push(...part.map(() => outcomeOfError('send_email', error)));
        continue;
      }
      part.forEach((item, i) => {
        const answer = answers[i];
        outcomes.push(answer?.ok ? this.outcomeOf(item, answer) : outcomeOfHostCall('send_email', answer, () => ''));
      });
    }
    return outcomes;
  }

  private request(entry: PendingOf<'send_email'>['entry'], action: PendingOf<'send_email'>['action']): SendEmailRequest {
    return {
      userId: entry.RelOwnerUserID,
      listId: entry.ListID,
      subscriberId: entry.SubscriberID,
      emailId: action.settings.emailId,
      journeyId: entry.JourneyID,
      entryId: entry.EntryID,
      idempotencyKey: idempotencyKeyOf(entry, action.id),
    };
  }

  private outcomeOf({ action }: PendingOf<'send_email'>, result: SendEmailResult): ExternalOutcome {
    if (result.status === 'sent') return { kind: 'done', result: `sent #${result.messageId}` };
    const why = `${result.reason.replace(/_/g, ' ')}: ${result.message}`;
    return action.settings.whenUndeliverable === 'exit'
      ? { kind: 'exit', reason: `Send Email: the subscriber cannot receive it (${why})` }
      : { kind: 'done', result: `skipped: ${result.reason}`, skipped: why };
  }
}
