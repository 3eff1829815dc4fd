// The reader behind the import rules: what counts as an import, which imports are type-only, and cycles.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cyclicComponents, packageName, readImportGraph, resolveTarget, cycleThrough, type ImportEdge, type ImportGraph } from '../../support/import-graph.ts';

describe('readImportGraph', () => {
  let root: string;
  let graph: ImportGraph;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'import-graph-test-'));
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    };
    write(
      'src/a/main.ts',
      [
        "import type { T } from './types.ts';", // 1
        "import { type U } from '../b/u.ts';", // 2: emitted as `import {} from`, still loads the module
        "import def, { v } from 'pkg/sub/path.js';", // 3
        "import '@scope/pkg/side-effect';", // 4
        "export * from './re.ts';", // 5
        "export type { W } from './w.ts';", // 6
        "import { readFileSync } from 'node:fs';", // 7
        "const LAZY = 'lazy-pkg';", // 8
        'export async function load(name: string) {', // 9
        "  await import('./later.ts');", // 10
        '  await import(LAZY);', // 11
        '  return import(name);', // 12
        '}', // 13
        "export type X = import('../c/x.ts').X;", // 14
        "// import 'commented-out';", // 15
        'const text = "import(\'in-a-string\')";', // 16
        'export { def, v, readFileSync, text };', // 17
        'export type { T, U };', // 18
        'export const later = () => import(`./template.ts`);', // 19
      ].join('\n'),
    );
    write('config/other.ts', "import { x } from '../src/a/main.ts';\nexport const y = x;\n");
    write('bench/ignored.ts', "import 'not-scanned';\n");
    graph = readImportGraph(root, ['src', 'config']);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const edge = (line: number) => graph.edges.find((e) => e.from === 'src/a/main.ts' && e.line === line);

  it('reads only the listed folders, with root-relative posix paths', () => {
    expect(graph.files).toEqual(['config/other.ts', 'src/a/main.ts']);
    expect(graph.edges.filter((e) => e.from === 'config/other.ts').map((e) => e.target)).toEqual([{ kind: 'file', path: 'src/a/main.ts' }]);
  });

  it('finds every import form, and no import in comments or strings', () => {
    const summary = graph.edges
      .filter((e) => e.from === 'src/a/main.ts')
      .sort((a, b) => a.line - b.line)
      .map((e) => [e.line, e.specifier, e.form, e.typeOnly]);
    expect(summary).toEqual([
      [1, './types.ts', 'import', true],
      [2, '../b/u.ts', 'import', false],
      [3, 'pkg/sub/path.js', 'import', false],
      [4, '@scope/pkg/side-effect', 'import', false],
      [5, './re.ts', 'export-from', false],
      [6, './w.ts', 'export-from', true],
      [7, 'node:fs', 'import', false],
      [10, './later.ts', 'dynamic', false],
      [11, 'lazy-pkg', 'dynamic', false],
      [12, 'name', 'dynamic', false],
      [14, '../c/x.ts', 'import-type', true],
      [19, './template.ts', 'dynamic', false],
    ]);
  });

  it('resolves files, packages, built-ins, const names and leaves other expressions computed', () => {
    expect(edge(2)?.target).toEqual({ kind: 'file', path: 'src/b/u.ts' });
    expect(edge(3)?.target).toEqual({ kind: 'package', name: 'pkg' });
    expect(edge(4)?.target).toEqual({ kind: 'package', name: '@scope/pkg' });
    expect(edge(7)?.target).toEqual({ kind: 'builtin', name: 'fs', prefixed: true });
    expect(edge(11)?.target).toEqual({ kind: 'package', name: 'lazy-pkg' });
    expect(edge(12)?.target).toEqual({ kind: 'computed', expression: 'name' });
    expect(edge(14)?.target).toEqual({ kind: 'file', path: 'src/c/x.ts' });
  });
});

describe('resolveTarget / packageName', () => {
  it('tells built-ins, packages and files apart', () => {
    expect(resolveTarget('src/x/a.ts', 'fs')).toEqual({ kind: 'builtin', name: 'fs', prefixed: false });
    expect(resolveTarget('src/x/a.ts', 'node:test')).toEqual({ kind: 'builtin', name: 'test', prefixed: true });
    expect(resolveTarget('src/x/a.ts', '../../schemas/s.json')).toEqual({ kind: 'file', path: 'schemas/s.json' });
    expect(packageName('@mikro-orm/core/dist/x.js')).toBe('@mikro-orm/core');
    expect(packageName('ajv/dist/2020.js')).toBe('ajv');
  });
});

describe('cyclicComponents', () => {
  const edges = (...pairs: Array<[string, string, boolean?]>): ImportEdge[] =>
    pairs.map(([from, to, typeOnly]) => ({ from, specifier: to, target: { kind: 'file', path: to }, form: 'import', typeOnly: typeOnly ?? false, line: 1 }));
  const graph = edges(['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd'], ['d', 'd'], ['e', 'f'], ['f', 'e', true], ['b', 'a']);

  it('returns the strongly connected components and the edges inside them', () => {
    expect(cyclicComponents(graph, () => true)).toEqual([
      {
        files: ['a', 'b', 'c'],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'a' },
          { from: 'b', to: 'c' },
          { from: 'c', to: 'a' },
        ],
      },
      { files: ['d'], edges: [{ from: 'd', to: 'd' }] },
      { files: ['e', 'f'], edges: [{ from: 'e', to: 'f' }, { from: 'f', to: 'e' }] },
    ]);
    expect(cyclicComponents(graph, (e) => !e.typeOnly).map((c) => c.files)).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('finds a shortest cycle through an edge', () => {
    const [abc, d] = cyclicComponents(graph, () => true);
    expect(cycleThrough(abc!, 'a', 'b')).toEqual(['a', 'b', 'a']);
    expect(cycleThrough(abc!, 'b', 'c')).toEqual(['b', 'c', 'a', 'b']);
    expect(cycleThrough(abc!, 'c', 'a')).toEqual(['c', 'a', 'b', 'c']);
    expect(cycleThrough(d!, 'd', 'd')).toEqual(['d', 'd']);
  });
});
