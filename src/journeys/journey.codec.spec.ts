import type { Trigger } from '../engine/journey.types';
import { decodeActions, decodeGoal, decodeTrigger, encodeGoal, encodeTrigger, toDefinition } from './journey.codec';

describe('journey codec', () => {
  const triggers: Trigger[] = [
    { type: 'subscription', listIds: [1, 2] },
    { type: 'unsubscription', listIds: 'any' },
    { type: 'email_opened', emailIds: [3] },
    { type: 'conversion', emailIds: 'any', channel: 'shop', minValue: 10 },
    { type: 'link_clicked', emailIds: [4], link: { match: 'pattern', value: 'https://example.com/*' } },
    { type: 'manual' },
  ];

  it.each(triggers)('round-trips a $type trigger, keeping the type in its own column', (trigger) => {
    const stored = encodeTrigger(trigger);
    expect(stored.TriggerType).toBe(trigger.type);
    expect(JSON.parse(stored.TriggerSettings)).not.toHaveProperty('type');
    expect(decodeTrigger(stored.TriggerType, stored.TriggerSettings)).toEqual(trigger);
  });

  it('takes the type from the column over anything in the settings JSON', () => {
    expect(decodeTrigger('manual', '{"type":"subscription"}')).toEqual({ type: 'manual' });
  });

  it('reads a broken or non-list Actions column as an empty tree', () => {
    expect(decodeActions('not json')).toEqual([]);
    expect(decodeActions('{"id":"a"}')).toEqual([]);
  });

  it('turns a row into a definition with numeric ids', () => {
    const row = {
      JourneyID: '7' as unknown as number,
      RelOwnerUserID: 1,
      Name: 'J',
      TriggerType: 'subscription',
      TriggerSettings: '{"listIds":[1]}',
      Status: 'Enabled' as const,
      ReEntry: 'once' as const,
      Actions: '[{"id":"w","type":"wait","settings":{"amount":1,"unit":"days"}}]',
      Version: 3,
    };
    expect(toDefinition(row)).toEqual({
      journeyId: 7,
      ownerUserId: 1,
      name: 'J',
      status: 'Enabled',
      reEntry: 'once',
      trigger: { type: 'subscription', listIds: [1] },
      actions: [{ id: 'w', type: 'wait', settings: { amount: 1, unit: 'days' } }],
      version: 3,
      goal: null,
    });
  });

  it('stores a goal as JSON and reads it back; none is NULL', () => {
    const goal = { type: 'conversion' as const, emailIds: [3], channel: 'shop', minValue: 10 };
    expect(decodeGoal(encodeGoal(goal))).toEqual(goal);
    expect(encodeGoal(null)).toBeNull();
    expect(decodeGoal(null)).toBeNull();
    expect(decodeGoal('not json')).toBeNull();
  });
});
