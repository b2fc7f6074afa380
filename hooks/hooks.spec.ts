import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JourneysErrorCode, JourneysException } from '../src/common/journeys.exception';
import { loadConfig } from '../src/config/env';
import type { TriggerEvent } from '../src/engine/trigger-event';
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
  it('load hands the runtime intake to the handlers, and disable stops new work', async () => {
    const intake = new RecordingIntake();
    @Module({ providers: [{ provide: TRIGGER_INTAKE, useValue: intake }] })
    class HostWithRuntime {}
    const app = await NestFactory.createApplicationContext(HostWithRuntime, { logger: false });
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
});
