/**
 * Journeys for runtime tests, written straight into the plug-in's tables as
 * the schema says (journeys row + its trigger index rows), so runtime tests do
 * not depend on the journeys service. Also: a movable clock and helpers that
 * wait for the entry queue to go quiet.
 */
import { randomBytes } from 'crypto';
import { QueryTypes } from 'sequelize';
import type { Clock } from '../../src/core/tokens';
import { pluginTables, type PluginTables } from '../../src/database/tables';
import type { Action, ReEntryRule, Trigger } from '../../src/engine/journey.types';
import type { TriggerEvent } from '../../src/engine/trigger-event';
import { triggerTargets } from '../../src/engine/trigger-match';
import { encodeActions, encodeTrigger } from '../../src/journeys/journey.codec';
import { TriggerIntakeService } from '../../src/runtime/intake/trigger-intake.service';
import { EntryQueue } from '../../src/runtime/entry-queue.service';
import { EntryScheduler } from '../../src/runtime/entry-scheduler';
import { EntryWorker } from '../../src/runtime/entry.processor';
import { Sweeper } from '../../src/runtime/sweeper.service';
import type { RefHost } from './reference-host';

export interface JourneyFixture {
  ownerUserId?: number;
  name?: string;
  trigger: Trigger;
  actions: Action[];
  status?: 'Enabled' | 'Disabled';
  reEntry?: ReEntryRule;
}

export function journeyTables(host: RefHost): PluginTables {
  return pluginTables(host.prefix);
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Inserts a journey and its trigger index rows; returns its id. */
export async function insertJourney(host: RefHost, fixture: JourneyFixture): Promise<number> {
  const t = journeyTables(host);
  const owner = fixture.ownerUserId ?? host.demo.userA.userId;
  const status = fixture.status ?? 'Enabled';
  const { TriggerType, TriggerSettings } = encodeTrigger(fixture.trigger);
  const now = new Date().toISOString().slice(0, 23).replace('T', ' ');
  const [id] = await host.sequelize.query(
    `INSERT INTO \`${t.journeys}\` (RelOwnerUserID, Name, TriggerType, TriggerSettings, Status, ReEntry, Actions, Version, WebhookSecret, CreatedAt, UpdatedAt)
     VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
    {
      type: QueryTypes.INSERT,
      replacements: [
        owner,
        fixture.name ?? 'Test journey',
        TriggerType,
        TriggerSettings,
        status,
        fixture.reEntry ?? 'allow',
        encodeActions(fixture.actions),
        newWebhookSecret(),
        now,
        now,
      ],
    },
  );
  const journeyId = Number(id);
  if (fixture.trigger.type !== 'manual') {
    for (const target of triggerTargets(fixture.trigger)) {
      await host.sequelize.query(`INSERT INTO \`${t.triggers}\` (JourneyID, RelOwnerUserID, TriggerType, TargetID, Enabled) VALUES (?, ?, ?, ?, ?)`, {
        replacements: [journeyId, owner, TriggerType, target, status === 'Enabled' ? 1 : 0],
      });
    }
  }
  return journeyId;
}

/** What the journeys service does on Enable / Disable, at the table level. */
export async function setJourneyStatus(host: RefHost, journeyId: number, status: 'Enabled' | 'Disabled'): Promise<void> {
  const t = journeyTables(host);
  await host.sequelize.query(`UPDATE \`${t.journeys}\` SET Status = ? WHERE JourneyID = ?`, { replacements: [status, journeyId] });
  await host.sequelize.query(`UPDATE \`${t.triggers}\` SET Enabled = ? WHERE JourneyID = ?`, { replacements: [status === 'Enabled' ? 1 : 0, journeyId] });
}

/** A live edit: new action tree, version + 1. */
export async function saveActions(host: RefHost, journeyId: number, actions: Action[]): Promise<void> {
  const t = journeyTables(host);
  await host.sequelize.query(`UPDATE \`${t.journeys}\` SET Actions = ?, Version = Version + 1 WHERE JourneyID = ?`, {
    replacements: [encodeActions(actions), journeyId],
  });
}

export async function webhookSecretOf(host: RefHost, journeyId: number): Promise<string> {
  const [row] = await host.query<{ WebhookSecret: string }>(`SELECT WebhookSecret FROM \`${journeyTables(host).journeys}\` WHERE JourneyID = ?`, [journeyId]);
  return row.WebhookSecret;
}

