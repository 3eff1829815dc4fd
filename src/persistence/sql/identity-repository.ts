import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import {
  Identity, IdentityCredential, CredentialIdentifier, VerifiableAddress, RecoveryAddress,
} from '../../../entities/index.ts';
import type { CredentialType, IdentityRecord } from '../../identity/identity.ts';
import { identityPublicJson } from '../../session/identity-read-model.ts';
import { UniqueViolationError, type IdentityPageQuery, type IdentityRepository } from '../store.ts';
import type { EmSource } from './em-source.ts';
import { identityInserts, loadIdentityByCredentialIdentifier, loadIdentityRecords } from './identity-rows.ts';
import { queryRows } from './statements.ts';
import { runWrites } from './writes.ts';

/**
 * Makes the stored rows of an existing identity equal to `next` (and whoami's read model of it, written in the same
 * flush), keeping row ids of unchanged credentials, identifiers and addresses. Only persists; the caller flushes
 * inside its transaction. (A new identity's rows are identityInserts.)
 */
async function persistIdentityChanges(em: EntityManager, next: IdentityRecord): Promise<void> {
  const now = next.updatedAt;
  const row = await em.findOneOrFail(Identity, { id: next.id });
  em.assign(row, {
    schemaId: next.schemaId, state: next.state, stateChangedAt: next.stateChangedAt, traits: next.traits,
    metadataPublic: next.metadataPublic, metadataAdmin: next.metadataAdmin, externalId: next.externalId,
    updatedAt: now, publicJson: identityPublicJson(next),
  });

  // Sequential: inside a transaction these share one connection.
  const creds = await em.find(IdentityCredential, { identity: next.id });
  const idents = await em.find(CredentialIdentifier, { identity: next.id });
  const vas = await em.find(VerifiableAddress, { identity: next.id });
  const ras = await em.find(RecoveryAddress, { identity: next.id });

  const wantedCreds = new Map(next.credentials.map((c) => [c.type, c]));
  for (const row of creds) {
    if (!wantedCreds.has(row.type as CredentialType)) em.remove(row);
  }
  for (const cred of next.credentials) {
    let row = creds.find((c) => c.type === cred.type);
    if (row) {
      em.assign(row, { config: cred.config, version: cred.version, updatedAt: cred.updatedAt });
    } else {
      row = em.create(IdentityCredential, {
        id: cred.id, identity: next.id, type: cred.type, config: cred.config, version: cred.version,
        createdAt: cred.createdAt, updatedAt: cred.updatedAt,
      });
    }
    const existing = idents.filter((i) => i.credential === row.id);
    for (const ident of existing) {
      if (!cred.identifiers.includes(ident.identifier)) em.remove(ident);
    }
    for (const identifier of cred.identifiers) {
      if (existing.some((i) => i.identifier === identifier)) continue;
      em.create(CredentialIdentifier, {
        id: crypto.randomUUID(), credential: row.id, identity: next.id, type: cred.type, identifier,
        createdAt: now, updatedAt: now,
      });
    }
  }

  // Address rows are made equal to `next` in every column, as the read model written above shows them.
  for (const row of vas) {
    if (!next.verifiableAddresses.some((a) => a.id === row.id)) em.remove(row);
  }
  for (const address of next.verifiableAddresses) {
    const row = vas.find((a) => a.id === address.id);
    const data = {
      via: address.via, value: address.value, verified: address.verified, verifiedAt: address.verifiedAt,
      status: address.status, createdAt: address.createdAt, updatedAt: address.updatedAt,
    };
    if (row) em.assign(row, data);
    else em.create(VerifiableAddress, { ...data, id: address.id, identity: next.id });
  }
  for (const row of ras) {
    if (!next.recoveryAddresses.some((a) => a.id === row.id)) em.remove(row);
  }
  for (const address of next.recoveryAddresses) {
    const row = ras.find((a) => a.id === address.id);
    const data = { via: address.via, value: address.value, createdAt: address.createdAt, updatedAt: address.updatedAt };
    if (row) em.assign(row, data);
    else em.create(RecoveryAddress, { ...data, id: address.id, identity: next.id });
  }
}

