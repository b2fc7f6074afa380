import type { CausationContext } from './host-facts.types';
import type { TriggerType } from './journey.types';

/** A host event turned into the engine's terms. */
export interface TriggerEvent {
  eventId: string;
  type: TriggerType;
  userId: number;
  listId: number;
  subscriberId: number;
  emailId?: number;
  url?: string;
  channel?: string | null;
  value?: number | null;
  occurredAt: Date;
  causation?: CausationContext;
}