export interface EntryView {
  EntryID: number;
  JourneyID: number;
  ListID: number;
  SubscriberID: number;
  State: string;
  CurrentActionID: string | null;
  WakeAt: Date | null;
  StepSeq: number;
  ActiveLock: number | null;
  ChainDepth: number;
  LastError: string | null;
  ExitReason: string | null;
  Attempts: number;
}

export async function entriesOf(host: RefHost, journeyId: number): Promise<EntryView[]> {
  return host.query<EntryView>(`SELECT * FROM \`${journeyTables(host).entries}\` WHERE JourneyID = ? ORDER BY EntryID`, [journeyId]);
}

export interface LogView {
  EntryID: number;
  JourneyID: number;
  ActionID: string;
  ActionType: string;
  Status: string;
  Result: string | null;
  Detail: string | null;
}

export async function logOf(host: RefHost, entryId: number): Promise<LogView[]> {
  return host.query<LogView>(`SELECT * FROM \`${journeyTables(host).log}\` WHERE EntryID = ? ORDER BY LogID`, [entryId]);
}

export function runtimeOf(host: RefHost) {
  return {
    intake: host.app.get(TriggerIntakeService),
    scheduler: host.app.get(EntryScheduler),
    worker: host.app.get(EntryWorker),
    sweeper: host.app.get(Sweeper),
    queue: host.app.get(EntryQueue).queue,
  };
}

/** Waits until the entry queue has nothing waiting or running (delayed jobs do not count), seen twice in a row. */
export async function settle(host: RefHost, timeoutMs = 20_000): Promise<void> {
  const { queue } = runtimeOf(host);
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const counts = await queue.getJobCounts();
    if (counts.waiting + counts.active === 0) {
      if (++quiet >= 3) return;
    } else quiet = 0;
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`entry queue did not settle in ${timeoutMs} ms: ${JSON.stringify(await queue.getJobCounts())}`);
}

/** Polls until `check` returns true. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Waits until some transaction waits on a row lock (a step reached a lock a test's own transaction holds).
 * INNODB_TRX is a cache refreshed only when it was not read for 0.1 s: poll slower than that.
 */
export async function someoneWaitsOnALock(host: RefHost, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    const [row] = await host.query<{ n: number }>(`SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'`);
    if (Number(row.n) > 0) return;
  }
  throw new Error('timed out waiting for a transaction waiting on a lock');
}

/** A clock tests move by hand. */
export class MovableClock implements Clock {
  constructor(private current: Date = new Date()) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(date: Date): void {
    this.current = new Date(date.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Subscription events of the demo user for these subscribers of one list (a list import), each with its own EventID. */
export function subscriptionEvents(host: RefHost, listId: number, subscriberIds: readonly number[], tag: string, occurredAt = new Date()): TriggerEvent[] {
  return subscriberIds.map((subscriberId) => ({
    eventId: `${tag}-${subscriberId}`,
    type: 'subscription',
    userId: host.demo.userA.userId,
    listId,
    subscriberId,
    occurredAt,
  }));
}

/** How many log rows each action of a journey has, by status: `[ActionID, Status, n]`, in ActionID order. */
export async function logCounts(host: RefHost, journeyId: number): Promise<[string, string, number][]> {
  const rows = await host.query<{ ActionID: string; Status: string; n: number }>(
    `SELECT ActionID, Status, COUNT(*) AS n FROM \`${journeyTables(host).log}\` WHERE JourneyID = ? GROUP BY ActionID, Status ORDER BY ActionID, Status`,
    [journeyId],
  );
  return rows.map((r) => [r.ActionID, r.Status, Number(r.n)]);
}

/** How many subscribers of a list hold each value of a custom field: `[value, n]`. */
export async function fieldValueCounts(host: RefHost, listId: number, fieldId: number): Promise<[string | null, number][]> {
  const rows = await host.query<{ c: string | null; n: number }>(
    `SELECT CustomField${Number(fieldId)} AS c, COUNT(*) AS n FROM \`${host.tables.subscribers(listId)}\` GROUP BY c ORDER BY c`,
  );
  return rows.map((r) => [r.c, Number(r.n)]);
}
