/**
 * The reference host for tests: a sandboxed host (reference-host/sandbox.ts)
 * plus a supertest login.
 *
 *   const host = await startReferenceHost();
 *   await request(host.server).get('/journeys').set('Cookie', host.cookieFor(host.demo.userA.userId));
 *   await host.stop();
 */
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
