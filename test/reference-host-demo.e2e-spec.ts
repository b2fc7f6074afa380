/**
 * The quick-start demo: the dashboard's "try it" panel (subscribe / unsubscribe
 * forms with a CSRF token, flash messages, simulate open / click links) and
 * scripts/demo-journey.js run against a listening reference host.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { EmailOpenedHookPayload, LinkClickedHookPayload, SubscribedHookPayload, UnsubscribedHookPayload } from '../src/host/hook-payloads';
import { startReferenceHost, type RefHost } from './support/reference-host';

/** Handlebars escapes `=` and `&` in attributes; a browser reads them back. */
const unescapeAttr = (value: string) => value.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
const CSRF = /<input type="hidden" name="CSRFToken" value="([^"]+)">/;

function runDemoScript(baseUrl: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'demo-journey.js')], {
      env: { ...process.env, DEMO_BASE_URL: baseUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('reference host quick-start demo', () => {
  let host: RefHost;
  let agent: TestAgent;
  let token: string;

  const flashOf = (html: string) => /<div class="flash flash-(ok|error)"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.slice(1, 3) ?? null;
  const api = (body: Record<string, unknown>) => request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(host.demo.userA.userId)).send(body);
  const subscriberCount = async (listId: number) => (await host.query<{ N: number }>(`SELECT COUNT(*) AS N FROM \`${host.tables.subscribers(listId)}\``))[0].N;
  const logCount = async () => (await host.query<{ N: number }>(`SELECT COUNT(*) AS N FROM \`${host.tables.autoresponderLog}\``))[0].N;

  beforeAll(async () => {
    host = await startReferenceHost({ listen: true });
    agent = request.agent(host.server);
    await host.login(agent, host.demo.userA.userId);
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('dashboard "try it" panel', () => {
    it("shows the subscribe and unsubscribe forms with a CSRF token, only the user's own lists, fields and emails", async () => {
      const res = await agent.get('/').expect(200);
      const html = unescapeAttr(res.text);
      expect(html).toContain('action="/dashboard/subscribe"');
      expect(html).toContain('action="/dashboard/unsubscribe"');
      const tokens = [...html.matchAll(new RegExp(CSRF.source, 'g'))].map((m) => m[1]);
      expect(tokens).toHaveLength(2);
      expect(tokens[0]).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(tokens[1]).toBe(tokens[0]);
      token = tokens[0];
      for (const name of ['Newsletter', 'Customers', 'VIP']) expect(html).toContain(`>${name}</option>`);
      expect(html).not.toContain('Leads');
      expect(html).toContain('name="CustomField2"'); // City
      expect(html).not.toContain(`name="CustomField${host.demo.fields.company}"`); // user B's field
      expect(html).toContain('Plan (Customers only)');
      // recent subscribers with links to the tracking URLs, for the first email by default
      const { alice } = host.demo.subscribers;
      expect(html).toContain(
        `href="/track/open/${alice.listId}/${alice.subscriberId}/${host.demo.emails.welcome}?Return=%2F%3FEmailID%3D${host.demo.emails.welcome}"`,
      );
      expect(html).toContain(
        `/track/click/${alice.listId}/${alice.subscriberId}/${host.demo.emails.welcome}?URL=${encodeURIComponent('https://example.com/offer')}&Return=`,
      );
      expect(html).not.toContain('frank@example.net');
      expect(html).toContain(`href="/journeys/history?email=${encodeURIComponent(alice.emailAddress)}"`);

      // user B's token differs from user A's
      const other = await request(host.server).get('/').set('Cookie', host.cookieFor(host.demo.userB.userId)).expect(200);
      expect(CSRF.exec(other.text)?.[1]).not.toBe(token);
    });

    it('subscribes through the host path: fires Subscriber.Subscribed, records the autoresponder, redirects (303) with a flash', async () => {
      const seen = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const { lists, fields, userA, autoresponders } = host.demo;
      const res = await agent
        .post('/dashboard/subscribe')
        .type('form')
        .send({
          CSRFToken: token,
          ListID: String(lists.newsletter),
          EmailAddress: 'Alice2@Example.com',
          [`CustomField${fields.city}`]: 'Bursa',
          [`CustomField${fields.plan}`]: '',
        })
        .expect(303);
      expect(res.headers.location).toBe('/');
      expect(seen).toEqual([expect.objectContaining({ UserID: userA.userId, ListID: lists.newsletter, EmailAddress: 'alice2@example.com' })]);
      const subscriberId = seen[0].SubscriberID;
      expect(await host.subscriberRow({ listId: lists.newsletter, subscriberId })).toMatchObject({
        SubscriptionStatus: 'Subscribed',
        [`CustomField${fields.city}`]: 'Bursa',
      });
      const log = await host.query(`SELECT RelAutoResponderID FROM \`${host.tables.autoresponderLog}\` WHERE RelListID = ? AND RelSubscriberID = ?`, [
        lists.newsletter,
        subscriberId,
      ]);
      expect(log).toEqual([{ RelAutoResponderID: autoresponders.welcome }]);

      const page = await agent.get('/').expect(200);
      expect(flashOf(page.text)).toEqual(['ok', 'alice2@example.com subscribed to Newsletter; autoresponder Welcome recorded; 0 journeys enrolled']);
      expect(page.text).toContain('<td>alice2@example.com</td>');
      // the flash is shown once
      expect(flashOf((await agent.get('/').expect(200)).text)).toBeNull();
    });

    it('says so when the address is subscribed already, and unsubscribes through the host path', async () => {
      await agent.post('/dashboard/subscribe').type('form').send({ CSRFToken: token, ListID: '1', EmailAddress: 'alice@example.com' }).expect(303);
      expect(flashOf((await agent.get('/')).text)).toEqual([
        'ok',
        'alice@example.com is already subscribed to Newsletter: no hook fired, no autoresponder recorded',
      ]);

      const seen = host.captureHook<UnsubscribedHookPayload>('Subscriber.Unsubscribed');
      await agent.post('/dashboard/unsubscribe').type('form').send({ CSRFToken: token, ListID: '1', EmailAddress: 'bob@example.com' }).expect(303);
      expect(seen).toEqual([expect.objectContaining({ ListID: 1, SubscriberID: host.demo.subscribers.bob.subscriberId })]);
      expect(await host.subscriberRow(host.demo.subscribers.bob)).toMatchObject({ SubscriptionStatus: 'Unsubscribed' });
      expect(flashOf((await agent.get('/')).text)).toEqual(['ok', 'bob@example.com unsubscribed from Newsletter; 0 journeys enrolled']);

      await agent.post('/dashboard/unsubscribe').type('form').send({ CSRFToken: token, ListID: '1', EmailAddress: 'nobody@example.com' }).expect(303);
      expect(flashOf((await agent.get('/')).text)).toEqual(['error', 'nobody@example.com is not a subscriber of Newsletter; nothing was written']);
    });

    it('refuses a POST without a token or with a wrong one (403) and writes nothing', async () => {
      const seen = host.captureHook('Subscriber.Subscribed');
      const before = { subscribers: await subscriberCount(1), log: await logCount() };
      for (const body of [
        { ListID: '1', EmailAddress: 'csrf1@example.com' },
        { CSRFToken: '', ListID: '1', EmailAddress: 'csrf2@example.com' },
        { CSRFToken: `${token.slice(0, -2)}xx`, ListID: '1', EmailAddress: 'csrf3@example.com' },
        // user B's token is not user A's
        {
          CSRFToken: CSRF.exec((await request(host.server).get('/').set('Cookie', host.cookieFor(host.demo.userB.userId))).text)![1],
          ListID: '1',
          EmailAddress: 'csrf4@example.com',
        },
      ]) {
        const res = await agent.post('/dashboard/subscribe').type('form').send(body).expect(403);
        expect(res.text).toContain('security token is missing or wrong');
      }
      await agent.post('/dashboard/unsubscribe').type('form').send({ ListID: '1', EmailAddress: 'alice@example.com' }).expect(403);
      expect(seen).toEqual([]);
      expect({ subscribers: await subscriberCount(1), log: await logCount() }).toEqual(before);
      expect(await host.subscriberRow(host.demo.subscribers.alice)).toMatchObject({ SubscriptionStatus: 'Subscribed' });
      // not logged in: to the login page, nothing written
      await request(host.server)
        .post('/dashboard/subscribe')
        .type('form')
        .send({ CSRFToken: token, ListID: '1', EmailAddress: 'anon@example.com' })
        .expect(303)
        .expect('Location', '/login');
      expect(await subscriberCount(1)).toBe(before.subscribers);
    });

    it("refuses another user's list with a clear error and writes nothing", async () => {
      const seen = host.captureHook('Subscriber.Subscribed');
      const unsubscribed = host.captureHook('Subscriber.Unsubscribed');
      const { leads } = host.demo.lists;
      const before = { leads: await subscriberCount(leads), log: await logCount() };
      await agent
        .post('/dashboard/subscribe')
        .type('form')
        .send({ CSRFToken: token, ListID: String(leads), EmailAddress: 'intruder@example.com' })
        .expect(303);
      expect(flashOf((await agent.get('/')).text)).toEqual(['error', `List ${leads} is not one of your lists; nothing was written`]);
      await agent
        .post('/dashboard/unsubscribe')
        .type('form')
        .send({ CSRFToken: token, ListID: String(leads), EmailAddress: host.demo.subscribers.frank.emailAddress })
        .expect(303);
      expect(flashOf((await agent.get('/')).text)).toEqual(['error', `List ${leads} is not one of your lists; nothing was written`]);
      expect(seen).toEqual([]);
      expect(unsubscribed).toEqual([]);
      expect({ leads: await subscriberCount(leads), log: await logCount() }).toEqual(before);
      expect(await host.subscriberRow(host.demo.subscribers.frank)).toMatchObject({ SubscriptionStatus: 'Subscribed' });
    });

    it('refuses a field of another list, naming it, and writes nothing', async () => {
      const before = await subscriberCount(1);
      await agent
        .post('/dashboard/subscribe')
        .type('form')
        .send({ CSRFToken: token, ListID: '1', EmailAddress: 'planner@example.com', [`CustomField${host.demo.fields.plan}`]: 'Pro' })
        .expect(303);
      expect(flashOf((await agent.get('/')).text)).toEqual([
        'error',
        'Plan is a field of Customers, not of Newsletter: leave it empty or pick Customers. Nothing was written',
      ]);
      expect(await subscriberCount(1)).toBe(before);
    });

    it('shows an XSS-ish email address escaped in the flash', async () => {
      const evil = '<script>alert("x")</script>@example.com';
      await agent.post('/dashboard/subscribe').type('form').send({ CSRFToken: token, ListID: '1', EmailAddress: evil }).expect(303);
      const html = (await agent.get('/')).text;
      expect(html).not.toContain('<script>alert');
      const [kind, text] = flashOf(html)!;
      expect(kind).toBe('error');
      expect(text).toBe('EmailAddress &quot;&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;@example.com&quot; is not a valid email address');
    });

    it('a forged flash cookie is ignored', async () => {
      const forged = `${Buffer.from(JSON.stringify({ kind: 'ok', text: 'forged' })).toString('base64url')}.bogus`;
      const res = await request(host.server)
        .get('/')
        .set('Cookie', [host.cookieFor(host.demo.userA.userId), `host_flash=${forged}`])
        .expect(200);
      expect(flashOf(res.text)).toBeNull();
    });

    it('"simulate open" and "simulate click" hit the tracking URLs and come back to the dashboard with a note', async () => {
      const opened = host.captureHook<EmailOpenedHookPayload>('Email.Opened');
      const clicked = host.captureHook<LinkClickedHookPayload>('Link.Clicked');
      const html = unescapeAttr((await agent.get(`/?EmailID=${host.demo.emails.welcome}`)).text);
      const { dave } = host.demo.subscribers;
      const openHref = new RegExp(`href="(/track/open/${dave.listId}/${dave.subscriberId}/[^"]+)"`).exec(html)![1];
      const clickHref = new RegExp(`href="(/track/click/${dave.listId}/${dave.subscriberId}/[^"]+)"`).exec(html)![1];

      await agent.get(openHref).expect(303).expect('Location', `/?EmailID=${host.demo.emails.welcome}`);
      expect(opened).toEqual([expect.objectContaining({ ListID: dave.listId, SubscriberID: dave.subscriberId, EmailID: host.demo.emails.welcome })]);
      expect(flashOf((await agent.get(`/?EmailID=${host.demo.emails.welcome}`)).text)).toEqual([
        'ok',
        'Recorded an open of &quot;Welcome email&quot; by dave@example.com; 0 journeys enrolled',
      ]);

      await agent.get(clickHref).expect(303);
      expect(clicked).toEqual([expect.objectContaining({ SubscriberID: dave.subscriberId, URL: 'https://example.com/offer' })]);
      const page = (await agent.get(`/?EmailID=${host.demo.emails.welcome}`)).text;
      expect(flashOf(page)?.[1]).toContain('Recorded a click of &quot;Welcome email&quot; by dave@example.com');
      expect(page).toMatch(/<td>dave@example\.com<\/td><td>Newsletter<\/td><td>Subscribed<\/td><td>[^<]*<\/td><td>1 \/ 1<\/td>/);

      // the ordinary tracking answers are unchanged without Return, and Return is ignored for someone else's list
      await request(host.server)
        .get(openHref.split('?')[0])
        .expect(200)
        .expect('Content-Type', /image\/gif/);
      const { frank } = host.demo.subscribers;
      await agent
        .get(`/track/open/${frank.listId}/${frank.subscriberId}/${host.demo.emails.leadsIntro}?Return=%2F`)
        .expect(200)
        .expect('Content-Type', /image\/gif/);
      // Return only goes to a path of this site
      await agent
        .get(`${openHref.split('?')[0]}?Return=${encodeURIComponent('//evil.example/')}`)
        .expect(303)
        .expect('Location', '/');
    });
  });

  describe('scripts/demo-journey.js', () => {
    it('creates exactly one enabled "Welcome series" journey with the expected trigger and actions, and a second run creates nothing', async () => {
      const first = await runDemoScript(host.baseUrl!);
      expect(first.code).toBe(0);
      expect(first.stderr).toBe('');
      expect(first.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^Demo journey "Welcome series" created and enabled \(JourneyID \d+\)/)]);

      const listed = (await api({ Command: 'journey.list' }).expect(200)).body;
      expect(listed.TotalCount).toBe(1);
      const journeyId = listed.Journeys[0].journeyId;
      const { Journey } = (await api({ Command: 'journey.get', JourneyID: journeyId }).expect(200)).body;
      const { lists, emails, fields } = host.demo;
      expect(Journey).toMatchObject({
        name: 'Welcome series',
        status: 'Enabled',
        ownerUserId: host.demo.userA.userId,
        trigger: { type: 'subscription', listIds: [lists.newsletter] },
      });
      expect(Journey.actions).toEqual([
        { id: 'wait-1-minute', type: 'wait', settings: { amount: 1, unit: 'minutes' } },
        {
          id: 'opened-welcome',
          type: 'condition',
          settings: { match: 'all', rules: [{ attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [emails.welcome] }] },
          yes: [{ id: 'subscribe-vip', type: 'subscribe', settings: { listId: lists.vip } }],
          no: [
            {
              id: 'wait-1-day',
              type: 'wait',
              settings: { amount: 1, unit: 'days', window: { notBefore: '09:00', notAfter: '17:00', weekdays: [1, 2, 3, 4, 5] } },
            },
            { id: 'city-reminded', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'Reminded' } },
          ],
        },
      ]);

      const second = await runDemoScript(host.baseUrl!);
      expect(second.code).toBe(0);
      expect(second.stdout.trim()).toBe(`Demo journey "Welcome series" is already there (JourneyID ${journeyId}, Enabled).`);
      expect((await api({ Command: 'journey.list' }).expect(200)).body.TotalCount).toBe(1);
    });

    it('the dashboard form then enrols the subscriber and says so', async () => {
      await agent.post('/dashboard/subscribe').type('form').send({ CSRFToken: token, ListID: '1', EmailAddress: 'newbie@example.com' }).expect(303);
      expect(flashOf((await agent.get('/')).text)).toEqual([
        'ok',
        'newbie@example.com subscribed to Newsletter; autoresponder Welcome recorded; 1 journey enrolled',
      ]);
    });

    it('never fails: an unreachable host is a warning with exit code 0, and DEMO_JOURNEY=0 skips it', async () => {
      const down = await runDemoScript('http://127.0.0.1:9');
      expect(down.code).toBe(0);
      expect(down.stderr).toMatch(/^Warning: the demo journey was not created \(http:\/\/127\.0\.0\.1:9\)/);
      const skipped = await runDemoScript(host.baseUrl!, { DEMO_JOURNEY: '0' });
      expect(skipped).toEqual({ code: 0, stdout: 'Demo journey skipped (DEMO_JOURNEY=0).\n', stderr: '' });
    });
  });
});
