/**
 * Matching: the enabled journeys of each event's owner whose trigger fits the
 * event, found through the trigger index (one indexed query per owner, trigger
 * type and target in a batch; never a scan of all journeys).
 */
import { Inject, Injectable } from '@nestjs/common';
import { TABLES } from '../../core/tokens';
import type { SqlSession } from '../../database/db';
import type { PluginTables } from '../../database/tables';
import type { TriggerEvent } from '../../engine/trigger-event';
import { matchesTrigger } from '../../engine/trigger-match';
import { JourneyStore } from '../journey-store';
import type { EnrolRequest } from './admission';

@Injectable()
export class TriggerMatcher {
  constructor(
    @Inject(TABLES) private readonly tables: PluginTables,
    private readonly journeys: JourneyStore,
  ) {}

  /** One enrolment request per (event, matching journey). */
  async match(session: SqlSession, events: readonly TriggerEvent[]): Promise<EnrolRequest[]> {
    const groups = new Map<string, { userId: number; type: string; target: number; events: TriggerEvent[] }>();
    for (const event of events) {
      if (event.type === 'manual') continue;
      const target = event.type === 'subscription' || event.type === 'unsubscription' ? event.listId : (event.emailId ?? 0);
      const key = `${event.userId}|${event.type}|${target}`;
      const group = groups.get(key) ?? { userId: event.userId, type: event.type, target, events: [] };
      group.events.push(event);
      groups.set(key, group);
    }
    const requests: EnrolRequest[] = [];
    for (const group of groups.values()) {
      const rows = await session.select<{ JourneyID: number }>(
        `SELECT DISTINCT JourneyID FROM \`${this.tables.triggers}\`
          WHERE RelOwnerUserID = ? AND TriggerType = ? AND Enabled = 1 AND TargetID IN (0, ?)`,
        [group.userId, group.type, group.target],
      );
      if (rows.length === 0) continue;
      const journeys = await this.journeys.load(
        rows.map((r) => Number(r.JourneyID)),
        session,
      );
      for (const journey of journeys.values()) {
        if (!journey.enabled || journey.definition.ownerUserId !== group.userId) continue;
        for (const event of group.events) {
          if (!matchesTrigger(journey.definition.trigger, event)) continue;
          requests.push({
            journey,
            ref: { listId: event.listId, subscriberId: event.subscriberId },
            chainId: (event.causation?.chainId ?? event.eventId).slice(0, 128),
            chainDepth: event.causation?.depth ?? 0,
            triggerEvent: JSON.stringify(event),
            eventId: event.eventId,
          });
        }
      }
    }
    return requests;
  }
}
