// `npm test` checks the import rules of STYLE.md over src/, machines/, entities/, config/ and observability/.
// The rules are in ./import-rules.ts; the graph comes from the TypeScript parser (test/support/import-graph.ts).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImportGraph, resolveTarget, type ImportEdge, type ImportGraph } from '../../support/import-graph.ts';
import { checkImportRules, describeViolations, SCANNED_DIRS, type RuleReport } from './import-rules.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Rules broken today, as "file → import (rule)". Nothing may be added: a new import must follow the rules.
 * When a refactor fixes one, the test fails until its entry is deleted, so this list only shrinks.
 */
const KNOWN_VIOLATIONS: readonly string[] = [];

describe('import rules (STYLE.md "Who owns what")', () => {
  let graph: ImportGraph;
  let report: RuleReport;
  beforeAll(() => {
    graph = readImportGraph(ROOT, SCANNED_DIRS);
    report = checkImportRules(graph);
    if (report.typeOnlyCycles.length > 0) {
      const cycles = report.typeOnlyCycles.map((c) => `  ${c.edges.map((e) => `${e.from} → ${e.to}`).join('\n  ')}`);
      console.info(`Import cycles through \`import type\` only (allowed, harmless at runtime):\n${cycles.join('\n\n')}`);
    }
  });

  it('parses every .ts file of the program', () => {
    const onDisk = SCANNED_DIRS.flatMap((dir) =>
      readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => `${dir}/${file.split(path.sep).join('/')}`),
    ).sort();
    expect(graph.files).toEqual(onDisk);
    expect(graph.edges.some((e) => e.from === 'src/http/base-app.ts' && e.specifier === 'express')).toBe(true);
  });

  it('no import breaks a rule, apart from KNOWN_VIOLATIONS', () => {
    const known = new Set(KNOWN_VIOLATIONS);
    const unexpected = report.violations.filter((v) => !known.has(v.key));
    const summary =
      `${unexpected.length} import(s) break the import rules (test/unit/architecture/import-rules.ts). ` +
      `Move the import to its owner, or declare an owner for a new package:\n${describeViolations(unexpected)}\n`;
    expect(unexpected.map((v) => v.key), summary).toEqual([]);
  });

  it('every KNOWN_VIOLATIONS entry still happens (delete the ones you fixed)', () => {
    const current = new Set(report.violations.map((v) => v.key));
    const fixed = KNOWN_VIOLATIONS.filter((key) => !current.has(key));
    expect(fixed, `Fixed: delete these entries from KNOWN_VIOLATIONS:\n${fixed.map((k) => `  '${k}',`).join('\n')}\n`).toEqual([]);
    expect(new Set(KNOWN_VIOLATIONS).size, 'KNOWN_VIOLATIONS has duplicate entries').toBe(KNOWN_VIOLATIONS.length);
  });
});

