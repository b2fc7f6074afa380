import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { Webhook } from 'standardwebhooks';
import {
  classifyStatus,
  parseRetryAfter,
  PER_DESTINATION_CONCURRENCY,
  refusedAddressReason,
  retryDelayMs,
  signatureHeaders,
  WebhookSender,
} from './webhook-sender';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-enough-length!!').toString('base64')}`;

describe(refusedAddressReason.name, () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.9', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // cloud metadata
    ['100.100.100.200', 'carrierGradeNat'], // another cloud's metadata
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'], // IPv6 metadata
    ['::ffff:127.0.0.1', 'loopback'], // IPv4-mapped
    ['224.0.0.1', 'multicast'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refusedAddressReason(address)).toContain(range);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])('allows the public address %s', (address) => {
    expect(refusedAddressReason(address)).toBeNull();
  });

  /** One IPv6 form written around an IPv4 address. */
  const forms: [string, (ipv4: string) => string][] = [
    ['IPv4-compatible ::/96', (ipv4) => `::${ipv4}`],
    ['IPv4-mapped ::ffff:0:0/96', (ipv4) => `::ffff:${ipv4}`],
    ['IPv4-translated ::ffff:0:0:0/96', (ipv4) => `::ffff:0:${ipv4}`],
    ['NAT64 64:ff9b::/96', (ipv4) => `64:ff9b::${ipv4}`],
    ['6to4 2002::/16', (ipv4) => `2002:${hexWords(ipv4)}::1`],
  ];
  const refusedInside = [
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // cloud metadata
    ['0.0.0.0', 'unspecified'],
  ];

  describe.each(forms)('%s', (_form, write) => {
    it.each(refusedInside)('refuses the embedded %s (%s)', (ipv4, range) => {
      const reason = refusedAddressReason(write(ipv4));
      expect(reason).toContain(range);
    });

    it('allows an embedded public address (8.8.8.8), which is where the packets would go', () => {
      expect(refusedAddressReason(write('8.8.8.8'))).toBeNull();
    });
  });

  it('names the embedded address and its range', () => {
    expect(refusedAddressReason('::a9fe:a9fe')).toBe('address ::a9fe:a9fe is IPv4-compatible and carries 169.254.169.254, which is linkLocal');
    expect(refusedAddressReason('2002:a00:1::1')).toBe('address 2002:a00:1::1 is 6to4 and carries 10.0.0.1, which is private');
  });

  it.each([
    ['127.0.0.1', 'the loopback client'],
    ['169.254.169.254', 'the metadata client'],
    ['8.8.8.8', 'even a public client'],
  ])('refuses Teredo 2001::/32 outright: %s (%s)', (client) => {
    expect(refusedAddressReason(teredo('65.54.227.120', client, 40000))).toContain('teredo');
  });

  it.each(['64:ff9b:1::808:808', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:a9fe:a9:fe00::'])(
    'refuses local-use NAT64 64:ff9b:1::/48 outright, wherever the IPv4 address sits: %s',
    (address) => {
      expect(refusedAddressReason(address)).toContain('local-use NAT64');
    },
  );
});

