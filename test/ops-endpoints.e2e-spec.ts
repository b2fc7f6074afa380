/**
 * Operations endpoints against the reference host: health, Prometheus
 * metrics and the operators' queue dashboard.
 */
import request from 'supertest';
import { ENTRY_QUEUE } from '../src/runtime/queues';
import { RuntimeHealth } from '../src/runtime/runtime.health';
import { EntryQueue } from '../src/runtime/entry-queue.service';
import { startReferenceHost, type RefHost } from './support/reference-host';

describe('Operations endpoints', () => {
  let host: RefHost;

  beforeAll(async () => {
    host = await startReferenceHost();
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('GET /journeys/health', () => {
    it('answers 200 with the MySQL and Redis checks, without a login', async () => {
      const res = await request(host.server).get('/journeys/health').expect(200);
      expect(res.body).toEqual({ status: 'ok', checks: { mysql: { status: 'up' }, redis: { status: 'up' } } });
    });

    it('answers 503 naming the dependency that is down', async () => {
      const health = host.app.get(RuntimeHealth);
      const spy = jest
        .spyOn(health, 'check')
        .mockResolvedValueOnce({ status: 'down', mysql: { status: 'up' }, redis: { status: 'down', error: 'no answer in 2000 ms' } });
      try {
        const res = await request(host.server).get('/journeys/health').expect(503);
        expect(res.body).toEqual({ status: 'error', checks: { mysql: { status: 'up' }, redis: { status: 'down', error: 'no answer in 2000 ms' } } });
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('GET /journeys/metrics', () => {
    it('serves the Prometheus text with the runtime metrics, entries by state counted on scrape', async () => {
      // One entry, so the entries gauge has a row to show.
      const api = (body: Record<string, unknown>) =>
        request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(host.demo.userA.userId)).send(body).expect(200);
      const journeyId = (await api({ Command: 'journey.create', Name: 'Metrics', Trigger: { type: 'manual' } })).body.Journey.journeyId;
      await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [{ id: 'w', type: 'wait', settings: { amount: 1, unit: 'days' } }] });
      await api({ Command: 'journey.enable', JourneyID: journeyId });
      await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, EmailAddress: host.demo.subscribers.bob.emailAddress });

      const res = await request(host.server).get('/journeys/metrics').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      for (const name of [
        'journeys_events_in_total',
        'journeys_entries',
        'journeys_actions_run_total',
        'journeys_actions_failed_total',
        'journeys_queue_depth',
        'journeys_wake_lateness_seconds',
        'journeys_ingest_requests_total',
      ]) {
        expect(res.text).toContain(`# TYPE ${name} `);
      }
      expect(res.text).toMatch(/journeys_entries\{state="(active|waiting)"\} 1/);
    });
  });

  describe('/journeys/admin/queues', () => {
    const dashboard = (path = '', userId: number | null = host.demo.userA.userId) => {
      const req = request(host.server).get(`/journeys/admin/queues${path}`);
      if (userId !== null) req.set('Cookie', host.cookieFor(userId));
      return req;
    };

    it('shows the queue dashboard to an operator (ADMIN_USER_IDS, by default user 1)', async () => {
      const page = await dashboard().set('Accept', 'text/html').expect(200);
      expect(page.headers['content-type']).toMatch(/html/);
      expect(page.text).toMatch(/<div id="root">/);
      const queues = await dashboard('/api/queues').set('Accept', 'application/json').expect(200);
      expect(queues.body.queues.map((q: { name: string }) => q.name)).toContain(ENTRY_QUEUE);
    });

    it('refuses another user with 403', async () => {
      await dashboard('', host.demo.userB.userId).set('Accept', 'text/html').expect(403);
      await dashboard('/api/queues', host.demo.userB.userId).set('Accept', 'application/json').expect(403);
    });

    it('sends a visitor who is not logged in to the host login; an API call gets 401', async () => {
      const page = await dashboard('', null).set('Accept', 'text/html').expect(303);
      expect(page.headers.location).toBe('/login');
      await dashboard('/api/queues', null).set('Accept', 'application/json').expect(401);
    });

    it('refuses a state-changing request from another site (the dashboard trusts the session cookie)', async () => {
      const queue = host.app.get(EntryQueue).queue;
      const pause = (origin: string) =>
        request(host.server)
          .put(`/journeys/admin/queues/api/queues/${encodeURIComponent(ENTRY_QUEUE)}/pause`)
          .set('Cookie', host.cookieFor(host.demo.userA.userId))
          .set('Accept', 'application/json')
          .set('Origin', origin);
      await pause('https://evil.example').expect(403);
      expect(await queue.isPaused()).toBe(false);
      // The dashboard's own requests (same origin) go through.
      await pause('http://journeys.test').set('Host', 'journeys.test').expect(200);
      expect(await queue.isPaused()).toBe(true);
      await queue.resume();
    });
  });
});
