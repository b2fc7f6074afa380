/** Ids an external action carries to the outside world, stable across retries and crashes of the same claim. */
import type { CausationContext } from '../../engine/host-facts.types';
import type { EntryRow } from '../entry.types';

/** The claim's id: one per (entry, action), the same for every attempt. */
export function idempotencyKeyOf(entry: Pick<EntryRow, 'EntryID'>, actionId: string): string {
  return `journeys:${entry.EntryID}:${actionId}`;
}

/** The webhook-id of a Webhook action's delivery (Standard Webhooks allows [A-Za-z0-9_.-]). */
export function deliveryIdOf(entry: Pick<EntryRow, 'EntryID'>, actionId: string): string {
  return `msg_${entry.EntryID}_${actionId}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
}

/** The causation a host write made by this entry carries: one hop further down its chain. */
export function causationOf(entry: Pick<EntryRow, 'ChainID' | 'ChainDepth'>): CausationContext {
  return { chainId: entry.ChainID, depth: entry.ChainDepth + 1 };
}
