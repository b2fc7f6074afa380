import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { apiErrorOf } from './api-exception.filter';
import { parseParams } from './api-params';
import { CreateJourneyParams, JourneyParams, NoParams, UpdateActionsParams } from './api-params.dto';

async function refusal(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JourneysException);
  expect((error as JourneysException).code).toBe(JourneysErrorCode.ValidationFailed);
  return (error as JourneysException).violations.map((v) => v.message);
}

describe(parseParams.name, () => {
  it('converts form strings: numeric ids, JSON text for objects and arrays, booleans', async () => {
    const p = await parseParams(
      UpdateActionsParams,
      { JourneyID: '7', Actions: '[{"type":"exit_this_journey"}]', ExpectedVersion: '3', PreviewOnly: 'true' },
      'journey.actions.update',
    );
    expect(p).toMatchObject({ JourneyID: 7, Actions: [{ type: 'exit_this_journey' }], ExpectedVersion: 3, PreviewOnly: true });
  });

  it('names a missing parameter once, not once per rule', async () => {
    expect(await refusal(parseParams(JourneyParams, {}, 'journey.get'))).toEqual(['JourneyID is required']);
  });

  it('names a parameter once when several of its rules share a message', async () => {
    expect(await refusal(parseParams(JourneyParams, { JourneyID: null }, 'journey.get'))).toEqual(['JourneyID is required']);
    expect(await refusal(parseParams(JourneyParams, { JourneyID: -3 }, 'journey.get'))).toEqual(['JourneyID must be a positive integer']);
    expect(await refusal(parseParams(JourneyParams, { JourneyID: 'seven' }, 'journey.get'))).toEqual(['JourneyID must be a positive integer']);
  });

  it('names every unknown parameter', async () => {
    expect((await refusal(parseParams(JourneyParams, { JourneyID: 1, UserID: 2, Foo: 'x' }, 'journey.get'))).sort()).toEqual([
      'Unknown parameter Foo for journey.get',
      'Unknown parameter UserID for journey.get',
    ]);
    expect(await refusal(parseParams(NoParams, { Bar: 1 }, 'journey.list'))).toEqual(['Unknown parameter Bar for journey.list']);
  });

  it('reports every bad parameter at once', async () => {
    const messages = await refusal(parseParams(CreateJourneyParams, { Name: 5, Trigger: 'not json', ReEntry: 'twice' }, 'journey.create'));
    expect(messages.join(' | ')).toMatch(/Name/);
    expect(messages.join(' | ')).toMatch(/Trigger must be an object/);
    expect(messages.join(' | ')).toMatch(/ReEntry/);
  });
});

describe(apiErrorOf.name, () => {
  it('maps a JourneysException to its status and one error per violation', () => {
    const e = new JourneysException(JourneysErrorCode.InvalidActions, 'not saved', [
      { code: 'wait_amount', actionId: 'a1', message: 'Enter a positive amount' },
      { code: 'list_missing', actionId: 'a2', message: 'Choose a list' },
    ]);
    expect(apiErrorOf(e)).toEqual({
      status: 422,
      body: {
        Success: false,
        Errors: [
          { Code: 3, Message: 'Enter a positive amount', ActionID: 'a1', Reason: 'wait_amount' },
          { Code: 3, Message: 'Choose a list', ActionID: 'a2', Reason: 'list_missing' },
        ],
      },
    });
  });

  it('hides the details of an unexpected error behind a 500', () => {
    expect(apiErrorOf(new Error('connect ECONNREFUSED 10.0.0.5:3306'))).toEqual({
      status: 500,
      body: { Success: false, Errors: [{ Code: 99, Message: 'Internal error; the request was not completed' }] },
    });
  });
});
