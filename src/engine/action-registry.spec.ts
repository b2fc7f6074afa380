import { ACTION_REGISTRY, actionDefinition, assertRegistryComplete, isActionType } from './action-registry';
import { aContext } from './engine.fixtures';
import { ACTION_TYPES } from './journey.types';
import type { ViolationCode } from './validation.types';

describe(assertRegistryComplete.name, () => {
  it('passes for the shipped registry', () => {
    expect(() => assertRegistryComplete()).not.toThrow();
  });

  it('throws when an action type has no entry, naming it', () => {
    const { webhook: _dropped, ...partial } = ACTION_REGISTRY;
    expect(() => assertRegistryComplete(partial)).toThrow('Action registry incomplete: missing webhook; unknown none');
  });

  it('throws when an entry is filed under the wrong type or is unknown', () => {
    expect(() => assertRegistryComplete({ ...ACTION_REGISTRY, wait: ACTION_REGISTRY.condition })).toThrow(/missing wait/);
    expect(() => assertRegistryComplete({ ...ACTION_REGISTRY, teleport: { type: 'teleport' } })).toThrow(/unknown teleport/);
  });
});

describe('ACTION_REGISTRY', () => {
  it('labels every action as the host user sees it', () => {
    expect(ACTION_TYPES.map((type) => ACTION_REGISTRY[type].label)).toEqual([
      'Wait',
      'Yes/No condition',
      'Start Journey',
      'Exit Journey',
      'Exit This Journey',
      'Exit All Other Journeys',
      'Subscribe to list',
      'Unsubscribe from list',
      'Update Custom Field Value',
      'Webhook',
      'Send Email',
      'Wait for event',
      'Random split',
    ]);
  });

  it('marks exactly the actions carried out outside MySQL as external', () => {
    expect(ACTION_TYPES.filter((type) => ACTION_REGISTRY[type].external)).toEqual(['subscribe', 'unsubscribe', 'webhook', 'send_email']);
  });

  it('gives every action a description and fresh default settings', () => {
    for (const type of ACTION_TYPES) {
      const definition = actionDefinition(type);
      expect(definition.description.length).toBeGreaterThan(10);
      expect(definition.defaultSettings()).not.toBe(definition.defaultSettings());
    }
  });

  it('parses each default back without changing it (only missing choices are reported)', () => {
    for (const type of ACTION_TYPES) {
      const reported: ViolationCode[] = [];
      const definition = actionDefinition(type);
      const parsed = definition.parseSettings(definition.defaultSettings() as Record<string, unknown>, aContext(), (code) => reported.push(code));
      expect(parsed).toEqual(definition.defaultSettings());
      expect(reported.every((code) => ['invalid_settings', 'empty_rules', 'invalid_webhook_url'].includes(code))).toBe(true);
    }
  });
});

describe(isActionType.name, () => {
  it('knows the ten types and nothing else', () => {
    expect(ACTION_TYPES.every(isActionType)).toBe(true);
    expect(isActionType('toString')).toBe(false);
    expect(isActionType(undefined)).toBe(false);
  });
});
