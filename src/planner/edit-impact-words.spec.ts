import type { ActionsPreview } from '../journeys/journey.dto';
import { impactWords } from './edit-impact-words';

const preview = (overrides: Partial<Omit<ActionsPreview, 'violations'>> = {}): Omit<ActionsPreview, 'violations'> => ({
  affected: 0,
  removedActionIds: [],
  newActions: [],
  reached: { count: 0, upTo: false },
  ...overrides,
});

describe(impactWords.name, () => {
  it('says nobody is affected when nobody is at a removed action or before an added one', () => {
    expect(impactWords(preview())).toEqual({ affected: '0 subscribers', nobody: 'nobody is at an action this change removes', items: [] });
    const addedBehindEveryone = preview({ newActions: [{ actionId: 'n1', type: 'webhook', count: 0, upTo: false }] });
    expect(impactWords(addedBehindEveryone)).toEqual({
      affected: '0 subscribers',
      nobody: 'nobody is at an action this change removes or before an action it adds',
      items: [],
    });
  });

  it('counts those who leave and those before the added actions together, each new action on its own line', () => {
    const words = impactWords(
      preview({
        affected: 2,
        removedActionIds: ['w2', 'w3'],
        newActions: [
          { actionId: 'f1', type: 'update_custom_field', count: 50, upTo: false },
          { actionId: 'h1', type: 'webhook', count: 0, upTo: false },
        ],
        reached: { count: 50, upTo: false },
      }),
    );
    expect(words).toEqual({
      affected: '52 subscribers',
      nobody: null,
      items: [
        { actionId: null, label: null, text: '2 subscribers are at actions this change removes and will leave the journey' },
        { actionId: 'f1', label: 'Update Custom Field Value', text: '50 subscribers before it will run it' },
        { actionId: 'h1', label: 'Webhook', text: 'nobody stands before it yet' },
      ],
    });
  });

  it('says "up to" for an action down a branch, and for the total when some reach the new actions only that way', () => {
    const words = impactWords(preview({ newActions: [{ actionId: 'y1', type: 'wait', count: 1, upTo: true }], reached: { count: 1, upTo: true } }));
    expect(words.affected).toBe('up to 1 subscriber');
    expect(words.items).toEqual([{ actionId: 'y1', label: 'Wait', text: 'up to 1 subscriber before it may run it, only those who take its branch' }]);
  });

  it('speaks of one subscriber at one removed action in the singular', () => {
    expect(impactWords(preview({ affected: 1, removedActionIds: ['w2'] })).items).toEqual([
      { actionId: null, label: null, text: '1 subscriber is at an action this change removes and will leave the journey' },
    ]);
  });
});
