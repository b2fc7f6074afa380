/** Subscriber.Unsubscribed: A subscriber left a list. */
import { SubscriberHookDto, parseHookPayload, toTriggerEvent } from '../src/plugin/hook-payload.dto';
import type { PluginHandle } from '../src/plugin/plugin-handle';

export const HOOK_NAME = 'Subscriber.Unsubscribed';

export default async function handle(payload: unknown, plugin: PluginHandle): Promise<{ enrolled: number }> {
  const hook = parseHookPayload(SubscriberHookDto, payload, HOOK_NAME);
  return plugin.intake.accept(toTriggerEvent('unsubscription', hook));
}
