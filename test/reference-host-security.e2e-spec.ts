/**
 * Hardening of the reference host's own pages: the plug-in's security headers
 * on the host pages, a login form that answers bad input with the page again,
 * sessions of users that do not exist, and sessions that expire and end at logout.
 */
import request, { type Response } from 'supertest';
import { HOUR, MINUTE, MovableClock } from './support/journey-fixtures';
import { startReferenceHost, type RefHost } from './support/reference-host';

const LOGIN_PAGE = 'Pick a demo user to log in as.';

/** The `host_session=…` pair a response sets, if any. */
function sessionCookieOf(res: Response): string | undefined {
  const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return setCookies.find((c) => c.startsWith('host_session='))?.split(';')[0];
}

describe('reference host security', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-12-01T09:00:00Z'));

  beforeAll(async () => {
    host = await startReferenceHost({ clock });
  });
  afterAll(async () => {
    await host?.stop();
  });

  /** What the host pages, the plug-in's pages and its API make of a session cookie. */
  async function seenAs(cookie: string) {
    const [dashboard, campaigns, journeys, api, form] = await Promise.all([
      request(host.server).get('/').set('Cookie', cookie),
      request(host.server).get('/campaigns').set('Cookie', cookie),
      request(host.server).get('/journeys').set('Cookie', cookie),
      request(host.server).post('/journeys/api').set('Cookie', cookie).send({ Command: 'journey.list' }),
      request(host.server).post('/dashboard/subscribe').set('Cookie', cookie).type('form').send({ ListID: '1', EmailAddress: 'nobody@example.com' }),
    ]);
    return {
      dashboard: [dashboard.status, dashboard.headers.location],
      campaigns: [campaigns.status, campaigns.headers.location],
      journeys: [journeys.status, journeys.headers.location],
      api: [api.status, api.body?.Errors?.[0]?.Code],
      form: [form.status, form.headers.location],
    };
  }

  const LOGGED_OUT = {
    dashboard: [302, '/login?next=%2F'],
    campaigns: [302, '/login?next=%2Fcampaigns'],
    journeys: [303, '/login'],
    api: [401, 6], // the API's "not logged in"
    form: [303, '/login'],
  };

  describe('security headers', () => {
    it.each(['/login', '/', '/campaigns'])("%s sends the same helmet policy as the plug-in's pages", async (path) => {
      const cookie = host.cookieFor(host.demo.userA.userId);
      const pluginPage = await request(host.server).get('/journeys').set('Cookie', cookie).expect(200);
      const page = await request(host.server).get(path).set('Cookie', cookie).expect(200);
      for (const header of ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options', 'cross-origin-opener-policy']) {
        expect({ header, value: page.headers[header] }).toEqual({ header, value: pluginPage.headers[header] });
      }
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'self'");
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
    });
  });

  describe('POST /login with a bad UserID', () => {
    it.each([
      ['an unknown user', 'UserID=999', 'There is no user 999'],
      ['zero', 'UserID=0', 'UserID must be the id of one user'],
      ['a negative number', 'UserID=-1', 'UserID must be the id of one user'],
      ['letters', 'UserID=abc', 'UserID must be the id of one user'],
      ['a number too large', 'UserID=99999999999', 'UserID must be the id of one user'],
      ['an array', 'UserID[]=1&UserID[]=2', 'UserID must be the id of one user'],
      ['a repeated field', 'UserID=1&UserID=2', 'UserID must be the id of one user'],
      ['no UserID', 'next=%2F', 'UserID must be the id of one user'],
    ])('answers the login page again (400) with a clear message for %s, and sets no session', async (_what, body, message) => {
      const res = await request(host.server).post('/login').type('form').send(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain(LOGIN_PAGE);
      expect(res.text).toMatch(new RegExp(`<p class="flash flash-error" role="alert">${message}[^<]*</p>`));
      expect(res.text).toContain('Demo User &lt;demo@example.com&gt;');
      expect(sessionCookieOf(res)).toBeUndefined();
    });

    it('keeps where the user was going, still only a same-site path', async () => {
      const res = await request(host.server).post('/login').type('form').send('UserID=abc&next=%2Fcampaigns').expect(400);
      expect(res.text).toContain('<input type="hidden" name="next" value="/campaigns">');
      const offsite = await request(host.server).post('/login').type('form').send('UserID=abc&next=%2F%2Fevil.example.com%2F').expect(400);
      expect(offsite.text).toContain('<input type="hidden" name="next" value="/">');
    });
  });

  describe('a session of a user that does not exist', () => {
    it.each([
      ['user 999', 999],
      ['user 0', 0],
      ['a user id beyond the users table', 9_999_999_999],
    ])('is treated as logged out (%s)', async (_what, userId) => {
      expect(await seenAs(host.cookieFor(userId))).toEqual(LOGGED_OUT);
    });

    it('is treated as logged out once the user is deleted', async () => {
      await host.sequelize.query(`INSERT INTO \`${host.tables.users}\` (UserID, Username, EmailAddress) VALUES (77, 'leaving', 'leaving@example.com')`);
      const cookie = host.cookieFor(77);
      expect((await seenAs(cookie)).dashboard).toEqual([200, undefined]);
      await host.sequelize.query(`DELETE FROM \`${host.tables.users}\` WHERE UserID = 77`);
      expect(await seenAs(cookie)).toEqual(LOGGED_OUT);
    });
  });

  describe('session lifetime', () => {
    it('a session is refused 12 hours after it was issued, whatever the browser keeps', async () => {
      const cookie = host.cookieFor(host.demo.userA.userId);
      clock.advance(12 * HOUR - MINUTE);
      expect((await seenAs(cookie)).dashboard).toEqual([200, undefined]);
      clock.advance(MINUTE);
      expect(await seenAs(cookie)).toEqual(LOGGED_OUT);
    });

    it('the login cookie tells the browser the same lifetime', async () => {
      const res = await request(host.server).post('/login').type('form').send({ UserID: '1', next: '/' }).expect(303);
      const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('host_session='));
      expect(setCookie).toMatch(/Max-Age=43200/);
      expect(setCookie).toMatch(/HttpOnly/);
    });

    it('logout revokes that session only; logging in again gives a new one', async () => {
      const agent = request.agent(host.server);
      await host.login(agent, host.demo.userA.userId);
      const page = await agent.get('/').expect(200);
      expect(page.text).toContain('href="/logout"');
      const login = await request(host.server)
        .post('/login')
        .type('form')
        .send({ UserID: String(host.demo.userA.userId), next: '/' })
        .expect(303);
      const loggedOut = sessionCookieOf(login)!;
      const otherBrowser = host.cookieFor(host.demo.userA.userId);

      const logout = await request(host.server).get('/logout').set('Cookie', loggedOut).expect(303);
      expect(logout.headers.location).toBe('/login');
      expect(sessionCookieOf(logout)).toBe('host_session=');

      expect(await seenAs(loggedOut)).toEqual(LOGGED_OUT);
      expect((await seenAs(otherBrowser)).dashboard).toEqual([200, undefined]);
      await agent.get('/').expect(200);

      const again = sessionCookieOf(
        await request(host.server)
          .post('/login')
          .type('form')
          .send({ UserID: String(host.demo.userA.userId) })
          .expect(303),
      )!;
      expect(again).not.toBe(loggedOut);
      expect((await seenAs(again)).dashboard).toEqual([200, undefined]);
    });

    it('keeps a revoked session on record only until it would have expired anyway', async () => {
      const revoked = `${host.prefix}revoked_sessions`;
      const first = host.cookieFor(host.demo.userB.userId);
      await request(host.server).get('/logout').set('Cookie', first).expect(303);
      const countOf = async () => (await host.query<{ N: number }>(`SELECT COUNT(*) AS N FROM \`${revoked}\``))[0].N;
      const before = await countOf();
      clock.advance(12 * HOUR);
      await request(host.server).get('/logout').set('Cookie', host.cookieFor(host.demo.userB.userId)).expect(303);
      expect(await countOf()).toBe(1);
      expect(before).toBeGreaterThan(1);
      expect(await seenAs(first)).toEqual(LOGGED_OUT);
    });
  });
});
