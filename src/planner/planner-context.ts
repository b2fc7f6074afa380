/** What the planner's view model reads besides the draft: the owner's lists, fields, emails and journeys, the counts and the violations. */
import type { HostCustomField, HostEmail, HostList } from '../host/host.ports';
import type { ActionCount } from '../journeys/journey.dto';
import type { DraftAction } from './forms/draft-tree';

export interface PlannerContext {
  lists: readonly HostList[];
  fields: readonly HostCustomField[];
  emails: readonly HostEmail[];
  /** The owner's other journeys (targets of Start / Exit Journey). */
  journeys: readonly { journeyId: number; name: string }[];
  counts: Readonly<Record<string, ActionCount>>;
  /** Violation messages by ActionID. */
  violations: ReadonlyMap<string, string[]>;
  /** The whole draft (a Wait for event offers the Send Email actions before it). */
  tree: DraftAction[];
}
