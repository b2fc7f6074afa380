/**
 * Table names of the plug-in. The host's prefix (default `oempro_`) plus the
 * plug-in code `journeys`, so everything we own sorts together in the host database.
 */
export interface PluginTables {
  journeys: string;
  triggers: string;
  entries: string;
  log: string;
  events: string;
  webhookDeliveries: string;
  /** Opens, clicks and conversions the intake saw, for goals and Wait for event. */
  subscriberEvents: string;
  migrations: string;
}

export function pluginTables(hostPrefix: string): PluginTables {
  const p = `${hostPrefix}journeys`;
  return {
    journeys: p,
    triggers: `${p}_triggers`,
    entries: `${p}_entries`,
    log: `${p}_log`,
    events: `${p}_events`,
    webhookDeliveries: `${p}_webhook_deliveries`,
    subscriberEvents: `${p}_subscriber_events`,
    migrations: `${p}_migrations`,
  };
}
