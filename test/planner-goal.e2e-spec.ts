/**
 * The journey goal on the Journey Information page (plain HTML forms, the
 * reference host, real MariaDB and Redis): each kind of goal set, shown back
 * and removed, kept by a copy of the journey, and every problem of a bad goal
 * listed with the rest of the form while nothing changes.
 */
import { DEMO } from '../reference-host/seed';
import { plannerClient, type FormFields } from './support/planner-client';
import { startReferenceHost, type RefHost } from './support/reference-host';

jest.setTimeout(60_000);

const { emails, fields: demoFields } = DEMO;

describe('Journey goal on Journey Information (no JavaScript)', () => {
  let host: RefHost;
  let client: ReturnType<typeof plannerClient>;
  let A: number;

  beforeAll(async () => {
    host = await startReferenceHost();
    client = plannerClient(host);
    A = host.demo.userA.userId;
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('the goal on Journey Information', () => {
    let id: number;
    const info = (fields: FormFields) =>
      client.post(`/journeys/${id}/info`, {
        name: 'Goal journey',
        triggerType: 'subscription',
        listIds: String(host.demo.lists.newsletter),
        reEntry: 'allow',
        ...fields,
      });
    const storedGoal = async () => {
      const raw = (await client.journeyRows(A)).find((r) => r.JourneyID === id)!.Goal;
      return raw === null ? null : JSON.parse(raw);
    };

    beforeAll(async () => {
      id = await client.createJourney('Goal journey');
    });

    it('sets each kind of goal, shows it back in the form, and removes it', async () => {
      expect((await info({ goalType: 'link_clicked', goalEmailIds: [String(emails.welcome)], goalLinkMatch: 'pattern', goalLink: '*/buy*' })).status).toBe(303);
      expect(await storedGoal()).toEqual({ type: 'link_clicked', emailIds: [emails.welcome], link: { match: 'pattern', value: '*/buy*' } });
      let page = await client.get(`/journeys/${id}/info`);
      expect(page.text).toMatch(/name="goalType" value="link_clicked" checked/);
      expect(page.text).toContain(`name="goalEmailIds" value="${emails.welcome}" checked`);
      expect(page.text).toContain('name="goalLinkMatch" value="pattern" checked');
      expect(page.text).toContain('value="*/buy*"');

      expect((await info({ goalType: 'custom_field', goalField: String(demoFields.city), goalOperator: 'equals', goalValue: 'Paris' })).status).toBe(303);
      expect(await storedGoal()).toEqual({ type: 'custom_field', rule: { attribute: `CustomField:${demoFields.city}`, operator: 'equals', value: 'Paris' } });
      page = await client.get(`/journeys/${id}/info`);
      expect(page.text).toContain(`<option value="${demoFields.city}" data-kind="text" selected>City</option>`);
      expect(page.text).toContain('<option value="equals" selected>equals</option>');
      expect((await client.get(`/journeys/${id}/planner`)).text).toContain('City equals “Paris”');

      expect((await info({ goalType: 'conversion', goalEmailIds: 'any', goalChannel: 'shop' })).status).toBe(303);
      expect(await storedGoal()).toEqual({ type: 'conversion', emailIds: 'any', channel: 'shop' });
      // A copy of the journey has its goal.
      expect((await client.post(`/journeys/${id}/copy`, {})).status).toBe(303);
      const copy = (await client.journeyRows(A)).at(-1)!;
      expect(copy.Name).toBe('Copy of Goal journey');
      expect(JSON.parse(copy.Goal!)).toEqual({ type: 'conversion', emailIds: 'any', channel: 'shop' });

      expect((await info({ goalType: 'none' })).status).toBe(303);
      expect(await storedGoal()).toBeNull();
      expect((await client.get(`/journeys/${id}/info`)).text).toMatch(/name="goalType" value="none" checked/);
    });

    it('lists every problem of a bad goal with the rest of the form, keeps what was typed, and changes nothing', async () => {
      await info({ goalType: 'conversion', goalEmailIds: 'any' });
      const res = await client.post(`/journeys/${id}/info`, {
        name: '',
        triggerType: 'subscription',
        listIds: String(host.demo.lists.newsletter),
        reEntry: 'allow',
        goalType: 'conversion',
        goalEmailIds: String(emails.leadsIntro),
        goalMinValue: '-5',
      });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Please fix these problems:');
      expect(res.text).toContain('Enter a name for the journey');
      expect(res.text).toContain(`Goal: Email ${emails.leadsIntro} is not one of yours`);
      expect(res.text).toContain('Goal: Minimum value must be a number ≥ 0');
      expect(res.text).toMatch(/name="goalType" value="conversion" checked/);
      expect(res.text).toContain('name="goalMinValue" value="-5"');
      expect(await storedGoal()).toEqual({ type: 'conversion', emailIds: 'any' });

      const field = await client.post(`/journeys/${id}/info`, {
        name: 'Goal journey',
        triggerType: 'manual',
        reEntry: 'allow',
        goalType: 'custom_field',
        goalOperator: 'equals',
      });
      expect(field.status).toBe(400);
      expect(field.text).toContain('Goal: Rule 1: choose an attribute');
    });
  });
});
