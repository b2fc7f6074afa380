/**
 * Table names of the host schema (Octeth/Oempro style) under a configurable
 * prefix, default `oempro_`. Per-list subscriber tables take the ListID in
 * their name, so the id is checked to be a positive integer before it is
 * ever put into SQL.
 */
export interface HostTables {
  users: string;
  lists: string;
  customFields: string;
  emails: string;
  campaigns: string;
  autoresponders: string;
  autoresponderLog: string;
  opens: string;
  clicks: string;
  conversions: string;
  subscribers(listId: number): string;
}

export function assertId(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function assertPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_]*$/.test(prefix)) throw new TypeError(`table prefix must be letters, digits and underscores, got ${JSON.stringify(prefix)}`);
  return prefix;
}

export function hostTables(prefix: string): HostTables {
  const p = assertPrefix(prefix);
  return {
    users: `${p}users`,
    lists: `${p}subscriber_lists`,
    customFields: `${p}custom_fields`,
    emails: `${p}emails`,
    campaigns: `${p}campaigns`,
    autoresponders: `${p}autoresponders`,
    autoresponderLog: `${p}autoresponder_log`,
    opens: `${p}stats_opens`,
    clicks: `${p}stats_clicks`,
    conversions: `${p}stats_conversions`,
    subscribers: (listId: number) => `${p}subscribers_${assertId(listId, 'ListID')}`,
  };
}

/** The column of a custom field in a per-list subscriber table. */
export function customFieldColumn(fieldId: number): string {
  return `CustomField${assertId(fieldId, 'CustomFieldID')}`;
}
