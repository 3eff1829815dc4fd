/**
 * The Jsonnet evaluator (@hanazuki/node-jsonnet: libjsonnet, evaluated off the event loop), shared by web hook body
 * templates, HTTP courier bodies and OpenID Connect claims mappers. This folder owns the library; everything else
 * gets these functions.
 *
 * The package is OPTIONAL and not installed by `npm ci`: it compiles libjsonnet from source (it ships no prebuilt
 * binary), which needs a C++17 compiler and CMake and takes minutes, and most deployments use no Jsonnet at all.
 * No maintained pure-JavaScript or WebAssembly Jsonnet evaluator is published on npm (the Emscripten builds there
 * are of libjsonnet 0.9, from 2017), so the native one stays, loaded only when the configuration has a Jsonnet
 * source: `loadJsonnetSource` (which every configured template goes through at start-up) refuses the start, naming
 * the package and the command that installs it, when it is missing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

/** The part of @hanazuki/node-jsonnet used here. */
interface JsonnetVm {
  tlaCode(key: string, code: string): JsonnetVm;
  extCode(key: string, code: string): JsonnetVm;
  evaluateSnippet(snippet: string, filename?: string): Promise<string>;
}
export interface JsonnetModule {
  Jsonnet: new () => JsonnetVm;
}

export const JSONNET_PACKAGE = '@hanazuki/node-jsonnet';
/** How to add the evaluator (the version package-lock.json had when it was a dependency). */
export const JSONNET_INSTALL = 'npm run jsonnet:install';

/** Loads the CommonJS package synchronously, so a start-up check can answer at once. */
const requirePackage = (): JsonnetModule => createRequire(import.meta.url)(JSONNET_PACKAGE) as JsonnetModule;
let loaded: JsonnetModule | undefined;

/**
 * Why the evaluator cannot be used, or undefined when it can (the package is installed and its add-on was built).
 * `load` is for tests.
 */
export function jsonnetEvaluatorProblem(load: () => JsonnetModule = requirePackage): string | undefined {
  try {
    const module = load();
    if (typeof module?.Jsonnet !== 'function') throw new Error('it exports no Jsonnet class');
    if (load === requirePackage) loaded = module;
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND'
      ? 'is not installed'
      : `cannot be loaded (${String((err as Error).message).split('\n')[0].slice(0, 160)})`;
    return `Jsonnet needs the optional package ${JSONNET_PACKAGE}, which ${why}: run \`${JSONNET_INSTALL}\` (it compiles libjsonnet, with a C++17 compiler and CMake)`;
  }
}

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
  if (!loaded) {
    const problem = jsonnetEvaluatorProblem();
    if (problem) throw new JsonnetError(problem);
  }
  let vm = new loaded!.Jsonnet();
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

/**
 * A Jsonnet source given as `base64://...` or `file://path` (relative paths from `baseDir`); HTTP is not fetched.
 * Every configured template is loaded through here at start-up, so this is also where a missing evaluator stops the
 * start (after the source itself was found good).
 */
export function loadJsonnetSource(uri: string, baseDir: string): { source: string } | { problem: string } {
  const read = readJsonnetSource(uri, baseDir);
  if ('problem' in read) return read;
  const problem = jsonnetEvaluatorProblem();
  return problem ? { problem } : read;
}

function readJsonnetSource(uri: string, baseDir: string): { source: string } | { problem: string } {
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
