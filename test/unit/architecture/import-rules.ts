// idflow's import rules (STYLE.md, "Who owns what"), checked over the graph from test/support/import-graph.ts.
// A rule is broken by an import; each broken rule is one `Violation`, keyed "file → import (rule)".
import { cycleThrough, cyclicComponents, type Component, type ImportEdge, type ImportGraph } from '../../support/import-graph.ts';

/** Folders whose .ts files are the program (not test/, not bench/). */
export const SCANNED_DIRS = ['src', 'machines', 'entities', 'config', 'observability'] as const;

/**
 * Rule 1: each third-party package has owners, and nothing else imports it (`import type` included, so a
 * library's types do not leak either). An owner ending in `/` is a folder; anything else is one file.
 * `@scope/*` covers a scope; an exact name wins over its scope. Node built-ins (`node:*`) are free.
 */
export const PACKAGE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  xstate: ['machines/', 'src/flows/', 'observability/'],
  '@statelyai/inspect': ['observability/'],
  ws: ['observability/stately-replay.ts'], // Node 20 has no WebSocket client; Deno and Node >= 22 use their own

  '@mikro-orm/*': ['entities/', 'src/persistence/'],
  libsql: ['src/persistence/'],
  pg: ['src/persistence/'],
  knex: ['src/persistence/'],

  express: ['src/http/'],
  'fast-json-patch': ['src/http/admin/'], // JSON Patch of identities (PATCH /admin/identities/:id)

  'hash-wasm': ['src/hash/'],
  '@node-rs/argon2': ['src/hash/'],

  nodemailer: ['src/courier/'],
  '@hanazuki/node-jsonnet': ['src/hooks/'], // Jsonnet (optional package): web hook and HTTP courier bodies, OIDC mappers

  'prom-client': ['observability/'],
  '@opentelemetry/*': ['observability/'],
  'import-in-the-middle': ['observability/'],
  '@opentelemetry/api': [
    'observability/',
    // Exception: a courier message is delivered later, possibly by another process (`courier watch`), so the
    // request's W3C trace context is stored with the message and the delivery span continues it. Only the
    // no-op-safe API package, only this file; the SDK and instrumentations stay in observability/.
    'src/courier/trace-context.ts',
  ],

  // JSON Schema at each boundary (STYLE.md #5): config, identity traits, method payloads. The tightest set that
  // matches today's code; one shared ajv factory would let this shrink to a single owner.
  ajv: ['config/', 'src/identity/schema/', 'src/x/body-validator.ts'],
  'ajv-formats': ['config/', 'src/identity/schema/', 'src/x/body-validator.ts'],
  yaml: ['config/', 'src/cli/output.ts'], // reading config; the CLI's --format yaml and config snippets
  'libphonenumber-js': ['src/identity/schema/'], // the `tel` format of identity traits

  // Not dependencies yet: declared so the first import lands in the right place.
  otplib: ['src/methods/totp/'],
  qrcode: ['src/methods/totp/'],
  '@simplewebauthn/server': ['src/methods/webauthn/', 'src/methods/passkey/'],
  'openid-client': ['src/methods/oidc/'],
  jose: ['src/methods/oidc/', 'src/session/'],
  ioredis: ['src/ratelimit/'],
  'rate-limiter-flexible': ['src/ratelimit/'],
};

/** Rule 2: folders a method (anything under src/methods/) must not import, types included. */
export const METHOD_FORBIDDEN = ['src/persistence/', 'src/http/', 'entities/', 'src/flows/'] as const;

/**
 * Rule 2: machines/ are XState definitions only. Value imports: `xstate` (rule 1) and machines/ files.
 * Type-only imports may also come from the vocabulary folders below (UI nodes, message texts), which do no I/O;
 * types from anywhere else would point machines/ back at the code that runs them. No Node built-ins: time and
 * ids arrive in events or input.
 */
export const MACHINE_TYPE_SOURCES = ['src/ui/', 'src/text/'] as const;

/** Rule 3: src/http/ is the edge; outside it only these mount its apps. */
export const HTTP_IMPORTERS = ['src/server.ts'] as const;

export type RuleId =
  | 'package-owner'
  | 'undeclared-package'
  | 'node-prefix'
  | 'computed-import'
  | 'method-layering'
  | 'method-isolation'
  | 'machine-purity'
  | 'http-edge'
  | 'import-cycle';

export interface Violation {
  /** "file → import (rule)", the form used in KNOWN_VIOLATIONS. */
  key: string;
  file: string;
  line: number;
  /** The package name, the node: built-in, or the imported file's path. */
  imported: string;
  rule: RuleId;
  why: string;
}

export interface RuleReport {
  violations: Violation[];
  /** Cycles that need an `import type` edge to close (harmless at runtime: reported, not failed). */
  typeOnlyCycles: Component[];
}

