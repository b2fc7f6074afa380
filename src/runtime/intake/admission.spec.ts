import { aJourney } from '../../engine/engine.fixtures';
import type { RuntimeJourney } from '../journey-store';
import { MAX_CHAIN_DEPTH } from '../runtime.limits';
import { admitGroup, type EnrolRequest, type PastInJourney, type RequestGroup } from './admission';
import { withMessages } from './not-enrolled';

const journeyOf = (reEntry: 'allow' | 'once'): RuntimeJourney => ({
  definition: aJourney([], { reEntry }),
  enabled: true,
  webhookSecret: 'whsec_x',
  reactsToEvents: false,
  endsOtherEntries: false,
});

function group(reEntry: 'allow' | 'once', subscribers: { id: number; depth?: number }[]): RequestGroup {
  const journey = journeyOf(reEntry);
  const requests: EnrolRequest[] = subscribers.map(({ id, depth }) => ({
    journey,
    ref: { listId: 1, subscriberId: id },
    chainId: 'chain-1',
    chainDepth: depth ?? 0,
    triggerEvent: null,
  }));
  return { journey, listId: 1, requests };
}

const past = (entries: [number, PastInJourney][]) => new Map(entries);

describe(admitGroup.name, () => {
  it('admits newcomers as entry 1 and returners after their last entry, turning nobody away', () => {
    const decided = admitGroup(group('allow', [{ id: 1 }, { id: 2 }]), past([[2, { n: 3, live: null }]]));
    expect(decided.admitted?.entries.map((e) => [e.request.ref.subscriberId, e.entryNumber, e.refusedReason])).toEqual([
      [1, 1, null],
      [2, 4, null],
    ]);
    expect(decided.turnedAway).toEqual([]);
  });

  it('turns away a subscriber with a live entry (already_active) and, in a "once" journey, one who has been in it (entered_once)', () => {
    const decided = admitGroup(
      group('once', [{ id: 1 }, { id: 2 }, { id: 3 }]),
      past([
        [1, { n: 1, live: 1 }],
        [2, { n: 1, live: null }],
      ]),
    );
    expect(decided.admitted?.entries.map((e) => e.request.ref.subscriberId)).toEqual([3]);
    expect(decided.turnedAway).toEqual([
      { ref: { listId: 1, subscriberId: 1 }, reason: 'already_active' },
      { ref: { listId: 1, subscriberId: 2 }, reason: 'entered_once' },
    ]);
  });

  it('admits nobody when everyone is turned away', () => {
    expect(admitGroup(group('allow', [{ id: 1 }]), past([[1, { n: 1, live: 1 }]]))).toEqual({
      admitted: null,
      turnedAway: [{ ref: { listId: 1, subscriberId: 1 }, reason: 'already_active' }],
    });
  });

  it('admits a request past the loop bound as a refusal (recorded as an exited entry), with the reason', () => {
    const decided = admitGroup(group('allow', [{ id: 1, depth: MAX_CHAIN_DEPTH + 1 }]), past([]));
    expect(decided.admitted?.entries[0].refusedReason).toBe(
      `Loop stopped: causation chain chain-1 reached depth ${MAX_CHAIN_DEPTH + 1} (limit ${MAX_CHAIN_DEPTH})`,
    );
  });
});

describe(withMessages.name, () => {
  it('puts the subscribers in the order they were asked for and says why each did not enter', () => {
    const asked = [
      { listId: 2, subscriberId: 9 },
      { listId: 1, subscriberId: 4 },
    ];
    expect(
      withMessages(
        [
          { ref: asked[1], reason: 'loop_limit', detail: 'Loop stopped: causation chain c reached depth 11 (limit 10)' },
          { ref: asked[0], reason: 'not_subscribed', detail: 'Opt-In Pending' },
        ],
        asked,
      ).map((n) => n.message),
    ).toEqual([
      'Subscriber 9 of list 2 is not subscribed to the list (Opt-In Pending)',
      'Subscriber 4 of list 1 was not enrolled. Loop stopped: causation chain c reached depth 11 (limit 10)',
    ]);
  });
});
