/**
 * AudiencePort on the host's own MySQL schema. Every query is scoped to the
 * owner: a list is only read after checking (in the same statement) that its
 * RelOwnerUserID is the caller's UserID, so user B never reads user A's data.
 */
import { QueryTypes, type Sequelize } from 'sequelize';
import type {
  ActivityCounts,
  AudiencePort,
  HostCustomField,
  HostEmail,
  HostList,
  HostSubscriber,
  HostUser,
  SubscriberAddress,
  SubscriberRef,
  SubscriptionStatus,
} from '../host.ports';
import { assertId, hostTables, type HostTables } from './host-tables';

type Row = Record<string, unknown>;

/** Addresses per statement of a lookup across lists. */
const ADDRESSES_PER_LOOKUP = 1000;

function isMissingTable(error: unknown): boolean {
  const code =
    (error as { original?: { code?: string }; parent?: { code?: string } })?.original?.code ?? (error as { parent?: { code?: string } })?.parent?.code;
  return code === 'ER_NO_SUCH_TABLE';
}

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

export class MySqlAudience implements AudiencePort {
  readonly tables: HostTables;

  constructor(
    private readonly sequelize: Sequelize,
    prefix: string,
  ) {
    this.tables = hostTables(prefix);
  }

  private select<T extends object = Row>(sql: string, replacements: unknown[], transaction?: unknown): Promise<T[]> {
    return this.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements, transaction: transaction as never });
  }

  async getUser(userId: number): Promise<HostUser | null> {
    const [row] = await this.select(`SELECT UserID, EmailAddress, FirstName, LastName, TimeZone FROM \`${this.tables.users}\` WHERE UserID = ?`, [
      assertId(userId, 'UserID'),
    ]);
    return row
      ? {
          userId: Number(row.UserID),
          emailAddress: String(row.EmailAddress),
          firstName: String(row.FirstName ?? ''),
          lastName: String(row.LastName ?? ''),
          timeZone: String(row.TimeZone || 'UTC'),
        }
      : null;
  }

  async listLists(userId: number): Promise<HostList[]> {
    const rows = await this.select(`SELECT ListID, Name, RelOwnerUserID FROM \`${this.tables.lists}\` WHERE RelOwnerUserID = ? ORDER BY Name, ListID`, [
      assertId(userId, 'UserID'),
    ]);
    return rows.map((r) => ({ listId: Number(r.ListID), name: String(r.Name), ownerUserId: Number(r.RelOwnerUserID) }));
  }

  async getList(userId: number, listId: number): Promise<HostList | null> {
    const rows = await this.select(`SELECT ListID, Name, RelOwnerUserID FROM \`${this.tables.lists}\` WHERE ListID = ? AND RelOwnerUserID = ?`, [
      assertId(listId, 'ListID'),
      assertId(userId, 'UserID'),
    ]);
    return rows[0] ? { listId: Number(rows[0].ListID), name: String(rows[0].Name), ownerUserId: Number(rows[0].RelOwnerUserID) } : null;
  }

  async getSubscriber(userId: number, ref: SubscriberRef): Promise<HostSubscriber | null> {
    const [subscriber] = await this.getSubscribers(userId, ref.listId, [ref.subscriberId]);
    return subscriber ?? null;
  }

  /** Two queries whatever the batch size: the list's field ids, then the subscribers joined with their owned list. */
  async getSubscribers(userId: number, listId: number, subscriberIds: number[], transaction?: unknown): Promise<HostSubscriber[]> {
    assertId(userId, 'UserID');
    assertId(listId, 'ListID');
    const ids = [...new Set(subscriberIds)].map((id) => assertId(id, 'SubscriberID'));
    if (ids.length === 0) return [];
    const fieldIds = (await this.listCustomFields(userId, listId, transaction)).map((f) => f.customFieldId);
    let rows: Row[];
    try {
      rows = await this.select(
        `SELECT s.* FROM \`${this.tables.subscribers(listId)}\` s
           JOIN \`${this.tables.lists}\` l ON l.ListID = ? AND l.RelOwnerUserID = ?
          WHERE s.SubscriberID IN (?)
          ORDER BY s.SubscriberID`,
        [listId, userId, ids],
        transaction,
      );
    } catch (error) {
      if (isMissingTable(error)) return [];
      throw error;
    }
    return rows.map((row) => this.toSubscriber(listId, row, fieldIds));
  }

  /** An index-only read: the ids among these that are subscribers of the user's list. */
  async existingSubscriberIds(userId: number, listId: number, subscriberIds: number[]): Promise<number[]> {
    assertId(userId, 'UserID');
    assertId(listId, 'ListID');
    const ids = [...new Set(subscriberIds)].map((id) => assertId(id, 'SubscriberID'));
    if (ids.length === 0) return [];
    try {
      const rows = await this.select(
        `SELECT s.SubscriberID FROM \`${this.tables.subscribers(listId)}\` s
           JOIN \`${this.tables.lists}\` l ON l.ListID = ? AND l.RelOwnerUserID = ?
          WHERE s.SubscriberID IN (?)`,
        [listId, userId, ids],
      );
      return rows.map((row) => Number(row.SubscriberID));
    } catch (error) {
      if (isMissingTable(error)) return [];
      throw error;
    }
  }

  async findSubscribersByEmail(userId: number, emailAddress: string): Promise<HostSubscriber[]> {
    const hits = await this.withAddresses(await this.ownedListsWithTables(userId), [emailAddress]);
    const byList = new Map<number, number[]>();
    for (const hit of hits) byList.set(hit.listId, [...(byList.get(hit.listId) ?? []), hit.subscriberId]);
    const found = await Promise.all([...byList].map(([listId, ids]) => this.getSubscribers(userId, listId, ids)));
    return found.flat().sort((a, b) => a.listId - b.listId || a.subscriberId - b.subscriberId);
  }

  /** Four statements for up to 1,000 addresses: the owner's lists and their tables, the addresses of `refs`, the subscribers with them on every list. */
  async findSameEmailSubscribers(userId: number, refs: SubscriberRef[]): Promise<SubscriberAddress[]> {
    const lists = await this.ownedListsWithTables(userId);
    const owned = new Set(lists.map((l) => l.listId));
    const idsByList = new Map<number, Set<number>>();
    for (const ref of refs) {
      if (!owned.has(assertId(ref.listId, 'ListID'))) continue; // another owner's list (or one without its table) is not looked at
      idsByList.set(ref.listId, (idsByList.get(ref.listId) ?? new Set()).add(assertId(ref.subscriberId, 'SubscriberID')));
    }
    if (idsByList.size === 0) return [];
    const addresses = await this.select(
      [...idsByList.keys()].map((listId) => `SELECT EmailAddress FROM \`${this.tables.subscribers(listId)}\` WHERE SubscriberID IN (?)`).join(' UNION '),
      [...idsByList.values()].map((ids) => [...ids]),
    );
    return this.withAddresses(
      lists,
      addresses.map((row) => String(row.EmailAddress)),
    );
  }

  /** The user's lists whose subscriber table exists (a list being created or dropped must not break a lookup across lists). */
  private async ownedListsWithTables(userId: number): Promise<HostList[]> {
    const owned = await this.listLists(userId);
    if (owned.length === 0) return [];
    const existing = new Set(
      (
        await this.select(`SELECT TABLE_NAME AS Name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`, [
          owned.map((l) => this.tables.subscribers(l.listId)),
        ])
      ).map((r) => String(r.Name)),
    );
    return owned.filter((l) => existing.has(this.tables.subscribers(l.listId)));
  }

  /** The subscribers of these lists with one of these addresses: one UNION ALL per 1,000 addresses (uq_email answers each part). */
  private async withAddresses(lists: readonly HostList[], emailAddresses: readonly string[]): Promise<SubscriberAddress[]> {
    const out: SubscriberAddress[] = [];
    if (lists.length === 0) return out;
    const unique = [...new Set(emailAddresses)];
    for (let i = 0; i < unique.length; i += ADDRESSES_PER_LOOKUP) {
      const part = unique.slice(i, i + ADDRESSES_PER_LOOKUP);
      const union = lists
        .map((l) => `SELECT ${l.listId} AS ListID, SubscriberID, EmailAddress FROM \`${this.tables.subscribers(l.listId)}\` WHERE EmailAddress IN (?)`)
        .join(' UNION ALL ');
      const rows = await this.select(
        union,
        lists.map(() => part),
      );
      for (const row of rows) out.push({ listId: Number(row.ListID), subscriberId: Number(row.SubscriberID), emailAddress: String(row.EmailAddress) });
    }
    return out;
  }

  async listCustomFields(userId: number, listId?: number, transaction?: unknown): Promise<HostCustomField[]> {
    assertId(userId, 'UserID');
    const rows =
      listId === undefined
        ? await this.select(`SELECT * FROM \`${this.tables.customFields}\` WHERE RelOwnerUserID = ? ORDER BY CustomFieldID`, [userId], transaction)
        : await this.select(
            `SELECT f.* FROM \`${this.tables.customFields}\` f
              WHERE f.RelOwnerUserID = ?
                AND (f.RelListID = 0 OR f.RelListID = (SELECT l.ListID FROM \`${this.tables.lists}\` l WHERE l.ListID = ? AND l.RelOwnerUserID = ?))
              ORDER BY f.CustomFieldID`,
            [userId, assertId(listId, 'ListID'), userId],
            transaction,
          );
    return rows.map((r) => ({
      customFieldId: Number(r.CustomFieldID),
      ownerUserId: Number(r.RelOwnerUserID),
      listId: Number(r.RelListID),
      name: String(r.FieldName),
      fieldType: String(r.FieldType),
    }));
  }

  async listEmails(userId: number): Promise<HostEmail[]> {
    const rows = await this.select(
      `SELECT e.EmailID, e.RelOwnerUserID, e.EmailName, e.Subject,
              (SELECT c.CampaignID FROM \`${this.tables.campaigns}\` c WHERE c.RelEmailID = e.EmailID AND c.RelOwnerUserID = e.RelOwnerUserID ORDER BY c.CampaignID LIMIT 1) AS CampaignID,
              (SELECT c.CampaignName FROM \`${this.tables.campaigns}\` c WHERE c.RelEmailID = e.EmailID AND c.RelOwnerUserID = e.RelOwnerUserID ORDER BY c.CampaignID LIMIT 1) AS CampaignName,
              (SELECT a.AutoResponderID FROM \`${this.tables.autoresponders}\` a WHERE a.RelEmailID = e.EmailID AND a.RelOwnerUserID = e.RelOwnerUserID ORDER BY a.AutoResponderID LIMIT 1) AS AutoResponderID,
              (SELECT a.AutoResponderName FROM \`${this.tables.autoresponders}\` a WHERE a.RelEmailID = e.EmailID AND a.RelOwnerUserID = e.RelOwnerUserID ORDER BY a.AutoResponderID LIMIT 1) AS AutoResponderName
         FROM \`${this.tables.emails}\` e
        WHERE e.RelOwnerUserID = ?
        ORDER BY e.EmailID`,
      [assertId(userId, 'UserID')],
    );
    return rows.map((r) => ({
      emailId: Number(r.EmailID),
      ownerUserId: Number(r.RelOwnerUserID),
      name: String(r.EmailName),
      subject: String(r.Subject ?? ''),
      usedBy:
        r.CampaignID != null
          ? { kind: 'campaign' as const, id: Number(r.CampaignID), name: String(r.CampaignName) }
          : r.AutoResponderID != null
            ? { kind: 'autoresponder' as const, id: Number(r.AutoResponderID), name: String(r.AutoResponderName) }
            : null,
    }));
  }

  async getActivity(userId: number, ref: SubscriberRef, emailIds: number[] | 'any'): Promise<ActivityCounts> {
    assertId(userId, 'UserID');
    assertId(ref.listId, 'ListID');
    assertId(ref.subscriberId, 'SubscriberID');
    if (emailIds !== 'any' && emailIds.length === 0) return { opens: 0, clicks: 0 };
    const filter = emailIds === 'any' ? '' : ' AND RelEmailID IN (?)';
    const params =
      emailIds === 'any' ? [userId, ref.listId, ref.subscriberId] : [userId, ref.listId, ref.subscriberId, emailIds.map((id) => assertId(id, 'EmailID'))];
    const where = `WHERE RelOwnerUserID = ? AND RelListID = ? AND RelSubscriberID = ?${filter}`;
    const [row] = await this.select(
      `SELECT (SELECT COUNT(*) FROM \`${this.tables.opens}\` ${where}) AS Opens, (SELECT COUNT(*) FROM \`${this.tables.clicks}\` ${where}) AS Clicks`,
      [...params, ...params],
    );
    return { opens: Number(row?.Opens ?? 0), clicks: Number(row?.Clicks ?? 0) };
  }

  private toSubscriber(listId: number, row: Row, fieldIds: number[]): HostSubscriber {
    const customFields: Record<number, string | null> = {};
    for (const id of fieldIds) {
      const value = row[`CustomField${id}`];
      customFields[id] = value === undefined || value === null ? null : String(value);
    }
    return {
      listId,
      subscriberId: Number(row.SubscriberID),
      emailAddress: String(row.EmailAddress),
      bounceType: String(row.BounceType ?? 'Not Bounced'),
      subscriptionStatus: String(row.SubscriptionStatus) as SubscriptionStatus,
      subscriptionDate: toDate(row.SubscriptionDate),
      subscriptionIp: String(row.SubscriptionIP ?? ''),
      unsubscriptionDate: toDate(row.UnsubscriptionDate),
      optInDate: toDate(row.OptInDate),
      customFields,
    };
  }
}
