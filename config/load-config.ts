import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { parseDocument } from 'yaml';
import schemaJson from './config.schema.json' with { type: 'json' };
import { BUILT_IN_CONFIG_NAME, defaultConfig } from './default-config.ts';
import type { Config } from './types.ts';
import { checkUnsupported, dottedKey } from './unsupported.ts';

/**
 * Loading idflow's configuration, Kratos style:
 *   file (kratos.yml / .json) or the built-in default  <  environment variables  <  overrides (CLI flags)  <  --dev,
 * then unknown keys are dropped with a warning, secrets are checked (generated with --dev), and the result is
 * validated against config.schema.json, which also fills in every default.
 */

/** A configuration that can't be used. The message is one line; `problems` lists each problem separately. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(message: string, problems: string[] = [message]) {
    super(message);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** Path of a YAML or JSON config file. Without it the built-in default config is used. */
  file?: string;
  /** Environment to read overrides from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** `--dev`: forces `config.dev = true`; missing secrets are generated. */
  dev?: boolean;
  /** Values from CLI flags, applied last. Nested objects, or dotted keys (`{'serve.public.port': 4000}`). */
  overrides?: object;
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
}

/** The schema idflow validates its config with (JSON Schema draft-07). */
export const configSchema: object = schemaJson;

export const SECRETS_REQUIRED_MESSAGE = 'secrets.cookie (or secrets.default) and secrets.cipher must be set; or run with --dev';

type Obj = Record<string, unknown>;
type Path = string[];

interface SchemaNode {
  type?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  pattern?: string;
}

const SCHEMA = schemaJson as unknown as SchemaNode & { definitions: Record<string, SchemaNode> };
const DURATION_PATTERN = '^([0-9]+(ns|us|ms|s|m|h))+$';
const BYTESIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*([KkMmGgTtPpEe]?[Bb])$';
/** Keys whose values never appear in messages. */
const SENSITIVE = /^dsn$|^secrets\.|(^|\.)(connection_uri|password|client_secret|apple_private_key)$|\.auth\.config\.value$/;

// Compiled on first use and held weakly: a server validates its config once, at start, and then has no use for the
// compiled validator (~0.7 MiB of generated code); loading config again soon after reuses it while it lives.
let compiledValidator: WeakRef<ValidateFunction> | undefined;
function configValidator(): ValidateFunction {
  let validate = compiledValidator?.deref();
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, strictTypes: false });
    ajvFormats.default(ajv);
    validate = ajv.compile(SCHEMA);
    compiledValidator = new WeakRef(validate);
  }
  return validate;
}

// ---------------------------------------------------------------------------------------------- env variables

/** One environment variable that sets a config key: the key path upper-cased, dots replaced by underscores. */
export interface ConfigEnvVar {
  env: string;
  /** Dotted key path, e.g. `serve.public.port`. */
  path: string;
  /** Schema type used to coerce the value: string, integer, number, boolean, array (JSON or comma-separated), object (JSON). */
  type: string;
}

interface EnvVarEntry extends ConfigEnvVar {
  segments: Path;
  itemType?: string;
}

