import { KratosError, conflict, notFound, badRequest } from '../errors/kratos-error.ts';
import type { PasswordHasher } from '../hash/index.ts';
import { UniqueViolationError, type Repositories, type Store } from '../persistence/store.ts';
import type { Clock } from '../x/clock.ts';
import type { IdentitySchemaRegistry, IdentitySchema, ExtractedTraits } from './schema/index.ts';
import type { CredentialType, IdentityRecord, IdentityState } from './identity.ts';

export interface CredentialsImport {
  password?: { config?: { password?: string; hashed_password?: string; use_password_migration_hook?: boolean } };
  oidc?: { config?: { providers: Array<{ provider: string; subject: string; use_auto_link?: boolean; organization?: string | null }> } };
  totp?: { config?: { totp_url: string } };
  lookup_secret?: { config?: { codes: Array<{ code: string; used_at?: string }> } };
}

export interface IdentityInput {
  schema_id?: string;
  traits: Record<string, unknown>;
  state?: IdentityState;
  metadata_public?: unknown;
  metadata_admin?: unknown;
  external_id?: string | null;
  organization_id?: string | null;
  credentials?: CredentialsImport;
  verifiable_addresses?: Array<{ value: string; via: 'email' | 'sms'; verified?: boolean; verified_at?: string | null; status?: 'pending' | 'sent' | 'completed' }>;
  recovery_addresses?: Array<{ value: string; via: 'email' | 'sms' }>;
}

/**
 * Stored forms of imported second factors (the methods own their formats; their secrets are sealed per identity, so
 * the identity's id must be known).
 */
