/** Email.Opened: A subscriber opened a campaign's or an autoresponder's email. */
import { EmailHookDto, parseHookPayload, toTriggerEvent } from '../src/plugin/hook-payload.dto';
import type { PluginHandle } from '../src/plugin/plugin-handle';

export const HOOK_NAME = 'Email.Opened';

export default async function handle(payload: unknown, plugin: PluginHandle): Promise<{ enrolled: number }> {
  const hook = parseHookPayload(EmailHookDto, payload, HOOK_NAME);
  return plugin.intake.accept(toTriggerEvent('email_opened', hook));
}