const under = (file: string, owner: string) => (owner.endsWith('/') ? file.startsWith(owner) : file === owner);
const underAny = (file: string, owners: readonly string[]) => owners.some((owner) => under(file, owner));
const methodFolder = (file: string) => /^src\/methods\/([^/]+)\//.exec(file)?.[1];

/** The owners declared for a package: its exact entry, else its scope's `@scope/*` entry. */
export function ownersOf(name: string): readonly string[] | undefined {
  return PACKAGE_OWNERS[name] ?? (name.startsWith('@') ? PACKAGE_OWNERS[`${name.split('/')[0]}/*`] : undefined);
}

export function checkImportRules(graph: ImportGraph): RuleReport {
  const found = new Map<string, Violation>();
  const add = (edge: ImportEdge, imported: string, rule: RuleId, why: string) => {
    const key = `${edge.from} → ${imported} (${rule})`;
    if (!found.has(key)) found.set(key, { key, file: edge.from, line: edge.line, imported, rule, why });
  };

  for (const edge of graph.edges) {
    const { from, target } = edge;
    const kind = edge.typeOnly ? 'type import' : 'import';

    if (target.kind === 'computed') {
      add(edge, `import(${target.expression})`, 'computed-import', 'the module name must be a string literal or a top-level const string, or these rules cannot see it');
      continue;
    }
    if (target.kind === 'builtin') {
      if (!target.prefixed) add(edge, edge.specifier, 'node-prefix', `write 'node:${target.name}': bare built-in names read like packages`);
      if (from.startsWith('machines/')) add(edge, `node:${target.name}`, 'machine-purity', 'machines/ do no I/O: time, ids and randomness arrive in events or input');
      continue;
    }
    if (target.kind === 'package') {
      const owners = ownersOf(target.name);
      if (!owners) add(edge, target.name, 'undeclared-package', `no owner declared for '${target.name}': add it to PACKAGE_OWNERS with the one folder that may import it`);
      else if (!underAny(from, owners)) add(edge, target.name, 'package-owner', `'${target.name}' belongs to ${owners.join(', ')}; this ${kind} is outside them`);
      continue;
    }

    // One layer rule per import, the most specific first (a method importing src/http/ is method-layering).
    const to = target.path;
    const forbidden = from.startsWith('src/methods/') ? METHOD_FORBIDDEN.find((folder) => to.startsWith(folder)) : undefined;
    const mine = methodFolder(from);
    const theirs = methodFolder(to);
    if (forbidden) {
      add(edge, to, 'method-layering', `a method never touches ${forbidden}: it returns an Outcome and the flow runtime acts on it`);
    } else if (mine && theirs && mine !== theirs) {
      add(edge, to, 'method-isolation', `method '${mine}' imports method '${theirs}': share through src/methods/*.ts or a domain service`);
    } else if (from.startsWith('machines/') && !to.startsWith('machines/') && !(edge.typeOnly && underAny(to, MACHINE_TYPE_SOURCES))) {
      add(edge, to, 'machine-purity', `machines/ import only xstate, machines/ files and types from ${MACHINE_TYPE_SOURCES.join(', ')} (this is a ${kind})`);
    } else if (to.startsWith('src/http/') && !from.startsWith('src/http/') && !underAny(from, HTTP_IMPORTERS)) {
      add(edge, to, 'http-edge', `nothing outside src/http/ imports it except ${HTTP_IMPORTERS.join(', ')}`);
    }
  }

  // Rule 4: no cycles through runtime imports (static or dynamic; `import { type A }` is runtime under
  // verbatimModuleSyntax, it is emitted as `import {} from`). Every edge inside a cycle is a violation, so
  // breaking one removes exactly the entries that stop being cyclic.
  const runtime = (edge: ImportEdge) => !edge.typeOnly;
  const valueComponents = cyclicComponents(graph.edges, runtime);
  const inValueCycle = new Set(valueComponents.flatMap((c) => c.edges.map((e) => `${e.from}\0${e.to}`)));
  for (const component of valueComponents) {
    for (const { from, to } of component.edges) {
      const edge = graph.edges.find((e) => runtime(e) && e.from === from && e.target.kind === 'file' && e.target.path === to)!;
      add(edge, to, 'import-cycle', `runtime import cycle ${cycleThrough(component, from, to).join(' → ')}`);
    }
  }
  const typeOnlyCycles = cyclicComponents(graph.edges, () => true).filter((c) => c.edges.some((e) => !inValueCycle.has(`${e.from}\0${e.to}`)));

  const violations = [...found.values()].sort((a, b) => a.key.localeCompare(b.key));
  return { violations, typeOnlyCycles };
}

/** One line per violation: where, what, which rule and why. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `  ${v.file}:${v.line}  →  ${v.imported}\n      [${v.rule}] ${v.why}\n      key: '${v.key}',`).join('\n');
}
