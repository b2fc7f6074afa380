/**
 * The planner pages through the reference host (plug-in loaded from
 * plugin.json), on real MariaDB and Redis: every page and form, the no-JS
 * planner operations, and the bad cases (missing name, another user's list,
 * invalid settings, missing or foreign CSRF token, another user's journey,
 * an XSS name, the CSP header).
 */
import request from 'supertest';
import { cardOf, plannerClient, plannerFields, tokenIn } from './support/planner-client';
import { startReferenceHost, type RefHost } from './support/reference-host';

type Client = ReturnType<typeof plannerClient>;

jest.setTimeout(60_000);

describe('Planner pages (reference host)', () => {
  let host: RefHost;
  let A: number;
  let B: number;
  let journeysTable: string;
  let entriesTable: string;
  let get: Client['get'];
  let post: Client['post'];
  let journeyRows: Client['journeyRows'];
  let createJourney: Client['createJourney'];
  let cookies: Client['cookies'];

  beforeAll(async () => {
    host = await startReferenceHost();
    A = host.demo.userA.userId;
    B = host.demo.userB.userId;
    journeysTable = `${host.prefix}journeys`;
    entriesTable = `${host.prefix}journeys_entries`;
    ({ get, post, journeyRows, createJourney, cookies } = plannerClient(host));
  });

  afterAll(async () => {
    await host?.stop();
  });

  describe('access', () => {
    it('sends a visitor who is not logged in to the host login', async () => {
      const res = await request(host.server).get('/journeys');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login');
      const post = await request(host.server).post('/journeys').type('form').send('name=x');
      expect(post.status).toBe(303);
      expect(post.headers.location).toBe('/login');
    });

    it('serves every page with a Content-Security-Policy that allows no inline script', async () => {
      const res = await get('/journeys');
      expect(res.status).toBe(200);
      const csp = res.headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(res.text).not.toMatch(/\son(click|load|submit|change)=/i);
      expect((await get('/journeys/new')).headers['content-security-policy']).toBe(csp);
    });

    it('serves the script and the stylesheet as files, and nothing else from the assets folder', async () => {
      const js = await get('/journeys/assets/planner.js');
      expect(js.status).toBe(200);
      expect(js.headers['content-type']).toMatch(/javascript/);
      expect(js.text).toContain('data-planner');
      const settingsJs = await get('/journeys/assets/planner-settings.js');
      expect(settingsJs.status).toBe(200);
      expect(settingsJs.headers['content-type']).toMatch(/javascript/);
      expect(settingsJs.text).toContain('data-split-percent');
      expect((await get('/journeys/new')).text).toContain('src="/journeys/assets/planner-settings.js');
      const css = await get('/journeys/assets/journeys.css');
      expect(css.status).toBe(200);
      expect(css.headers['content-type']).toMatch(/text\/css/);
      expect((await get('/journeys/assets/..%2Fpackage.json')).status).toBe(404);
      expect((await get('/journeys/assets/nothing.js')).status).toBe(404);
    });
  });

  describe('journey list and Create Journey', () => {
    it('shows an empty state with a Create Journey button', async () => {
      const res = await get('/journeys', B);
      expect(res.status).toBe(200);
      expect(res.text).toContain('No journeys yet');
      expect(res.text).toContain('href="/journeys/new"');
      expect(res.text).toContain('Create Journey');
      // inside the host layout, under Campaigns → Journeys
      expect(res.text).toContain('class="host-top"');
      expect(res.text).toMatch(/<a href="\/journeys" aria-current="page">Journeys<\/a>/);
    });

    it("offers only the user's own lists and emails, with every trigger's fields and a CSRF token", async () => {
      const res = await get('/journeys/new');
      expect(res.status).toBe(200);
      for (const name of ['Newsletter', 'Customers', 'VIP']) expect(res.text).toContain(`> ${name}</label>`);
      expect(res.text).not.toContain('> Leads</label>');
      expect(res.text).toContain(`name="listIds" value="${host.demo.lists.newsletter}"`);
      expect(res.text).not.toContain(`name="listIds" value="${host.demo.lists.leads}"`);
      expect(res.text).toContain(`name="emailIds" value="${host.demo.emails.welcome}"`);
      expect(res.text).not.toContain(`name="emailIds" value="${host.demo.emails.leadsIntro}"`);
      for (const group of ['subscription unsubscription', 'email_opened link_clicked conversion', 'link_clicked', 'conversion', 'manual']) {
        expect(res.text).toContain(`data-trigger-group="${group}"`);
      }
      expect(res.text).toContain('name="linkMatch"');
      expect(res.text).toContain('name="channel"');
      expect(res.text).toContain('name="minValue"');
      expect(tokenIn(res.text)).toMatch(/\S{20,}/);
    });

    it('creates a journey and lands on its planner; the list shows it with its trigger in words', async () => {
      const id = await createJourney('Welcome series');
      const [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(row).toMatchObject({ Name: 'Welcome series', Status: 'Disabled', TriggerType: 'subscription' });
      expect(JSON.parse(row.TriggerSettings)).toEqual({ listIds: [host.demo.lists.newsletter] });

      const planner = await get(`/journeys/${id}/planner?done=created`);
      expect(planner.status).toBe(200);
      expect(planner.text).toContain('The journey was created');
      expect(planner.text).toContain('Action Planner');
      expect(planner.text).toContain('Journey Information');

      const list = await get('/journeys');
      expect(list.text).toContain('Welcome series');
      expect(list.text).toContain('When someone subscribes to Newsletter');
      expect(list.text).toContain('jr-status--off">Disabled<');
      expect(list.text).toContain('No activity yet');
    });

    it('creates journeys for the other triggers from their own fields', async () => {
      const click = await createJourney('Clicked offer', {
        triggerType: 'link_clicked',
        emailIds: String(host.demo.emails.newsletter),
        linkMatch: 'pattern',
        link: 'https://example.com/*',
      });
      const conversion = await createJourney('Big buyers', { triggerType: 'conversion', emailIds: 'any', channel: 'shop', minValue: '50' });
      const manual = await createJourney('Manual one', { triggerType: 'manual', listIds: String(host.demo.lists.vip) });
      const rows = new Map((await journeyRows(A)).map((r) => [r.JourneyID, r]));
      expect(JSON.parse(rows.get(click)!.TriggerSettings)).toEqual({
        emailIds: [host.demo.emails.newsletter],
        link: { match: 'pattern', value: 'https://example.com/*' },
      });
      expect(JSON.parse(rows.get(conversion)!.TriggerSettings)).toEqual({ emailIds: 'any', channel: 'shop', minValue: 50 });
      expect(rows.get(manual)!.TriggerType).toBe('manual');
      const list = await get('/journeys');
      expect(list.text).toContain('When someone clicks a link matching https://example.com/* in November newsletter');
      expect(list.text).toContain('When someone converts from any email on channel shop worth at least 50');
    });

    it('re-renders the form with the message when the name is missing, and creates nothing', async () => {
      const before = (await journeyRows(A)).length;
      const res = await post('/journeys', { name: '  ', triggerType: 'subscription', listIds: String(host.demo.lists.customers) });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Create Journey');
      expect(res.text).toMatch(/jr-alert--error/);
      expect(res.text).toMatch(/name/i);
      // the choice is kept
      expect(res.text).toContain(`name="listIds" value="${host.demo.lists.customers}" checked`);
      expect((await journeyRows(A)).length).toBe(before);
    });

    it("refuses another user's list, and creates nothing", async () => {
      const before = (await journeyRows(A)).length;
      const res = await post('/journeys', { name: 'Sneaky', triggerType: 'subscription', listIds: String(host.demo.lists.leads) });
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/list/i);
      expect(res.text).toContain('value="Sneaky"');
      expect(res.text).not.toContain('> Leads</label>');
      expect((await journeyRows(A)).length).toBe(before);
    });

    it("answers 403 to a form without a CSRF token, with a wrong one, or with another user's", async () => {
      const before = (await journeyRows(A)).length;
      const fields = { name: 'No token', triggerType: 'manual' };
      expect((await post('/journeys', fields, { token: null })).status).toBe(403);
      expect((await post('/journeys', fields, { token: 'forged.token' })).status).toBe(403);
      const tokenOfB = tokenIn((await get('/journeys/new', B)).text);
      const withB = await post('/journeys', fields, { token: tokenOfB });
      expect(withB.status).toBe(403);
      expect(withB.text).toContain('Not allowed');
      // no cookie at all
      const token = tokenIn((await get('/journeys/new')).text);
      const bare = await request(host.server)
        .post('/journeys')
        .set('Cookie', host.cookieFor(A))
        .type('form')
        .send(`name=x&triggerType=manual&_csrf=${encodeURIComponent(token)}`);
      expect(bare.status).toBe(403);
      expect((await journeyRows(A)).length).toBe(before);
    });

    it('shows a journey named like a script as text, on every page', async () => {
      const name = '<script>alert(1)</script>';
      const id = await createJourney(name);
      for (const path of ['/journeys', `/journeys/${id}/planner`, `/journeys/${id}/info`, `/journeys/${id}/funnel`, `/journeys/${id}/failed`]) {
        const res = await get(path);
        expect(res.status).toBe(200);
        expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(res.text).not.toContain('<script>alert(1)</script>');
      }
    });
  });

  describe('Journey Information', () => {
    it('edits name, notes, trigger and re-entry', async () => {
      const id = await createJourney('Info test');
      const page = await get(`/journeys/${id}/info`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('value="Info test"');
      expect(page.text).toContain('aria-current="page"');
      const res = await post(`/journeys/${id}/info`, {
        name: 'Renamed',
        notes: 'for VIPs',
        triggerType: 'unsubscription',
        listIds: [String(host.demo.lists.vip), String(host.demo.lists.customers)],
        reEntry: 'once',
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/journeys/${id}/info?done=saved`);
      const [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(row).toMatchObject({ Name: 'Renamed', TriggerType: 'unsubscription' });
      expect(JSON.parse(row.TriggerSettings).listIds.sort()).toEqual([host.demo.lists.customers, host.demo.lists.vip].sort());
      const [{ ReEntry, Notes }] = await host.query<{ ReEntry: string; Notes: string }>(`SELECT ReEntry, Notes FROM \`${journeysTable}\` WHERE JourneyID = ?`, [
        id,
      ]);
      expect({ ReEntry, Notes }).toEqual({ ReEntry: 'once', Notes: 'for VIPs' });
      const after = await get(`/journeys/${id}/info?done=saved`);
      expect(after.text).toContain('Saved.');
      expect(after.text).toContain('When someone unsubscribes from');
    });

    it("re-renders with every message when the name is empty and the list is not the user's", async () => {
      const id = await createJourney('Info invalid');
      const res = await post(`/journeys/${id}/info`, { name: '', triggerType: 'subscription', listIds: String(host.demo.lists.leads), reEntry: 'allow' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Please fix these problems:');
      const [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(row.Name).toBe('Info invalid');
    });
  });

  describe('Action Planner without JavaScript', () => {
    it('adds, fills, moves and removes actions through form posts, then saves the whole tree', async () => {
      const id = await createJourney('No-JS planner');
      const page = await get(`/journeys/${id}/planner`);
      expect(page.text).toContain('No actions yet');
      expect(page.text).toContain('name="op" value="add:root:wait"');

      // Add a Wait at the start: the page comes back with the unsaved draft.
      let res = await post(`/journeys/${id}/planner`, plannerFields([], {}, { op: 'add:root:wait', version: '1' }));
      expect(res.status).toBe(200);
      expect(res.text).toContain('You have unsaved changes.');
      const waitId = /id="action-(a[0-9a-f]{10})"/.exec(res.text)![1];
      expect(cardOf(res.text, waitId)).toContain(`name="a.${waitId}.amount" value="1"`);

      // Add a Yes/No after it, then a Webhook inside its Yes branch.
      res = await post(
        `/journeys/${id}/planner`,
        plannerFields(
          [{ id: waitId }],
          { [`a.${waitId}.type`]: 'wait', [`a.${waitId}.amount`]: '2', [`a.${waitId}.unit`]: 'hours' },
          { op: `add:after.${waitId}:condition`, version: '1' },
        ),
      );
      expect(res.status).toBe(200);
      expect(res.text).toContain(`name="a.${waitId}.amount" value="2"`);
      const condId = [...res.text.matchAll(/id="action-(a[0-9a-f]{10})"/g)].map((m) => m[1]).find((x) => x !== waitId)!;
      expect(res.text).toContain(`data-branch="yes.${condId}"`);
      expect(res.text).toContain(`data-branch="no.${condId}"`);

      const tree = [{ id: waitId }, { id: condId, yes: [], no: [] }];
      const fields = {
        [`a.${waitId}.type`]: 'wait',
        [`a.${waitId}.amount`]: '2',
        [`a.${waitId}.unit`]: 'hours',
        [`a.${condId}.type`]: 'condition',
        [`a.${condId}.match`]: 'all',
        [`a.${condId}.rule.0.attribute`]: 'EmailAddress',
        [`a.${condId}.rule.0.operator`]: 'ends_with',
        [`a.${condId}.rule.0.value`]: '@example.com',
      };
      res = await post(`/journeys/${id}/planner`, plannerFields(tree, fields, { op: `add:yes.${condId}:webhook`, version: '1' }));
      expect(res.status).toBe(200);
      const webhookId = [...res.text.matchAll(/id="action-(a[0-9a-f]{10})"/g)].map((m) => m[1]).find((x) => x !== waitId && x !== condId)!;
      const yesBranch = res.text.slice(res.text.indexOf(`data-branch="yes.${condId}"`), res.text.indexOf(`data-branch="no.${condId}"`));
      expect(yesBranch).toContain(`id="action-${webhookId}"`);

      // Move the Yes/No up, above the Wait.
      const full = [{ id: waitId }, { id: condId, yes: [{ id: webhookId }], no: [] }];
      const allFields = {
        ...fields,
        [`a.${webhookId}.type`]: 'webhook',
        [`a.${webhookId}.url`]: 'https://hooks.example.com/in',
        [`a.${webhookId}.method`]: 'POST',
        [`a.${webhookId}.includeCustomFields`]: '1',
      };
      res = await post(`/journeys/${id}/planner`, plannerFields(full, allFields, { op: `up:${condId}`, version: '1' }));
      expect(res.text.indexOf(`id="action-${condId}"`)).toBeLessThan(res.text.indexOf(`id="action-${waitId}"`));
      expect(JSON.parse(/name="tree" value="([^"]*)"/.exec(res.text)![1].replace(/&quot;/g, '"'))[0].id).toBe(condId);

      // Add a rule, then remove it again.
      res = await post(`/journeys/${id}/planner`, plannerFields(full, allFields, { op: `add-rule:${condId}`, version: '1' }));
      expect(res.text).toContain(`name="a.${condId}.rule.1.attribute"`);
      res = await post(
        `/journeys/${id}/planner`,
        plannerFields(
          full,
          { ...allFields, [`a.${condId}.rule.1.attribute`]: 'Opens', [`a.${condId}.rule.1.operator`]: 'at_least', [`a.${condId}.rule.1.value`]: '1' },
          { op: `remove-rule:${condId}:1`, version: '1' },
        ),
      );
      expect(res.text).not.toContain(`name="a.${condId}.rule.1.attribute"`);

      // Remove a temporary action.
      res = await post(
        `/journeys/${id}/planner`,
        plannerFields([...full, { id: 'tmp1' }], { ...allFields, 'a.tmp1.type': 'exit_this_journey' }, { op: 'remove:tmp1', version: '1' }),
      );
      expect(res.text).not.toContain('id="action-tmp1"');

      // Save: a disabled journey with nobody inside saves at once.
      res = await post(`/journeys/${id}/planner`, plannerFields(full, allFields, { op: 'save', version: '1' }));
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/journeys/${id}/planner?done=actionsSaved`);
      const [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(row.Version).toBe(2);
      const saved = JSON.parse(row.Actions);
      expect(saved).toMatchObject([
        { id: waitId, type: 'wait', settings: { amount: 2, unit: 'hours' } },
        {
          id: condId,
          type: 'condition',
          settings: { match: 'all', rules: [{ attribute: 'EmailAddress', operator: 'ends_with', value: '@example.com' }] },
          yes: [{ id: webhookId, type: 'webhook', settings: { url: 'https://hooks.example.com/in', method: 'POST' } }],
          no: [],
        },
      ]);

      // The saved planner shows each action with its counts.
      const after = await get(`/journeys/${id}/planner?done=actionsSaved`);
      expect(after.text).toContain('The journey actions were saved.');
      expect(cardOf(after.text, waitId)).toMatch(/<strong>0<\/strong> here now/);
      expect(cardOf(after.text, waitId)).toMatch(/<strong>0<\/strong> passed/);
    });

    it('shows every violation at once, next to the action it concerns, and saves nothing', async () => {
      const id = await createJourney('Invalid settings');
      const tree = [{ id: 'w1' }, { id: 'f1' }, { id: 's1' }];
      const res = await post(
        `/journeys/${id}/planner`,
        plannerFields(
          tree,
          {
            'a.w1.type': 'wait',
            'a.w1.amount': 'soon',
            'a.w1.unit': 'days',
            'a.f1.type': 'update_custom_field',
            'a.f1.fieldId': String(host.demo.fields.company),
            'a.f1.value': 'x',
            'a.s1.type': 'subscribe',
            'a.s1.listId': String(host.demo.lists.leads),
          },
          { op: 'save', version: '1' },
        ),
      );
      expect(res.status).toBe(422);
      expect(res.text).toMatch(/3 problems to fix/);
      for (const actionId of ['w1', 'f1', 's1']) expect(cardOf(res.text, actionId)).toContain('jr-violations');
      // the draft is kept as typed
      expect(cardOf(res.text, 'w1')).toContain('value="soon"');
      const [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(JSON.parse(row.Actions)).toEqual([]);
    });

    it('asks for confirmation before saving a live journey, saying how many subscribers the change affects', async () => {
      const id = await createJourney('Live edit');
      const tree = [{ id: 'w1' }, { id: 'x1' }];
      const fields = { 'a.w1.type': 'wait', 'a.w1.amount': '3', 'a.w1.unit': 'days', 'a.x1.type': 'exit_all_other_journeys' };
      expect((await post(`/journeys/${id}/planner`, plannerFields(tree, fields, { op: 'save', version: '1' }))).status).toBe(303);
      expect((await post(`/journeys/${id}/enable`, { back: 'planner' })).headers.location).toBe(`/journeys/${id}/planner?done=enabled`);
      // Two subscribers wait at w1.
      const now = new Date();
      for (const s of [host.demo.subscribers.alice, host.demo.subscribers.bob]) {
        await host.sequelize.query(
          `INSERT INTO \`${entriesTable}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, WakeAt, JourneyVersion, ChainID, CreatedAt, UpdatedAt)
           VALUES (?, ?, ?, ?, 'waiting', 'w1', ?, 2, ?, ?, ?)`,
          { replacements: [id, A, s.listId, s.subscriberId, new Date(now.getTime() + 86_400_000), `test-${s.subscriberId}`, now, now] },
        );
      }
      const withoutWait = plannerFields([{ id: 'x1' }], { 'a.x1.type': 'exit_all_other_journeys' }, { op: 'save', version: '2' });
      const preview = await post(`/journeys/${id}/planner`, withoutWait);
      expect(preview.status).toBe(200);
      expect(preview.text).toContain('This journey is live.');
      expect(preview.text).toContain('Saving affects <strong>2 subscribers</strong>');
      expect(preview.text).toContain('name="op" value="save-confirmed"');
      let [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(row.Version).toBe(2);

      const saved = await post(`/journeys/${id}/planner`, { ...withoutWait, op: 'save-confirmed' });
      expect(saved.status).toBe(303);
      [row] = (await journeyRows(A)).filter((r) => r.JourneyID === id);
      expect(row.Version).toBe(3);
      const states = await host.query<{ State: string }>(`SELECT State FROM \`${entriesTable}\` WHERE JourneyID = ?`, [id]);
      expect(states.map((s) => s.State)).toEqual(['exited', 'exited']);

      // The JSON preview planner.js asks before a live save (CSRF token in a header).
      const token = tokenIn((await get(`/journeys/${id}/planner`)).text);
      const previewJson = await request(host.server)
        .post(`/journeys/${id}/planner/preview`)
        .set('Cookie', cookies(A))
        .set('x-csrf-token', token)
        .type('form')
        .send(new URLSearchParams({ tree: JSON.stringify([]) }).toString());
      expect(previewJson.status).toBe(200);
      expect(previewJson.body).toEqual({
        live: true,
        affected: 0,
        removedActionIds: ['x1'],
        violations: 0,
        reached: 0,
        impact: { affected: '0 subscribers', nobody: 'nobody is at an action this change removes', items: [] },
      });
      const noToken = await request(host.server).post(`/journeys/${id}/planner/preview`).set('Cookie', cookies(A)).type('form').send('tree=[]');
      expect(noToken.status).toBe(403);
      const foreignPreview = await request(host.server)
        .post(`/journeys/${id}/planner/preview`)
        .set('Cookie', cookies(B))
        .set('x-csrf-token', tokenIn((await get('/journeys/new', B)).text))
        .type('form')
        .send('tree=[]');
      expect(foreignPreview.status).toBe(404);

      // A stale page (older version) is refused with a message, nothing saved.
      const stale = await post(`/journeys/${id}/planner`, { ...withoutWait, op: 'save-confirmed', version: '2' });
      expect(stale.status).toBe(409);
      expect(stale.text).toContain('jr-alert--error');
    });
  });

  describe('journey commands', () => {
    it('refuses to enable a journey without actions and shows why on the planner', async () => {
      const id = await createJourney('Nothing planned');
      const res = await post(`/journeys/${id}/enable`, { back: 'list' });
      expect(res.status).toBe(422);
      expect(res.text).toContain('Action Planner');
      expect(res.text).toContain('Add at least one action');
      expect((await journeyRows(A)).find((r) => r.JourneyID === id)!.Status).toBe('Disabled');
    });

    it('enables, asks before disabling, copies, and asks before deleting', async () => {
      const id = await createJourney('Commands');
      await post(`/journeys/${id}/planner`, plannerFields([{ id: 'x1' }], { 'a.x1.type': 'exit_this_journey' }, { op: 'save', version: '1' }));
      const enabled = await post(`/journeys/${id}/enable`, { back: 'list' });
      expect(enabled.status).toBe(303);
      expect(enabled.headers.location).toBe('/journeys?done=enabled');
      expect((await journeyRows(A)).find((r) => r.JourneyID === id)!.Status).toBe('Enabled');
      expect((await get('/journeys?done=enabled')).text).toContain('The journey is enabled');

      const ask = await post(`/journeys/${id}/disable`, { back: 'list' });
      expect(ask.status).toBe(200);
      expect(ask.text).toContain('Disable this journey?');
      expect(ask.text).toContain('name="confirmed" value="1"');
      expect((await journeyRows(A)).find((r) => r.JourneyID === id)!.Status).toBe('Enabled');
      const disabled = await post(`/journeys/${id}/disable`, { back: 'planner', confirmed: '1' });
      expect(disabled.headers.location).toBe(`/journeys/${id}/planner?done=disabled`);
      expect((await journeyRows(A)).find((r) => r.JourneyID === id)!.Status).toBe('Disabled');

      const before = (await journeyRows(A)).length;
      const copied = await post(`/journeys/${id}/copy`, {});
      expect(copied.headers.location).toBe('/journeys?done=copied');
      expect((await journeyRows(A)).length).toBe(before + 1);

      const askDelete = await post(`/journeys/${id}/delete`, {});
      expect(askDelete.status).toBe(200);
      expect(askDelete.text).toContain('Delete this journey?');
      expect((await journeyRows(A)).some((r) => r.JourneyID === id)).toBe(true);
      const deleted = await post(`/journeys/${id}/delete`, { confirmed: '1' });
      expect(deleted.headers.location).toBe('/journeys?done=deleted');
      expect((await journeyRows(A)).some((r) => r.JourneyID === id)).toBe(false);
      expect((await get(`/journeys/${id}/planner`)).status).toBe(404);
    });

    it('ignores a back address that is not one of its own pages', async () => {
      const id = await createJourney('Open redirect');
      await post(`/journeys/${id}/planner`, plannerFields([{ id: 'x1' }], { 'a.x1.type': 'exit_this_journey' }, { op: 'save', version: '1' }));
      const res = await post(`/journeys/${id}/enable`, { back: 'https://evil.example.com/' });
      expect(res.headers.location).toBe('/journeys?done=enabled');
    });
  });

  describe("another user's journey", () => {
    let foreign: number;
    beforeAll(async () => {
      foreign = await createJourney('Belongs to B', { triggerType: 'subscription', listIds: String(host.demo.lists.leads) }, B);
    });

    it.each(['', '/info', '/planner', '/funnel', '/failed', '/history?email=frank%40example.net'])('answers 404 to GET /journeys/:id%s', async (suffix) => {
      const res = await get(`/journeys/${foreign}${suffix}`);
      expect(res.status).toBe(404);
      expect(res.text).toContain('Not found');
      expect(res.text).not.toContain('Belongs to B');
    });

    it.each([
      ['/info', { name: 'Stolen', triggerType: 'manual' }],
      ['/planner', { tree: '[]', op: 'save', version: '1' }],
      ['/planner', { tree: '[]', op: 'add:root:wait' }],
      ['/enable', {}],
      ['/disable', { confirmed: '1' }],
      ['/disable', {}],
      ['/copy', {}],
      ['/delete', { confirmed: '1' }],
      ['/entries/1/retry', {}],
      ['/entries/1/skip', {}],
    ])('answers 404 to POST /journeys/:id%s and changes nothing', async (suffix, fields) => {
      const res = await post(`/journeys/${foreign}${suffix}`, fields as Record<string, string>);
      expect(res.status).toBe(404);
      const [row] = (await journeyRows(B)).filter((r) => r.JourneyID === foreign);
      expect(row).toMatchObject({ Name: 'Belongs to B', Status: 'Disabled', Version: 1 });
      expect((await journeyRows(B)).length).toBe(1);
    });

    it('answers 404 to ids that are not ids', async () => {
      expect((await get('/journeys/abc/planner')).status).toBe(404);
      expect((await get('/journeys/0/info')).status).toBe(404);
      expect((await get('/journeys/99999999/planner')).status).toBe(404);
    });
  });

  describe('funnel, failed entries and subscriber history', () => {
    let id: number;
    let failedEntry: number;

    beforeAll(async () => {
      id = await createJourney('Stats journey');
      await post(
        `/journeys/${id}/planner`,
        plannerFields(
          [{ id: 'w1' }, { id: 'h1' }],
          {
            'a.w1.type': 'wait',
            'a.w1.amount': '1',
            'a.w1.unit': 'days',
            'a.h1.type': 'webhook',
            'a.h1.url': 'https://hooks.example.com/x',
            'a.h1.method': 'POST',
          },
          { op: 'save', version: '1' },
        ),
      );
      const now = new Date();
      await host.sequelize.query(
        `INSERT INTO \`${entriesTable}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, JourneyVersion, ChainID, LastError, Attempts, CreatedAt, UpdatedAt)
         VALUES (?, ?, ?, ?, 'failed', 'h1', 2, 'test-failed', 'Webhook answered 410 <Gone>', 5, ?, ?)`,
        { replacements: [id, A, host.demo.subscribers.carol.listId, host.demo.subscribers.carol.subscriberId, now, now] },
      );
      [{ EntryID: failedEntry }] = await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${entriesTable}\` WHERE JourneyID = ?`, [id]);
      await host.sequelize.query(
        `INSERT INTO \`${host.prefix}journeys_log\` (EntryID, JourneyID, ActionID, ActionType, Status, Result, CreatedAt, CompletedAt) VALUES
         (?, ?, 'w1', 'wait', 'done', NULL, ?, ?), (?, ?, 'h1', 'webhook', 'failed', NULL, ?, NULL)`,
        { replacements: [failedEntry, id, now, now, failedEntry, id, now] },
      );
    });

    it('draws the funnel as an SVG on the server', async () => {
      const res = await get(`/journeys/${id}/funnel`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('<svg');
      expect(res.text).toContain('Entered the journey');
      expect(res.text).toMatch(/class="jr-funnel-bar"/);
      expect(res.text).toContain('(100%)');
    });

    it('lists failed entries with their error (escaped) and retries or skips them', async () => {
      const res = await get(`/journeys/${id}/failed`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('carol@example.com');
      expect(res.text).toContain('Webhook answered 410 &lt;Gone&gt;');
      expect(res.text).toContain(`action="/journeys/${id}/entries/${failedEntry}/retry"`);
      expect(res.text).toContain(`action="/journeys/${id}/entries/${failedEntry}/skip"`);
      const planner = await get(`/journeys/${id}/planner`);
      expect(cardOf(planner.text, 'h1')).toMatch(/<strong>1<\/strong> here now/);
      expect(cardOf(planner.text, 'h1')).toMatch(/<strong>1<\/strong> failed/);
      expect(cardOf(planner.text, 'w1')).toMatch(/<strong>1<\/strong> passed/);

      const skipped = await post(`/journeys/${id}/entries/${failedEntry}/skip`, {});
      expect(skipped.status).toBe(303);
      expect(skipped.headers.location).toBe(`/journeys/${id}/failed?done=skipped`);
      const [entry] = await host.query<{ State: string }>(`SELECT State FROM \`${entriesTable}\` WHERE EntryID = ?`, [failedEntry]);
      expect(entry.State).not.toBe('failed');
      // Retrying an entry that is no longer failed is refused with the reason.
      const retried = await post(`/journeys/${id}/entries/${failedEntry}/retry`, {});
      expect(retried.status).toBe(409);
      expect(retried.text).toContain('not failed');
    });

    it("finds a subscriber's history by email address, on the journey and across journeys", async () => {
      const res = await get(`/journeys/${id}/history?email=carol%40example.com`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('Stats journey');
      expect(res.text).toContain('jr-log--done');
      expect(res.text).toMatch(/jr-log--(failed|skipped)/);
      const all = await get('/journeys/history?email=carol%40example.com');
      expect(all.status).toBe(200);
      expect(all.text).toContain('Subscriber Journey History');
      expect(all.text).toContain('Stats journey');
      const none = await get('/journeys/history?email=nobody%40example.com');
      expect(none.text).toContain('No journey history for nobody@example.com');
      // B cannot see A's subscriber
      const other = await get('/journeys/history?email=carol%40example.com', B);
      expect(other.text).not.toContain('Stats journey');
    });
  });
});
