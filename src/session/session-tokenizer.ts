/**
 * `session.whoami.tokenizer.templates` and `GET /sessions/whoami?tokenize_as=<template>` (Kratos session/tokenizer.go):
 * the session as a JWT signed with the first key of the template's JWKS, living `ttl`, its claims optionally rewritten
 * by a Jsonnet mapper. Keys and mappers are read once at start-up, so a bad template stops the start, naming the key.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JWK } from 'jose';
import { badRequest, KratosError } from '../errors/kratos-error.ts';
import type { TokenizerTemplateConfig } from '../../config/types.ts';
import type { Clock } from '../x/clock.ts';
import { parseDuration } from '../x/duration.ts';
import type { SessionJson } from './session-json.ts';

export class TokenizerConfigError extends Error {
  override name = 'TokenizerConfigError';
}

export interface SessionTokenizerDeps {
  templates: Readonly<Record<string, TokenizerTemplateConfig>>;
  clock: Clock;
  /** `iss`: the public base URL, read per token (it is final only once the server is bound). */
  issuer: () => string;
  /** Where relative file:// paths start (the working directory, as for every other file:// source). */
  baseDir: string;
  /** The Jsonnet owner's loader and evaluator (src/hooks/jsonnet.ts). */
  loadJsonnet: (uri: string, baseDir: string) => { source: string } | { problem: string };
  evaluateJsonnet: (snippet: string, filename: string, inputs: { ext: Record<string, unknown> }) => Promise<unknown>;
}

/** What a token is made from: the session as whoami shows it, and the identity's external id. */
export interface TokenizeInput {
  session: SessionJson & { identity: { id: string } };
  externalId: string | null;
}

interface Template {
  name: string;
  ttlSeconds: number;
  key: CryptoKey | Uint8Array;
  alg: string;
  kid?: string;
  mapper?: { source: string; filename: string };
  subjectSource: 'id' | 'external_id';
}

