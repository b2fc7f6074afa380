import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EnvDto } from '../config/env';
import { HOOK_NAMES } from '../host/hook-payloads';
import { loadManifest, ManifestError, validateManifest, type PluginManifest } from './manifest';

const ROOT = path.resolve(__dirname, '../..');
/** A manifest as plain JSON, to break on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests reach into arbitrary paths of a JSON document to break it
type ManifestDraft = Record<string, any>;
const good = (): PluginManifest => JSON.parse(fs.readFileSync(path.join(ROOT, 'plugin.json'), 'utf8'));

function problemsOf(mutate: (m: ManifestDraft) => void): string[] {
  const manifest = good() as unknown as ManifestDraft;
  mutate(manifest);
  try {
    validateManifest(manifest, ROOT);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as ManifestError).problems;
  }
  throw new Error('the manifest was accepted');
}

describe('plugin.json', () => {
  it('is valid against plugin.schema.json', () => {
    const manifest = loadManifest(ROOT);
    expect(manifest.code).toBe('journeys');
    expect(manifest.menu).toEqual([{ location: 'Campaigns', title: 'Journeys', route: '/journeys' }]);
  });

  it("keeps its version equal to package.json's", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(loadManifest(ROOT).version).toBe(pkg.version);
  });

  it('lists a handler in hooks/ for every host hook the plug-in needs, and each file exists', () => {
    const manifest = loadManifest(ROOT);
    expect(Object.keys(manifest.hooks).sort()).toEqual([...HOOK_NAMES].sort());
    for (const handler of Object.values(manifest.hooks)) expect(fs.existsSync(path.join(ROOT, `${handler}.ts`))).toBe(true);
  });

  it('names modules for the entry and the lifecycle that exist and export what it says', () => {
    const manifest = loadManifest(ROOT);
    for (const ref of [manifest.entry, manifest.lifecycle.enable, manifest.lifecycle.disable, manifest.lifecycle.load]) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      expect(typeof require(path.join(ROOT, ref.module))[ref.export]).toBe('function');
    }
    expect(fs.existsSync(path.join(ROOT, manifest.migrations))).toBe(true);
  });

  it('declares the API commands of DESIGN §7 and the failed-entry commands of §5.10', () => {
    expect(loadManifest(ROOT).api.map((c) => c.command)).toEqual([
      'journey.create',
      'journey.get',
      'journey.list',
      'journey.update',
      'journey.delete',
      'journey.enable',
      'journey.disable',
      'journey.actions.update',
      'journey.stats',
      'journey.entry.retry',
      'journey.entry.skip',
      'subscriber.journey.trigger',
      'subscriber.journey.exit',
      'subscriber.journey.list',
    ]);
  });

  it('declares settings whose defaults are the defaults of the configuration', () => {
    const defaults = new EnvDto() as unknown as Record<string, unknown>;
    for (const [name, setting] of Object.entries(loadManifest(ROOT).settings)) {
      expect({ name, default: setting.default }).toEqual({ name, default: defaults[name] });
    }
  });
});

describe(validateManifest.name, () => {
  it.each<[string, (m: ManifestDraft) => void, RegExp]>([
    ['a menu entry outside Campaigns', (m) => (m.menu[0].location = 'Settings'), /^\/menu\/0\/location must be equal to one of the allowed values/],
    ['a missing version', (m) => delete m.version, /^\/version is required$/],
    ['a version that is not semver', (m) => (m.version = 'one'), /^\/version must match pattern/],
    ['an upper-case code', (m) => (m.code = 'Journeys'), /^\/code must match pattern/],
    ['a hook handler outside hooks/', (m) => (m.hooks['Subscriber.Subscribed'] = '../evil'), /^\/hooks\/Subscriber.Subscribed must match pattern/],
    ['a hook name not in Area.Event style', (m) => (m.hooks['subscriber subscribed'] = 'hooks/x'), /^\/hooks\/subscriber subscribed is not an allowed name$/],
    ['an entry module with an extension', (m) => (m.entry.module = 'src/journeys.module.ts'), /^\/entry\/module must match pattern/],
    ['an entry module escaping the code root', (m) => (m.entry.module = '../outside'), /^\/entry\/module must match pattern/],
    ['a missing lifecycle hook', (m) => delete m.lifecycle.disable, /^\/lifecycle\/disable is required$/],
    ['an unknown top-level field', (m) => (m.colour = 'blue'), /^\/colour is not an allowed property$/],
    ['a menu route that is not a path', (m) => (m.menu[0].route = 'journeys'), /^\/menu\/0\/route must match pattern/],
    ['an API command in the wrong style', (m) => (m.api[0].command = 'CreateJourney'), /^\/api\/0\/command must match pattern/],
    ['a setting without a default', (m) => delete m.settings.WORKER_CONCURRENCY.default, /^\/settings\/WORKER_CONCURRENCY\/default is required$/],
    [
      'a setting default of the wrong type',
      (m) => (m.settings.WORKER_CONCURRENCY.default = 'four'),
      /^\/settings\/WORKER_CONCURRENCY\/default must be of type integer$/,
    ],
    ['a setting default outside its enum', (m) => (m.settings.ROLE.default = 'both'), /^\/settings\/ROLE\/default must be one of its enum values$/],
    ['an empty menu', (m) => (m.menu = []), /^\/menu must NOT have fewer than 1 items$/],
  ])('refuses %s, naming the field', (_label, mutate, expected) => {
    const problems = problemsOf(mutate);
    expect(problems.some((p) => expected.test(p))).toBe(true);
  });

  it('reports every bad field at once, each prefixed with plugin.json', () => {
    const manifest = good() as unknown as ManifestDraft;
    manifest.menu[0].location = 'Nowhere';
    delete manifest.hostVersions;
    expect(() => validateManifest(manifest, ROOT)).toThrow(
      /plugin\.json: \/menu\/0\/location must be equal to one of the allowed values \(Campaigns\)\nplugin\.json: \/hostVersions is required|plugin\.json: \/hostVersions is required\nplugin\.json: \/menu\/0\/location must be equal to one of the allowed values/,
    );
  });
});

describe(loadManifest.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
    fs.copyFileSync(path.join(ROOT, 'plugin.schema.json'), path.join(dir, 'plugin.schema.json'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a file that is not JSON', () => {
    fs.writeFileSync(path.join(dir, 'plugin.json'), '{ "code": ');
    expect(() => loadManifest(dir)).toThrow(/^plugin\.json: is not valid JSON/);
  });

  it('refuses a missing file', () => {
    expect(() => loadManifest(dir)).toThrow(/^plugin\.json: cannot be read/);
  });

  it('refuses a manifest that is not an object', () => {
    fs.writeFileSync(path.join(dir, 'plugin.json'), '[]');
    expect(() => loadManifest(dir)).toThrow(/plugin\.json: \/ must be object/);
  });
});
