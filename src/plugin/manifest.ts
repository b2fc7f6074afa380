/**
 * plugin.json: how a host learns what the plug-in is, what it listens to and
 * how to enable, load and disable it. Validated against plugin.schema.json; a
 * host refuses a manifest that fails, with a message naming the bad field.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ErrorObject } from 'ajv';

export const MANIFEST_FILE = 'plugin.json';
export const MANIFEST_SCHEMA_FILE = 'plugin.schema.json';

export interface ExportRef {
  /** Module path relative to the code root, without extension. */
  module: string;
  export: string;
  description?: string;
}

export interface ManifestSetting {
  type: 'string' | 'integer' | 'boolean';
  enum?: string[];
  default: string | number | boolean;
  description: string;
}

export interface PluginManifest {
  code: string;
  name: string;
  description: string;
  version: string;
  hostVersions: string;
  entry: ExportRef;
  lifecycle: { enable: ExportRef; disable: ExportRef; load: ExportRef };
  /** Hook name → handler module (default export) relative to the code root. */
  hooks: Record<string, string>;
  menu: { location: 'Campaigns'; title: string; route: string }[];
  api: { command: string; description: string }[];
  settings: Record<string, ManifestSetting>;
  migrations: string;
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.map((p) => `${MANIFEST_FILE}: ${p}`).join('\n'));
    this.name = 'ManifestError';
  }
}

/** The directory holding plugin.json, searched upwards from `from` (the repository root, also when running from dist/). */
export function findManifestDir(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, MANIFEST_FILE))) return dir;
    if (path.dirname(dir) === dir) throw new ManifestError([`not found in ${from} or any parent directory`]);
  }
}

function describe(error: ErrorObject): string {
  const at = error.instancePath || '/';
  const join = (name: string) => `${error.instancePath}/${name}`;
  switch (error.keyword) {
    case 'required':
      return `${join((error.params as { missingProperty: string }).missingProperty)} is required`;
    case 'additionalProperties':
      return `${join((error.params as { additionalProperty: string }).additionalProperty)} is not an allowed property`;
    case 'propertyNames':
      return `${join((error.params as { propertyName: string }).propertyName)} is not an allowed name`;
    case 'enum':
      return `${at} must be equal to one of the allowed values (${((error.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')})`;
    default:
      return `${at} ${error.message}`;
  }
}

const validators = new Map<string, ReturnType<Ajv['compile']>>();
function schemaValidator(schemaDir: string): ReturnType<Ajv['compile']> {
  const file = path.resolve(schemaDir, MANIFEST_SCHEMA_FILE);
  let validator = validators.get(file);
  if (!validator) {
    validator = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(JSON.parse(fs.readFileSync(file, 'utf8')));
    validators.set(file, validator);
  }
  return validator;
}

/** Validates an already parsed manifest; throws ManifestError naming every bad field. */
export function validateManifest(candidate: unknown, schemaDir: string = findManifestDir(__dirname)): PluginManifest {
  const validate = schemaValidator(schemaDir);
  if (!validate(candidate)) {
    // propertyNames failures come with a generic sibling error; the named one is enough.
    const problems = (validate.errors ?? []).filter((e) => !(e.keyword === 'pattern' && e.propertyName !== undefined)).map(describe);
    throw new ManifestError([...new Set(problems)]);
  }
  const manifest = candidate as PluginManifest;
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(manifest.settings)) {
    const actual = typeof setting.default === 'number' ? (Number.isInteger(setting.default) ? 'integer' : 'number') : typeof setting.default;
    if (actual !== setting.type) problems.push(`/settings/${name}/default must be of type ${setting.type}`);
    if (setting.enum && !setting.enum.includes(String(setting.default))) problems.push(`/settings/${name}/default must be one of its enum values`);
  }
  const routes = manifest.menu.map((m) => m.route);
  routes.forEach((route, i) => routes.indexOf(route) !== i && problems.push(`/menu/${i}/route repeats ${route}`));
  if (problems.length > 0) throw new ManifestError(problems);
  return manifest;
}

/** Reads `<dir>/plugin.json` and validates it against the schema kept next to it. */
export function loadManifest(dir: string): PluginManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ManifestError([`cannot be read (${(e as Error).message})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ManifestError([`is not valid JSON (${(e as Error).message})`]);
  }
  return validateManifest(parsed, fs.existsSync(path.join(dir, MANIFEST_SCHEMA_FILE)) ? dir : findManifestDir(__dirname));
}

/**
 * Loads a module named by the manifest from the code root: the repository when
 * running TypeScript (jest, @swc-node), dist/ when running the compiled build.
 */
export function requireFromCodeRoot<T = unknown>(codeRoot: string, modulePath: string, exportName = 'default'): T {
  const resolved = require.resolve(path.resolve(codeRoot, modulePath));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(resolved);
  const value = loaded?.[exportName];
  if (value === undefined) throw new ManifestError([`${modulePath} has no export named ${exportName}`]);
  return value as T;
}
