/**
 * The plug-in's architecture, checked on the source text:
 * - the plug-in never imports the reference host or the tests;
 * - the engine (src/engine) is pure: it imports nothing outside itself, not even a package;
 * - no import cycle among the modules of src/ (type-only imports included: a
 *   cycle of types is still two files that cannot be understood apart);
 * - only the entry store writes the entries and execution-log tables.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string, withSpecs = false): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full, withSpecs);
    return /\.ts$/.test(e.name) && (withSpecs || !/\.spec\.ts$/.test(e.name)) ? [full] : [];
  });
}

/** Every module specifier a file imports or re-exports (static imports, `export … from`, require and import()). */
function specifiers(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)) out.push(match[1]);
  for (const match of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(match[1]);
  for (const match of text.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(match[1]);
  return out;
}

/** The file a relative specifier names (x.ts or x/index.ts), or null for a package. */
function resolve(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  throw new Error(`${path.relative(ROOT, from)} imports ${specifier}, which does not exist`);
}

/** The import cycles of a graph, each as the list of its files (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return cycles;
}

function srcGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const targets = specifiers(file)
      .map((s) => resolve(file, s))
      .filter((t): t is string => t !== null && t.startsWith(SRC + path.sep) && !t.endsWith('.spec.ts'));
    graph.set(path.relative(ROOT, file), [...new Set(targets.map((t) => path.relative(ROOT, t)))]);
  }
  return graph;
}

describe('plug-in boundaries', () => {
  it('the plug-in (src/, hooks/, migrations/) never imports the reference host or the tests', () => {
    const offenders = ['src', 'hooks', 'migrations']
      .flatMap((d) => sourceFiles(path.join(ROOT, d)))
      .filter((file) => specifiers(file).some((s) => /reference-host|(^|\/)test\//.test(s)))
      .map((file) => path.relative(ROOT, file));
    expect(offenders).toEqual([]);
  });

  it('the engine imports nothing outside src/engine (no other folder, no package)', () => {
    const engine = path.join(SRC, 'engine');
    const offenders = sourceFiles(engine).flatMap((file) =>
      specifiers(file)
        .filter((s) => {
          const target = resolve(file, s);
          return target === null || !target.startsWith(engine + path.sep);
        })
        .map((s) => `${path.relative(ROOT, file)} → ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('has no import cycle among the modules of src/', () => {
    expect(importCycles(srcGraph())).toEqual([]);
  });

  it('only the entry store writes the entries and execution-log tables', () => {
    // The table names are interpolated into template literals: INTO \`${this.tables.entries}\`.
    const writes = /\b(INSERT(?:\s+IGNORE)?\s+INTO|UPDATE|DELETE\s+(?:\w+\s+)?FROM|REPLACE\s+INTO)\s+\\?`\$\{[^}]*\.(entries|log)\}/;
    const offenders = sourceFiles(SRC)
      .filter((file) => writes.test(fs.readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(offenders).toEqual(['src/runtime/entry-store.ts']);
  });
});

describe(importCycles.name, () => {
  it('finds a cycle of two and of three files and a file importing itself, and nothing in a tree', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', []],
      ['d', ['e']],
      ['e', ['f']],
      ['f', ['d']],
      ['g', ['g']],
      ['h', ['c']],
    ]);
    expect(importCycles(graph).sort()).toEqual([['a', 'b'], ['d', 'e', 'f'], ['g']]);
    expect(
      importCycles(
        new Map([
          ['x', ['y']],
          ['y', []],
        ]),
      ),
    ).toEqual([]);
  });
});
