/**
 * The reference host with the plug-in loaded through plugin.json: its
 * subscription API, tracking URLs, login and admin layout, and the hooks it fires.
 */
import request from 'supertest';
import type {
  ConversionHookPayload,
  EmailOpenedHookPayload,
  LinkClickedHookPayload,
  SubscribedHookPayload,
  UnsubscribedHookPayload,
} from '../src/host/hook-payloads';
import { referenceHostTables } from '../reference-host/schema';
import { startReferenceHost, type RefHost } from './support/reference-host';

describe('reference host', () => {
  let host: RefHost;
  const fixedNow = new Date('2026-11-27T08:30:15.250Z');

  beforeAll(async () => {
    host = await startReferenceHost({ clock: { now: () => fixedNow }, listen: true });
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('loading the plug-in through plugin.json', () => {
    it("registers the manifest's hook handlers on the host bus", () => {
      for (const hook of ['Subscriber.Subscribed', 'Subscriber.Unsubscribed', 'Email.Opened', 'Link.Clicked', 'Conversion.Postback']) {
        expect({ hook, listeners: host.hooks.listenerCount(hook) }).toEqual({ hook, listeners: 1 });
      }
      expect(host.plugin.accepting).toBe(true);
    });

    it("ran the plug-in's migrations on enable", async () => {
      const rows = await host.query<{ name: string }>(`SELECT name FROM \`${host.prefix}journeys_migrations\` ORDER BY name`);
      expect(rows.length).toBeGreaterThanOrEqual(3);
    });
  });

  describe('subscribe API', () => {
    it('adds the subscriber, records the autoresponders of the list and fires Subscriber.Subscribed with the right payload', async () => {
      const { lists, fields, userA, autoresponders, emails } = host.demo;
      const seen = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const res = await request(host.server)
        .post('/api/subscribers/subscribe')
        .send({ ListID: lists.newsletter, EmailAddress: 'Newcomer@Example.com', CustomFields: { [fields.firstName]: 'Nia', [fields.city]: 'Bursa' } })
        .expect(200);
      expect(res.body).toEqual({ Success: true, SubscriberID: 5, AlreadySubscribed: false });

      const row = await host.subscriberRow({ listId: lists.newsletter, subscriberId: 5 });
      expect(row).toMatchObject({
        EmailAddress: 'newcomer@example.com',
        SubscriptionStatus: 'Subscribed',
        [`CustomField${fields.firstName}`]: 'Nia',
        [`CustomField${fields.city}`]: 'Bursa',
      });

      const [event] = await host.query<{ SubscriptionEventID: number }>(
        `SELECT SubscriptionEventID FROM \`${referenceHostTables(host.prefix).subscriptionEvents}\` WHERE RelListID = ? AND RelSubscriberID = 5 AND EventType = 'Subscribed'`,
        [lists.newsletter],
      );
      expect(seen).toEqual([
        {
          EventID: `subscribed-${event.SubscriptionEventID}`,
          UserID: userA.userId,
          ListID: lists.newsletter,
          SubscriberID: 5,
          EmailAddress: 'newcomer@example.com',
          OccurredAt: '2026-11-27T08:30:15.250Z',
        },
      ]);
      const log = await host.query(
        `SELECT RelAutoResponderID, RelEmailID, RelOwnerUserID, EmailAddress FROM \`${host.tables.autoresponderLog}\` WHERE RelListID = ? AND RelSubscriberID = 5`,
        [lists.newsletter],
      );
      expect(log).toEqual([
        { RelAutoResponderID: autoresponders.welcome, RelEmailID: emails.welcome, RelOwnerUserID: userA.userId, EmailAddress: 'newcomer@example.com' },
      ]);
    });

    it("schedules a delayed autoresponder at its delay (Customers' onboarding one day later)", async () => {
      const res = await request(host.server)
        .post('/api/subscribers/subscribe')
        .send({ ListID: host.demo.lists.customers, EmailAddress: 'buyer@example.com' })
        .expect(200);
      const [log] = await host.query<{ ScheduledFor: Date }>(
        `SELECT ScheduledFor FROM \`${host.tables.autoresponderLog}\` WHERE RelListID = ? AND RelSubscriberID = ?`,
        [host.demo.lists.customers, res.body.SubscriberID],
      );
      expect(new Date(log.ScheduledFor).toISOString()).toBe(new Date(fixedNow.getTime() + 86400_000).toISOString());
    });

    it('answers AlreadySubscribed without firing the hook or an autoresponder again', async () => {
      const seen = host.captureHook('Subscriber.Subscribed');
      const res = await request(host.server)
        .post('/api/subscribers/subscribe')
        .send({ ListID: host.demo.lists.newsletter, EmailAddress: 'alice@example.com' })
        .expect(200);
      expect(res.body).toEqual({ Success: true, SubscriberID: 1, AlreadySubscribed: true });
      expect(seen).toEqual([]);
      expect(await host.query(`SELECT LogID FROM \`${host.tables.autoresponderLog}\` WHERE RelListID = 1 AND RelSubscriberID = 1`)).toEqual([]);
    });

    it('resubscribes an unsubscribed address, firing the hook again', async () => {
      const { carol } = host.demo.subscribers;
      const seen = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const res = await request(host.server).post('/api/subscribers/subscribe').send({ ListID: carol.listId, EmailAddress: carol.emailAddress }).expect(200);
      expect(res.body).toEqual({ Success: true, SubscriberID: carol.subscriberId, AlreadySubscribed: false });
      expect(seen.map((p) => p.SubscriberID)).toEqual([carol.subscriberId]);
      expect(await host.subscriberRow(carol)).toMatchObject({ SubscriptionStatus: 'Subscribed', UnsubscriptionDate: null });
    });

    it.each<[string, object, number, RegExp]>([
      ['an unknown list', { ListID: 999, EmailAddress: 'x@example.com' }, 404, /List 999 not found/],
      ['a bad email address', { ListID: 1, EmailAddress: 'not-an-email' }, 400, /EmailAddress/],
      ['a field of another list', { ListID: 1, EmailAddress: 'y@example.com', CustomFields: { 4: 'Pro' } }, 400, /CustomFields\.4/],
      ['a ListID that is not a number', { ListID: '1 OR 1=1', EmailAddress: 'z@example.com' }, 400, /ListID/],
    ])('refuses %s in the host error shape', async (_label, body, status, message) => {
      const res = await request(host.server).post('/api/subscribers/subscribe').send(body).expect(status);
      expect(res.body.Errors).toHaveLength(1);
      expect(res.body.Errors[0].Message).toMatch(message);
    });
  });

  describe('unsubscribe API', () => {
    it('marks the subscriber unsubscribed and fires Subscriber.Unsubscribed once', async () => {
      const { bob } = host.demo.subscribers;
      const seen = host.captureHook<UnsubscribedHookPayload>('Subscriber.Unsubscribed');
      const res = await request(host.server).post('/api/subscribers/unsubscribe').send({ ListID: bob.listId, EmailAddress: bob.emailAddress }).expect(200);
      expect(res.body).toEqual({ Success: true, SubscriberID: bob.subscriberId, WasSubscribed: true });
      expect(await host.subscriberRow(bob)).toMatchObject({ SubscriptionStatus: 'Unsubscribed', UnsubscriptionDate: new Date('2026-11-27T08:30:15Z') });
      const [event] = await host.query<{ SubscriptionEventID: number }>(
        `SELECT SubscriptionEventID FROM \`${referenceHostTables(host.prefix).subscriptionEvents}\` WHERE RelListID = ? AND RelSubscriberID = ? AND EventType = 'Unsubscribed'`,
        [bob.listId, bob.subscriberId],
      );
      expect(seen).toEqual([
        {
          EventID: `unsubscribed-${event.SubscriptionEventID}`,
          UserID: host.demo.userA.userId,
          ListID: bob.listId,
          SubscriberID: bob.subscriberId,
          EmailAddress: bob.emailAddress,
          OccurredAt: '2026-11-27T08:30:15.250Z',
        },
      ]);
      const again = await request(host.server).post('/api/subscribers/unsubscribe').send({ ListID: bob.listId, SubscriberID: bob.subscriberId }).expect(200);
      expect(again.body.WasSubscribed).toBe(false);
      expect(seen).toHaveLength(1);
    });
  });

  describe('subscription commands port (the path a journey action takes)', () => {
    it('goes through the same host path, passing Causation into the hook payload', async () => {
      const { userA, lists } = host.demo;
      const seen = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const result = await host.ports.subscriptions.subscribe(
        userA.userId,
        lists.vip,
        { emailAddress: 'alice@example.com' },
        { chainId: 'evt-root', depth: 1 },
      );
      expect(result).toEqual({ subscriberId: 1, alreadySubscribed: false });
      expect(seen[0]).toMatchObject({ ListID: lists.vip, SubscriberID: 1, Causation: { chainId: 'evt-root', depth: 1 } });
    });

    it("refuses another user's list", async () => {
      await expect(host.ports.subscriptions.subscribe(host.demo.userB.userId, host.demo.lists.vip, { emailAddress: 'b@example.com' })).rejects.toThrow(
        /List 3 not found/,
      );
      await expect(host.ports.subscriptions.unsubscribe(host.demo.userB.userId, host.demo.subscribers.alice)).rejects.toThrow(/not found/);
    });

    it('sets a custom field through the MySQL writer', async () => {
      const { userA, subscribers, fields } = host.demo;
      await host.ports.subscriptions.setCustomField(userA.userId, subscribers.dave, fields.city, 'Antalya');
      expect((await host.subscriberRow(subscribers.dave))![`CustomField${fields.city}`]).toBe('Antalya');
    });
  });

  describe('tracking URLs', () => {
    const { alice } = { alice: { listId: 1, subscriberId: 1 } };

    it('the open pixel records the open and fires Email.Opened with the campaign of the email', async () => {
      const seen = host.captureHook<EmailOpenedHookPayload>('Email.Opened');
      const res = await request(host.server).get(`/track/open/${alice.listId}/${alice.subscriberId}/${host.demo.emails.newsletter}`).expect(200);
      expect(res.headers['content-type']).toBe('image/gif');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        UserID: 1,
        ListID: 1,
        SubscriberID: 1,
        EmailAddress: 'alice@example.com',
        EmailID: host.demo.emails.newsletter,
        CampaignID: host.demo.campaigns.newsletter,
        AutoResponderID: null,
      });
      expect(seen[0].EventID).toMatch(/^opened-\d+$/);
      expect(await host.ports.audience.getActivity(1, alice, [host.demo.emails.newsletter])).toEqual({ opens: 3, clicks: 1 });
    });

    it('the click URL records the click, fires Link.Clicked and redirects to the link', async () => {
      const seen = host.captureHook<LinkClickedHookPayload>('Link.Clicked');
      const url = 'https://shop.example.com/sale?utm=nl';
      const res = await request(host.server).get(`/track/click/1/1/${host.demo.emails.welcome}`).query({ URL: url }).expect(302);
      expect(res.headers.location).toBe(url);
      expect(seen).toEqual([
        expect.objectContaining({
          ListID: 1,
          SubscriberID: 1,
          EmailID: host.demo.emails.welcome,
          AutoResponderID: host.demo.autoresponders.welcome,
          CampaignID: null,
          URL: url,
        }),
      ]);
      const rows = await host.query(`SELECT LinkURL FROM \`${host.tables.clicks}\` WHERE RelEmailID = ?`, [host.demo.emails.welcome]);
      expect(rows).toEqual([{ LinkURL: url }]);
    });

    it('refuses a click URL that is not http(s), recording nothing', async () => {
      const seen = host.captureHook('Link.Clicked');
      await request(host.server).get('/track/click/1/1/2').query({ URL: 'javascript:alert(1)' }).expect(400);
      expect(seen).toEqual([]);
    });

    it("refuses an email of another user on the list's subscriber", async () => {
      await request(host.server).get(`/track/open/1/1/${host.demo.emails.leadsIntro}`).expect(404);
    });

    it('the s2s postback records the conversion, fires Conversion.Postback, and a repeated TransactionID fires the same EventID without a new row', async () => {
      const seen = host.captureHook<ConversionHookPayload>('Conversion.Postback');
      const query = { ListID: 2, SubscriberID: 2, EmailID: host.demo.emails.blackFriday, Channel: 'shop', Value: '59.90', TransactionID: 'T-1001' };
      const first = await request(host.server).get('/track/postback').query(query).expect(200);
      expect(first.body).toMatchObject({ Success: true, Repeated: false });
      const second = await request(host.server).post('/track/postback').send(query).expect(200);
      expect(second.body).toMatchObject({ Success: true, ConversionID: first.body.ConversionID, Repeated: true });
      expect(seen).toHaveLength(2);
      expect(seen[0]).toMatchObject({
        EventID: `conversion-${first.body.ConversionID}`,
        UserID: 1,
        ListID: 2,
        SubscriberID: 2,
        EmailAddress: 'erin@example.com',
        CampaignID: host.demo.campaigns.blackFriday,
        Channel: 'shop',
        Value: 59.9,
      });
      expect(seen[1].EventID).toBe(seen[0].EventID);
      const rows = await host.query(`SELECT Channel, Value FROM \`${host.tables.conversions}\``);
      expect(rows).toEqual([{ Channel: 'shop', Value: '59.90' }]);
    });
  });

  describe('admin', () => {
    it('sends a visitor who is not logged in to the login page', async () => {
      const res = await request(host.server).get('/');
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('/login?next=%2F');
      const journeys = await request(host.server).get('/journeys');
      expect([302, 303, 401]).toContain(journeys.status);
      if (journeys.status !== 401) expect(journeys.headers.location).toMatch(/^\/login/);
    });

    it('logs in by picking a user and shows the host layout with Campaigns → Journeys', async () => {
      const login = await request(host.server).get('/login').expect(200);
      expect(login.text).toContain('Demo User &lt;demo@example.com&gt;');
      const res = await request(host.server).post('/login').type('form').send({ UserID: '1', next: '/' }).expect(303);
      const cookie = res.headers['set-cookie'] as unknown as string[];
      expect(res.headers.location).toBe('/');
      const page = await request(host.server).get('/').set('Cookie', cookie).expect(200);
      expect(page.text).toContain('<a href="/journeys">Journeys</a>');
      expect(page.text).toContain('Newsletter');
    });

    it('keeps a supertest agent logged in after host.login', async () => {
      const agent = request.agent(host.server);
      await host.login(agent, host.demo.userB.userId);
      const page = await agent.get('/campaigns').expect(200);
      expect(page.text).toContain('Leads intro');
      expect(page.text).not.toContain('November newsletter');
    });

    it('refuses a tampered session cookie', async () => {
      await request(host.server).get('/').set('Cookie', 'host_session=1.forged').expect(302);
      await request(host.server)
        .get('/')
        .set('Cookie', host.cookieFor(2).replace(/^host_session=2/, 'host_session=1'))
        .expect(302);
    });

    it('does not redirect the login to another site', async () => {
      const res = await request(host.server).post('/login').type('form').send({ UserID: '1', next: '//evil.example.com/' }).expect(303);
      expect(res.headers.location).toBe('/');
    });

    it("serves the plug-in's Journeys page inside the host layout after login", async () => {
      const res = await request(host.server).get('/journeys').set('Cookie', host.cookieFor(host.demo.userA.userId)).expect(200);
      expect(res.text).toContain('Reference Host');
      expect(res.text).toContain('Journeys');
      expect(res.text).toContain('demo@example.com');
    });

    it('escapes user data in the host layout', async () => {
      await host.sequelize.query(`UPDATE \`${host.tables.users}\` SET FirstName = '<script>x</script>' WHERE UserID = 2`);
      const page = await request(host.server).get('/').set('Cookie', host.cookieFor(2)).expect(200);
      expect(page.text).not.toContain('<script>x</script>');
      expect(page.text).toContain('&lt;script&gt;x&lt;/script&gt;');
    });
  });

  describe('startReferenceHost', () => {
    it('listens on a free port of 127.0.0.1 when asked', async () => {
      expect(host.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${host.baseUrl}/login`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('other@example.com');
    });

    // Runs last: it stops the shared host.
    it('stop() drops exactly the tables of its prefix and the Redis keys of its queue prefix', async () => {
      const like = `${host.prefix.replace(/_/g, '\\_')}%`;
      const before = await host.query(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?`, [like]);
      expect(before.length).toBeGreaterThan(10);
      const { config } = host;
      await host.stop();
      const { createConnection } = await import('mysql2/promise');
      const db = await createConnection({
        host: config.DB_HOST,
        port: config.DB_PORT,
        user: config.DB_USER,
        password: config.DB_PASSWORD,
        database: config.DB_NAME,
      });
      const [after] = await db.query(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?`, [like]);
      await db.end();
      expect(after).toEqual([]);
      const Redis = (await import('ioredis')).default;
      const redis = new Redis({ host: config.REDIS_HOST, port: config.REDIS_PORT, db: config.REDIS_DB });
      const [, keys] = await redis.scan('0', 'MATCH', `${config.QUEUE_PREFIX}:*`, 'COUNT', 1000);
      redis.disconnect();
      expect(keys).toEqual([]);
    });
  });
});
