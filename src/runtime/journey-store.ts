/**
 * The runtime's read-only view of journey rows. The light columns (Status,
 * Version) are read on every use; the decoded action tree is cached by
 * JourneyID + Version, which every save of the actions bumps, so a cached tree
 * is never stale. The runtime does not import the journeys module (that module
 * depends on the runtime); it shares only the pure row codec.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DB, TABLES } from '../core/tokens';
import { sqlDate, type Db, type SqlSession } from '../database/db';
import type { PluginTables } from '../database/tables';
import { allActions } from '../engine/action-tree';
import type { JourneyDefinition } from '../engine/journey.types';
import { endsOtherEntries } from '../engine/step';
import { toDefinition, type JourneyRowFields } from '../journeys/journey.codec';

export interface RuntimeJourney {
  definition: JourneyDefinition;
  enabled: boolean;
  webhookSecret: string;
  /** Has a goal or a Wait for event: its entries are stepped when the subscriber opens, clicks or converts, also while they wait. */
  reactsToEvents: boolean;
  /** Has an Exit Journey or Exit All Other Journeys: its steps lock the live entries of the subscriber's whole person. */
  endsOtherEntries: boolean;
}

interface CachedTree {
  definition: JourneyDefinition;
  webhookSecret: string;
  reactsToEvents: boolean;
  endsOtherEntries: boolean;
  loadedAt: number;
}

const TREE_TTL_MS = 5 * 60_000;
const MAX_CACHED = 5_000;
const ACTIVITY_TOUCH_MS = 5_000;

@Injectable()
export class JourneyStore {
  private readonly trees = new Map<string, CachedTree>();
  private readonly touched = new Map<number, number>();

  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(TABLES) private readonly tables: PluginTables,
  ) {}

  /** The journeys with these ids that exist, keyed by id. */
  async load(journeyIds: Iterable<number>, session: SqlSession = this.db): Promise<Map<number, RuntimeJourney>> {
    const ids = [...new Set(journeyIds)];
    const out = new Map<number, RuntimeJourney>();
    if (ids.length === 0) return out;
    const heads = await session.select<{ JourneyID: number; Version: number; Status: string }>(
      `SELECT JourneyID, Version, Status FROM \`${this.tables.journeys}\` WHERE JourneyID IN (?)`,
      [ids],
    );
    const now = Date.now();
    const missing: number[] = [];
    for (const head of heads) {
      const cached = this.trees.get(`${head.JourneyID}:${head.Version}`);
      if (cached && now - cached.loadedAt < TREE_TTL_MS) {
        out.set(Number(head.JourneyID), this.view(cached, head.Status));
      } else missing.push(Number(head.JourneyID));
    }
    if (missing.length > 0) {
      const rows = await session.select<JourneyRowFields & { WebhookSecret: string }>(
        `SELECT JourneyID, RelOwnerUserID, Name, TriggerType, TriggerSettings, Status, ReEntry, Actions, Goal, Version, WebhookSecret
           FROM \`${this.tables.journeys}\` WHERE JourneyID IN (?)`,
        [missing],
      );
      if (this.trees.size > MAX_CACHED) this.trees.clear();
      for (const row of rows) {
        const definition = toDefinition(row);
        const reactsToEvents = !!definition.goal || allActions(definition.actions).some((a) => a.type === 'wait_for_event');
        const cached: CachedTree = {
          definition,
          webhookSecret: row.WebhookSecret,
          reactsToEvents,
          endsOtherEntries: endsOtherEntries(definition.actions),
          loadedAt: now,
        };
        this.trees.set(`${row.JourneyID}:${row.Version}`, cached);
        out.set(Number(row.JourneyID), this.view(cached, row.Status));
      }
    }
    return out;
  }

  /**
   * Records activity on these journeys (LastActivityAt), at most once per few
   * seconds per journey and process, so the journey row does not become a hot
   * spot every step transaction queues on.
   */
  async touch(session: SqlSession, journeyIds: Iterable<number>, now: Date): Promise<void> {
    const due = this.activityToTouch(journeyIds);
    if (due.length > 0) await session.execute(`UPDATE \`${this.tables.journeys}\` SET LastActivityAt = ? WHERE JourneyID IN (?)`, [sqlDate(now), due]);
  }

  private activityToTouch(journeyIds: Iterable<number>, nowMs = Date.now()): number[] {
    const out: number[] = [];
    for (const id of new Set(journeyIds)) {
      if (nowMs - (this.touched.get(id) ?? 0) < ACTIVITY_TOUCH_MS) continue;
      this.touched.set(id, nowMs);
      out.push(id);
    }
    return out;
  }

  async get(journeyId: number, session: SqlSession = this.db): Promise<RuntimeJourney | undefined> {
    return (await this.load([journeyId], session)).get(journeyId);
  }

  private view(cached: CachedTree, status: string): RuntimeJourney {
    const enabled = status === 'Enabled';
    return {
      definition: { ...cached.definition, status: enabled ? 'Enabled' : 'Disabled' },
      enabled,
      webhookSecret: cached.webhookSecret,
      reactsToEvents: cached.reactsToEvents,
      endsOtherEntries: cached.endsOtherEntries,
    };
  }
}
