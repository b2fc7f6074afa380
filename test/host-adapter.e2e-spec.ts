/**
 * The MySQL adapter of the host ports on the host's own schema: per-list
 * subscriber tables with CustomField<ID> columns, owner scoping everywhere.
 */
import { QueryTypes } from 'sequelize';
import { JourneysException } from '../src/common/journeys.exception';
import { MySqlAudience } from '../src/host/mysql/mysql-audience';
import { MySqlCustomFieldWriter } from '../src/host/mysql/mysql-custom-field-writer';
import { createHostSandbox, type HostSandbox } from './support/host-sandbox';

describe('MySQL host adapter', () => {
  let box: HostSandbox;
  let audience: MySqlAudience;
  let writer: MySqlCustomFieldWriter;
  const D = () => box.demo;

  beforeAll(async () => {
    box = await createHostSandbox();
    audience = new MySqlAudience(box.sequelize, box.prefix);
    writer = new MySqlCustomFieldWriter(box.sequelize, box.prefix);
  });
  afterAll(async () => {
    await box?.stop();
  });

  it('reads a subscriber of a per-list table with its list and global custom field values', async () => {
    const { userA, subscribers, fields } = D();
    const alice = await audience.getSubscriber(userA.userId, subscribers.alice);
    expect(alice).toMatchObject({
      listId: subscribers.alice.listId,
      subscriberId: subscribers.alice.subscriberId,
      emailAddress: 'alice@example.com',
      subscriptionStatus: 'Subscribed',
      bounceType: 'Not Bounced',
      subscriptionIp: '203.0.113.10',
      unsubscriptionDate: null,
    });
    expect(alice!.subscriptionDate).toEqual(new Date('2026-01-15T10:00:00Z'));
    expect(alice!.customFields).toEqual({ [fields.firstName]: 'Alice', [fields.city]: 'Istanbul', [fields.age]: '34', [fields.birthday]: '1992-05-17' });

    const customer = await audience.getSubscriber(userA.userId, subscribers.aliceCustomer);
    expect(customer!.customFields[fields.plan]).toBe('Pro');
    expect(customer!.customFields[fields.city]).toBeNull();
  });

  it('reads many subscribers of a list in one batch, leaving out missing ids', async () => {
    const { userA, lists, subscribers } = D();
    const found = await audience.getSubscribers(userA.userId, lists.newsletter, [
      subscribers.bob.subscriberId,
      999,
      subscribers.alice.subscriberId,
      subscribers.carol.subscriberId,
    ]);
    expect(found.map((s) => [s.subscriberId, s.emailAddress, s.subscriptionStatus])).toEqual([
      [1, 'alice@example.com', 'Subscribed'],
      [2, 'bob@example.com', 'Subscribed'],
      [3, 'carol@example.com', 'Unsubscribed'],
    ]);
  });

  it("does not let user B read user A's lists, subscribers, fields, emails or activity", async () => {
    const { userA, userB, lists, subscribers } = D();
    expect(await audience.getList(userB.userId, lists.newsletter)).toBeNull();
    expect((await audience.listLists(userB.userId)).map((l) => l.name)).toEqual(['Leads']);
    expect(await audience.getSubscriber(userB.userId, subscribers.alice)).toBeNull();
    expect(await audience.getSubscribers(userB.userId, lists.newsletter, [1, 2, 3])).toEqual([]);
    expect(await audience.existingSubscriberIds(userB.userId, lists.newsletter, [1, 2, 3])).toEqual([]);
    expect((await audience.existingSubscriberIds(userA.userId, lists.newsletter, [1, 2, 999])).sort()).toEqual([1, 2]);
    expect(await audience.findSubscribersByEmail(userB.userId, 'alice@example.com')).toEqual([]);
    expect(await audience.listCustomFields(userB.userId, lists.newsletter)).toEqual([expect.objectContaining({ name: 'Company', listId: 0 })]);
    expect((await audience.listEmails(userB.userId)).map((e) => e.name)).toEqual(['Leads intro']);
    expect(await audience.getActivity(userB.userId, subscribers.alice, 'any')).toEqual({ opens: 0, clicks: 0 });
    // and the owner still sees them
    expect(await audience.getSubscriber(userA.userId, subscribers.alice)).not.toBeNull();
    expect(await audience.getSubscriber(userA.userId, subscribers.frank)).toBeNull();
  });

  it('lists the fields usable on a list: its own plus the global ones of the owner', async () => {
    const { userA, lists } = D();
    expect((await audience.listCustomFields(userA.userId, lists.newsletter)).map((f) => [f.name, f.fieldType, f.listId])).toEqual([
      ['FirstName', 'Single line', 0],
      ['City', 'Single line', 0],
      ['Age', 'Number', 0],
      ['Birthday', 'Date field', 0],
    ]);
    expect((await audience.listCustomFields(userA.userId, lists.customers)).map((f) => f.name)).toContain('Plan');
    expect((await audience.listCustomFields(userA.userId)).map((f) => f.name)).toEqual(['FirstName', 'City', 'Age', 'Plan', 'Birthday']);
  });

  it("lists the user's emails with the campaign or autoresponder that uses each", async () => {
    const { userA, emails, campaigns, autoresponders } = D();
    const found = await audience.listEmails(userA.userId);
    expect(found.find((e) => e.emailId === emails.welcome)?.usedBy).toEqual({ kind: 'autoresponder', id: autoresponders.welcome, name: 'Welcome' });
    expect(found.find((e) => e.emailId === emails.newsletter)?.usedBy).toEqual({ kind: 'campaign', id: campaigns.newsletter, name: 'November newsletter' });
    expect(found).toHaveLength(4);
  });

  it('finds a subscriber by email address across the lists of the user', async () => {
    const found = await audience.findSubscribersByEmail(D().userA.userId, 'alice@example.com');
    expect(found.map((s) => [s.listId, s.subscriberId])).toEqual([
      [D().lists.newsletter, 1],
      [D().lists.customers, 1],
    ]);
  });

  it("finds the subscribers sharing an address with each of a batch, on every list of the user and never another user's", async () => {
    const { userA, userB, lists, subscribers } = D();
    const add = async (listId: number, emailAddress: string) => {
      await box.sequelize.query(`INSERT INTO \`${box.tables.subscribers(listId)}\` (EmailAddress, SubscriptionStatus) VALUES (?, 'Subscribed')`, {
        replacements: [emailAddress],
      });
      const [row] = await box.sequelize.query<{ SubscriberID: number }>(
        `SELECT SubscriberID FROM \`${box.tables.subscribers(listId)}\` WHERE EmailAddress = ?`,
        { type: QueryTypes.SELECT, replacements: [emailAddress] },
      );
      return Number(row.SubscriberID);
    };
    const erinOnVip = await add(lists.vip, 'Erin@Example.com'); // the address in another case: the same person for the host's collation
    const erinOnLeads = await add(lists.leads, 'erin@example.com'); // user B's list
    try {
      const found = await audience.findSameEmailSubscribers(userA.userId, [
        subscribers.erin,
        subscribers.alice,
        { listId: lists.leads, subscriberId: erinOnLeads }, // not user A's: ignored
      ]);
      expect(found.map((s) => [s.listId, s.subscriberId, s.emailAddress.toLowerCase()]).sort()).toEqual(
        [
          [lists.newsletter, subscribers.alice.subscriberId, 'alice@example.com'],
          [lists.customers, subscribers.aliceCustomer.subscriberId, 'alice@example.com'],
          [lists.customers, subscribers.erin.subscriberId, 'erin@example.com'],
          [lists.vip, erinOnVip, 'erin@example.com'],
        ].sort(),
      );
      expect(await audience.findSameEmailSubscribers(userB.userId, [subscribers.alice, subscribers.erin])).toEqual([]);
      expect(await audience.findSameEmailSubscribers(userA.userId, [])).toEqual([]);
    } finally {
      await box.sequelize.query(`DELETE FROM \`${box.tables.subscribers(lists.vip)}\` WHERE SubscriberID = ?`, { replacements: [erinOnVip] });
      await box.sequelize.query(`DELETE FROM \`${box.tables.subscribers(lists.leads)}\` WHERE SubscriberID = ?`, { replacements: [erinOnLeads] });
    }
  });

  it('counts opens and clicks of a subscriber, for any email or given emails', async () => {
    const { userA, subscribers, emails } = D();
    expect(await audience.getActivity(userA.userId, subscribers.alice, 'any')).toEqual({ opens: 2, clicks: 1 });
    expect(await audience.getActivity(userA.userId, subscribers.alice, [emails.blackFriday])).toEqual({ opens: 0, clicks: 0 });
    expect(await audience.getActivity(userA.userId, subscribers.bob, [emails.newsletter, emails.welcome])).toEqual({ opens: 1, clicks: 0 });
    expect(await audience.getActivity(userA.userId, subscribers.bob, [])).toEqual({ opens: 0, clicks: 0 });
  });

  it("reads the user's time zone", async () => {
    expect(await audience.getUser(D().userA.userId)).toMatchObject({ emailAddress: 'demo@example.com', timeZone: 'Europe/Istanbul' });
    expect(await audience.getUser(999)).toBeNull();
  });

  it('writes a custom field value into the per-list table, inside the given transaction', async () => {
    const { userA, subscribers, fields } = D();
    await writer.setCustomField(userA.userId, subscribers.bob, fields.city, 'Bursa');
    expect((await audience.getSubscriber(userA.userId, subscribers.bob))!.customFields[fields.city]).toBe('Bursa');

    const transaction = await box.sequelize.transaction();
    await writer.setCustomField(userA.userId, subscribers.bob, fields.city, 'Rolled back', transaction);
    await transaction.rollback();
    expect((await audience.getSubscriber(userA.userId, subscribers.bob))!.customFields[fields.city]).toBe('Bursa');

    await writer.setCustomField(userA.userId, subscribers.bob, fields.city, null);
    const [row] = await box.sequelize.query<Record<string, unknown>>(
      `SELECT CustomField${fields.city} AS v FROM \`${box.tables.subscribers(subscribers.bob.listId)}\` WHERE SubscriberID = ?`,
      {
        type: QueryTypes.SELECT,
        replacements: [subscribers.bob.subscriberId],
      },
    );
    expect(row.v).toBeNull();
  });

  it.each([
    ['JSON_TABLE', true],
    ['a derived table of UNION ALL (servers without JSON_TABLE)', false],
  ])('writes many values of one list in one statement per field through %s', async (_label, jsonTable) => {
    const { userA, subscribers, fields } = D();
    const batch = new MySqlCustomFieldWriter(box.sequelize, box.prefix);
    (batch as unknown as { jsonTable: Promise<boolean> }).jsonTable = Promise.resolve(jsonTable);
    const { listId } = subscribers.alice;
    const tricky = `it's "quoted" \\ back\\slash, 😀 é ${jsonTable}`;
    const transaction = await box.sequelize.transaction();
    await batch.setCustomFields(
      userA.userId,
      listId,
      [
        { subscriberId: subscribers.alice.subscriberId, fieldId: fields.city, value: 'first' },
        { subscriberId: subscribers.bob.subscriberId, fieldId: fields.city, value: null },
        { subscriberId: 999_999, fieldId: fields.city, value: 'nobody' },
        { subscriberId: subscribers.alice.subscriberId, fieldId: fields.firstName, value: '' },
        { subscriberId: subscribers.alice.subscriberId, fieldId: fields.city, value: tricky },
      ],
      transaction,
    );
    await transaction.commit();
    const rows = await box.sequelize.query<{ SubscriberID: number; c: string | null; f: string | null }>(
      `SELECT SubscriberID, CustomField${fields.city} AS c, CustomField${fields.firstName} AS f FROM \`${box.tables.subscribers(listId)}\` WHERE SubscriberID IN (?) ORDER BY SubscriberID`,
      { type: QueryTypes.SELECT, replacements: [[subscribers.alice.subscriberId, subscribers.bob.subscriberId]] },
    );
    const byId = new Map(rows.map((r) => [Number(r.SubscriberID), r]));
    expect(byId.get(subscribers.alice.subscriberId)).toMatchObject({ c: tricky, f: '' }); // the last write of a field wins
    expect(byId.get(subscribers.bob.subscriberId)!.c).toBeNull();
    await expect(
      batch.setCustomFields(userA.userId, listId, [{ subscriberId: subscribers.alice.subscriberId, fieldId: fields.plan, value: 'x' }]),
    ).rejects.toThrow(/not found/);
    await batch.setCustomFields(userA.userId, listId, [
      { subscriberId: subscribers.alice.subscriberId, fieldId: fields.city, value: 'Istanbul' },
      { subscriberId: subscribers.alice.subscriberId, fieldId: fields.firstName, value: 'Alice' },
    ]);
  });

  it('finds out once whether the server has JSON_TABLE', async () => {
    const probe = new MySqlCustomFieldWriter(box.sequelize, box.prefix) as unknown as { hasJsonTable(): Promise<boolean> };
    const [{ v }] = await box.sequelize.query<{ v: string }>('SELECT VERSION() AS v', { type: QueryTypes.SELECT });
    const m = /^(\d+)\.(\d+)/.exec(v)!;
    const [major, minor] = [Number(m[1]), Number(m[2])];
    const expected = /mariadb/i.test(v) ? major > 10 || (major === 10 && minor >= 6) : major >= 8;
    expect(await probe.hasJsonTable()).toBe(expected);
  });

  it("refuses to write another user's subscriber or a field that is not the list's", async () => {
    const { userA, userB, subscribers, fields } = D();
    await expect(writer.setCustomField(userB.userId, subscribers.alice, fields.city, 'Hacked')).rejects.toBeInstanceOf(JourneysException);
    await expect(writer.setCustomField(userA.userId, subscribers.alice, fields.plan, 'Pro')).rejects.toThrow(/Custom field 4 of list 1 not found/);
    await expect(writer.setCustomField(userA.userId, subscribers.alice, fields.company, 'Acme')).rejects.toThrow(/not found/);
    await expect(writer.setCustomField(userA.userId, { listId: 1, subscriberId: 999 }, fields.city, 'x')).rejects.toThrow(/Subscriber 999 of list 1 not found/);
    expect((await audience.getSubscriber(userA.userId, subscribers.alice))!.customFields[fields.city]).toBe('Istanbul');
  });

  it('rejects identifiers that are not positive integers before they reach a table name', async () => {
    const { userA } = D();
    await expect(audience.getSubscribers(userA.userId, '1`; DROP TABLE x; --' as unknown as number, [1])).rejects.toThrow(/ListID must be a positive integer/);
    await expect(audience.getSubscriber(userA.userId, { listId: 1.5, subscriberId: 1 })).rejects.toThrow(/ListID/);
    await expect(writer.setCustomField(userA.userId, { listId: 1, subscriberId: 1 }, -3, 'x')).rejects.toThrow(/CustomFieldID/);
    expect(() => new MySqlAudience(box.sequelize, 'bad`prefix')).toThrow(/prefix/);
  });

  it('answers nothing for a list whose table does not exist', async () => {
    await box.sequelize.query(`INSERT INTO \`${box.tables.lists}\` (ListID, RelOwnerUserID, Name, CreatedAt) VALUES (77, 1, 'No table', NOW())`);
    expect(await audience.getSubscribers(D().userA.userId, 77, [1])).toEqual([]);
  });
});