export interface SecondFactorImport {
  /** Kratos `credentials.totp.config.totp_url` → the stored config; undefined when the URL is not a TOTP key. */
  totp(identityId: string, url: string): Promise<Record<string, unknown> | undefined>;
  /** Kratos `credentials.lookup_secret.config.codes`, appended to the identity's `existing` codes as Kratos does. */
  lookupSecret(identityId: string, codes: Array<{ code: string; used_at?: string | null }>, existing?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface IdentityServiceDeps {
  store: Pick<Store, 'identities' | 'transaction'>;
  schemas: IdentitySchemaRegistry;
  hasher: PasswordHasher;
  clock: Clock;
  secondFactors: SecondFactorImport;
}

/** The message a UI shows next to a field; see schema/validate. */
export function traitsInvalid(errors: ReturnType<IdentitySchema['validateTraits']>): KratosError {
  return new KratosError(400, undefined, {
    reason: errors.map((e) => `${e.pointer}: ${e.message}`).join('; '),
    details: { errors },
  });
}

export const IDENTITY_CONFLICT_REASON = 'This identity conflicts with another identity that already exists.';

/**
 * Writes identities: validates traits against their schema, derives identifiers and addresses from the
 * `ory.sh/kratos` extension, hashes or checks imported passwords, and refuses clashes with a 409.
 * Password hashing happens before any transaction starts, so no database lock waits on a hash.
 */
export class IdentityService {
  readonly #deps: IdentityServiceDeps;

  constructor(deps: IdentityServiceDeps) {
    this.#deps = deps;
  }

  #now(): Date {
    return this.#deps.clock.now();
  }

  /**
   * Hashes or validates imported credentials, and seals imported second factors for `target` (the identity being
   * written; `current`: its stored record, whose backup codes imported ones are appended to). Call before opening the
   * transaction.
   */
  async prepareCredentials(input: CredentialsImport | undefined, target: { identityId: string; current?: IdentityRecord }): Promise<PreparedCredentials> {
    const prepared: PreparedCredentials = {};
    const pw = input?.password?.config;
    if (pw) {
      if (pw.password !== undefined && pw.hashed_password !== undefined) {
        throw badRequest('Provide either credentials.password.config.password or .hashed_password, not both.');
      }
      if (pw.hashed_password !== undefined) {
        this.#deps.hasher.assertImportable(pw.hashed_password);
        prepared.password = { hashed_password: pw.hashed_password };
      } else if (pw.password !== undefined) {
        prepared.password = { hashed_password: await this.#deps.hasher.hash(pw.password) };
      } else if (pw.use_password_migration_hook) {
        prepared.password = { use_password_migration_hook: true };
      }
    }
    if (input?.oidc?.config) prepared.oidc = { providers: input.oidc.config.providers };
    const totpUrl = input?.totp?.config?.totp_url;
    if (totpUrl !== undefined) {
      // Kratos stores any string; a URL that is no TOTP key would never let its owner pass the second factor.
      prepared.totp = await this.#deps.secondFactors.totp(target.identityId, totpUrl);
      if (!prepared.totp) throw badRequest('credentials.totp.config.totp_url is not a valid otpauth://totp/ URL with a base32 secret.');
    }
    const codes = input?.lookup_secret?.config?.codes;
    if (codes !== undefined) {
      const existing = target.current?.credentials.find((c) => c.type === 'lookup_secret')?.config;
      try {
        prepared.lookup_secret = await this.#deps.secondFactors.lookupSecret(target.identityId, codes, existing);
      } catch (err) {
        if (err instanceof RangeError) throw badRequest(`credentials.lookup_secret.config.codes: ${err.message}`);
        throw err;
      }
    }
    return prepared;
  }

  /** Builds a new identity record (nothing written). */
  buildNew(input: IdentityInput, prepared: PreparedCredentials, id: string = crypto.randomUUID()): IdentityRecord {
    const now = this.#now();
    const schema = this.#deps.schemas.require(input.schema_id ?? this.#deps.schemas.defaultId);
    const record: IdentityRecord = {
      id,
      schemaId: schema.id,
      state: input.state ?? 'active',
      stateChangedAt: now,
      traits: input.traits,
      metadataPublic: input.metadata_public ?? null,
      metadataAdmin: input.metadata_admin ?? null,
      externalId: input.external_id ?? null,
      organizationId: input.organization_id ?? null,
      createdAt: now,
      updatedAt: now,
      verifiableAddresses: (input.verifiable_addresses ?? []).map((a) => ({
        id: crypto.randomUUID(), value: a.value.trim().toLowerCase(), via: a.via, verified: a.verified ?? false,
        verifiedAt: a.verified ? (a.verified_at ? new Date(a.verified_at) : now) : null,
        status: a.status ?? (a.verified ? 'completed' : 'pending'), createdAt: now, updatedAt: now,
      })),
      recoveryAddresses: [],
      credentials: [],
    };
    this.#applyCredentials(record, prepared, now);
    return this.#derive(record, schema);
  }

  /** Applies a full replacement (PUT semantics) to an existing record (nothing written). */
  buildReplacement(current: IdentityRecord, input: IdentityInput, prepared: PreparedCredentials | undefined): IdentityRecord {
    const now = this.#now();
    const schema = this.#deps.schemas.require(input.schema_id ?? current.schemaId);
    const state = input.state ?? current.state;
    const next: IdentityRecord = {
      ...current,
      schemaId: schema.id,
      state,
      stateChangedAt: state !== current.state ? now : current.stateChangedAt,
      traits: input.traits,
      metadataPublic: input.metadata_public ?? null,
      metadataAdmin: input.metadata_admin ?? null,
      externalId: input.external_id === undefined ? current.externalId : input.external_id,
      updatedAt: now,
      credentials: current.credentials.map((c) => ({ ...c })),
    };
    if (prepared) this.#applyCredentials(next, prepared, now);
    return this.#derive(next, schema);
  }

  #applyCredentials(record: IdentityRecord, prepared: PreparedCredentials, now: Date): void {
    const upsert = (type: CredentialType, config: Record<string, unknown>, identifiers: string[] = [], version = 0) => {
      const existing = record.credentials.find((c) => c.type === type);
      if (existing) {
        existing.config = config;
        existing.updatedAt = now;
        if (identifiers.length > 0) existing.identifiers = identifiers;
      } else {
        record.credentials.push({ id: crypto.randomUUID(), type, identifiers, config, version, createdAt: now, updatedAt: now });
      }
    };
    if (prepared.password) upsert('password', prepared.password);
    if (prepared.oidc) {
      upsert('oidc', { providers: prepared.oidc.providers }, prepared.oidc.providers.map((p) => `${p.provider}:${p.subject}`));
    }
    if (prepared.totp) upsert('totp', prepared.totp, [record.id]);
    if (prepared.lookup_secret) upsert('lookup_secret', prepared.lookup_secret, [record.id]);
    // Kratos writes both at version 1; webauthn identifiers come from the traits (#derive), a passkey's are its handles.
    if (prepared.webauthn) upsert('webauthn', prepared.webauthn, [], 1);
    if (prepared.passkey) upsert('passkey', prepared.passkey.config, prepared.passkey.identifiers, 1);
  }

  /** Validates traits and recomputes identifiers and addresses from the schema extension. */
  #derive(record: IdentityRecord, schema: IdentitySchema): IdentityRecord {
    const errors = schema.validateTraits(record.traits);
    if (errors.length > 0) throw traitsInvalid(errors);
    const extracted: ExtractedTraits = schema.extract(record.traits);
    const now = record.updatedAt;

    for (const cred of record.credentials) {
      if (cred.type === 'password') cred.identifiers = extracted.identifiers.password;
      if (cred.type === 'webauthn') cred.identifiers = extracted.identifiers.webauthn;
    }
    const codeAddresses = extracted.identifiers.code;
    const code = record.credentials.find((c) => c.type === 'code');
    if (codeAddresses.length > 0) {
      const config = { addresses: codeAddresses.map((a) => ({ channel: a.via, address: a.value })) };
      const identifiers = codeAddresses.map((a) => a.value);
      if (code) Object.assign(code, { config, identifiers });
      else record.credentials.push({ id: crypto.randomUUID(), type: 'code', identifiers, config, version: 1, createdAt: now, updatedAt: now });
    } else if (code) {
      record.credentials = record.credentials.filter((c) => c !== code);
    }

    const previousVerifiable = record.verifiableAddresses;
    record.verifiableAddresses = extracted.verifiableAddresses.map((a) => {
      const keep = previousVerifiable.find((p) => p.via === a.via && p.value === a.value);
      return keep ?? {
        id: crypto.randomUUID(), value: a.value, via: a.via, verified: false, verifiedAt: null, status: 'pending' as const,
        createdAt: now, updatedAt: now,
      };
    });
    const previousRecovery = record.recoveryAddresses;
    record.recoveryAddresses = extracted.recoveryAddresses.map((a) =>
      previousRecovery.find((p) => p.via === a.via && p.value === a.value) ??
      { id: crypto.randomUUID(), value: a.value, via: a.via, createdAt: now, updatedAt: now });
    return record;
  }

