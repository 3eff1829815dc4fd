/**
 * The Jsonnet evaluator (@hanazuki/node-jsonnet: libjsonnet, evaluated off the event loop), shared by web hook body
 * templates and OpenID Connect claims mappers. This folder owns the library; everything else gets these functions.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The part of @hanazuki/node-jsonnet used here; it ships no ESM types. */
interface JsonnetVm {
  tlaCode(key: string, code: string): JsonnetVm;
  extCode(key: string, code: string): JsonnetVm;
  evaluateSnippet(snippet: string, filename?: string): Promise<string>;
}
interface JsonnetModule {
  Jsonnet: new () => JsonnetVm;
}
const JSONNET_MODULE = '@hanazuki/node-jsonnet';
let loaded: Promise<JsonnetModule> | undefined;

export interface JsonnetInputs {
  /** Top-level arguments, as JSON values (web hooks: `function(ctx)`). */
  tla?: Record<string, unknown>;
  /** External variables, as JSON values (`std.extVar('claims')`). */
  ext?: Record<string, unknown>;
}

/**
 * Evaluates a Jsonnet program and parses its output. A failure keeps only the first line of libjsonnet's message
 * (its location): the rest may quote the inputs, which can be personal data or secrets.
 */
export async function evaluateJsonnet(snippet: string, filename: string, inputs: JsonnetInputs): Promise<unknown> {
  loaded ??= import(JSONNET_MODULE) as Promise<JsonnetModule>;
  const { Jsonnet } = await loaded;
  let vm = new Jsonnet();
  for (const [key, value] of Object.entries(inputs.tla ?? {})) vm = vm.tlaCode(key, JSON.stringify(value));
  for (const [key, value] of Object.entries(inputs.ext ?? {})) vm = vm.extCode(key, JSON.stringify(value));
  let output: string;
  try {
    output = await vm.evaluateSnippet(snippet, filename);
  } catch (err) {
    throw new JsonnetError(String((err as Error).message).split('\n')[0].slice(0, 200));
  }
  return JSON.parse(output);
}

export class JsonnetError extends Error {
  override name = 'JsonnetError';
}

/** A Jsonnet source given as `base64://...` or `file://path` (relative paths from `baseDir`); HTTP is not fetched. */
export function loadJsonnetSource(uri: string, baseDir: string): { source: string } | { problem: string } {
  if (uri.startsWith('base64://')) return { source: Buffer.from(uri.slice('base64://'.length), 'base64').toString('utf8') };
  if (uri.startsWith('file://')) {
    const path = uri.slice('file://'.length);
    try {
      return { source: readFileSync(resolve(baseDir, path), 'utf8') };
    } catch (err) {
      return { problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  }
  return { problem: 'use a file:// or base64:// Jsonnet source (sources fetched over HTTP are not supported by idflow)' };
}

/**
 * Checks a Jsonnet program without running it: libjsonnet parses it and runs its static analysis (unknown
 * variables, `self`/`super` outside an object) when it evaluates an unused local binding of the program, which
 * Jsonnet's laziness never evaluates. Resolves to undefined when the program is fine, else libjsonnet's first line.
 */
export async function checkJsonnet(snippet: string, filename: string): Promise<string | undefined> {
  const prefix = 'local idflow_lint = (';
  try {
    // The wrapper starts on the program's first line, so line numbers stay the file's; columns there are shifted back.
    await evaluateJsonnet(`${prefix}${snippet}\n); null`, filename, {});
    return undefined;
  } catch (err) {
    if (!(err instanceof JsonnetError)) throw err;
    const shift = (column: string) => String(Math.max(1, Number(column) - prefix.length));
    return err.message.replace(/(:\(?1:)(\d+)(?:-(\d+)(?=\D|$))?/, (_, head: string, from: string, to?: string) => `${head}${shift(from)}${to ? `-${shift(to)}` : ''}`);
  }
}

/** A Jsonnet formatter (jsonnetfmt), when the evaluator has one; libjsonnet's Node binding here exposes none. */
export const formatJsonnet: ((source: string, filename: string) => Promise<string>) | undefined = undefined;
