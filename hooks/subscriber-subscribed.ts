/** Subscriber.Subscribed: A subscriber joined a list (the host's subscription path, also when a journey's Subscribe action caused it). */
import { SubscriberHookDto, parseHookPayload, toTriggerEvent } from '../src/plugin/hook-payload.dto';
import type { PluginHandle } from '../src/plugin/plugin-handle';

export const HOOK_NAME = 'Subscriber.Subscribed';

export default async function handle(payload: unknown, plugin: PluginHandle): Promise<{ enrolled: number }> {
  const hook = parseHookPayload(SubscriberHookDto, payload, HOOK_NAME);
  return plugin.intake.accept(toTriggerEvent('subscription', hook));
}
