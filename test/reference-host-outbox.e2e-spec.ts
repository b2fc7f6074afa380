/**
 * The reference host sends journey emails into its outbox: through the
 * plug-in's EmailSenderPort and through the signed HTTP host API (with the
 * plug-in's HTTP adapter), a send records one row and answers `sent` with a
 * message id; a repeated idempotency key answers the same and records
 * nothing; a subscriber who is not subscribed, hard bounced or suppressed is
 * `undeliverable` with the reason; another user's list, email or subscriber
 * is refused as permanent; batches answer in order. The dashboard lists the
 * rows with "simulate open / click" links, and an open of a journey-sent
 * email fires Email.Opened like any other, tied to its message.
 */
import { randomBytes } from 'crypto';
import { createConnection, type ResultSetHeader } from 'mysql2/promise';
import request from 'supertest';
import type { EmailOpenedHookPayload } from '../src/host/hook-payloads';
import { PermanentHostError, type EmailSenderPort, type SendEmailRequest } from '../src/host/host.ports';
import { httpHostPorts, type HttpHostPorts } from '../src/host/http';
import { HOST_SERVICES, type HostServices } from '../reference-host/host-services';
import { hostTables } from '../src/host/mysql/host-tables';
import type { OutboxRow } from '../reference-host/outbox-store';
import { installHostSchema, referenceHostTables } from '../reference-host/schema';
import { eventually } from './support/journey-fixtures';
import { dropSandbox, signedHostApiPost, startReferenceHost, type RefHost } from './support/reference-host';

