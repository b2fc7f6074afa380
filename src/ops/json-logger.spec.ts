import { Writable } from 'stream';
import { JsonLogger } from './json-logger';

function capture(level: ConstructorParameters<typeof JsonLogger>[0]) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: new JsonLogger(level, stream), lines };
}

describe(JsonLogger.name, () => {
  it('writes one JSON object per line with level, time, context and message', () => {
    const { logger, lines } = capture('info');
    logger.log('Journey 7 enabled', 'JourneysApi');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        context: 'JourneysApi',
        msg: 'Journey 7 enabled',
        service: 'journeys',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
    ]);
  });

  it('keeps the stack of an error apart from its context', () => {
    const { logger, lines } = capture('info');
    logger.error('Webhook failed', 'Error: boom\n    at x', 'JourneysRuntime');
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'Webhook failed', stack: 'Error: boom\n    at x', context: 'JourneysRuntime' });
  });

  it('merges an object message into the line', () => {
    const { logger, lines } = capture('info');
    logger.warn({ msg: 'slow scrape', ms: 1200 }, 'JourneysOps');
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'slow scrape', ms: 1200, context: 'JourneysOps' });
  });

  it('drops what is below LOG_LEVEL and writes nothing when silent', () => {
    const warnOnly = capture('warn');
    warnOnly.logger.log('hidden');
    warnOnly.logger.debug('hidden');
    warnOnly.logger.warn('shown');
    expect(warnOnly.lines.map((l) => l.msg)).toEqual(['shown']);
    const silent = capture('silent');
    silent.logger.error('hidden');
    expect(silent.lines).toEqual([]);
  });
});