/** Identity ids owning any of the given identifiers (type, identifier), except `exceptIdentityId`. */
async function findIdentifierOwners(
  em: EntityManager,
  identifiers: Array<{ type: string; identifier: string }>,
  exceptIdentityId?: string,
): Promise<string[]> {
  if (identifiers.length === 0) return [];
  const match = identifiers.map(() => '(type = ? AND identifier = ?)').join(' OR ');
  const rows = await queryRows<{ identity_id: string }>(em,
    `SELECT identity_id FROM identity_credential_identifiers WHERE (${match})${exceptIdentityId ? ' AND identity_id != ?' : ''}`,
    [...identifiers.flatMap((i) => [i.type, i.identifier]), ...(exceptIdentityId ? [exceptIdentityId] : [])]);
  return rows.map((r) => r.identity_id);
}

/** Owners of verifiable, then recovery addresses: one statement for both tables. */
async function findAddressOwners(
  em: EntityManager,
  addresses: Array<{ via: string; value: string }>,
  exceptIdentityId?: string,
): Promise<string[]> {
  if (addresses.length === 0) return [];
  const match = `(${addresses.map(() => '(via = ? AND value = ?)').join(' OR ')})${exceptIdentityId ? ' AND identity_id != ?' : ''}`;
  const params = [...addresses.flatMap((a) => [a.via, a.value]), ...(exceptIdentityId ? [exceptIdentityId] : [])];
  const rows = await queryRows<{ identity_id: string }>(em,
    `SELECT identity_id, 0 AS k FROM identity_verifiable_addresses WHERE ${match}
     UNION ALL SELECT identity_id, 1 AS k FROM identity_recovery_addresses WHERE ${match} ORDER BY k`,
    [...params, ...params]);
  return rows.map((r) => r.identity_id);
}

/** Keyset pagination over identity ids (ascending). */
async function listIdentityIds(em: EntityManager, query: IdentityPageQuery): Promise<string[]> {
  const where: Record<string, unknown> = {};
  if (query.afterId) where.id = { $gt: query.afterId };
  if (query.ids) where.id = { ...(where.id as object ?? {}), $in: query.ids };
  if (query.credentialsIdentifier !== undefined) {
    const owners = await em.find(CredentialIdentifier, { identifier: query.credentialsIdentifier }, { fields: ['identity'] });
    const ownerIds = [...new Set(owners.map((o) => o.identity))];
    where.id = { ...(where.id as object ?? {}), $in: query.ids ? ownerIds.filter((id) => query.ids!.includes(id)) : ownerIds };
  }
  const rows = await em.find(Identity, where, { orderBy: { id: 'asc' }, limit: query.limit, fields: ['id'] });
  return rows.map((r) => r.id);
}

async function deleteIdentityRow(em: EntityManager, id: string): Promise<boolean> {
  const deleted = await em.nativeDelete(Identity, { id });
  return deleted > 0;
}

async function findIdentityIdByExternalId(em: EntityManager, externalId: string): Promise<string | undefined> {
  const row = await em.findOne(Identity, { externalId }, { fields: ['id'] });
  return row?.id;
}

