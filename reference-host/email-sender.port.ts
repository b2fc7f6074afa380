/**
 * The EmailSenderPort the reference host gives the plug-in: its own Send
 * Email path (HostEmailSender), with refusals that retrying cannot change
 * (another user's list, email or subscriber, a bad id or key) thrown as the
 * contract's PermanentHostError. Batch calls answer them as `permanent: true` outcomes.
 */
import type { EmailSenderPort, HostCallOutcome, SendEmailRequest, SendEmailResult } from '../src/host/host.ports';
import type { HostEmailSender } from './email-sender.service';
import { permanentWhenRefused } from './subscription-commands.port';

export class HostEmailSenderPort implements EmailSenderPort {
  constructor(private readonly sender: HostEmailSender) {}

  send(request: SendEmailRequest): Promise<SendEmailResult> {
    return permanentWhenRefused(() => this.sender.send(request));
  }

  sendMany(requests: SendEmailRequest[]): Promise<HostCallOutcome<SendEmailResult>[]> {
    return this.sender.sendMany(requests);
  }
}
