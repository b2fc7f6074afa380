/**
 * The reference host for tests: a sandboxed host (reference-host/sandbox.ts)
 * plus a supertest login.
 *
 *   const host = await startReferenceHost();
 *   await request(host.server).get('/journeys').set('Cookie', host.cookieFor(host.demo.userA.userId));
 *   await host.stop();
 */
import { randomUUID } from 'crypto';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { startSandboxHost, type SandboxHost, type StartOptions } from '../../reference-host/sandbox';

export { dropSandbox, type StartOptions } from '../../reference-host/sandbox';

export interface RefHost extends SandboxHost {
  /** Logs a supertest agent in through the host's login form (the agent keeps the cookie). */
  login(agent: TestAgent, userId: number): Promise<void>;
}

export async function startReferenceHost(opts: StartOptions = {}): Promise<RefHost> {
  const host = await startSandboxHost(opts);
  return Object.assign(host, {
    async login(agent: TestAgent, userId: number) {
      const res = await agent
        .post('/login')
        .type('form')
        .send({ UserID: String(userId), next: '/' });
      if (res.status !== 303) throw new Error(`login of user ${userId} answered ${res.status}`);
    },
  });
}

/** A request to the host's HTTP host API (`/host-api/<endpoint>`), signed as the plug-in's adapter signs it (or with another secret). */
export function signedHostApiPost(host: SandboxHost, endpoint: string, body: string | object, secret = host.config.HOST_API_SECRET) {
  return signedPost(host, `/host-api/${endpoint}`, body, `test_${randomUUID()}`, secret);
}

/** A Subscriber.Subscribed payload of one of user A's subscribers, with a fresh EventID. */
export function subscribedPayload(host: SandboxHost, subscriber: { listId: number; subscriberId: number; emailAddress: string }) {
  return {
    EventID: `sub-${randomUUID()}`,
    UserID: host.demo.userA.userId,
    ListID: subscriber.listId,
    SubscriberID: subscriber.subscriberId,
    EmailAddress: subscriber.emailAddress,
    OccurredAt: new Date().toISOString(),
  };
}

/** A hook posted to the signed ingest (`/journeys/hooks/<hookName>`) as a host signs it, under `webhookId` (a fresh one unless given). */
export function signedHookPost(host: SandboxHost, hookName: string, body: string | object, webhookId = `msg_${randomUUID()}`) {
  return signedPost(host, `/journeys/hooks/${hookName}`, body, webhookId, host.config.HOOK_SECRET);
}

/** A JSON POST signed the Standard Webhooks way. */
function signedPost(host: SandboxHost, path: string, body: string | object, id: string, secret: string) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const at = new Date();
  return request(host.server)
    .post(path)
    .set('Content-Type', 'application/json')
    .set('webhook-id', id)
    .set('webhook-timestamp', String(Math.floor(at.getTime() / 1000)))
    .set('webhook-signature', new Webhook(secret).sign(id, at, payload))
    .send(payload);
}
