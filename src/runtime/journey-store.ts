/**
 * The runtime's read-only view of journey rows. The light columns (Status,
 * Version) are read on every use; the decoded action tree is cached by
 * JourneyID + Version, which every save of the actions bumps, so a cached tree
 * is never stale. The runtime does not import the journeys module (that module
 * depends on the runtime); it shares only the pure row codec.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Sequelize, Transaction } from 'sequelize';
import { SEQUELIZE, TABLES } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import type { JourneyDefinition } from '../engine/journey.types';
import { toDefinition, type JourneyRowFields } from '../journeys/journey.codec';
import { select } from './sql';

export interface RuntimeJourney {
  definition: JourneyDefinition;
  enabled: boolean;
  webhookSecret: string;
}

interface CachedTree {
  definition: JourneyDefinition;
  webhookSecret: string;
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
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
  ) {}

  /** The journeys with these ids that exist, keyed by id. */
  async load(journeyIds: Iterable<number>, transaction?: Transaction): Promise<Map<number, RuntimeJourney>> {
    const ids = [...new Set(journeyIds)];
    const out = new Map<number, RuntimeJourney>();
    if (ids.length === 0) return out;
    const heads = await select<{ JourneyID: number; Version: number; Status: string }>(
      this.sequelize,
      `SELECT JourneyID, Version, Status FROM \`${this.tables.journeys}\` WHERE JourneyID IN (?)`,
      [ids],
      transaction,
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
      const rows = await select<JourneyRowFields & { WebhookSecret: string }>(
        this.sequelize,
        `SELECT JourneyID, RelOwnerUserID, Name, TriggerType, TriggerSettings, Status, ReEntry, Actions, Version, WebhookSecret
           FROM \`${this.tables.journeys}\` WHERE JourneyID IN (?)`,
        [missing],
        transaction,
      );
      if (this.trees.size > MAX_CACHED) this.trees.clear();
      for (const row of rows) {
        const cached: CachedTree = { definition: toDefinition(row), webhookSecret: row.WebhookSecret, loadedAt: now };
        this.trees.set(`${row.JourneyID}:${row.Version}`, cached);
        out.set(Number(row.JourneyID), this.view(cached, row.Status));
      }
    }
    return out;
  }

  /**
   * The journeys whose LastActivityAt is worth writing now: at most once per
   * few seconds per journey and process, so the journey row does not become a
   * hot spot every step transaction queues on.
   */
  activityToTouch(journeyIds: Iterable<number>, nowMs = Date.now()): number[] {
    const out: number[] = [];
    for (const id of new Set(journeyIds)) {
      if (nowMs - (this.touched.get(id) ?? 0) < ACTIVITY_TOUCH_MS) continue;
      this.touched.set(id, nowMs);
      out.push(id);
    }
    return out;
  }

  async get(journeyId: number, transaction?: Transaction): Promise<RuntimeJourney | undefined> {
    return (await this.load([journeyId], transaction)).get(journeyId);
  }

  private view(cached: CachedTree, status: string): RuntimeJourney {
    const enabled = status === 'Enabled';
    return {
      definition: { ...cached.definition, status: enabled ? 'Enabled' : 'Disabled' },
      enabled,
      webhookSecret: cached.webhookSecret,
    };
  }
}
