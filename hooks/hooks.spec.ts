import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JourneysErrorCode, JourneysException } from '../src/common/journeys.exception';
import { loadConfig } from '../src/config/env';
import type { TriggerEvent } from '../src/engine/trigger-event';
import { HOST_PORTS } from '../src/host/host.ports';
import { CountingAudience } from '../src/plugin/audience.fixtures';
import { disable, load } from '../src/plugin/lifecycle';
import type { PluginHandle } from '../src/plugin/plugin-handle';
import { TRIGGER_INTAKE, type TriggerIntake } from '../src/runtime/trigger-intake';
import conversionPostback from './conversion-postback';
import emailOpened from './email-opened';
import linkClicked from './link-clicked';
import subscriberSubscribed from './subscriber-subscribed';
import subscriberUnsubscribed from './subscriber-unsubscribed';

class RecordingIntake implements TriggerIntake {
  readonly events: TriggerEvent[] = [];
  async accept(event: TriggerEvent) {
    this.events.push(event);
    return { enrolled: 1 };
  }
}

const config = loadConfig({});
const handleWith = (intake: TriggerIntake): PluginHandle => ({ config, intake, accepting: true });

const base = { EventID: 'evt-1', UserID: 1, ListID: 2, SubscriberID: 3, EmailAddress: 'a@example.com', OccurredAt: '2026-11-27T06:00:00.000Z' };
const email = { ...base, EmailID: 4, CampaignID: 5, AutoResponderID: null };

describe('hook handlers', () => {
  it.each<[string, (p: unknown, h: PluginHandle) => Promise<unknown>, object, Partial<TriggerEvent>]>([
    ['Subscriber.Subscribed', subscriberSubscribed, base, { type: 'subscription' }],
    ['Subscriber.Unsubscribed', subscriberUnsubscribed, base, { type: 'unsubscription' }],
    ['Email.Opened', emailOpened, email, { type: 'email_opened', emailId: 4 }],
    ['Link.Clicked', linkClicked, { ...email, URL: 'https://example.com/a?b=1' }, { type: 'link_clicked', emailId: 4, url: 'https://example.com/a?b=1' }],
    ['Conversion.Postback', conversionPostback, { ...email, Channel: 'shop', Value: 49.9 }, { type: 'conversion', emailId: 4, channel: 'shop', value: 49.9 }],
  ])('%s turns the host payload into a trigger event for the intake', async (_name, handler, payload, expected) => {
    const intake = new RecordingIntake();
    await expect(handler(payload, handleWith(intake))).resolves.toEqual({ enrolled: 1 });
    expect(intake.events).toEqual([{ eventId: 'evt-1', userId: 1, listId: 2, subscriberId: 3, occurredAt: new Date('2026-11-27T06:00:00.000Z'), ...expected }]);
  });

  it('carries the causation of a journey-caused event and drops unknown properties', async () => {
    const intake = new RecordingIntake();
    await subscriberSubscribed({ ...base, Causation: { chainId: 'evt-0', depth: 2 }, Extra: 'x' }, handleWith(intake));
    expect(intake.events[0].causation).toEqual({ chainId: 'evt-0', depth: 2 });
    expect(intake.events[0]).not.toHaveProperty('Extra');
  });

  it('accepts ids sent as numeric strings, as a PHP host does', async () => {
    const intake = new RecordingIntake();
    await emailOpened({ ...email, UserID: '1', ListID: '2', SubscriberID: '3', EmailID: '4', CampaignID: '5' }, handleWith(intake));
    expect(intake.events[0]).toMatchObject({ userId: 1, listId: 2, subscriberId: 3, emailId: 4 });
  });

  it.each<[string, (p: unknown, h: PluginHandle) => Promise<unknown>, unknown, RegExp]>([
    ['a missing ListID', subscriberSubscribed, { ...base, ListID: undefined }, /ListID/],
    ['a negative SubscriberID', subscriberUnsubscribed, { ...base, SubscriberID: -1 }, /SubscriberID/],
    ['a date that is not ISO 8601', subscriberSubscribed, { ...base, OccurredAt: 'yesterday' }, /OccurredAt/],
    ['a missing EmailID', emailOpened, base, /EmailID/],
    ['a missing URL', linkClicked, email, /URL/],
    ['a Value that is not a number', conversionPostback, { ...email, Value: 'lots' }, /Value/],
    ['a causation without a chain', subscriberSubscribed, { ...base, Causation: { depth: 1 } }, /Causation\.chainId/],
    ['a payload that is not an object', subscriberSubscribed, 'hello', /payload must be a JSON object/],
  ])('refuses %s with ValidationFailed naming the field, enrolling nobody', async (_label, handler, payload, field) => {
    const intake = new RecordingIntake();
    const error: JourneysException = (await handler(payload, handleWith(intake)).catch((e: JourneysException) => e)) as JourneysException;
    expect(error).toBeInstanceOf(JourneysException);
    expect(error.code).toBe(JourneysErrorCode.ValidationFailed);
    expect(error.message).toMatch(field);
    expect(intake.events).toEqual([]);
  });
});

