import { aJourney, aSubscriber } from '../../engine/engine.fixtures';
import type { LocalEffect } from '../../engine/step.types';
import type { EntryRow } from '../entry.types';
import type { RuntimeJourney } from '../journey-store';
import { decideSteps, type Plan } from './step-decisions';

const OWNER = 1;
const JOURNEY = 100;

function entry(entryId: number, journeyId: number, listId: number, subscriberId: number, owner = OWNER): EntryRow {
  return {
    EntryID: entryId,
    JourneyID: journeyId,
    RelOwnerUserID: owner,
    ListID: listId,
    SubscriberID: subscriberId,
    State: 'waiting',
    CurrentActionID: 'w',
    WakeAt: null,
    StepSeq: 3,
    ChainID: 'c',
    ChainDepth: 0,
    TriggerEvent: null,
    Attempts: 0,
    EntryNumber: 1,
    CreatedAt: new Date(0),
    WaitingSince: null,
  };
}

/** One entry of journey 100 (list 1, subscriber 1) that ran an exit action and completed. */
function exitPlan(effect: LocalEffect): Plan {
  const journey: RuntimeJourney = { definition: aJourney([]), enabled: true, webhookSecret: '', reactsToEvents: false, endsOtherEntries: true };
  const type = effect.kind === 'exit_journeys' ? 'exit_journey' : 'exit_all_other_journeys';
  return {
    entry: { ...entry(1, JOURNEY, 1, 1), State: 'active', CurrentActionID: null, StepSeq: 0 },
    journey,
    subscriber: aSubscriber(),
    result: { ran: [{ actionId: effect.actionId, type }], effects: [effect], outcome: { kind: 'completed' } },
  };
}

/** The person of subscriber 1:1: its own entry 1, and its subscriber 2:7's entries; another owner's entry slipped in. */
const PERSON_LIVE = [
  entry(1, JOURNEY, 1, 1),
  entry(5, 200, 2, 7), // another journey, through list 2
  entry(6, JOURNEY, 2, 7), // this journey, through list 2
  entry(8, 300, 2, 7),
  entry(9, 200, 4, 1, 2), // another owner's: never exited
];

function decide(effect: LocalEffect) {
  return decideSteps([exitPlan(effect)], new Set(), new Map([['1:1', PERSON_LIVE]]), new Map(), null);
}

const exitedIds = (d: ReturnType<typeof decide>) =>
  [...d.positions]
    .filter(([, p]) => p.state === 'exited')
    .map(([id]) => id)
    .sort((a, b) => a - b);

describe(decideSteps.name, () => {
  describe('exits act on the person', () => {
    it("Exit Journey ends the person's entries in the named journeys, through any of the owner's lists", () => {
      const d = decide({ kind: 'exit_journeys', actionId: 'x', journeyIds: [200] });
      expect(exitedIds(d)).toEqual([5]);
      expect(d.positions.get(5)).toMatchObject({ exitReason: `Exit Journey in journey ${JOURNEY} (action x)`, newStepSeq: 4 });
      expect(d.logs).toEqual([expect.objectContaining({ entryId: 1, actionId: 'x', status: 'done', result: 'exited 1' })]);
    });

    it("Exit Journey naming its own journey ends the person's other entry in it, not the entry itself", () => {
      const d = decide({ kind: 'exit_journeys', actionId: 'x', journeyIds: [JOURNEY, 300] });
      expect(exitedIds(d)).toEqual([6, 8]);
      expect(d.positions.get(1)!.state).toBe('completed');
    });

    it("Exit All Other Journeys ends the person's entries in other journeys only, never another owner's", () => {
      const d = decide({ kind: 'exit_all_other_journeys', actionId: 'all' });
      expect(exitedIds(d)).toEqual([5, 8]);
      expect(d.positions.get(5)!.exitReason).toBe(`Exit All Other Journeys in journey ${JOURNEY} (action all)`);
      expect(d.positions.has(9)).toBe(false);
      expect([...d.exitedByEffect].sort()).toEqual([5, 8]);
    });
  });
});
