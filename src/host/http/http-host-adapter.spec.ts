import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { Webhook } from 'standardwebhooks';
import { PermanentHostError } from '../host.ports';
import { HostApiClient, HostApiUnavailableError } from './host-api.client';
import { HttpHostAdapter } from './http-host-adapter';

const SECRET = 'whsec_dGVzdC1ob3N0LWFwaS1zZWNyZXQtMTIzNDU2';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

type Answer = (res: ServerResponse, req: Received, index: number) => void;

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };

/** A host API receiver on 127.0.0.1: records every request and answers with the next of `answers` (the last one repeats). */
async function receiver(answers: Answer[]): Promise<{ url: string; received: Received[]; connections: () => number; close(): Promise<void> }> {
  const received: Received[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const entry = { url: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> };
      received.push(entry);
      answers[Math.min(received.length - 1, answers.length - 1)](res, entry, received.length - 1);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/host-api`,
    received,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe(HttpHostAdapter.name, () => {
  let clients: HostApiClient[] = [];
  let servers: { close(): Promise<void> }[] = [];

  async function adapterFor(answers: Answer[], options: { timeoutMs?: number; secret?: string } = {}) {
    const host = await receiver(answers);
    servers.push(host);
    const client = new HostApiClient({ baseUrl: host.url, secret: options.secret ?? SECRET, timeoutMs: options.timeoutMs ?? 3000, random: () => 0 });
    clients.push(client);
    return { adapter: new HttpHostAdapter(client), host };
  }

  afterEach(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(servers.map((s) => s.close()));
    clients = [];
    servers = [];
  });

  it('posts a subscribe signed with the shared secret, the idempotency key in the body and the headers, and reads the answer', async () => {
    const { adapter, host } = await adapterFor([json(200, { Success: true, SubscriberID: 42, AlreadySubscribed: false })]);
    const result = await adapter.subscribe(7, 3, { emailAddress: 'ada@example.com', customFields: { 5: 'Ada' } }, { chainId: 'evt-1', depth: 2 }, 'claim_991');

    expect(result).toEqual({ subscriberId: 42, alreadySubscribed: false });
    expect(host.received).toHaveLength(1);
    const [req] = host.received;
    expect(req.url).toBe('/host-api/subscribe');
    expect(req.body).toEqual({
      UserID: 7,
      ListID: 3,
      EmailAddress: 'ada@example.com',
      CustomFields: { '5': 'Ada' },
      Causation: { chainId: 'evt-1', depth: 2 },
      IdempotencyKey: 'claim_991',
    });
    expect(req.headers['idempotency-key']).toBe('claim_991');
    expect(req.headers['webhook-id']).toBe('claim_991');
    expect(() => new Webhook(SECRET).verify(req.raw, req.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook('whsec_b3RoZXItc2VjcmV0LW9mLXNvbWVvbmU=').verify(req.raw, req.headers as Record<string, string>)).toThrow();
  });

  it('retries a 5xx with the same key and succeeds', async () => {
    const { adapter, host } = await adapterFor([json(503, { Errors: [{ Code: 99, Message: 'database away' }] }), json(200, { WasSubscribed: true })]);
    await expect(adapter.unsubscribe(7, { listId: 3, subscriberId: 42 })).resolves.toEqual({ wasSubscribed: true });

    expect(host.received).toHaveLength(2);
    const [first, second] = host.received;
    expect(first.url).toBe('/host-api/unsubscribe');
    expect(first.body).toEqual({ UserID: 7, ListID: 3, SubscriberID: 42, IdempotencyKey: expect.stringMatching(/^journeys_[0-9a-f-]{36}$/) });
    // Without a key from the caller the adapter makes one, the same on its own retries.
    expect(second.body.IdempotencyKey).toBe(first.body.IdempotencyKey);
    expect(second.headers['webhook-id']).toBe(first.body.IdempotencyKey);
  });

  it('throws PermanentHostError with the host message on a 4xx with the Errors body, without retrying', async () => {
    const { adapter, host } = await adapterFor([json(404, { Errors: [{ Code: 1, Message: 'List 4 not found' }] })]);
    const error = await adapter.subscribe(7, 4, { emailAddress: 'ada@example.com' }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(PermanentHostError);
    expect((error as Error).message).toBe('List 4 not found');
    expect(host.received).toHaveLength(1);
  });

  it('takes a 4xx without the host API error body as transient: something other than the host answered', async () => {
    const { adapter } = await adapterFor([json(404, { statusCode: 404, message: 'Cannot POST /wrong/subscribe' })]);
    const error = await adapter.subscribe(7, 3, { emailAddress: 'ada@example.com' }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(HostApiUnavailableError);
    expect(error).not.toBeInstanceOf(PermanentHostError);
    expect((error as Error).message).toMatch(/HTTP 404.*check HOST_API_URL/);
  });

  it('takes a refused signature (401) as transient, naming the secret', async () => {
    const { adapter } = await adapterFor([json(401, { Errors: [{ Code: 7, Message: 'the signature does not match' }] })]);
    const error = await adapter.subscribe(7, 3, { emailAddress: 'ada@example.com' }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(HostApiUnavailableError);
    expect((error as Error).message).toMatch(/HTTP 401: the signature does not match .*HOST_API_SECRET/);
  });

  it('waits for Retry-After on a 429 before trying again', async () => {
    const { adapter, host } = await adapterFor([
      json(429, { Errors: [{ Code: 4, Message: 'slow down' }] }, { 'retry-after': '1' }),
      json(200, { SubscriberID: 9, AlreadySubscribed: true }),
    ]);
    const started = Date.now();
    await expect(adapter.subscribe(7, 3, { emailAddress: 'ada@example.com' }, undefined, 'k1')).resolves.toEqual({ subscriberId: 9, alreadySubscribed: true });

    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(host.received).toHaveLength(2);
  });

  it('gives a Retry-After longer than the call may last back to the runtime at once', async () => {
    const { adapter, host } = await adapterFor([json(429, { Errors: [{ Code: 4, Message: 'slow down' }] }, { 'retry-after': '120' })]);
    const started = Date.now();
    const error = await adapter.subscribe(7, 3, { emailAddress: 'ada@example.com' }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(HostApiUnavailableError);
    expect((error as HostApiUnavailableError).retryAfterMs).toBe(120_000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(host.received).toHaveLength(1);
  });

  it('fails a call the host does not answer in time as transient, within the time limit', async () => {
    const { adapter } = await adapterFor([() => undefined], { timeoutMs: 300 });
    const started = Date.now();
    const error = await adapter.unsubscribe(7, { listId: 3, subscriberId: 42 }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(HostApiUnavailableError);
    expect((error as Error).message).toMatch(/no answer within \d+ ms/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('retries a refused connection a few times, then fails as transient', async () => {
    const host = await receiver([json(200, {})]);
    await host.close();
    const client = new HostApiClient({ baseUrl: host.url, secret: SECRET, timeoutMs: 3000, random: () => 0 });
    clients.push(client);
    const error = await new HttpHostAdapter(client).subscribe(7, 3, { emailAddress: 'a@example.com' }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(HostApiUnavailableError);
    expect((error as Error).message).toMatch(/ECONNREFUSED \(3 attempts\)/);
  });

  it('takes a 2xx it cannot read as transient', async () => {
    const { adapter } = await adapterFor([json(200, { Success: true })]);
    const error = await adapter.subscribe(7, 3, { emailAddress: 'ada@example.com' }, undefined, 'k1').catch((e: Error) => e);

    expect(error).toBeInstanceOf(HostApiUnavailableError);
    expect((error as Error).message).toMatch(/SubscriberID/);
  });

  it('refuses an idempotency key that cannot travel in a header, without calling the host', async () => {
    const { adapter, host } = await adapterFor([json(200, { WasSubscribed: true })]);
    await expect(adapter.unsubscribe(7, { listId: 3, subscriberId: 42 }, undefined, 'two words')).rejects.toThrow(PermanentHostError);
    expect(host.received).toHaveLength(0);
  });

  it('keeps the connection alive between calls', async () => {
    const { adapter, host } = await adapterFor([json(200, { WasSubscribed: false })]);
    for (let i = 0; i < 3; i++) await adapter.unsubscribe(7, { listId: 3, subscriberId: 42 }, undefined, `k${i}`);

    expect(host.received).toHaveLength(3);
    expect(host.connections()).toBe(1);
  });

  it('answers a batch with one outcome per request, in order', async () => {
    const { adapter, host } = await adapterFor([
      json(200, {
        Results: [
          { Ok: true, SubscriberID: 1, AlreadySubscribed: false },
          { Ok: false, Permanent: true, Error: 'List 4 not found' },
          { Ok: false, Permanent: false, Error: 'lock wait timeout' },
          { Ok: true, SubscriberID: 2, AlreadySubscribed: true },
        ],
      }),
    ]);
    const requests = ['a', 'b', 'c', 'd'].map((name, i) => ({ listId: i === 1 ? 4 : 3, emailAddress: `${name}@example.com`, idempotencyKey: `k-${name}` }));
    const outcomes = await adapter.subscribeMany(7, requests);

    expect(outcomes).toEqual([
      { ok: true, subscriberId: 1, alreadySubscribed: false },
      { ok: false, permanent: true, error: 'List 4 not found' },
      { ok: false, permanent: false, error: 'lock wait timeout' },
      { ok: true, subscriberId: 2, alreadySubscribed: true },
    ]);
    const [req] = host.received;
    expect(req.url).toBe('/host-api/subscribe-many');
    expect(req.body.UserID).toBe(7);
    expect((req.body.Requests as { IdempotencyKey: string }[]).map((r) => r.IdempotencyKey)).toEqual(['k-a', 'k-b', 'k-c', 'k-d']);
    expect(req.headers['webhook-id']).toMatch(/^batch_[0-9a-f]{64}$/);
    expect(() => new Webhook(SECRET).verify(req.raw, req.headers as Record<string, string>)).not.toThrow();
  });

  it('splits a large batch into chunks of 100 and keeps the order', async () => {
    const echo: Answer = (res, req) =>
      json(200, { Results: (req.body.Requests as { SubscriberID: number }[]).map((r) => ({ Ok: true, WasSubscribed: r.SubscriberID % 2 === 0 })) })(
        res,
        req,
        0,
      );
    const { adapter, host } = await adapterFor([echo]);
    const requests = Array.from({ length: 150 }, (_, i) => ({ ref: { listId: 3, subscriberId: i + 1 }, idempotencyKey: `k${i}` }));
    const outcomes = await adapter.unsubscribeMany(7, requests);

    expect(host.received.map((r) => (r.body.Requests as unknown[]).length)).toEqual([100, 50]);
    expect(outcomes).toEqual(requests.map((r) => ({ ok: true, wasSubscribed: r.ref.subscriberId % 2 === 0 })));
  });

  it('gives every request of a batch the failure of the whole call, and a request it cannot send its own', async () => {
    const { adapter, host } = await adapterFor([json(400, { Errors: [{ Code: 2, Message: 'UserID must be a positive integer' }] })]);
    const outcomes = await adapter.unsubscribeMany(7, [
      { ref: { listId: 3, subscriberId: 1 }, idempotencyKey: 'k1' },
      { ref: { listId: 3, subscriberId: 2 }, idempotencyKey: '' },
      { ref: { listId: 3, subscriberId: 3 }, idempotencyKey: 'k3' },
    ]);

    expect(outcomes).toEqual([
      { ok: false, permanent: true, error: 'UserID must be a positive integer' },
      { ok: false, permanent: true, error: expect.stringMatching(/idempotency key "" must be/) },
      { ok: false, permanent: true, error: 'UserID must be a positive integer' },
    ]);
    expect((host.received[0].body.Requests as unknown[]).length).toBe(2);
  });

  it('sends an email and reads sent and undeliverable answers', async () => {
    const { adapter, host } = await adapterFor([
      json(200, { Status: 'sent', MessageID: 'm-1' }),
      json(200, { Status: 'undeliverable', Reason: 'bounced', Message: 'hard bounce' }),
    ]);
    const request = { userId: 7, listId: 3, subscriberId: 42, emailId: 5, journeyId: 11, entryId: 900, idempotencyKey: 'send_900' };

    await expect(adapter.send(request)).resolves.toEqual({ status: 'sent', messageId: 'm-1' });
    await expect(adapter.send({ ...request, idempotencyKey: 'send_901' })).resolves.toEqual({
      status: 'undeliverable',
      reason: 'bounced',
      message: 'hard bounce',
    });
    expect(host.received[0].url).toBe('/host-api/send-email');
    expect(host.received[0].body).toEqual({ UserID: 7, ListID: 3, SubscriberID: 42, EmailID: 5, JourneyID: 11, EntryID: 900, IdempotencyKey: 'send_900' });
  });

  it('takes 501 as a host that does not offer the endpoint: permanent', async () => {
    const { adapter, host } = await adapterFor([json(501, { Errors: [{ Code: 501, Message: 'This host does not send email yet' }] })]);
    const request = { userId: 7, listId: 3, subscriberId: 42, emailId: 5, journeyId: 11, entryId: 900, idempotencyKey: 'send_900' };

    await expect(adapter.send(request)).rejects.toThrow(new PermanentHostError('This host does not send email yet'));
    await expect(adapter.sendMany([request])).resolves.toEqual([{ ok: false, permanent: true, error: 'This host does not send email yet' }]);
    expect(host.received.map((r) => r.url)).toEqual(['/host-api/send-email', '/host-api/send-email-many']);
  });
});