  /** Refuses identifiers or addresses another identity owns (409, nothing written). */
  async assertNoConflicts(record: IdentityRecord, repos: Pick<Repositories, 'identities'> = this.#deps.store): Promise<void> {
    const identifiers = record.credentials.flatMap((c) => c.identifiers.map((identifier) => ({ type: c.type, identifier })));
    const owners = await repos.identities.identifierOwners(identifiers, record.id);
    if (owners.length > 0) throw conflict(IDENTITY_CONFLICT_REASON);
    const addressOwners = await repos.identities.addressOwners([...record.verifiableAddresses, ...record.recoveryAddresses], record.id);
    if (addressOwners.length > 0) throw conflict(IDENTITY_CONFLICT_REASON);
  }

  /**
   * The account a new identity clashes with: found by credential identifier, then verifiable, then recovery address;
   * with the identifier or address they share.
   */
  async #clash(record: IdentityRecord): Promise<{ identityId: string; address: string; type: string } | undefined> {
    const store = this.#deps.store;
    let found: { identityId: string; address: string; type: string } | undefined;
    for (const cred of record.credentials) {
      for (const identifier of cred.identifiers) {
        const owner = await store.identities.findByCredentialIdentifier(cred.type, identifier);
        if (owner && owner.id !== record.id) {
          found = { identityId: owner.id, address: identifier, type: cred.type };
          break;
        }
      }
      if (found) break;
    }
    for (const [kind, list] of [['verifiable', record.verifiableAddresses], ['recovery', record.recoveryAddresses]] as const) {
      for (const address of list) {
        if (found) break;
        const owner = await store.identities.findIdByAddress(kind, address.via, address.value);
        if (owner && owner !== record.id) found = { identityId: owner, address: address.value, type: address.via };
      }
    }
    return found;
  }

  /**
   * Where to tell the owner of the account a sign-up clashed with (mitigated registration): the shared address when
   * it is one of the owner's e-mail addresses, else the owner's first recovery, then verifiable e-mail address.
   */
  async clashNotice(record: IdentityRecord): Promise<{ owner: IdentityRecord; address?: string } | undefined> {
    const found = await this.#clash(record);
    const owner = found ? await this.#deps.store.identities.get(found.identityId) : null;
    if (!found || !owner) return undefined;
    const emails = [...owner.recoveryAddresses, ...owner.verifiableAddresses].filter((a) => a.via === 'email').map((a) => a.value);
    return { owner, address: emails.includes(found.address) ? found.address : emails[0] };
  }

  /**
   * Kratos's login hints (`selfservice.flows.registration.login_hints`): for a new identity that clashes with an
   * existing one, how that account signs in. The clashing identity is found by credential identifier, then verifiable,
   * then recovery address. Beyond Kratos, only methods that can sign in here are named (no `code` while code login is
   * off). Undefined when nothing clashes.
   */
  async duplicateAccountHints(record: IdentityRecord, options: { codeLogin: boolean }): Promise<DuplicateAccountHints | undefined> {
    const found = await this.#clash(record);
    if (!found) return undefined;
    const existing = await this.#deps.store.identities.get(found.identityId);
    if (!existing) return undefined;
    // OIDC identifiers are provider subjects, useless to a person: no hint then.
    let hint = found.type === 'oidc' ? '' : found.address.trim();
    const types = new Set<string>();
    const providers: string[] = [];
    for (const cred of [...existing.credentials].sort((a, b) => a.type.localeCompare(b.type))) {
      if (cred.type === 'password') {
        if (hint === '' && cred.identifiers.length === 1) hint = cred.identifiers[0];
        if (typeof cred.config.hashed_password === 'string' && cred.config.hashed_password !== '') types.add('password');
      } else if (cred.type === 'code') {
        if (options.codeLogin) types.add('code');
      } else if (cred.type === 'oidc') {
        types.add('oidc');
        providers.push(...((cred.config.providers as Array<{ provider: string }> | undefined) ?? []).map((p) => p.provider));
      }
    }
    return { available_credential_types: [...types].sort(), available_oidc_providers: providers, credential_identifier_hint: hint };
  }

  /** Checks for clashes and writes the identity in one transaction. */
  async save(record: IdentityRecord, isNew: boolean): Promise<void> {
    try {
      await this.#deps.store.transaction(async (tx) => {
        await this.assertNoConflicts(record, tx);
        await tx.identities.save(record, isNew);
      });
    } catch (err) {
      // The unique indexes are the arbiter when two writers race past the check above.
      if (err instanceof UniqueViolationError) throw conflict(IDENTITY_CONFLICT_REASON, { cause: err });
      throw err;
    }
  }

  async create(input: IdentityInput): Promise<IdentityRecord> {
    const id = crypto.randomUUID();
    const prepared = await this.prepareCredentials(input.credentials, { identityId: id });
    const record = this.buildNew(input, prepared, id);
    await this.save(record, true);
    return record;
  }

  async get(id: string): Promise<IdentityRecord> {
    const record = await this.#deps.store.identities.get(id);
    if (!record) throw notFound();
    return record;
  }

  exists(id: string): Promise<boolean> {
    return this.#deps.store.identities.exists(id);
  }

  async getByExternalId(externalId: string): Promise<IdentityRecord> {
    const id = await this.#deps.store.identities.findIdByExternalId(externalId);
    return this.get(id ?? '');
  }

  async replace(id: string, input: IdentityInput): Promise<IdentityRecord> {
    const current = await this.get(id);
    const prepared = input.credentials ? await this.prepareCredentials(input.credentials, { identityId: id, current }) : undefined;
    const next = this.buildReplacement(current, input, prepared);
    await this.save(next, false);
    return next;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.#deps.store.identities.delete(id))) throw notFound();
  }

  /** Removes one credential type; never the last first factor. */
  async deleteCredential(id: string, type: string, identifier?: string): Promise<void> {
    const current = await this.get(id);
    const allowed = ['password', 'totp', 'lookup_secret', 'webauthn', 'passkey', 'oidc', 'saml'];
    if (!allowed.includes(type)) throw badRequest(`Credential type "${type}" cannot be deleted.`);
    const cred = current.credentials.find((c) => c.type === type);
    if (!cred) throw notFound(`You tried to remove a credential of type ${type} but this identity has none.`);
    const next: IdentityRecord = { ...current, updatedAt: this.#now(), credentials: current.credentials.map((c) => ({ ...c })) };
    if ((type === 'oidc' || type === 'saml') && identifier) {
      const target = next.credentials.find((c) => c.type === type)!;
      if (!target.identifiers.includes(identifier)) throw notFound(`This identity has no ${type} credential for "${identifier}".`);
      target.identifiers = target.identifiers.filter((i) => i !== identifier);
      const providers = (target.config.providers as Array<{ provider: string; subject: string }> | undefined) ?? [];
      target.config = { ...target.config, providers: providers.filter((p) => `${p.provider}:${p.subject}` !== identifier) };
      if (target.identifiers.length === 0) next.credentials = next.credentials.filter((c) => c !== target);
    } else if (type === 'oidc' || type === 'saml') {
      throw badRequest(`Deleting ${type} credentials requires the "identifier" query parameter.`);
    } else {
      next.credentials = next.credentials.filter((c) => c.type !== type);
    }
    const firstFactors = ['password', 'oidc', 'saml', 'webauthn', 'passkey', 'code'];
    const hadFirst = current.credentials.some((c) => firstFactors.includes(c.type) && c.type !== 'code');
    const hasFirst = next.credentials.some((c) => firstFactors.includes(c.type) && c.type !== 'code' && c.identifiers.length > 0);
    if (hadFirst && !hasFirst && firstFactors.includes(type)) {
      throw badRequest('The last first-factor credential of an identity cannot be removed.');
    }
    await this.save(next, false);
  }
}

export interface DuplicateAccountHints {
  available_credential_types: string[];
  available_oidc_providers: string[];
  credential_identifier_hint: string;
}

export interface PreparedCredentials {
  password?: Record<string, unknown>;
  /** Providers and subjects; sign-up also stores the upstream tokens, sealed (`initial_id_token` ...). */
  oidc?: { providers: Array<{ provider: string; subject: string; use_auto_link?: boolean; organization?: string | null; [key: string]: unknown }> };
  totp?: Record<string, unknown>;
  lookup_secret?: Record<string, unknown>;
  /** A `webauthn` credential config (`{credentials, user_handle}`), from registration with a security key. */
  webauthn?: Record<string, unknown>;
  /** A `passkey` credential config and its identifiers (the user handles), from registration with a passkey. */
  passkey?: { config: Record<string, unknown>; identifiers: string[] };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
