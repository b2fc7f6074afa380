import { randomBytes } from 'crypto';
import { ConfigError, DEV_HOOK_SECRET, DEV_HOST_API_SECRET, DEV_SESSION_SECRET, hookSecretBytes, loadConfig } from './env';

/** Sound production secrets: 44 characters of session secret, a 32-byte hook secret. */
const SESSION_SECRET = randomBytes(32).toString('base64');
const HOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const HOST_API_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe(loadConfig.name, () => {
  describe('outside production', () => {
    it.each([undefined, 'development', 'test'])('runs on the built-in development secrets (NODE_ENV=%s)', (nodeEnv) => {
      const config = loadConfig({ NODE_ENV: nodeEnv });
      expect(config.SESSION_SECRET).toBe(DEV_SESSION_SECRET);
      expect(config.HOOK_SECRET).toBe(DEV_HOOK_SECRET);
    });

    it('keeps the 16-character minimum of every environment', () => {
      expect(problemsOf({ SESSION_SECRET: 'short' })).toEqual(['SESSION_SECRET (5 characters, not shown): SESSION_SECRET must be at least 16 characters']);
    });
  });

  describe('with NODE_ENV=production', () => {
    const production = (env: NodeJS.ProcessEnv = {}) => problemsOf({ NODE_ENV: 'production', SESSION_SECRET, HOOK_SECRET, HOST_API_SECRET, ...env });

    it('starts with sound secrets of its own', () => {
      const config = loadConfig({ NODE_ENV: 'production', SESSION_SECRET, HOOK_SECRET, HOST_API_SECRET });
      expect({ session: config.SESSION_SECRET, hook: config.HOOK_SECRET }).toEqual({ session: SESSION_SECRET, hook: HOOK_SECRET });
    });

    it('refuses the built-in development values, naming every secret at once', () => {
      const problems = problemsOf({ NODE_ENV: 'production' });
      expect(problems).toHaveLength(3);
      expect(problems[2]).toMatch(/^HOST_API_SECRET \(not set: the built-in development value\): .*built-in development value, which is public/);
      expect(problems[0]).toMatch(/^SESSION_SECRET \(not set: the built-in development value\): .*built-in development value, which is public/);
      expect(problems[0]).toContain('at least 32 characters in production');
      expect(problems[1]).toMatch(/^HOOK_SECRET \(not set: the built-in development value\): .*built-in development value, which is public/);
    });

    it('refuses the development values also when they are set explicitly', () => {
      const problems = production({ SESSION_SECRET: DEV_SESSION_SECRET, HOOK_SECRET: DEV_HOOK_SECRET, HOST_API_SECRET: DEV_HOST_API_SECRET });
      expect(problems.map((p) => p.split(' ')[0])).toEqual(['SESSION_SECRET', 'HOOK_SECRET', 'HOST_API_SECRET']);
      for (const problem of problems) expect(problem).toContain('built-in development value, which is public');
    });

    it('refuses a session secret shorter than 32 characters and accepts 32', () => {
      expect(production({ SESSION_SECRET: 'x'.repeat(31) })).toEqual([
        'SESSION_SECRET (31 characters, not shown): SESSION_SECRET must be at least 32 characters in production, e.g. the output of `openssl rand -base64 32`',
      ]);
      expect(production({ SESSION_SECRET: 'x'.repeat(32) })).toEqual([]);
    });

    it.each([
      ['23 random bytes', `whsec_${randomBytes(23).toString('base64')}`],
      ['a passphrase that is not base64', 'this-is-a-long-passphrase-but-not-base64!'],
      ['base64 with a character too many', `whsec_${randomBytes(30).toString('base64')}A`],
    ])('refuses a hook secret of %s', (_what, secret) => {
      const problems = production({ HOOK_SECRET: secret });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`HOOK_SECRET (${secret.length} characters, not shown): HOOK_SECRET must be base64`);
      expect(problems[0]).toContain('at least 24 random bytes in production');
    });

    it.each([
      ['24 bytes with the whsec_ prefix', `whsec_${randomBytes(24).toString('base64')}`],
      ['32 bytes without the prefix', randomBytes(32).toString('base64')],
      ['32 bytes without padding', `whsec_${randomBytes(32).toString('base64').replace(/=+$/, '')}`],
    ])('accepts a hook secret of %s', (_what, secret) => {
      expect(production({ HOOK_SECRET: secret })).toEqual([]);
    });

    it('lists the secrets together with every other bad variable and never shows a secret', () => {
      const problems = problemsOf({
        NODE_ENV: 'production',
        SESSION_SECRET: 'sixteen-chars-ok',
        HOOK_SECRET: 'whsec_c2hvcnQtc2VjcmV0',
        HOST_API_SECRET,
        DB_PORT: 'x',
      });
      expect(problems.map((p) => p.split(/[ =]/)[0])).toEqual(['DB_PORT', 'SESSION_SECRET', 'HOOK_SECRET']);
      expect(problems.join('\n')).not.toMatch(/sixteen-chars-ok|c2hvcnQtc2VjcmV0/);
    });
  });
});

describe(hookSecretBytes.name, () => {
  it('decodes base64 after an optional whsec_ prefix, and says null for anything else', () => {
    expect(hookSecretBytes(DEV_HOOK_SECRET)).toBe(Buffer.byteLength('dev-hook-secret-change-me'));
    expect(hookSecretBytes(Buffer.alloc(24).toString('base64'))).toBe(24);
    expect(hookSecretBytes('whsec_not base64')).toBeNull();
    expect(hookSecretBytes('whsec_abc-def')).toBeNull();
  });
});

describe('DB_POOL_MAX against WORKER_CONCURRENCY', () => {
  it('refuses a pool smaller than the jobs a worker runs at once plus the headroom, naming both variables', () => {
    expect(problemsOf({ WORKER_CONCURRENCY: '16', DB_POOL_MAX: '10' })).toEqual([
      'DB_POOL_MAX="10": DB_POOL_MAX must be at least WORKER_CONCURRENCY + 2 (18) in a process that runs workers (ROLE=all): each running job holds a connection for its step',
    ]);
    expect(problemsOf({ WORKER_CONCURRENCY: '16', DB_POOL_MAX: '18', ROLE: 'worker' })).toEqual([]);
  });

  it('does not apply to a web-only process, which runs no jobs', () => {
    expect(problemsOf({ WORKER_CONCURRENCY: '16', DB_POOL_MAX: '2', ROLE: 'web' })).toEqual([]);
  });
});