function deref(node: SchemaNode): SchemaNode {
  let current = node;
  for (let depth = 0; current.$ref && depth < 20; depth++) {
    const target = SCHEMA.definitions[current.$ref.replace('#/definitions/', '')];
    if (!target) throw new Error(`config.schema.json: unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/**
 * Walks the schema: every scalar, array and free-form object key gets an env var (objects with declared
 * properties are set through their keys; arrays of objects and free-form objects take JSON).
 */
function listEnvVars(): EnvVarEntry[] {
  const entries: EnvVarEntry[] = [];
  const seen = new Map<string, string>();
  const walk = (raw: SchemaNode, segments: Path): void => {
    const node = deref(raw);
    const type = node.type ?? (node.properties ? 'object' : 'string');
    if (type === 'object' && node.properties && Object.keys(node.properties).length > 0) {
      for (const [key, child] of Object.entries(node.properties)) walk(child, [...segments, key]);
      return;
    }
    const env = segments.join('_').toUpperCase();
    const path = segments.join('.');
    const clash = seen.get(env);
    if (clash) throw new Error(`config.schema.json: keys ${clash} and ${path} both map to env ${env}`);
    seen.set(env, path);
    const itemType = type === 'array' && node.items ? deref(node.items).type : undefined;
    entries.push({ env, path, type, segments, itemType });
  };
  walk(SCHEMA, []);
  return entries;
}

const ENV_VARS = listEnvVars();

/** Every environment variable loadConfig reads, derived from config.schema.json. */
export const CONFIG_ENV_VARS: readonly ConfigEnvVar[] = ENV_VARS.map(({ env, path, type }) => ({ env, path, type }));

type Coerced = { ok: true; value: unknown } | { ok: false; problem: string };

function coerceScalar(raw: string, type: string | undefined): unknown {
  const text = raw.trim();
  switch (type) {
    case 'integer':
      return /^[+-]?[0-9]+$/.test(text) ? Number(text) : raw;
    case 'number':
      return text !== '' && Number.isFinite(Number(text)) ? Number(text) : raw;
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      return raw;
    }
    default:
      return raw;
  }
}

function coerceEnv(raw: string, entry: EnvVarEntry): Coerced {
  if (entry.type === 'array') {
    const text = raw.trim();
    if (text.startsWith('[')) {
      try {
        return { ok: true, value: JSON.parse(text) };
      } catch {
        return { ok: false, problem: 'is not a valid JSON array' };
      }
    }
    if (entry.itemType === 'object' || entry.itemType === undefined) return { ok: false, problem: 'must be a JSON array' };
    const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    return { ok: true, value: items.map((item) => coerceScalar(item, entry.itemType)) };
  }
  if (entry.type === 'object') {
    try {
      return { ok: true, value: JSON.parse(raw) };
    } catch {
      return { ok: false, problem: 'is not a valid JSON object' };
    }
  }
  return { ok: true, value: coerceScalar(raw, entry.type) };
}

// ---------------------------------------------------------------------------------------------- sources

/** Where a value came from, for messages: `(kratos.yml)` / `in kratos.yml`, `(env LOG_LEVEL)` / `from env LOG_LEVEL`. */
interface Source {
  label: string;
  phrase: string;
}

const pointer = (segments: Path): string => segments.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('');

class Sources {
  private readonly bySegments = new Map<string, Source>();
  private readonly base: Source;
  constructor(base: Source) {
    this.base = base;
  }

  set(segments: Path, source: Source): void {
    const key = pointer(segments);
    // A new value replaces everything below it.
    for (const existing of [...this.bySegments.keys()]) if (existing.startsWith(key + '/')) this.bySegments.delete(existing);
    this.bySegments.set(key, source);
  }

  of(segments: Path): Source {
    for (let n = segments.length; n > 0; n--) {
      const found = this.bySegments.get(pointer(segments.slice(0, n)));
      if (found) return found;
    }
    return this.base;
  }
}

// ---------------------------------------------------------------------------------------------- helpers

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

function parsePointer(instancePath: string): Path {
  if (instancePath === '') return [];
  return instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(root: unknown, segments: Path): unknown {
  let current = root;
  for (const segment of segments) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObj(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

function setAt(root: Obj, segments: Path, value: unknown): void {
  let current: Obj = root;
  for (const segment of segments.slice(0, -1)) {
    if (!isObj(current[segment])) current[segment] = {};
    current = current[segment] as Obj;
  }
  current[segments[segments.length - 1]] = value;
}


function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

function readableProblem(error: ErrorObject, value: unknown, sensitive: boolean): string {
  const got = sensitive ? ' (value hidden)' : `, got ${show(value)}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `must be ${String(params.type)}${got}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}${got}`;
    case 'const':
      return `must be ${show(params.allowedValue)}${got}`;
    case 'pattern':
      if (params.pattern === DURATION_PATTERN) return `must be a duration such as "1h", "15m" or "500ms"${got}`;
      if (params.pattern === BYTESIZE_PATTERN) return `must be a byte size such as "1MB" or "128MB"${got}`;
      return `must match pattern "${String(params.pattern)}"${got}`;
    case 'format':
      return `must be a valid ${String(params.format)}${got}`;
    case 'minLength':
    case 'maxLength':
      return `${error.message}${typeof value === 'string' ? ` (got ${value.length})` : ''}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${error.message}${got}`;
    case 'not':
      if (error.instancePath.endsWith('/methods/code')) return 'must not set both passwordless_enabled and mfa_enabled';
      if (error.instancePath.endsWith('/response')) return 'must not set both ignore and parse';
      return 'is not allowed in this combination';
    default:
      return error.message ?? 'is invalid';
  }
}

function randomSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => alphabet[b & 63]).join('');
}

