/**
 * Hostile parameters of POST /journeys/api against the reference host, real
 * MariaDB and Redis: values nested thousands deep, prototype keys and lone
 * UTF-16 surrogates, in JSON and in form bodies, are each a 400 in the API's
 * error shape naming the parameter, and nothing is written. The deepest tree
 * the engine accepts still passes the body limits.
 */
import request from 'supertest';
import { API_MAX_DEPTH } from '../src/api/api-input-limits';
import { pluginTables, type PluginTables } from '../src/database/tables';
import { MAX_BRANCH_DEPTH } from '../src/engine/validate-journey';
import { startReferenceHost, type RefHost } from './support/reference-host';

const WAIT_A_DAY = { id: 'wait-1', type: 'wait', settings: { amount: 1, unit: 'days' } };
const nestedArrays = (levels: number, leaf = '1') => '['.repeat(levels) + leaf + ']'.repeat(levels);
const nestedObjects = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

interface JourneyRow {
  Name: string;
  TriggerSettings: string;
  Actions: string;
  Version: number;
}

describe('API refusals of hostile parameters (POST /journeys/api)', () => {
  let host: RefHost;
  let t: PluginTables;
  let userA: number;
  let journeyId: number;
  let before: JourneyRow;

  const rawJson = (text: string) =>
    request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(userA)).set('Content-Type', 'application/json').send(text);
  const rawForm = (text: string) =>
    request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(userA)).set('X-Requested-With', 'XMLHttpRequest').type('form').send(text);

  const journeyRow = async () =>
    (await host.query<JourneyRow>(`SELECT Name, TriggerSettings, Actions, Version FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId]))[0];

  /** 400, the documented shape, one error with exactly this message. */
  function expectRefusal(res: request.Response, message: string): void {
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ Success: false, Errors: [expect.objectContaining({ Code: 2, Message: message })] });
  }

  beforeAll(async () => {
    host = await startReferenceHost();
    t = pluginTables(host.prefix);
    userA = host.demo.userA.userId;
    const created = await rawJson(JSON.stringify({ Command: 'journey.create', Name: 'Untouched', Trigger: { type: 'manual' } })).expect(200);
    journeyId = created.body.Journey.journeyId;
    await rawJson(JSON.stringify({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [WAIT_A_DAY] })).expect(200);
    before = await journeyRow();
  });
  afterAll(async () => {
    await host?.stop();
  });
  afterEach(async () => {
    expect(await journeyRow()).toEqual(before);
  });

  describe('values nested too deep', () => {
    it('refuses Actions nested 2000 deep in a JSON body', async () => {
      const res = await rawJson(`{"Command":"journey.actions.update","JourneyID":${journeyId},"Actions":${nestedArrays(2000)}}`);
      expectRefusal(res, `Actions is nested deeper than ${API_MAX_DEPTH} levels`);
    });

    it('refuses Name and Trigger nested 2000 deep in a JSON body', async () => {
      expectRefusal(
        await rawJson(`{"Command":"journey.update","JourneyID":${journeyId},"Name":${nestedArrays(2000, '"x"')}}`),
        `Name is nested deeper than ${API_MAX_DEPTH} levels`,
      );
      expectRefusal(
        await rawJson(`{"Command":"journey.update","JourneyID":${journeyId},"Trigger":${nestedObjects(2000)}}`),
        `Trigger is nested deeper than ${API_MAX_DEPTH} levels`,
      );
    });

    it('refuses a value one level over the limit, and names every bad parameter at once', async () => {
      const res = await rawJson(
        `{"Command":"journey.update","JourneyID":${journeyId},"Name":${nestedArrays(API_MAX_DEPTH + 1)},"Trigger":${nestedObjects(API_MAX_DEPTH + 1)}}`,
      ).expect(400);
      expect(res.body.Errors.map((e: { Message: string }) => e.Message).sort()).toEqual([
        `Name is nested deeper than ${API_MAX_DEPTH} levels`,
        `Trigger is nested deeper than ${API_MAX_DEPTH} levels`,
      ]);
    });

    it('refuses Actions given as JSON text nested 2000 deep in a form body', async () => {
      const res = await rawForm(`Command=journey.actions.update&JourneyID=${journeyId}&Actions=${encodeURIComponent(nestedArrays(2000))}`);
      expectRefusal(res, `Actions is nested deeper than ${API_MAX_DEPTH} levels`);
    });

    it('refuses a form key with 2000 bracket levels before qs parses it', async () => {
      const res = await rawForm(`Command=journey.update&JourneyID=${journeyId}&Name${'[a]'.repeat(2000)}=x`);
      expectRefusal(res, `Name is nested deeper than ${API_MAX_DEPTH} levels`);
    });
  });

  describe('prototype keys', () => {
    it('refuses a constructor key inside a JSON parameter', async () => {
      expectRefusal(await rawJson('{"Command":"journey.get","JourneyID":{"constructor":1}}'), 'JourneyID must not contain the key "constructor"');
    });

    it('refuses __proto__ and prototype keys however deep inside a JSON parameter', async () => {
      expectRefusal(
        await rawJson(`{"Command":"journey.update","JourneyID":${journeyId},"Trigger":{"type":"manual","__proto__":{"type":"subscription"}}}`),
        'Trigger must not contain the key "__proto__"',
      );
      expectRefusal(
        await rawJson(
          `{"Command":"journey.actions.update","JourneyID":${journeyId},"Actions":[{"type":"wait","settings":{"amount":2,"unit":"days","window":{"prototype":1}}}]}`,
        ),
        'Actions must not contain the key "prototype"',
      );
    });

    it('refuses a prototype key as a parameter name', async () => {
      expectRefusal(
        await rawJson(`{"Command":"journey.update","JourneyID":${journeyId},"constructor":{"Name":"x"}}`),
        '"constructor" is not allowed as a parameter name',
      );
    });

    it('refuses ExpectedVersion[constructor] and the keys qs would silently drop in a form body', async () => {
      const actions = encodeURIComponent(JSON.stringify([{ ...WAIT_A_DAY, settings: { amount: 3, unit: 'days' } }]));
      expectRefusal(
        await rawForm(`Command=journey.actions.update&JourneyID=${journeyId}&Actions=${actions}&ExpectedVersion[constructor]=1`),
        'ExpectedVersion must not contain the key "constructor"',
      );
      expectRefusal(
        await rawForm(`Command=journey.actions.update&JourneyID=${journeyId}&Actions=${actions}&ExpectedVersion%5B__proto__%5D=1`),
        'ExpectedVersion must not contain the key "__proto__"',
      );
      expectRefusal(await rawForm(`Command=journey.update&JourneyID=${journeyId}&Name[a][prototype]=x`), 'Name must not contain the key "prototype"');
    });

    it('refuses a prototype key inside JSON text of a form body', async () => {
      const trigger = encodeURIComponent('{"type":"manual","constructor":{"name":"x"}}');
      expectRefusal(await rawForm(`Command=journey.update&JourneyID=${journeyId}&Trigger=${trigger}`), 'Trigger must not contain the key "constructor"');
    });
  });

  describe('lone UTF-16 surrogates', () => {
    it('refuses a lone surrogate in EmailAddress and enrols no one', async () => {
      const manual = await rawJson(JSON.stringify({ Command: 'journey.create', Name: 'Manual', Trigger: { type: 'manual' } })).expect(200);
      const targetId = manual.body.Journey.journeyId as number;
      const res = await rawJson(`{"Command":"subscriber.journey.trigger","JourneyID":${targetId},"EmailAddress":"\\ud800@example.com"}`);
      expectRefusal(res, 'EmailAddress contains text that is not valid Unicode (a lone surrogate)');
      expect(await host.query(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ?`, [targetId])).toEqual([]);
      expectRefusal(
        await rawJson('{"Command":"subscriber.journey.list","EmailAddress":"alice\\udfff@example.com"}'),
        'EmailAddress contains text that is not valid Unicode (a lone surrogate)',
      );
    });

    it('refuses a lone surrogate in Name, and in a key inside Trigger', async () => {
      expectRefusal(
        await rawJson(`{"Command":"journey.update","JourneyID":${journeyId},"Name":"Welcome \\udc00"}`),
        'Name contains text that is not valid Unicode (a lone surrogate)',
      );
      expectRefusal(
        await rawJson(`{"Command":"journey.update","JourneyID":${journeyId},"Trigger":{"type":"manual","\\ud83d":1}}`),
        'Trigger contains text that is not valid Unicode (a lone surrogate)',
      );
    });

    it('refuses a lone surrogate inside JSON text of a form body', async () => {
      const trigger = encodeURIComponent('{"type":"manual\\ud800"}');
      expectRefusal(
        await rawForm(`Command=journey.update&JourneyID=${journeyId}&Trigger=${trigger}`),
        'Trigger contains text that is not valid Unicode (a lone surrogate)',
      );
    });
  });

  describe('null where a value is optional', () => {
    it('refuses a null subscriber selector field, naming it, instead of looking the subscriber up with it', async () => {
      const { alice } = host.demo.subscribers;
      expectRefusal(
        await rawJson(JSON.stringify({ Command: 'subscriber.journey.list', ListID: alice.listId, SubscriberID: null })),
        'SubscriberID must be a positive integer',
      );
      expectRefusal(
        await rawJson(JSON.stringify({ Command: 'subscriber.journey.list', ListID: null, SubscriberID: alice.subscriberId, JourneyID: journeyId })),
        'ListID must be a positive integer',
      );
      expectRefusal(await rawJson(JSON.stringify({ Command: 'subscriber.journey.list', EmailAddress: null })), 'EmailAddress must be an email address');
      expectRefusal(
        await rawJson(JSON.stringify({ Command: 'subscriber.journey.list', EmailAddress: alice.emailAddress, JourneyID: null })),
        'JourneyID must be a positive integer',
      );
    });
  });

  describe('what stays accepted', () => {
    /** Yes/No conditions nested `levels` deep; the innermost holds an activity rule with emailIds, the deepest settings there are. */
    function conditionChain(levels: number, innermostBranch?: unknown[]): unknown[] {
      const rule = { attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [host.demo.emails.welcome] };
      let branch: Record<string, unknown> = { id: `c${levels}`, type: 'condition', settings: { match: 'all', rules: [rule] } };
      if (innermostBranch) branch.yes = innermostBranch;
      for (let level = levels - 1; level >= 0; level--) {
        branch = { id: `c${level}`, type: 'condition', settings: { match: 'all', rules: [rule] }, yes: [branch], no: [] };
      }
      return [branch];
    }

    it('saves a tree with conditions nested MAX_BRANCH_DEPTH deep, and leaves a deeper one to the engine’s 422', async () => {
      const created = await rawJson(JSON.stringify({ Command: 'journey.create', Name: 'Deep', Trigger: { type: 'manual' } })).expect(200);
      const deepId = created.body.Journey.journeyId as number;
      const saved = await rawJson(JSON.stringify({ Command: 'journey.actions.update', JourneyID: deepId, Actions: conditionChain(MAX_BRANCH_DEPTH) })).expect(
        200,
      );
      expect(saved.body.Version).toBe(2);
      const asForm = await rawForm(
        `Command=journey.actions.update&JourneyID=${deepId}&PreviewOnly=1&Actions=${encodeURIComponent(JSON.stringify(conditionChain(MAX_BRANCH_DEPTH)))}`,
      ).expect(200);
      expect(asForm.body.Preview.Violations).toEqual([]);

      const tooDeep = await rawJson(
        JSON.stringify({ Command: 'journey.actions.update', JourneyID: deepId, Actions: conditionChain(MAX_BRANCH_DEPTH, [WAIT_A_DAY]) }),
      ).expect(422);
      expect(tooDeep.body.Errors).toEqual(expect.arrayContaining([expect.objectContaining({ Code: 3, Reason: 'too_deep' })]));
    });

    it('keeps a valid surrogate pair (an emoji) in Name intact', async () => {
      const created = await rawJson(JSON.stringify({ Command: 'journey.create', Name: 'Launch 🚀', Trigger: { type: 'manual' } })).expect(200);
      const [row] = await host.query<{ Name: string }>(`SELECT Name FROM \`${t.journeys}\` WHERE JourneyID = ?`, [created.body.Journey.journeyId]);
      expect(row.Name).toBe('Launch 🚀');
    });

    it('answers a form body with too many parameters 413 in the error shape', async () => {
      const pairs = Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&');
      const res = await rawForm(`Command=journey.list&${pairs}`).expect(413);
      expect(res.body).toEqual({ Success: false, Errors: [{ Code: 8, Message: 'The form body has more than 1000 parameters' }] });
    });
  });
});