/** JWS algorithms jose signs with (Kratos: jwt.GetSigningMethod of the key's `alg`). */
const SIGNING_ALGORITHMS = new Set([
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

/** A JWKS given as base64:// or file:// (Kratos allows only these two: "HTTP(S) makes no sense here"). */
function readJwks(uri: string, baseDir: string): unknown {
  let text: string;
  if (uri.startsWith('base64://')) text = Buffer.from(uri.slice('base64://'.length), 'base64').toString('utf8');
  else if (uri.startsWith('file://')) {
    const path = uri.slice('file://'.length);
    try {
      text = readFileSync(resolve(baseDir, path), 'utf8');
    } catch (err) {
      throw new TokenizerConfigError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else throw new TokenizerConfigError('use a file:// or base64:// JSON Web Key Set (Kratos fetches it from nowhere else)');
  try {
    return JSON.parse(text);
  } catch {
    throw new TokenizerConfigError('the JSON Web Key Set is not JSON');
  }
}

// Loaded with the first template: without `session.whoami.tokenizer.templates` the process never holds jose.
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = () => (joseModule ??= import('jose'));

async function loadTemplate(name: string, config: TokenizerTemplateConfig, deps: SessionTokenizerDeps): Promise<Template> {
  const at = `session.whoami.tokenizer.templates.${name}`;
  const fail = (key: string, why: string) => new TokenizerConfigError(`${at}.${key}: ${why}`);
  let ttlMs: number;
  try {
    ttlMs = parseDuration(config.ttl ?? '1m');
  } catch {
    throw fail('ttl', `invalid duration "${config.ttl}"`);
  }
  if (!(ttlMs > 0)) throw fail('ttl', 'must be positive');

  let jwks: unknown;
  try {
    jwks = readJwks(config.jwks_url, deps.baseDir);
  } catch (err) {
    throw fail('jwks_url', (err as Error).message);
  }
  const jwk = (jwks as { keys?: unknown[] } | null)?.keys?.[0] as JWK | undefined;
  if (!jwk || typeof jwk !== 'object') throw fail('jwks_url', 'the JSON Web Key Set has no key');
  // Kratos: "The JSON Web Key must include a valid "alg" parameter".
  if (typeof jwk.alg !== 'string' || !SIGNING_ALGORITHMS.has(jwk.alg)) {
    throw fail('jwks_url', `the first JSON Web Key must include a valid "alg" parameter but "${jwk.alg ?? ''}" was given`);
  }
  const isPrivate = jwk.kty === 'oct' ? typeof jwk.k === 'string' : typeof jwk.d === 'string';
  if (!isPrivate) throw fail('jwks_url', 'the first JSON Web Key holds no private key to sign with');
  const { importJWK } = await jose();
  let key: CryptoKey | Uint8Array;
  try {
    key = await importJWK(jwk, jwk.alg);
  } catch (err) {
    throw fail('jwks_url', `unable to decode the private key: ${(err as Error).message}`);
  }

  let mapper: Template['mapper'];
  if (config.claims_mapper_url) {
    const loaded = deps.loadJsonnet(config.claims_mapper_url, deps.baseDir);
    if ('problem' in loaded) throw fail('claims_mapper_url', loaded.problem);
    mapper = { source: loaded.source, filename: `${name}.claims.jsonnet` };
  }
  return {
    name, ttlSeconds: Math.floor(ttlMs / 1000) || 1, key, alg: jwk.alg, kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, mapper,
    subjectSource: config.subject_source ?? 'id',
  };
}

export class SessionTokenizer {
  readonly #templates: ReadonlyMap<string, Template>;
  readonly #deps: SessionTokenizerDeps;

  private constructor(templates: ReadonlyMap<string, Template>, deps: SessionTokenizerDeps) {
    this.#templates = templates;
    this.#deps = deps;
  }

  /** Loads every template (keys imported, mappers read); throws TokenizerConfigError naming the first bad key. */
  static async create(deps: SessionTokenizerDeps): Promise<SessionTokenizer> {
    const templates = new Map<string, Template>();
    for (const [name, config] of Object.entries(deps.templates)) templates.set(name, await loadTemplate(name, config, deps));
    return new SessionTokenizer(templates, deps);
  }

  /** Kratos TokenizeSession: an unknown template or a failing mapper is a 400, with Kratos's reasons. */
  async tokenize(templateName: string, input: TokenizeInput): Promise<string> {
    const template = this.#templates.get(templateName);
    if (!template) throw badRequest(`Unable to find tokenizer template "${templateName}".`);
    const now = Math.floor(this.#deps.clock.now().getTime() / 1000);
    let claims: Record<string, unknown> = {
      jti: crypto.randomUUID(),
      iss: this.#deps.issuer(),
      exp: now + template.ttlSeconds,
      sid: input.session.id,
      nbf: now,
      iat: now,
      sub: subject(template, input),
    };
    if (template.mapper) {
      let evaluated: unknown;
      try {
        evaluated = await this.#deps.evaluateJsonnet(template.mapper.source, template.mapper.filename, { ext: { session: input.session, claims } });
      } catch (err) {
        throw badRequest('Unable to execute tokenizer JsonNet.', { debug: (err as Error).message });
      }
      const mapped = (evaluated as { claims?: unknown } | null)?.claims;
      if (typeof mapped !== 'object' || mapped === null || Array.isArray(mapped)) {
        throw badRequest('Expected tokenizer JsonNet to return a claims object but it did not.');
      }
      // Kratos unmarshals the mapper's claims over the defaults, then sets `sub` again: the mapper can not change it.
      claims = { ...claims, ...(mapped as Record<string, unknown>), sub: subject(template, input) };
    }
    const { SignJWT } = await jose();
    try {
      return await new SignJWT(claims)
        .setProtectedHeader({ alg: template.alg, typ: 'JWT', ...(template.kid ? { kid: template.kid } : {}) })
        .sign(template.key);
    } catch (err) {
      throw new KratosError(400, undefined, { reason: 'Unable to sign JSON Web Token.', debug: (err as Error).message });
    }
  }
}

function subject(template: Template, input: TokenizeInput): string {
  if (template.subjectSource === 'id') return input.session.identity.id;
  if (!input.externalId) throw badRequest("The session's identity does not have an external ID set, but it is required for the subject claim.");
  return input.externalId;
}