function fsReason(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

/** Reads and parses a config file (YAML, or JSON by extension). */
function readConfigFile(file: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${fsReason(error)}`);
  }
  let data: unknown;
  if (/\.json$/i.test(file)) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
      const position = /at position ([0-9]+)/.exec(message);
      let where = '';
      if (position) {
        const before = text.slice(0, Number(position[1]));
        const line = before.split('\n').length;
        where = ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
      } else {
        // V8 doesn't always say where; the YAML parser (JSON schema) can locate most JSON mistakes.
        const pos = parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
        if (pos) where = ` at line ${pos.line}, column ${pos.col}`;
      }
      throw new ConfigError(`cannot parse config file ${file}: ${message.replace(/ at position [0-9]+.*$/, '')}${where}`);
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      let reason = first.message.split('\n')[0].replace(/:\s*$/, '');
      const pos = first.linePos?.[0];
      if (pos && !/ at line [0-9]+/.test(reason)) reason += ` at line ${pos.line}, column ${pos.col}`;
      throw new ConfigError(`cannot parse config file ${file}: ${reason}`);
    }
    data = doc.toJS({ maxAliasCount: 1000 });
  }
  if (data === null || data === undefined) return {};
  if (!isObj(data)) throw new ConfigError(`config file ${file} must contain a mapping of config keys, not ${Array.isArray(data) ? 'a list' : typeof data}`);
  return data;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `{'serve.public.port': 1, serve: {admin: {port: 2}}}` -> nested; undefined values are dropped. */
function expandOverrides(overrides: object): Obj {
  const out: Obj = {};
  const merge = (target: Obj, source: Obj): void => {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      const segments = key.split('.');
      if (segments.some((segment) => UNSAFE_KEYS.has(segment))) continue;
      let parent = target;
      for (const segment of segments.slice(0, -1)) {
        if (!isObj(parent[segment])) parent[segment] = {};
        parent = parent[segment] as Obj;
      }
      const last = segments[segments.length - 1];
      if (isObj(value)) {
        if (!isObj(parent[last])) parent[last] = {};
        merge(parent[last] as Obj, value);
      } else {
        parent[last] = value;
      }
    }
  };
  merge(out, overrides as Obj);
  return out;
}

/** Deep-merges `patch` into `target` (objects merge; arrays and scalars replace), recording each value's source. */
function applyPatch(target: Obj, patch: Obj, sources: Sources, source: Source, prefix: Path = []): void {
  for (const [key, value] of Object.entries(patch)) {
    if (UNSAFE_KEYS.has(key)) continue;
    const segments = [...prefix, key];
    if (isObj(value) && isObj(target[key])) {
      applyPatch(target[key] as Obj, value, sources, source, segments);
    } else {
      target[key] = structuredClone(value);
      sources.set(segments, source);
    }
  }
}

// ---------------------------------------------------------------------------------------------- loadConfig

/**
 * Loads, overrides, validates and defaults the configuration. Throws ConfigError when it can't be used;
 * returns warnings (ignored keys, generated secrets, dev mode) for the caller to log.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const warnings: string[] = [];
  const problems: string[] = [];
  const env = opts.env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};

  const base: Source = opts.file !== undefined ? { label: opts.file, phrase: `in ${opts.file}` } : { label: BUILT_IN_CONFIG_NAME, phrase: `in ${BUILT_IN_CONFIG_NAME}` };
  const data: Obj = opts.file !== undefined ? readConfigFile(opts.file) : defaultConfig();
  const sources = new Sources(base);

  // Environment variables (only names derived from the schema; the rest of the environment is none of our business).
  for (const entry of ENV_VARS) {
    const raw = env[entry.env];
    if (raw === undefined || raw === '') continue;
    const coerced = coerceEnv(raw, entry);
    if (!coerced.ok) {
      problems.push(`${entry.path} ${coerced.problem} (env ${entry.env})`);
      continue;
    }
    setAt(data, entry.segments, coerced.value);
    sources.set(entry.segments, { label: `env ${entry.env}`, phrase: `from env ${entry.env}` });
  }

  if (opts.overrides) applyPatch(data, expandOverrides(opts.overrides), sources, { label: 'command line', phrase: 'from the command line' });
  if (opts.dev) data.dev = true;

  // Unknown keys: dropped with a warning, never an error (any kratos.yml must load).
  const validate = configValidator();
  validate(structuredClone(data));
  const unknown = (validate.errors ?? []).filter((e) => e.keyword === 'additionalProperties');
  const warned = new Set<string>();
  for (const error of unknown) {
    const parentSegments = parsePointer(error.instancePath);
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    const parent = getAt(data, parentSegments);
    if (!isObj(parent) || !(key in parent)) continue;
    const segments = [...parentSegments, key];
    const name = dottedKey(data, segments);
    if (!warned.has(name)) {
      warned.add(name);
      warnings.push(`config key '${name}' ${sources.of(segments).phrase} is not supported by idflow and is ignored`);
    }
    delete parent[key];
  }

  // Secrets: required, except in dev mode where throwaway ones are generated.
  const dev = data.dev === true;
  if (data.secrets === undefined) data.secrets = {};
  if (isObj(data.secrets)) {
    const secrets = data.secrets;
    const has = (key: string): boolean => Array.isArray(secrets[key]) && (secrets[key] as unknown[]).length > 0;
    const generated: string[] = [];
    if (!has('cookie') && !has('default')) {
      if (dev) {
        secrets.cookie = [randomSecret()];
        generated.push('secrets.cookie');
      }
    }
    if (!has('cipher') && dev) {
      secrets.cipher = [randomSecret()];
      generated.push('secrets.cipher');
    }
    if ((!has('cookie') && !has('default')) || !has('cipher')) problems.push(SECRETS_REQUIRED_MESSAGE);
    if (generated.length > 0) {
      warnings.push(`${generated.join(' and ')} not set: generated random ones for this run (--dev); sessions and encrypted data won't survive a restart`);
    }
  }

  const explicitRegistrationStyle = getAt(data, ['selfservice', 'flows', 'registration', 'style']);

  // Schema validation (also fills in defaults).
  if (!validate(data)) {
    for (const error of validate.errors ?? []) {
      if (error.keyword === 'if') continue;
      let segments = parsePointer(error.instancePath);
      let text: string;
      if (error.keyword === 'required') {
        segments = [...segments, String((error.params as { missingProperty: string }).missingProperty)];
        text = 'is required';
      } else if (error.keyword === 'additionalProperties') {
        segments = [...segments, String((error.params as { additionalProperty: string }).additionalProperty)];
        text = 'is not supported';
      } else {
        const name = dottedKey(data, segments);
        text = readableProblem(error, getAt(data, segments), SENSITIVE.test(name));
      }
      problems.push(`${dottedKey(data, segments)} ${text} (${sources.of(segments).label})`);
    }
  }
  throwIfProblems(problems);

  const config = data as unknown as Config;
  applyDeprecatedKeys(config, warnings, explicitRegistrationStyle, (segments) => sources.of(segments));

  // Switches idflow does not implement: refused (security or behaviour) or ignored with a warning (config/unsupported.ts).
  const unsupported = checkUnsupported(config, (segments) => sources.of(segments));
  problems.push(...unsupported.problems);
  warnings.push(...unsupported.warnings);

  // Checks the schema can't express.
  const schemaIds = config.identity.schemas.map((s) => s.id);
  const idsSource = sources.of(['identity', 'schemas']).label;
  const duplicates = schemaIds.filter((id, i) => schemaIds.indexOf(id) !== i);
  if (duplicates.length > 0) problems.push(`identity.schemas has duplicate id ${show(duplicates[0])} (${idsSource})`);
  if (!schemaIds.includes(config.identity.default_schema_id)) {
    problems.push(
      `identity.default_schema_id ${show(config.identity.default_schema_id)} is not the id of any entry in identity.schemas (${schemaIds.join(', ')}) (${sources.of(['identity', 'default_schema_id']).label})`,
    );
  }
  // A relying party without an id or name can not run a single WebAuthn ceremony (Kratos fails each one at runtime).
  for (const method of ['webauthn', 'passkey'] as const) {
    const toggle = config.selfservice.methods[method];
    const rp = (toggle.config as { rp?: { id?: string; display_name?: string } } | undefined)?.rp;
    if (!toggle.enabled) continue;
    for (const key of ['id', 'display_name'] as const) {
      if (!rp?.[key]) {
        problems.push(`selfservice.methods.${method}.config.rp.${key} must be set when ${method} is enabled (${sources.of(['selfservice', 'methods', method]).label})`);
      }
    }
  }
  throwIfProblems(problems);

  // Kratos: below cost 12, bcrypt is only allowed in dev mode.
  if (!config.dev && config.hashers.bcrypt.cost < 12) {
    warnings.push(`hashers.bcrypt.cost ${config.hashers.bcrypt.cost} is below 12, which is only allowed with --dev; using 12`);
    config.hashers.bcrypt.cost = 12;
  }

  const flows = config.selfservice.flows;
  if ((flows.recovery.enabled || flows.verification.enabled) && config.courier.delivery_strategy === 'smtp' && !config.courier.smtp.connection_uri) {
    warnings.push('recovery or verification is enabled but courier.smtp.connection_uri is not set: e-mails cannot be sent');
  }

  // Kratos's fallbacks, so consumers can read any of them.
  const secrets = config.secrets;
  secrets.cookie ??= secrets.default;
  secrets.default ??= secrets.cookie;
  secrets.pagination ??= secrets.default;

  if (config.dev) {
    warnings.push('dev mode is on: cookies are not Secure, http base URLs are used and other safety checks are relaxed; never use --dev in production');
  }

  return { config, warnings };
}

