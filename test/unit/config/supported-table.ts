import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { referenceUrl } from '../../support/reference.ts';

/**
 * README's "Supported keys" table (between `<!-- supported-config:begin/end -->`), generated from idflow's config
 * schema (config/config.schema.json) so it cannot drift: every key idflow reads, its type, default and meaning, and
 * whether Kratos's own schema has it (else it is idflow's own). Hooks and other `oneOf` unions are listed once, as
 * the key that holds them.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  definitions?: Record<string, Schema>;
};

const IDFLOW_SCHEMA = fileURLToPath(new URL('../../../config/config.schema.json', import.meta.url));

export interface KeyRow {
  path: string;
  type: string;
  default?: unknown;
  about: string;
}

function resolve(root: Schema, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 8; hops++) {
    const name = current.$ref.replace(/^#\/definitions\//, '');
    const target = root.definitions?.[name];
    if (!target) break;
    const { $ref: _, ...rest } = current;
    current = { ...target, ...rest };
  }
  return current;
}

function typeOf(schema: Schema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (schema.type === 'array' && schema.items && !schema.items.properties) return `array of ${typeOf(schema.items)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  if (schema.type) return schema.type;
  if (schema.oneOf || schema.anyOf) return 'one of several shapes';
  return 'any';
}

/** Every leaf key of `schema` as a dotted path (`[]` for array items), depth-first in the schema's order. */
export function keyRows(root: Schema, schema: Schema = root, path = '', seen: string[] = []): KeyRow[] {
  const resolved = resolve(root, schema);
  const ref = schema.$ref;
  if (ref && seen.includes(ref)) return [{ path, type: typeOf(resolved), about: 'recursive' }];
  const inner = ref ? [...seen, ref] : seen;
  if (resolved.properties && Object.keys(resolved.properties).length > 0) {
    return Object.entries(resolved.properties).flatMap(([key, child]) => keyRows(root, child, path ? `${path}.${key}` : key, inner));
  }
  if (resolved.type === 'array' && resolved.items) {
    const item = resolve(root, resolved.items);
    // A hook list is one key: its items are the hooks of the Web hooks section, not settings of their own.
    if (item.properties?.hook) return [{ path, type: 'array of hooks', default: resolved.default, about: aboutOf(resolved) || 'Hooks run at this point (see Web hooks).' }];
    if (item.properties) return keyRows(root, resolved.items, `${path}[]`, inner);
  }
  return [{ path, type: typeOf(resolved), default: resolved.default, about: aboutOf(resolved) }];
}

function aboutOf(schema: Schema): string {
  const text = (schema.description ?? schema.title ?? '').replace(/\s+/g, ' ').trim();
  const sentence = /^(.+?[.!?])(\s+[A-Z(`]|$)/.exec(text)?.[1] ?? text;
  return sentence.length > 160 ? `${sentence.slice(0, 157)}…` : sentence;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

function defaultCell(value: unknown): string {
  if (value === undefined) return '';
  const json = JSON.stringify(value);
  return json.length > 40 ? '(see schema)' : `\`${cell(json)}\``;
}

/** Kratos's key paths, the same way (to tell idflow's own keys apart). */
export function kratosKeyPaths(): Set<string> {
  const kratos = JSON.parse(readFileSync(referenceUrl('kratos-config.schema.json'), 'utf8')) as Schema;
  return new Set(keyRows(kratos).map((row) => row.path));
}

/** Kratos has the key, or a key above it whose inside its schema leaves open (a list of hooks, a free object). */
function inKratos(kratos: Set<string>, path: string): boolean {
  // Or Kratos details what idflow's schema leaves open (the courier templates).
  for (const known of kratos) if (known.startsWith(`${path}.`) || known.startsWith(`${path}[]`)) return true;
  for (let at = path.length; at > 0; at = Math.max(path.lastIndexOf('.', at - 1), path.lastIndexOf('[]', at - 1))) {
    if (kratos.has(path.slice(0, at))) return true;
  }
  return false;
}

export function renderSupportedTable(root: Schema = JSON.parse(readFileSync(IDFLOW_SCHEMA, 'utf8')) as Schema): string {
  const kratos = kratosKeyPaths();
  const rows = keyRows(root).map((row) =>
    `| \`${cell(row.path)}\` | ${row.type} | ${defaultCell(row.default)} | ${inKratos(kratos, row.path) ? 'Kratos' : 'idflow'} | ${cell(row.about)} |`);
  return ['| key | type | default | from | what |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** `npx tsx test/unit/config/supported-table.ts` prints the table to paste into README.md. */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(renderSupportedTable());
