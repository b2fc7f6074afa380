#!/usr/bin/env node
/**
 * Creates the demo journey "Welcome series" on a fresh install, through the
 * plug-in's public API (POST /journeys/api) as the demo user:
 *
 *   When someone subscribes to Newsletter
 *   → Wait 1 minute
 *   → Yes/No: opened the Welcome email at least once?
 *       Yes: Subscribe to VIP
 *       No:  Wait 1 day (send window Mon–Fri 09:00–17:00) → City = "Reminded"
 *
 * It does nothing when the demo user has any journey already (idempotent), and
 * it never fails the caller: a problem is printed as a warning and the exit
 * code stays 0. Run by scripts/start.js once the host answers; by hand:
 *
 *   DEMO_BASE_URL=http://localhost:3000 node scripts/demo-journey.js
 *
 * DEMO_JOURNEY=0 skips it.
 */
'use strict';

/** Demo ids, as reference-host/seed.ts (DEMO) creates them. */
const DEMO = {
  userId: 1,
  lists: { newsletter: 1, vip: 3 },
  fields: { city: 2 },
  emails: { welcome: 1 },
};

const JOURNEY_NAME = 'Welcome series';

function demoJourney() {
  return {
    trigger: { type: 'subscription', listIds: [DEMO.lists.newsletter] },
    actions: [
      { id: 'wait-1-minute', type: 'wait', settings: { amount: 1, unit: 'minutes' } },
      {
        id: 'opened-welcome',
        type: 'condition',
        settings: { match: 'all', rules: [{ attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [DEMO.emails.welcome] }] },
        yes: [{ id: 'subscribe-vip', type: 'subscribe', settings: { listId: DEMO.lists.vip } }],
        no: [
          {
            id: 'wait-1-day',
            type: 'wait',
            settings: { amount: 1, unit: 'days', window: { notBefore: '09:00', notAfter: '17:00', weekdays: [1, 2, 3, 4, 5] } },
          },
          { id: 'city-reminded', type: 'update_custom_field', settings: { fieldId: DEMO.fields.city, value: 'Reminded' } },
        ],
      },
    ],
  };
}

class DemoError extends Error {}

function makeClient(baseUrl, timeoutMs) {
  let cookie = '';
  async function call(path, init) {
    const res = await fetch(new URL(path, baseUrl), {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      ...init,
      headers: { ...(init.headers || {}), ...(cookie ? { Cookie: cookie } : {}) },
    });
    return res;
  }
  return {
    async login(userId) {
      const res = await call('/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ UserID: String(userId), next: '/' }).toString(),
      });
      const setCookies = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [res.headers.get('set-cookie') || ''];
      const session = setCookies.map((c) => c.split(';')[0]).find((c) => c.startsWith('host_session='));
      if (res.status !== 303 || !session) throw new DemoError(`logging in as user ${userId} answered ${res.status}`);
      cookie = session;
    },
    async api(command, params = {}) {
      const res = await call('/journeys/api', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ Command: command, ...params }),
      });
      let body;
      try {
        body = await res.json();
      } catch {
        throw new DemoError(`${command} answered ${res.status} without JSON`);
      }
      if (res.status !== 200 || !body || body.Success !== true) {
        const errors = (body && Array.isArray(body.Errors) ? body.Errors : []).map((e) => `${e.ActionID ? `[${e.ActionID}] ` : ''}${e.Message}`).join('; ');
        throw new DemoError(`${command} answered ${res.status}${errors ? `: ${errors}` : ''}`);
      }
      return body;
    },
  };
}

/**
 * Creates the demo journey unless the demo user has journeys already.
 * Resolves to { created: boolean, journeyId?: number, message: string }; throws on a problem.
 */
async function ensureDemoJourney({ baseUrl, timeoutMs = 10_000 }) {
  const client = makeClient(baseUrl, timeoutMs);
  await client.login(DEMO.userId);
  const listed = await client.api('journey.list');
  if (Number(listed.TotalCount) > 0 || (Array.isArray(listed.Journeys) && listed.Journeys.length > 0)) {
    const existing = listed.Journeys.find((j) => j.name === JOURNEY_NAME);
    return {
      created: false,
      journeyId: existing ? existing.journeyId : undefined,
      message: existing
        ? `Demo journey "${JOURNEY_NAME}" is already there (JourneyID ${existing.journeyId}, ${existing.status}).`
        : `Demo journey not created: the demo user has ${listed.Journeys.length} journey(s) already.`,
    };
  }
  const { trigger, actions } = demoJourney();
  const created = await client.api('journey.create', {
    Name: JOURNEY_NAME,
    Notes: 'Created by scripts/demo-journey.js for the quick start. Subscribe someone to Newsletter on the dashboard to see it run.',
    Trigger: trigger,
  });
  const journeyId = created.Journey.journeyId;
  await client.api('journey.actions.update', { JourneyID: journeyId, ExpectedVersion: created.Journey.version, Actions: actions });
  await client.api('journey.enable', { JourneyID: journeyId });
  return {
    created: true,
    journeyId,
    message: `Demo journey "${JOURNEY_NAME}" created and enabled (JourneyID ${journeyId}): subscribing to Newsletter → wait 1 minute → opened the Welcome email? yes: VIP list, no: wait a weekday day, City = "Reminded".`,
  };
}

function baseUrlFromEnv(env = process.env) {
  return env.DEMO_BASE_URL || `http://127.0.0.1:${env.PORT || 3000}`;
}

async function main() {
  if (process.env.DEMO_JOURNEY === '0') {
    process.stdout.write('Demo journey skipped (DEMO_JOURNEY=0).\n');
    return;
  }
  const baseUrl = baseUrlFromEnv();
  try {
    const result = await ensureDemoJourney({ baseUrl });
    process.stdout.write(`${result.message}\n`);
  } catch (error) {
    const reason = error instanceof DemoError ? error.message : (error && error.cause && error.cause.code) || (error && error.message) || String(error);
    process.stderr.write(`Warning: the demo journey was not created (${baseUrl}): ${reason}. The host keeps running.\n`);
  }
}

module.exports = { ensureDemoJourney, demoJourney, baseUrlFromEnv, JOURNEY_NAME };

if (require.main === module) {
  main().then(
    () => process.exit(0),
    () => process.exit(0),
  );
}