/**
 * Kratos's deprecated keys, mapped onto their successors with a warning. `enable_legacy_one_step: true` means
 * `style: unified` and wins over `style` (Kratos driver/config/config.go `SelfServiceFlowRegistrationTwoSteps`);
 * `false` leaves `style` (default `profile_first`) as it is. The key is removed: code reads `style` only.
 */
function applyDeprecatedKeys(config: Config, warnings: string[], explicitStyle: unknown, sourceOf: (segments: Path) => Source): void {
  const registration = config.selfservice.flows.registration as Config['selfservice']['flows']['registration'] & { enable_legacy_one_step?: boolean };
  const oneStep = registration.enable_legacy_one_step;
  if (oneStep === undefined) return;
  delete registration.enable_legacy_one_step;
  const where = sourceOf(['selfservice', 'flows', 'registration', 'enable_legacy_one_step']).phrase;
  const key = 'selfservice.flows.registration.enable_legacy_one_step';
  if (oneStep) {
    const overridden = explicitStyle === 'profile_first' ? ' (it wins over style profile_first, as in Kratos)' : '';
    registration.style = 'unified';
    warnings.push(`config key '${key}' ${where} is deprecated: use selfservice.flows.registration.style; using style unified${overridden}`);
  } else {
    warnings.push(`config key '${key}' ${where} is deprecated: use selfservice.flows.registration.style; using style ${registration.style}`);
  }
}

function throwIfProblems(problems: string[]): void {
  if (problems.length === 0) return;
  const unique = [...new Set(problems)];
  if (unique.length === 1) throw new ConfigError(unique[0] === SECRETS_REQUIRED_MESSAGE ? unique[0] : `invalid config: ${unique[0]}`, unique);
  throw new ConfigError(`invalid config (${unique.length} problems): ${unique.join('; ')}`, unique);
}
