/**
 * Demo data of the reference host, with fixed ids so tests and the demo can
 * name "the demo user's Newsletter list" as DEMO.lists.newsletter.
 * Seeding is idempotent: it does nothing when the demo user exists.
 */
import { QueryTypes, type Sequelize } from 'sequelize';
import { customFieldColumn, hostTables } from '../src/host/mysql/host-tables';
import { createListTable } from './schema';

export const DEMO = {
  userA: { userId: 1, username: 'demo', emailAddress: 'demo@example.com', firstName: 'Demo', lastName: 'User', timeZone: 'Europe/Istanbul' },
  userB: { userId: 2, username: 'other', emailAddress: 'other@example.com', firstName: 'Other', lastName: 'User', timeZone: 'America/New_York' },
  /** Lists 1–3 belong to user A, list 4 to user B. */
  lists: { newsletter: 1, customers: 2, vip: 3, leads: 4 },
  listNames: { 1: 'Newsletter', 2: 'Customers', 3: 'VIP', 4: 'Leads' } as Record<number, string>,
  /** firstName, city, age, birthday: global fields of user A; plan: field of A's Customers list; company: global field of user B. */
  fields: { firstName: 1, city: 2, age: 3, plan: 4, birthday: 5, company: 6 },
  emails: { welcome: 1, newsletter: 2, onboarding: 3, blackFriday: 4, leadsIntro: 5 },
  campaigns: { newsletter: 1, blackFriday: 2, leadsIntro: 3 },
  /** welcome: on subscription to Newsletter, immediately; onboarding: on subscription to Customers, one day later. */
  autoresponders: { welcome: 1, onboarding: 2 },
  subscribers: {
    alice: { listId: 1, subscriberId: 1, emailAddress: 'alice@example.com' },
    bob: { listId: 1, subscriberId: 2, emailAddress: 'bob@example.com' },
    carol: { listId: 1, subscriberId: 3, emailAddress: 'carol@example.com' },
    dave: { listId: 1, subscriberId: 4, emailAddress: 'dave@example.com' },
    aliceCustomer: { listId: 2, subscriberId: 1, emailAddress: 'alice@example.com' },
    erin: { listId: 2, subscriberId: 2, emailAddress: 'erin@example.com' },
    frank: { listId: 4, subscriberId: 1, emailAddress: 'frank@example.net' },
  },
  clickedUrl: 'https://example.com/offer',
} as const;

export type DemoData = typeof DEMO;

const SEED_DATE = '2026-01-15 10:00:00';