/** `a.b.c.d` as the two hex words `aabb:ccdd`. */
function hexWords(ipv4: string): string {
  const [a, b, c, d] = ipv4.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/** A Teredo address (RFC 4380): prefix, server IPv4, flags, then the client's port and IPv4 with every bit inverted. */
function teredo(server: string, client: string, port: number): string {
  const inverted = client
    .split('.')
    .map((octet) => String(255 - Number(octet)))
    .join('.');
  return `2001:0:${hexWords(server)}:0:${(port ^ 0xffff).toString(16)}:${hexWords(inverted)}`;
}

describe(classifyStatus.name, () => {
  it('delivers on 2xx, retries 408/429/5xx, gives up on other 4xx and on 3xx', () => {
    expect([200, 204].map(classifyStatus)).toEqual(['delivered', 'delivered']);
    expect([408, 429, 500, 502, 503].map(classifyStatus)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry']);
    expect([301, 302, 400, 401, 404, 410].map(classifyStatus)).toEqual(['permanent', 'permanent', 'permanent', 'permanent', 'permanent', 'permanent']);
  });
});

describe(parseRetryAfter.name, () => {
  const now = new Date('2026-11-27T10:00:00Z');
  it('reads seconds and HTTP dates, ignores the rest', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 10:05:00 GMT', now)).toBe(300_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe(retryDelayMs.name, () => {
  it('grows exponentially with jitter between half and all of the step, capped at an hour', () => {
    expect(retryDelayMs(1, undefined, () => 0)).toBe(15_000);
    expect(retryDelayMs(1, undefined, () => 1)).toBe(30_000);
    expect(retryDelayMs(3, undefined, () => 1)).toBe(120_000);
    expect(retryDelayMs(20, undefined, () => 1)).toBe(3_600_000);
  });
  it('waits at least as long as Retry-After asks', () => {
    expect(retryDelayMs(1, 600_000, () => 0)).toBe(600_000);
  });
});

describe(signatureHeaders.name, () => {
  it('signs id.timestamp.body so the standardwebhooks library verifies it', () => {
    const body = JSON.stringify({ hello: 'world' });
    const headers = signatureHeaders(SECRET, 'msg_1', new Date(), body);
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ hello: 'world' });
  });
});

describe(WebhookSender.name, () => {
  let server: Server;
  let port = 0;
  let answer = { status: 200, headers: {} as Record<string, string> };
  let delayMs = 0;
  const seen: { method?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, body });
        setTimeout(() => res.writeHead(answer.status, answer.headers).end(), delayMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    answer = { status: 200, headers: {} };
    delayMs = 0;
  });

  const request = (url: string) => ({ url, method: 'POST', body: '{"a":1}', deliveryId: 'msg_x', secret: SECRET, timestamp: new Date() });

  it('refuses a loopback receiver unless private addresses are allowed', async () => {
    const strict = new WebhookSender({ timeoutMs: 1000, allowPrivate: false });
    const before = seen.length;
    expect(await strict.send(request(`http://127.0.0.1:${port}/`))).toMatchObject({ kind: 'permanent', error: expect.stringContaining('Refused') });
    expect(seen.length).toBe(before);
    const open = new WebhookSender({ timeoutMs: 1000, allowPrivate: true });
    expect(await open.send(request(`http://127.0.0.1:${port}/`))).toEqual({ kind: 'delivered', status: 200 });
  });

  it('refuses IPv6 spellings of loopback and of the metadata address, as literals and as DNS answers', async () => {
    const before = seen.length;
    const strict = new WebhookSender({ timeoutMs: 1000, allowPrivate: false });
    for (const literal of ['::7f00:1', '::ffff:7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::1'])
      expect(await strict.send(request(`http://[${literal}]:${port}/`))).toMatchObject({ kind: 'permanent', error: expect.stringContaining('loopback') });
    const resolved = new WebhookSender({ timeoutMs: 1000, allowPrivate: false, resolve: async () => [{ address: '::a9fe:a9fe', family: 6 }] });
    expect(await resolved.send(request('http://metadata.example/'))).toMatchObject({ kind: 'permanent', error: expect.stringContaining('169.254.169.254') });
    expect(seen.length).toBe(before);
  });

  it('checks every address a name resolves to', async () => {
    const sender = new WebhookSender({
      timeoutMs: 1000,
      allowPrivate: false,
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ],
    });
    expect(await sender.send(request('https://mixed.example/'))).toMatchObject({ kind: 'permanent', error: expect.stringContaining('10.0.0.5') });
  });

  it('times out as a retryable failure', async () => {
    delayMs = 500;
    const sender = new WebhookSender({ timeoutMs: 100, allowPrivate: true });
    expect(await sender.send(request(`http://127.0.0.1:${port}/`))).toMatchObject({ kind: 'retry', error: expect.stringContaining('timed out') });
  });

  it('does not follow a redirect', async () => {
    answer = { status: 307, headers: { Location: 'http://169.254.169.254/' } };
    const sender = new WebhookSender({ timeoutMs: 1000, allowPrivate: true });
    expect(await sender.send(request(`http://127.0.0.1:${port}/`))).toMatchObject({
      kind: 'permanent',
      status: 307,
      error: expect.stringContaining('not followed'),
    });
  });

  it('passes Retry-After of a 429 on', async () => {
    answer = { status: 429, headers: { 'Retry-After': '7' } };
    const sender = new WebhookSender({ timeoutMs: 1000, allowPrivate: true });
    expect(await sender.send(request(`http://127.0.0.1:${port}/`))).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 7000 });
  });

  it('refuses a header a user typed that HTTP cannot carry, for good', async () => {
    const sender = new WebhookSender({ timeoutMs: 1000, allowPrivate: true });
    const outcome = await sender.send({ ...request(`http://127.0.0.1:${port}/`), headers: { 'X-Bad': 'a\r\nInjected: 1' } });
    expect(outcome).toMatchObject({ kind: 'permanent', error: expect.stringContaining('invalid header') });
  });

  it('refuses schemes other than http(s) and credentials in the URL', async () => {
    const sender = new WebhookSender({ timeoutMs: 1000, allowPrivate: true });
    expect((await sender.send(request('ftp://example.com/x'))).kind).toBe('permanent');
    expect((await sender.send(request('https://user:pw@example.com/x'))).kind).toBe('permanent');
  });
});

describe('WebhookSender connections', () => {
  let server: Server;
  let url = '';
  let connections = 0;
  let inFlight = 0;
  let mostInFlight = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          inFlight--;
          res.writeHead(200).end('ok');
        }, 20),
      );
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it(`keeps connections alive and sends at most ${PER_DESTINATION_CONCURRENCY} requests to one destination at a time`, async () => {
    const sender = new WebhookSender({ timeoutMs: 5000, allowPrivate: true });
    const send = (i: number) =>
      sender.send({ url, method: 'POST', body: '{}', deliveryId: `msg_${i}`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', timestamp: new Date() });
    const first = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i)));
    expect(first.every((o) => o.kind === 'delivered')).toBe(true);
    expect(mostInFlight).toBe(PER_DESTINATION_CONCURRENCY);
    expect(connections).toBeLessThanOrEqual(PER_DESTINATION_CONCURRENCY);
    const opened = connections;
    await Promise.all(Array.from({ length: 30 }, (_, i) => send(100 + i)));
    expect(connections).toBe(opened); // the second wave reuses the kept connections
    sender.onApplicationShutdown();
  });
});