describe('plug-in lifecycle', () => {
  /** A host application with the runtime's intake and an audience where user 1 owns list 2 (subscriber 3) and email 4, user 9 owns list 8. */
  async function hostApp(intake: TriggerIntake, withPorts = true) {
    const audience = new CountingAudience({ lists: { 2: 1, 8: 9 }, subscribers: { 2: [3], 8: [1] }, emails: { 4: 1 } });
    const providers = [{ provide: TRIGGER_INTAKE, useValue: intake }, ...(withPorts ? [{ provide: HOST_PORTS, useValue: { audience } }] : [])];
    @Module({ providers })
    class HostWithRuntime {}
    return NestFactory.createApplicationContext(HostWithRuntime, { logger: false });
  }

  it('load hands the runtime intake to the handlers, and disable stops new work', async () => {
    const intake = new RecordingIntake();
    const app = await hostApp(intake);
    try {
      const handle = await load({ app, config });
      expect(await subscriberSubscribed(base, handle)).toEqual({ enrolled: 1 });
      await disable({ handle });
      expect(handle.accepting).toBe(false);
      expect(await subscriberSubscribed({ ...base, EventID: 'evt-2' }, handle)).toEqual({ enrolled: 0 });
      expect(intake.events.map((e) => e.eventId)).toEqual(['evt-1']);
    } finally {
      await app.close();
    }
  });

  it.each<[string, (p: unknown, h: PluginHandle) => Promise<unknown>, object, string]>([
    ["another user's list", subscriberSubscribed, { ...base, ListID: 8, SubscriberID: 1 }, 'ListID 8 does not belong to UserID 1'],
    ['a subscriber not in the list', subscriberUnsubscribed, { ...base, SubscriberID: 77 }, 'SubscriberID 77 is not a subscriber of list 2'],
    ['an email that is not the user’s', linkClicked, { ...email, EmailID: 6, URL: 'https://example.com/' }, 'EmailID 6 is not an email of UserID 1'],
  ])('the loaded handle refuses %s with ValidationFailed before the intake sees it', async (_label, handler, payload, message) => {
    const intake = new RecordingIntake();
    const app = await hostApp(intake);
    try {
      const handle = await load({ app, config });
      const error = (await handler(payload, handle).catch((e: unknown) => e)) as JourneysException;
      expect(error).toBeInstanceOf(JourneysException);
      expect(error).toMatchObject({ code: JourneysErrorCode.ValidationFailed, message });
      expect(intake.events).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('load fails without the host ports: the ownership check cannot be left out', async () => {
    const app = await hostApp(new RecordingIntake(), false);
    try {
      await expect(load({ app, config })).rejects.toThrow(/HOST_PORTS/);
    } finally {
      await app.close();
    }
  });
});