export async function seedDemo(sequelize: Sequelize, prefix: string): Promise<{ seeded: boolean }> {
  const t = hostTables(prefix);
  const [existing] = await sequelize.query(`SELECT UserID FROM \`${t.users}\` WHERE UserID = ?`, {
    type: QueryTypes.SELECT,
    replacements: [DEMO.userA.userId],
  });
  if (existing) return { seeded: false };

  const insert = async (table: string, rows: Record<string, unknown>[]) => {
    for (const row of rows) {
      const columns = Object.keys(row);
      await sequelize.query(`INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, {
        replacements: Object.values(row),
      });
    }
  };
  const { userA: a, userB: b, lists: L, fields: F, emails: E, campaigns: C, subscribers: S } = DEMO;

  await insert(t.users, [
    { UserID: a.userId, Username: a.username, EmailAddress: a.emailAddress, FirstName: a.firstName, LastName: a.lastName, TimeZone: a.timeZone },
    { UserID: b.userId, Username: b.username, EmailAddress: b.emailAddress, FirstName: b.firstName, LastName: b.lastName, TimeZone: b.timeZone },
  ]);
  await insert(t.customFields, [
    { CustomFieldID: F.firstName, RelOwnerUserID: a.userId, RelListID: 0, FieldName: 'FirstName', FieldType: 'Single line' },
    { CustomFieldID: F.city, RelOwnerUserID: a.userId, RelListID: 0, FieldName: 'City', FieldType: 'Single line' },
    { CustomFieldID: F.age, RelOwnerUserID: a.userId, RelListID: 0, FieldName: 'Age', FieldType: 'Number' },
    { CustomFieldID: F.plan, RelOwnerUserID: a.userId, RelListID: L.customers, FieldName: 'Plan', FieldType: 'Drop down', FieldOptions: 'Free,Pro' },
    { CustomFieldID: F.birthday, RelOwnerUserID: a.userId, RelListID: 0, FieldName: 'Birthday', FieldType: 'Date field' },
    { CustomFieldID: F.company, RelOwnerUserID: b.userId, RelListID: 0, FieldName: 'Company', FieldType: 'Single line' },
  ]);
  await insert(
    t.lists,
    (
      [
        [L.newsletter, a],
        [L.customers, a],
        [L.vip, a],
        [L.leads, b],
      ] as const
    ).map(([id, owner]) => ({ ListID: id, RelOwnerUserID: owner.userId, Name: DEMO.listNames[id], CreatedAt: SEED_DATE })),
  );
  for (const [id, owner] of [
    [L.newsletter, a],
    [L.customers, a],
    [L.vip, a],
    [L.leads, b],
  ] as const)
    await createListTable(sequelize, prefix, owner.userId, id);

  const subscriber = (ref: { subscriberId: number; emailAddress: string }, status: string, fields: Record<number, string>) => ({
    SubscriberID: ref.subscriberId,
    EmailAddress: ref.emailAddress,
    SubscriptionStatus: status,
    SubscriptionDate: SEED_DATE,
    SubscriptionIP: '203.0.113.10',
    OptInDate: SEED_DATE,
    UnsubscriptionDate: status === 'Unsubscribed' ? '2026-02-01 09:00:00' : null,
    ...Object.fromEntries(Object.entries(fields).map(([id, v]) => [customFieldColumn(Number(id)), v])),
  });
  await insert(t.subscribers(L.newsletter), [
    subscriber(S.alice, 'Subscribed', { [F.firstName]: 'Alice', [F.city]: 'Istanbul', [F.age]: '34', [F.birthday]: '1992-05-17' }),
    subscriber(S.bob, 'Subscribed', { [F.firstName]: 'Bob', [F.city]: 'Ankara', [F.age]: '27' }),
    subscriber(S.carol, 'Unsubscribed', { [F.firstName]: 'Carol', [F.city]: 'Izmir', [F.age]: '45' }),
    subscriber(S.dave, 'Subscribed', {}),
  ]);
  await insert(t.subscribers(L.customers), [
    subscriber(S.aliceCustomer, 'Subscribed', { [F.firstName]: 'Alice', [F.plan]: 'Pro' }),
    subscriber(S.erin, 'Subscribed', { [F.firstName]: 'Erin', [F.plan]: 'Free' }),
  ]);
  await insert(t.subscribers(L.leads), [subscriber(S.frank, 'Subscribed', { [F.company]: 'Acme' })]);

  await insert(t.emails, [
    { EmailID: E.welcome, RelOwnerUserID: a.userId, EmailName: 'Welcome email', Subject: 'Welcome to our newsletter', HTMLContent: '<p>Welcome!</p>' },
    { EmailID: E.newsletter, RelOwnerUserID: a.userId, EmailName: 'November newsletter', Subject: 'News for November', HTMLContent: '<p>News</p>' },
    { EmailID: E.onboarding, RelOwnerUserID: a.userId, EmailName: 'Customer onboarding', Subject: 'Getting started', HTMLContent: '<p>Start here</p>' },
    { EmailID: E.blackFriday, RelOwnerUserID: a.userId, EmailName: 'Black Friday offer', Subject: '40% off today', HTMLContent: '<p>Offer</p>' },
    { EmailID: E.leadsIntro, RelOwnerUserID: b.userId, EmailName: 'Leads intro', Subject: 'Hello from Other', HTMLContent: '<p>Hi</p>' },
  ]);
  await insert(t.campaigns, [
    {
      CampaignID: C.newsletter,
      RelOwnerUserID: a.userId,
      RelEmailID: E.newsletter,
      RelListID: L.newsletter,
      CampaignName: 'November newsletter',
      CampaignStatus: 'Sent',
      SendDate: '2026-11-02 09:00:00',
    },
    {
      CampaignID: C.blackFriday,
      RelOwnerUserID: a.userId,
      RelEmailID: E.blackFriday,
      RelListID: L.customers,
      CampaignName: 'Black Friday',
      CampaignStatus: 'Sent',
      SendDate: '2026-11-20 09:00:00',
    },
    {
      CampaignID: C.leadsIntro,
      RelOwnerUserID: b.userId,
      RelEmailID: E.leadsIntro,
      RelListID: L.leads,
      CampaignName: 'Leads intro',
      CampaignStatus: 'Sent',
      SendDate: '2026-11-03 09:00:00',
    },
  ]);
  await insert(t.autoresponders, [
    {
      AutoResponderID: DEMO.autoresponders.welcome,
      RelOwnerUserID: a.userId,
      RelListID: L.newsletter,
      RelEmailID: E.welcome,
      AutoResponderName: 'Welcome',
      TriggerTimeType: 'Immediately',
      TriggerTime: 0,
    },
    {
      AutoResponderID: DEMO.autoresponders.onboarding,
      RelOwnerUserID: a.userId,
      RelListID: L.customers,
      RelEmailID: E.onboarding,
      AutoResponderName: 'Onboarding',
      TriggerTimeType: 'Days later',
      TriggerTime: 1,
    },
  ]);
  const activity = (ref: { listId: number; subscriberId: number }, emailId: number, campaignId: number, date: string) => ({
    RelOwnerUserID: a.userId,
    RelListID: ref.listId,
    RelSubscriberID: ref.subscriberId,
    RelEmailID: emailId,
    RelCampaignID: campaignId,
    ActivityDate: date,
  });
  await insert(t.opens, [
    activity(S.alice, E.newsletter, C.newsletter, '2026-11-02 10:00:00'),
    activity(S.alice, E.newsletter, C.newsletter, '2026-11-03 08:30:00'),
    activity(S.bob, E.newsletter, C.newsletter, '2026-11-02 12:00:00'),
    activity(S.erin, E.blackFriday, C.blackFriday, '2026-11-20 11:00:00'),
  ]);
  await insert(t.clicks, [{ ...activity(S.alice, E.newsletter, C.newsletter, '2026-11-02 10:01:00'), LinkURL: DEMO.clickedUrl }]);
  return { seeded: true };
}
