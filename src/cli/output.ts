/**
 * How the CLI prints results, as Kratos's commands do through ory/x cmdx: `--format` table (the default), json,
 * json-pretty, yaml or jsonpointer=PTR, and `--quiet` for ids only. One row prints as HEADER/value lines, a
 * collection as a table with a header line; columns are tab-aligned as Go's tabwriter aligns them.
 */
import { stringify } from 'yaml';
import { UsageError } from './args.ts';

export type OutputFormat = 'table' | 'json' | 'json-pretty' | 'yaml' | 'quiet' | { pointer: string };

export interface Row {
  header: string[];
  columns: string[];
  /** What json and yaml print. */
  value: unknown;
}

export interface Table {
  header: string[];
  rows: string[][];
  value: unknown;
}

export const FORMAT_OPTIONS = {
  format: { type: 'string', default: 'default' },
  quiet: { type: 'boolean', short: 'q', default: false },
} as const;

export const FORMAT_HELP = `      --format F                output format: table (default), json, json-pretty, yaml, or
                                jsonpointer=PTR (the value at that RFC 6901 pointer, as pretty JSON)
  -q, --quiet                   print only ids`;

/** The output format from --format and --quiet; an unknown format is a usage error (cmdx would fall back to table). */
export function outputFormat(values: Record<string, unknown>): OutputFormat {
  if (values.quiet === true) return 'quiet';
  const format = String(values.format ?? 'default');
  if (format === 'default' || format === 'table') return 'table';
  if (format === 'json' || format === 'json-pretty' || format === 'yaml') return format;
  if (format.startsWith('jsonpointer')) {
    const pointer = format.slice('jsonpointer'.length);
    if (!pointer.startsWith('=')) throw new UsageError('--format jsonpointer needs a pointer: --format jsonpointer=/0/id');
    return { pointer: pointer.slice(1) };
  }
  if (format.startsWith('jsonpath')) throw new UsageError('--format jsonpath (gjson syntax) is not supported by idflow; use jsonpointer=PTR or json with jq');
  throw new UsageError(`--format must be table, json, json-pretty, yaml or jsonpointer=PTR, not "${format}"`);
}

export function printRow(format: OutputFormat, row: Row): void {
  if (format === 'table') write(align(row.header.map((h, i) => [h, row.columns[i] ?? ''])));
  else if (format === 'quiet') write(`${row.columns[0] ?? ''}\n`);
  else printValue(format, row.value);
}

export function printTable(format: OutputFormat, table: Table): void {
  if (table.rows.length === 0 && format === 'quiet') write('\n');
  else if (format === 'table') write(align([table.header, ...table.rows]));
  else if (format === 'quiet') write(table.rows.map((r) => `${r[0] ?? ''}\n`).join(''));
  else printValue(format, table.value);
}

/** One line per failure, `source: reason`, on standard error (cmdx.PrintErrors). */
export function printErrors(failed: ReadonlyMap<string, string>): void {
  for (const [source, reason] of failed) process.stderr.write(`${source}: ${reason}\n`);
}

function printValue(format: Exclude<OutputFormat, 'table' | 'quiet'>, value: unknown): void {
  if (format === 'json') write(JSON.stringify(value) + '\n');
  else if (format === 'json-pretty') write(JSON.stringify(value, null, 2) + '\n');
  else if (format === 'yaml') write(toYaml(value));
  else write(JSON.stringify(atPointer(value, format.pointer), null, 2) + '\n');
}

/** YAML for the CLI's output (config snippets, identities). */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

function atPointer(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  if (!pointer.startsWith('/')) throw new UsageError(`invalid JSON pointer "${pointer}": it must start with /`);
  let current = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, token)) {
      throw new Error(`the JSON pointer "${pointer}" does not point at a value`);
    }
    current = (current as Record<string, unknown>)[token];
  }
  return current;
}

/** Go's tabwriter with tab padding (minwidth 0, tabwidth 8, padding 1): each cell ends with tabs up to its column's stop. */
function align(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length + 1); });
  const stops = widths.map((w) => Math.ceil(w / 8) * 8);
  return rows.map((row) => row.map((cell, i) => cell + '\t'.repeat(Math.max(1, Math.ceil((stops[i] - cell.length) / 8)))).join('') + '\n').join('');
}

function write(text: string): void {
  process.stdout.write(text);
}
