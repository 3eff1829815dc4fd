/**
 * What the webauthn and passkey method tests share: the relying party's origin and the script's URL, the dependencies
 * both methods take (identities on an in-memory list), and readers of nodes, outcomes and stored keys.
 */
import { IdentityService } from '../../../src/identity/identity-service.ts';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { MethodContext, Outcome } from '../../../src/methods/method.ts';
import type { WebauthnCredentialType } from '../../../src/methods/webauthn/credentials.ts';
import type { CommonDeps, WebauthnIdentities } from '../../../src/methods/webauthn/shared.ts';
import { firstFactorKeys } from '../../../src/methods/webauthn/webauthn.method.ts';
import type { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import { context, NOW, registryOf } from './helpers.ts';

// Nodes and outcomes are compared field by field.
export type Json = any;

export const ORIGIN = 'http://localhost:4455';
export const SCRIPT_URL = 'http://localhost:4433/.well-known/ory/webauthn.js';
export const EMAIL = 'user@example.com';

/** Kratos's first-factor count for these tests: a password, plus passwordless keys. */
export const countFirstFactors = (identity: IdentityRecord) =>
  (identity.credentials.some((c) => c.type === 'password' && typeof c.config.hashed_password === 'string') ? 1 : 0)
  + identity.credentials.reduce((n, c) => n + firstFactorKeys(c), 0);

export interface CommonSetupOptions {
  identities?: IdentityRecord[];
  conflicts?: boolean;
  schemas?: ReturnType<typeof registryOf>;
}

/**
 * The dependencies both methods take: identities found in `store` (every identifier looked up is recorded in
 * `lookups`), built by the identity service, clashing when `conflicts` is set.
 */
export function commonDeps(options: CommonSetupOptions = {}): { deps: CommonDeps & { identities: WebauthnIdentities }; store: IdentityRecord[]; lookups: Array<[string, string]> } {
  const schemas = options.schemas ?? registryOf();
  const service = new IdentityService({ store: {} as never, schemas, hasher: {} as never, clock: { now: () => NOW }, secondFactors: {} as never });
  const store = [...(options.identities ?? [])];
  const lookups: Array<[string, string]> = [];
  const identities: WebauthnIdentities = {
    async findByCredentialIdentifier(type, identifier) {
      lookups.push([type, identifier]);
      return store.find((i) => i.credentials.some((c) => c.type === type && c.identifiers.includes(identifier))) ?? null;
    },
    buildNew: (input, prepared) => service.buildNew(input, prepared),
    hasConflicts: async () => options.conflicts === true,
  };
  return { deps: { scriptUrl: () => SCRIPT_URL, schemas, identities, firstFactorCount: countFirstFactors }, store, lookups };
}

export const attrs = (node: unknown): Json => (node as Json)?.attributes;
/** Input nodes by name, others by id. */
export const keysOf = (nodes: Json[]) => nodes.map((n) => attrs(n).name ?? attrs(n).id);
export const node = (nodes: Json[], name: string) => nodes.find((n) => attrs(n).name === name || attrs(n).id === name);
/** The JSON a node carries as its value (a trigger's options, the passkey challenge or create data). */
export const valueOf = (nodes: Json[], name: string) => JSON.parse(attrs(node(nodes, name)).value);
export const recordOf = (o: Outcome): IdentityRecord => (o as Json).changes.identity.record;
export const with_ = (ctx: MethodContext, internal: unknown): MethodContext => ({ ...ctx, internal: internal as MethodContext['internal'] });
export const settingsCtx = (identity: IdentityRecord, o: Parameters<typeof context>[0] = {}) =>
  context({ kind: 'settings', type: 'browser', state: 'show_form', privileged: true, identity, ...o });

export const credentialOfType = (identity: IdentityRecord, type: WebauthnCredentialType) => identity.credentials.find((c) => c.type === type);
/** The keys stored in the identity's credential of this type (none without one). */
export const keyConfigsOf = (identity: IdentityRecord, type: WebauthnCredentialType): Json[] => (credentialOfType(identity, type)?.config.credentials as Json[]) ?? [];
/** A remove button's value: the authenticator's (first) key id in hex. */
export const hexIdOf = (authenticator: SoftAuthenticator, index = 0) => Buffer.from(authenticator.credentials[index].id, 'base64url').toString('hex');
