/** The pure engine: journey types, the step function and the checks around it. No Nest, no I/O, no clock. */
export * from './journey.types';
export * from './step.types';
export type { TriggerEvent } from './trigger-event';

export { allActions, actionIds, actionPath, findAction, nextAfter, branchesTo, treeDepth } from './action-tree';
export type { ActionPath, TreePosition } from './action-tree';

export { advance, ACTION_REMOVED_REASON, EXIT_THIS_JOURNEY_REASON, EXIT_JOURNEY_REASON, DEFAULT_MAX_ACTIONS } from './step';

export { computeWakeAt, isWithinSendWindow, parseClockTime, WAIT_UNIT_MS } from './send-window';
export { isValidTimeZone, zoneOffsetMs, zonedStartOfDay } from './time-zone';

export {
  attributeKind,
  operatorsFor,
  evaluateRule,
  evaluateCondition,
  requiredActivity,
  ruleValueProblem,
  customFieldIdOf,
  isActivityAttribute,
  VALUELESS_OPERATORS,
  SUBSCRIPTION_STATUSES,
} from './conditions';
export type { AttributeKind, ConditionFacts, FieldTypeInfo } from './conditions';

export { resolveMergeTags, mergeTagsIn, MERGE_TAG_NAMES } from './merge-tags';
export type { MergeTag } from './merge-tags';

export { parseActions, validateTrigger, findStartJourneyCycles, startJourneyCycleViolations, MAX_ACTIONS, MAX_BRANCH_DEPTH } from './validate-journey';
export type { ParsedActions, ParsedTrigger, StartJourneyCycle } from './validate-journey';
export { VIOLATION_CODES } from './validation.types';
export type { ValidationContext, ViolationCode } from './validation.types';
export { MAX_WAIT_DAYS } from './action-settings';

export { triggerTargets, matchesTrigger, linkPatternMatches, ANY_TARGET } from './trigger-match';

export { editImpact } from './edit-impact';
export type { EditImpact, ActionPositionCount, RemovedActionImpact } from './edit-impact';

export { ACTION_REGISTRY, actionDefinition, assertRegistryComplete, isActionType } from './action-registry';
export type { ActionDefinition, ActionRegistry, SettingsOf } from './action-registry';