// The checker on hand-made graphs: each rule catches what it should and lets through what it should.
describe('import rule checker', () => {
  type EdgeSpec = [from: string, specifier: string, options?: { typeOnly?: boolean; form?: ImportEdge['form'] }];
  const graphOf = (...specs: EdgeSpec[]): ImportGraph => {
    const edges = specs.map(([from, specifier, options]): ImportEdge => ({
      from,
      specifier,
      target: resolveTarget(from, specifier),
      form: options?.form ?? 'import',
      typeOnly: options?.typeOnly ?? false,
      line: 1,
    }));
    return { files: [...new Set(edges.map((e) => e.from))].sort(), edges };
  };
  const keys = (...specs: EdgeSpec[]) => checkImportRules(graphOf(...specs)).violations.map((v) => v.key);
  const type = { typeOnly: true };

  it('a package is imported by its owners only, `import type` included', () => {
    expect(keys(['src/persistence/sql/repo.ts', '@mikro-orm/core'], ['entities/flow.entity.ts', '@mikro-orm/core'])).toEqual([]);
    expect(keys(['src/flows/flow-runtime.ts', '@mikro-orm/core', type])).toEqual(['src/flows/flow-runtime.ts → @mikro-orm/core (package-owner)']);
    expect(keys(['src/identity/x.ts', '@mikro-orm/knex/dist/thing.js'])).toEqual(['src/identity/x.ts → @mikro-orm/knex (package-owner)']);
    expect(keys(['src/session/token-hash.ts', 'hash-wasm'])).toEqual(['src/session/token-hash.ts → hash-wasm (package-owner)']);
    expect(keys(['src/methods/totp/totp.method.ts', 'otplib'], ['src/methods/password/password.method.ts', 'otplib'])).toEqual([
      'src/methods/password/password.method.ts → otplib (package-owner)',
    ]);
  });

  it('owners can be single files; an exact package entry wins over its scope', () => {
    expect(keys(['src/x/body-validator.ts', 'ajv'], ['config/load-config.ts', 'ajv'])).toEqual([]);
    expect(keys(['src/x/json-pointer.ts', 'ajv'])).toEqual(['src/x/json-pointer.ts → ajv (package-owner)']);
    expect(keys(['src/courier/trace-context.ts', '@opentelemetry/api'])).toEqual([]);
    expect(keys(['src/courier/trace-context.ts', '@opentelemetry/sdk-node'], ['src/courier/courier.ts', '@opentelemetry/api'])).toEqual([
      'src/courier/courier.ts → @opentelemetry/api (package-owner)',
      'src/courier/trace-context.ts → @opentelemetry/sdk-node (package-owner)',
    ]);
  });

  it('a package without a declared owner fails; node: built-ins are free but must carry the prefix', () => {
    expect(keys(['src/hash/x.ts', 'left-pad'])).toEqual(['src/hash/x.ts → left-pad (undeclared-package)']);
    expect(keys(['src/hash/x.ts', 'node:crypto'], ['src/x/y.ts', 'node:fs/promises'])).toEqual([]);
    expect(keys(['src/hash/x.ts', 'crypto'])).toEqual(['src/hash/x.ts → crypto (node-prefix)']);
  });

  it('import(expression) the checker cannot read fails', () => {
    const graph: ImportGraph = {
      files: ['src/hooks/x.ts'],
      edges: [{ from: 'src/hooks/x.ts', specifier: 'name', target: { kind: 'computed', expression: 'name' }, form: 'dynamic', typeOnly: false, line: 3 }],
    };
    expect(checkImportRules(graph).violations.map((v) => v.key)).toEqual(['src/hooks/x.ts → import(name) (computed-import)']);
  });

  it('methods import neither persistence, http, entities nor flows, nor another method', () => {
    const method = 'src/methods/password/password.method.ts';
    expect(
      keys(
        [method, '../method.ts'],
        [method, './policy.ts'],
        [method, '../../identity/identity-service.ts', type],
        [method, '../../ui/node.ts'],
        [method, '../../../machines/flow-types.ts', type],
      ),
    ).toEqual([]);
    expect(
      keys(
        [method, '../../persistence/sql/identity-repository.ts', type],
        [method, '../../http/public/selfservice/http-context.ts', type],
        [method, '../../../entities/index.ts'],
        [method, '../../flows/flow-runtime.ts'],
        [method, '../profile/profile.method.ts', type],
        ['src/methods/method.ts', '../flows/flow-effects.ts', type],
      ),
    ).toEqual([
      'src/methods/method.ts → src/flows/flow-effects.ts (method-layering)',
      `${method} → entities/index.ts (method-layering)`,
      `${method} → src/flows/flow-runtime.ts (method-layering)`,
      `${method} → src/http/public/selfservice/http-context.ts (method-layering)`,
      `${method} → src/methods/profile/profile.method.ts (method-isolation)`,
      `${method} → src/persistence/sql/identity-repository.ts (method-layering)`,
    ]);
  });

  it('machines import xstate, machines/ and only types from src/ui/ and src/text/', () => {
    const machine = 'machines/login.machine.ts';
    expect(keys([machine, 'xstate'], [machine, './flow-types.ts'], [machine, '../src/ui/node.ts', type], [machine, '../src/text/messages.ts', type])).toEqual([]);
    expect(
      keys([machine, '../src/ui/node.ts'], [machine, '../src/flows/flow-effects.ts', type], [machine, 'node:crypto'], [machine, '@mikro-orm/core', type]),
    ).toEqual([
      'machines/login.machine.ts → @mikro-orm/core (package-owner)',
      'machines/login.machine.ts → node:crypto (machine-purity)',
      'machines/login.machine.ts → src/flows/flow-effects.ts (machine-purity)',
      'machines/login.machine.ts → src/ui/node.ts (machine-purity)',
    ]);
  });

  it('only src/http/ imports express and only src/server.ts reaches into src/http/', () => {
    expect(keys(['src/server.ts', './http/public/public-app.ts'], ['src/http/public/public-app.ts', '../base-app.ts'], ['src/http/base-app.ts', 'express'])).toEqual([]);
    expect(keys(['src/registry.ts', './http/admin/admin-app.ts', type], ['src/flows/flow-service.ts', 'express', type])).toEqual([
      'src/flows/flow-service.ts → express (package-owner)',
      'src/registry.ts → src/http/admin/admin-app.ts (http-edge)',
    ]);
  });

  it('a runtime import cycle fails on each of its edges; a cycle through `import type` is only reported', () => {
    const cyclic = checkImportRules(graphOf(['src/x/a.ts', './b.ts'], ['src/x/b.ts', './c.ts', { form: 'dynamic' }], ['src/x/c.ts', './a.ts'], ['src/x/c.ts', './d.ts']));
    expect(cyclic.violations.map((v) => v.key)).toEqual([
      'src/x/a.ts → src/x/b.ts (import-cycle)',
      'src/x/b.ts → src/x/c.ts (import-cycle)',
      'src/x/c.ts → src/x/a.ts (import-cycle)',
    ]);
    expect(cyclic.typeOnlyCycles).toEqual([]);
    const typed = checkImportRules(graphOf(['src/x/a.ts', './b.ts'], ['src/x/b.ts', './a.ts', type]));
    expect(typed.violations).toEqual([]);
    expect(typed.typeOnlyCycles.map((c) => c.files)).toEqual([['src/x/a.ts', 'src/x/b.ts']]);
  });

  it('describes a violation with file, line, import and rule', () => {
    const [violation] = checkImportRules(graphOf(['src/session/token-hash.ts', 'hash-wasm'])).violations;
    expect(describeViolations([violation!])).toContain('src/session/token-hash.ts:1  →  hash-wasm');
    expect(describeViolations([violation!])).toContain("[package-owner] 'hash-wasm' belongs to src/hash/");
  });
});
