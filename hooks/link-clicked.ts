/** Link.Clicked: A subscriber clicked a tracked link of an email. */
import { LinkClickedHookDto, parseHookPayload, toTriggerEvent } from '../src/plugin/hook-payload.dto';
import type { PluginHandle } from '../src/plugin/plugin-handle';

export const HOOK_NAME = 'Link.Clicked';

export default async function handle(payload: unknown, plugin: PluginHandle): Promise<{ enrolled: number }> {
  const hook = parseHookPayload(LinkClickedHookDto, payload, HOOK_NAME);
  return plugin.intake.accept(toTriggerEvent('link_clicked', hook));
}