describe('reference host outbox (Send Email)', () => {
  let host: RefHost;
  let port: EmailSenderPort;
  let http: HttpHostPorts;
  let services: HostServices;
  let outbox: string;
  let entryId = 1000;

  beforeAll(async () => {
    host = await startReferenceHost({ listen: true });
    port = host.ports.email!;
    http = httpHostPorts({ ...host.config, HOST_API_URL: `${host.baseUrl}/host-api` }, host.sequelize);
    services = host.app.get<HostServices>(HOST_SERVICES);
    outbox = referenceHostTables(host.prefix).emailOutbox;
  });
  afterAll(async () => {
    http?.close();
    await host?.stop();
  });

  /** A send of user A's welcome email to alice, from a fresh journey entry with its own key, unless told otherwise. */
  function sendOf(overrides: Partial<SendEmailRequest> = {}): SendEmailRequest {
    const { userA, lists, subscribers, emails } = host.demo;
    entryId++;
    return {
      userId: userA.userId,
      listId: lists.newsletter,
      subscriberId: subscribers.alice.subscriberId,
      emailId: emails.welcome,
      journeyId: 7,
      entryId,
      idempotencyKey: `send_${entryId}`,
      ...overrides,
    };
  }

  const rowsOfKey = (userId: number, key: string) =>
    host.query<OutboxRow>(`SELECT * FROM \`${outbox}\` WHERE RelOwnerUserID = ? AND IdempotencyKey = ?`, [userId, key]);
  const outboxCount = async () => Number((await host.query<{ N: number }>(`SELECT COUNT(*) AS N FROM \`${outbox}\``))[0].N);

  /** The links of an HTML fragment, as the browser reads them. */
  const linksOf = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replace(/&#x3D;/g, '=').replace(/&amp;/g, '&'));

  const signedPost = (endpoint: string, body: object) => signedHostApiPost(host, endpoint, body);

  describe('through the port', () => {
    it('records one outbox row per send and answers sent with the message id of that row', async () => {
      const send = sendOf({ journeyId: 31 });
      const result = await port.send(send);

      const rows = await rowsOfKey(send.userId, send.idempotencyKey);
      expect(rows).toHaveLength(1);
      expect(result).toEqual({ status: 'sent', messageId: `outbox-${rows[0].OutboxID}` });
      expect(rows[0]).toMatchObject({
        RelListID: send.listId,
        RelSubscriberID: send.subscriberId,
        RelEmailID: send.emailId,
        EmailAddress: host.demo.subscribers.alice.emailAddress,
        JourneyID: 31,
        EntryID: send.entryId,
        Status: 'sent',
        Reason: null,
      });
    });

    it('answers a repeated idempotency key with the first answer and records nothing; the key for another request is refused', async () => {
      const send = sendOf();
      const first = await port.send(send);
      const before = await outboxCount();

      await expect(port.send(send)).resolves.toEqual(first);
      await expect(port.sendMany!([send, send])).resolves.toEqual([
        { ok: true, ...first },
        { ok: true, ...first },
      ]);
      expect(await outboxCount()).toBe(before);

      const other = port.send({ ...send, emailId: host.demo.emails.newsletter });
      await expect(other).rejects.toThrow(PermanentHostError);
      await expect(other).rejects.toThrow(`Idempotency key "${send.idempotencyKey}" was first used for another request`);
      expect(await outboxCount()).toBe(before);
    });

    it('answers undeliverable for an unsubscribed, a hard-bounced and a suppressed subscriber, and records each', async () => {
      const { userA, userB, lists, subscribers } = host.demo;
      const { subscriberId: bounced } = await host.ports.subscriptions.subscribe(userA.userId, lists.newsletter, { emailAddress: 'hard.bounce@example.com' });
      await host.sequelize.query(`UPDATE \`${host.tables.subscribers(lists.newsletter)}\` SET BounceType = 'Hard' WHERE SubscriberID = ?`, {
        replacements: [bounced],
      });
      await services.email.suppress(userA.userId, subscribers.dave.emailAddress);
      // Another owner's suppression list says nothing about user A's sends.
      await services.email.suppress(userB.userId, subscribers.bob.emailAddress);

      const carol = sendOf({ subscriberId: subscribers.carol.subscriberId });
      const hard = sendOf({ subscriberId: bounced });
      const dave = sendOf({ subscriberId: subscribers.dave.subscriberId });
      await expect(port.send(carol)).resolves.toEqual({
        status: 'undeliverable',
        reason: 'not_subscribed',
        message: `carol@example.com is not subscribed to list ${lists.newsletter}`,
      });
      await expect(port.send(hard)).resolves.toEqual({
        status: 'undeliverable',
        reason: 'bounced',
        message: 'hard.bounce@example.com has bounced (hard bounce)',
      });
      await expect(port.send(dave)).resolves.toEqual({ status: 'undeliverable', reason: 'suppressed', message: 'dave@example.com is on the suppression list' });
      await expect(port.send(sendOf({ subscriberId: subscribers.bob.subscriberId }))).resolves.toMatchObject({ status: 'sent' });

      for (const [send, reason] of [
        [carol, 'not_subscribed'],
        [hard, 'bounced'],
        [dave, 'suppressed'],
      ] as const) {
        expect(await rowsOfKey(send.userId, send.idempotencyKey)).toEqual([expect.objectContaining({ Status: 'undeliverable', Reason: reason })]);
      }
      // The first answer stays, whatever changed since.
      await host.sequelize.query(`UPDATE \`${host.tables.subscribers(lists.newsletter)}\` SET BounceType = 'Not Bounced' WHERE SubscriberID = ?`, {
        replacements: [bounced],
      });
      await expect(port.send(hard)).resolves.toMatchObject({ status: 'undeliverable', reason: 'bounced' });
    });

    it("refuses another user's list or email, a missing list or subscriber, and a bad key as permanent, recording nothing", async () => {
      const { lists, emails, subscribers } = host.demo;
      const before = await outboxCount();
      const refusals: [Partial<SendEmailRequest>, string][] = [
        [{ listId: lists.leads, subscriberId: subscribers.frank.subscriberId }, `List ${lists.leads} not found`],
        [{ emailId: emails.leadsIntro }, `Email ${emails.leadsIntro} not found`],
        [{ listId: 999 }, 'List 999 not found'],
        [{ subscriberId: 99_999 }, `Subscriber 99999 of list ${lists.newsletter} not found`],
        [{ idempotencyKey: 'has space' }, 'The idempotency key must be 1 to 200 printable ASCII characters without spaces'],
        [{ entryId: 0 }, 'EntryID must be a positive integer, got 0'],
      ];
      for (const [overrides, message] of refusals) {
        const error = await port.send(sendOf(overrides)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PermanentHostError);
        expect((error as Error).message).toBe(message);
      }
      expect(await outboxCount()).toBe(before);
    });

    it('answers a mixed batch of several owners with one outcome per request, in order', async () => {
      const { userB, lists, subscribers, emails } = host.demo;
      const earlier = sendOf();
      const firstAnswer = await port.send(earlier);
      const fresh = sendOf();
      const frank = sendOf({ userId: userB.userId, listId: lists.leads, subscriberId: subscribers.frank.subscriberId, emailId: emails.leadsIntro });

      const outcomes = await port.sendMany!([
        fresh,
        sendOf({ subscriberId: subscribers.carol.subscriberId }),
        sendOf({ listId: lists.leads }),
        earlier,
        frank,
        sendOf({ listId: 999 }),
        { ...fresh, entryId: fresh.entryId + 1 },
      ]);

      const [freshRow] = await rowsOfKey(fresh.userId, fresh.idempotencyKey);
      const [frankRow] = await rowsOfKey(userB.userId, frank.idempotencyKey);
      expect(frankRow).toMatchObject({ RelOwnerUserID: userB.userId, EmailAddress: subscribers.frank.emailAddress });
      expect(outcomes).toEqual([
        { ok: true, status: 'sent', messageId: `outbox-${freshRow.OutboxID}` },
        { ok: true, status: 'undeliverable', reason: 'not_subscribed', message: expect.stringContaining('carol@example.com') },
        { ok: false, permanent: true, error: `List ${lists.leads} not found` },
        { ok: true, ...firstAnswer },
        { ok: true, status: 'sent', messageId: `outbox-${frankRow.OutboxID}` },
        { ok: false, permanent: true, error: 'List 999 not found' },
        { ok: false, permanent: true, error: expect.stringContaining(`Idempotency key "${fresh.idempotencyKey}" was first used for another request`) },
      ]);
    });

    it('gives concurrent sends their own rows and message ids', async () => {
      const sends = Array.from({ length: 30 }, () => sendOf());
      const results = await Promise.all(sends.map((s) => port.send(s)));
      const ids = results.map((r) => (r.status === 'sent' ? r.messageId : r.status));
      expect(new Set(ids).size).toBe(30);
      for (const [i, s] of sends.entries()) expect(ids[i]).toBe(`outbox-${(await rowsOfKey(s.userId, s.idempotencyKey))[0].OutboxID}`);
    });

    it('answers from the row of a concurrent call with the same key that committed first, recording nothing more', async () => {
      const contested = sendOf();
      const { alice } = host.demo.subscribers;
      const locker = await createConnection({ host: host.config.DB_HOST, port: host.config.DB_PORT, user: host.config.DB_USER, database: host.config.DB_NAME });
      try {
        // The other call has inserted its row and not committed yet: this send does not see it when it reads, and its insert waits on the key.
        await locker.query('START TRANSACTION');
        const [inserted] = await locker.query<ResultSetHeader>(
          `INSERT INTO \`${outbox}\` (RelOwnerUserID, RelListID, RelSubscriberID, RelEmailID, EmailAddress, JourneyID, EntryID, IdempotencyKey, Status, CreatedAt)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', NOW(3))`,
          [
            contested.userId,
            contested.listId,
            contested.subscriberId,
            contested.emailId,
            alice.emailAddress,
            contested.journeyId,
            contested.entryId,
            contested.idempotencyKey,
          ],
        );
        const answer = port.sendMany!([contested, sendOf()]);
        // Its insert running means its read is done (and saw nothing): the insert is waiting on the key.
        await eventually(
          async () => (await host.query(`SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE ?`, [`INSERT INTO \`${outbox}\`%`])).length > 0,
          10_000,
          'the send to wait on the key',
        );
        await locker.query('COMMIT');

        const [first, second] = await answer;
        expect(first).toEqual({ ok: true, status: 'sent', messageId: `outbox-${inserted.insertId}` });
        expect(second).toMatchObject({ ok: true, status: 'sent' });
        expect(await rowsOfKey(contested.userId, contested.idempotencyKey)).toEqual([expect.objectContaining({ OutboxID: inserted.insertId })]);
      } finally {
        await locker.end();
      }
    });
  });

  describe('through the signed HTTP host API', () => {
    const body = (send: SendEmailRequest) => ({
      UserID: send.userId,
      ListID: send.listId,
      SubscriberID: send.subscriberId,
      EmailID: send.emailId,
      JourneyID: send.journeyId,
      EntryID: send.entryId,
      IdempotencyKey: send.idempotencyKey,
    });

    it('answers send-email with the message id, and the same again for the same key', async () => {
      const send = sendOf();
      const res = await signedPost('send-email', body(send)).expect(200);
      const [row] = await rowsOfKey(send.userId, send.idempotencyKey);

      expect(res.body).toEqual({ Success: true, Status: 'sent', MessageID: `outbox-${row.OutboxID}` });
      await signedPost('send-email', body(send)).expect(200, res.body);
      expect(await rowsOfKey(send.userId, send.idempotencyKey)).toHaveLength(1);
    });

    it('answers undeliverable with 200 and the reason, refusals with 4xx in the error shape', async () => {
      const { lists, subscribers } = host.demo;
      await signedPost('send-email', body(sendOf({ subscriberId: subscribers.carol.subscriberId }))).expect(200, {
        Success: true,
        Status: 'undeliverable',
        Reason: 'not_subscribed',
        Message: `carol@example.com is not subscribed to list ${lists.newsletter}`,
      });
      await signedPost('send-email', body(sendOf({ listId: lists.leads }))).expect(404, { Errors: [{ Code: 1, Message: `List ${lists.leads} not found` }] });
      const bad = await signedPost('send-email', { ...body(sendOf()), EmailID: 'two', JourneyID: undefined }).expect(400);
      const messages = (bad.body.Errors as { Message: string }[]).map((e) => e.Message).join('\n');
      for (const name of ['EmailID', 'JourneyID']) expect(messages).toContain(name);
    });

    it('answers send-email-many in request order, a bad request failing alone', async () => {
      const { lists, subscribers } = host.demo;
      const fresh = sendOf();
      const res = await signedPost('send-email-many', {
        Requests: [
          body(fresh),
          body(sendOf({ subscriberId: subscribers.carol.subscriberId })),
          { ...body(sendOf()), ListID: -1 },
          body(sendOf({ listId: lists.leads })),
        ],
      }).expect(200);

      const [row] = await rowsOfKey(fresh.userId, fresh.idempotencyKey);
      expect(res.body.Results).toEqual([
        { Ok: true, Status: 'sent', MessageID: `outbox-${row.OutboxID}` },
        { Ok: true, Status: 'undeliverable', Reason: 'not_subscribed', Message: expect.stringContaining('carol@example.com') },
        { Ok: false, Permanent: true, Error: expect.stringContaining('ListID') },
        { Ok: false, Permanent: true, Error: `List ${lists.leads} not found` },
      ]);
    });

    it("gives the plug-in's HTTP adapter the same answers as the port", async () => {
      const { emails, subscribers } = host.demo;
      const send = sendOf();
      const sent = await http.email!.send(send);
      await expect(port.send(send)).resolves.toEqual(sent);
      expect(sent).toEqual({ status: 'sent', messageId: `outbox-${(await rowsOfKey(send.userId, send.idempotencyKey))[0].OutboxID}` });

      await expect(http.email!.send(sendOf({ emailId: emails.leadsIntro }))).rejects.toThrow(new PermanentHostError(`Email ${emails.leadsIntro} not found`));
      await expect(http.email!.sendMany!([sendOf({ subscriberId: subscribers.carol.subscriberId }), send])).resolves.toEqual([
        { ok: true, status: 'undeliverable', reason: 'not_subscribed', message: expect.stringContaining('carol@example.com') },
        { ok: true, ...sent },
      ]);
    });
  });

  it('adds the message column to opens and clicks tables installed before it', async () => {
    const id = randomBytes(4).toString('hex');
    const config = { ...host.config, DB_TABLE_PREFIX: `tup${id}_`, QUEUE_PREFIX: `tqup${id}` };
    const old = hostTables(config.DB_TABLE_PREFIX);
    try {
      for (const table of [old.opens, old.clicks]) await host.sequelize.query(`CREATE TABLE \`${table}\` (StatID BIGINT UNSIGNED NOT NULL PRIMARY KEY)`);
      await installHostSchema(host.sequelize, config.DB_TABLE_PREFIX);
      await installHostSchema(host.sequelize, config.DB_TABLE_PREFIX);

      const columns = await host.query<{ TABLE_NAME: string; INDEX_NAME: string }>(
        `SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?) AND COLUMN_NAME = 'RelMessageID' ORDER BY TABLE_NAME`,
        [[old.opens, old.clicks]],
      );
      expect(columns).toEqual([
        { TABLE_NAME: old.clicks, INDEX_NAME: 'idx_message' },
        { TABLE_NAME: old.opens, INDEX_NAME: 'idx_message' },
      ]);
    } finally {
      await dropSandbox(config);
    }
  });

  describe('on the dashboard', () => {
    it('lists the sent email with a link to its journey, and "simulate open" fires Email.Opened tied to the message', async () => {
      const { userA, userB, subscribers, emails } = host.demo;
      const send = sendOf({ subscriberId: subscribers.bob.subscriberId, emailId: emails.onboarding, journeyId: 4242 });
      const result = await port.send(send);
      if (result.status !== 'sent') throw new Error(`expected a sent answer, got ${JSON.stringify(result)}`);
      const outboxId = Number(result.messageId.replace('outbox-', ''));

      const page = await request(host.server).get('/').set('Cookie', host.cookieFor(userA.userId)).expect(200);
      expect(page.text).toContain('Emails the host would have sent');
      const row = page.text.split('<tr>').find((tr) => tr.includes('href="/journeys/4242"'));
      expect(row).toBeDefined();
      expect(row).toContain('bob@example.com');
      expect(row).toContain('Customer onboarding');
      expect(row).toContain('journey #4242');
      const tracking = `${send.listId}/${send.subscriberId}/${send.emailId}?MessageID=outbox-${outboxId}`;
      const openPath = `/track/open/${tracking}&Return=%2F%23sent-emails`;
      expect(linksOf(row!)).toEqual([
        '/journeys/4242',
        openPath,
        `/track/click/${tracking}&URL=${encodeURIComponent(host.demo.clickedUrl)}&Return=%2F%23sent-emails`,
      ]);
      const otherPage = await request(host.server).get('/').set('Cookie', host.cookieFor(userB.userId)).expect(200);
      expect(otherPage.text).not.toContain('/journeys/4242');

      const opened = host.captureHook<EmailOpenedHookPayload>('Email.Opened');
      await request(host.server).get(openPath).set('Cookie', host.cookieFor(userA.userId)).expect(303).expect('Location', '/#sent-emails');

      const [open] = await host.query<{ StatID: number; RelMessageID: number }>(
        `SELECT StatID, RelMessageID FROM \`${host.tables.opens}\` WHERE RelMessageID = ?`,
        [outboxId],
      );
      expect(opened).toEqual([
        expect.objectContaining({
          EventID: `opened-${open.StatID}`,
          UserID: userA.userId,
          ListID: send.listId,
          SubscriberID: send.subscriberId,
          EmailID: send.emailId,
          EmailAddress: 'bob@example.com',
        }),
      ]);
      const after = await request(host.server).get('/').set('Cookie', host.cookieFor(userA.userId)).expect(200);
      expect(after.text.split('<tr>').find((tr) => tr.includes('href="/journeys/4242"'))).toContain('<td>1 / 0</td>');
    });

    it("refuses a MessageID that is not this subscriber's send of this email, recording nothing", async () => {
      const { subscribers, emails } = host.demo;
      const result = await port.send(sendOf());
      const messageId = result.status === 'sent' ? result.messageId : '';
      const opened = host.captureHook<EmailOpenedHookPayload>('Email.Opened');
      const { bob } = subscribers;

      await request(host.server)
        .get(`/track/open/${bob.listId}/${bob.subscriberId}/${emails.welcome}?MessageID=${messageId}`)
        .expect(404, { Errors: [{ Code: 1, Message: `Message ${messageId} of email ${emails.welcome} to subscriber ${bob.subscriberId} not found` }] });
      await request(host.server)
        .get(`/track/open/${bob.listId}/${bob.subscriberId}/${emails.welcome}?MessageID=42`)
        .expect(400, { Errors: [{ Code: 2, Message: 'MessageID must be a message id of this host, such as outbox-42' }] });
      expect(opened).toEqual([]);
    });
  });
});
