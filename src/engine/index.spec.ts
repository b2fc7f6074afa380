import * as engine from './index';

describe('engine public API', () => {
  it('exports the functions other modules code against', () => {
    for (const name of [
      'advance',
      'computeWakeAt',
      'evaluateRule',
      'evaluateCondition',
      'attributeKind',
      'operatorsFor',
      'requiredActivity',
      'resolveMergeTags',
      'parseActions',
      'validateTrigger',
      'findStartJourneyCycles',
      'triggerTargets',
      'matchesTrigger',
      'editImpact',
      'assertRegistryComplete',
      'findAction',
      'actionPath',
      'nextAfter',
      'allActions',
      'activityKey',
      'assertNever',
    ]) {
      expect(typeof (engine as Record<string, unknown>)[name]).toBe('function');
    }
  });
});
