/** Conversion.Postback: A server-to-server conversion postback attributed to an email. */
import { ConversionHookDto, parseHookPayload, toTriggerEvent } from '../src/plugin/hook-payload.dto';
import type { PluginHandle } from '../src/plugin/plugin-handle';

export const HOOK_NAME = 'Conversion.Postback';

export default async function handle(payload: unknown, plugin: PluginHandle): Promise<{ enrolled: number }> {
  const hook = parseHookPayload(ConversionHookDto, payload, HOOK_NAME);
  return plugin.intake.accept(toTriggerEvent('conversion', hook));
}