async function identityExists(em: EntityManager, id: string): Promise<boolean> {
  return (await em.count(Identity, { id })) > 0;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostgreSQL rejects non-uuid text for uuid columns: such an id simply matches nothing. */
const isUuid = (id: string) => typeof id === 'string' && UUID.test(id);

/** Identities on MikroORM: a multi-row save runs in its own transaction unless it joins the caller's. */
export class SqlIdentityRepository implements IdentityRepository {
  readonly #source: EmSource;
  readonly #dialect: 'sqlite' | 'postgresql';

  constructor(source: EmSource, dialect: 'sqlite' | 'postgresql') {
    this.#source = source;
    this.#dialect = dialect;
  }

  async lockCredentialConfig(identityId: string, type: string): Promise<Record<string, unknown> | null> {
    if (!isUuid(identityId)) return null;
    const lock = this.#dialect === 'postgresql' ? ' FOR UPDATE' : '';
    const em = await this.#source.em();
    // The transaction's own connection (a statement outside it would wait for SQLite's writer lock it holds).
    const rows = await queryRows<{ config: unknown }>(em, `SELECT config FROM identity_credentials WHERE identity_id = ? AND type = ?${lock}`, [identityId, type]);
    if (rows.length === 0) return null;
    const config = rows[0].config;
    return (typeof config === 'string' ? JSON.parse(config) : config) as Record<string, unknown>;
  }

  async get(id: string): Promise<IdentityRecord | null> {
    return isUuid(id) ? (await loadIdentityRecords(await this.#source.em(), this.#dialect, [id]))[0] ?? null : null;
  }

  async getMany(ids: string[]): Promise<IdentityRecord[]> {
    return loadIdentityRecords(await this.#source.em(), this.#dialect, ids.filter(isUuid));
  }

  async exists(id: string): Promise<boolean> {
    return isUuid(id) && identityExists(await this.#source.em(), id);
  }

  async findByCredentialIdentifier(type: string, identifier: string): Promise<IdentityRecord | null> {
    return loadIdentityByCredentialIdentifier(await this.#source.em(), this.#dialect, type, identifier);
  }

  async findCredentialByIdentifier(type: string, identifier: string): Promise<{ identityId: string; config: Record<string, unknown> } | null> {
    const rows = await queryRows<{ identity_id: string; config: unknown }>(await this.#source.em(),
      'SELECT c.identity_id, c.config FROM identity_credential_identifiers i JOIN identity_credentials c ON c.id = i.credential_id WHERE i.type = ? AND i.identifier = ?',
      [type, identifier]);
    if (rows.length === 0) return null;
    const config = rows[0].config;
    return { identityId: rows[0].identity_id, config: (typeof config === 'string' ? JSON.parse(config) : config) as Record<string, unknown> };
  }

  async findIdByExternalId(externalId: string): Promise<string | undefined> {
    return findIdentityIdByExternalId(await this.#source.em(), externalId);
  }

  async findIdByAddress(kind: 'verifiable' | 'recovery', via: 'email' | 'sms', value: string): Promise<string | undefined> {
    const em = await this.#source.em();
    const row = kind === 'recovery'
      ? await em.findOne(RecoveryAddress, { via, value }, { fields: ['identity'] })
      : await em.findOne(VerifiableAddress, { via, value }, { fields: ['identity'] });
    return row?.identity;
  }

  async identifierOwners(identifiers: Array<{ type: string; identifier: string }>, exceptIdentityId?: string): Promise<string[]> {
    return findIdentifierOwners(await this.#source.em(), identifiers, exceptIdentityId);
  }

  async addressOwners(addresses: Array<{ via: string; value: string }>, exceptIdentityId?: string): Promise<string[]> {
    return findAddressOwners(await this.#source.em(), addresses, exceptIdentityId);
  }

  async listIds(query: IdentityPageQuery): Promise<string[]> {
    return listIdentityIds(await this.#source.em(), query);
  }

  async save(record: IdentityRecord, isNew: boolean): Promise<void> {
    // A new identity's rows, kept back by the transaction, go out with its other writes (lazy-transaction.ts).
    const inserts = isNew ? identityInserts(record) : undefined;
    if (inserts && this.#source.keep(...inserts)) return;
    try {
      await this.#source.write(async (em) => {
        if (inserts) return runWrites(em, this.#dialect, inserts);
        await persistIdentityChanges(em, record);
        await em.flush();
      });
    } catch (err) {
      // The unique indexes are the arbiter when two writers race past a conflict check.
      if (err instanceof UniqueConstraintViolationException) throw new UniqueViolationError(err);
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    return isUuid(id) && this.#source.write((em) => deleteIdentityRow(em, id));
  }
}
