/**
 * The one-statement identity loader (src/persistence/sql/identity-rows.ts) returns exactly what the entity queries it
 * replaced returned: the same values and types (dates, booleans, JSON however odd), the same order (ties in creation
 * time broken by value in the database's collation), for get, getMany and findByCredentialIdentifier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityManager } from '@mikro-orm/core';
import { CredentialIdentifier, Identity, IdentityCredential, RecoveryAddress, VerifiableAddress } from '../../../entities/index.ts';
import type { CredentialType, IdentityRecord } from '../../../src/identity/identity.ts';
import { openStore } from '../../../src/persistence/open-store.ts';
import type { SqlStore } from '../../../src/persistence/sql/sql-store.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';

/** The entity queries the loader replaced (five queries), kept as the reference. */
async function entityView(em: EntityManager, ids: string[]): Promise<IdentityRecord[]> {
  if (ids.length === 0) return [];
  const rows = await em.find(Identity, { id: { $in: ids } });
  const creds = await em.find(IdentityCredential, { identity: { $in: ids } }, { orderBy: { createdAt: 'asc' } });
  const idents = await em.find(CredentialIdentifier, { identity: { $in: ids } }, { orderBy: { createdAt: 'asc', identifier: 'asc' } });
  const vas = await em.find(VerifiableAddress, { identity: { $in: ids } }, { orderBy: { createdAt: 'asc', value: 'asc' } });
  const ras = await em.find(RecoveryAddress, { identity: { $in: ids } }, { orderBy: { createdAt: 'asc', value: 'asc' } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    return [{
      id: row.id, schemaId: row.schemaId, state: row.state, stateChangedAt: row.stateChangedAt ?? null, traits: row.traits,
      metadataPublic: row.metadataPublic ?? null, metadataAdmin: row.metadataAdmin ?? null, externalId: row.externalId ?? null,
      organizationId: row.organizationId ?? null, createdAt: row.createdAt, updatedAt: row.updatedAt,
      credentials: creds.filter((c) => c.identity === id).map((c) => ({
        id: c.id, type: c.type as CredentialType, identifiers: idents.filter((i) => i.credential === c.id).map((i) => i.identifier),
        config: c.config, version: c.version, createdAt: c.createdAt, updatedAt: c.updatedAt,
      })),
      verifiableAddresses: vas.filter((a) => a.identity === id).map((a) => ({
        id: a.id, value: a.value, via: a.via, verified: a.verified, verifiedAt: a.verifiedAt ?? null, status: a.status, createdAt: a.createdAt, updatedAt: a.updatedAt,
      })),
      recoveryAddresses: ras.filter((a) => a.identity === id).map((a) => ({ id: a.id, value: a.value, via: a.via, createdAt: a.createdAt, updatedAt: a.updatedAt })),
    }];
  });
}

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
let counter = 0;

function identity(overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  const id = crypto.randomUUID();
  return {
    id, schemaId: 'default', state: 'active', stateChangedAt: null, traits: { email: `${id}@example.com` }, metadataPublic: null,
    metadataAdmin: null, externalId: null, organizationId: null, createdAt: T0, updatedAt: T0,
    verifiableAddresses: [], recoveryAddresses: [], credentials: [], ...overrides,
  };
}

/** Values whose order differs between byte order and a linguistic collation. */
const tricky = (tag: string) => ['b', 'B', 'a', 'A', 'é', 'e', '_x', '1', 'Z', 'ä'].map((v) => `${v}-${tag}`);

function odd(): IdentityRecord {
  const tag = `${Date.now().toString(36)}${++counter}`;
  const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
  return identity({
    schemaId: 'custom',
    state: 'inactive',
    stateChangedAt: at(123),
    traits: {
      email: `odd-${tag}@example.com`, name: { first: 'Ünïcødé 🚀', last: 'O\'Brien "quoted" \\ back' }, tags: ['x', 1, 1.5, true, null, { deep: [[]] }],
      big: 12345678901234567890, tiny: 1e-7, negative: -42, empty: {}, list: [],
    },
    metadataPublic: ['a', 2, { three: 3 }],
    metadataAdmin: { nested: { keys: { in: 'order', a: 1, zz: 2, b: 3 } }, number: 0.1 },
    externalId: `ext-${tag}`,
    organizationId: crypto.randomUUID(),
    createdAt: at(1),
    updatedAt: at(999),
    credentials: [
      {
        id: first, type: 'password', identifiers: tricky(`p${tag}`), version: 3, createdAt: at(50), updatedAt: at(60),
        config: { hashed_password: '$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA', use_password_migration_hook: false },
      },
      { id: second, type: 'webauthn', identifiers: [`w-${tag}`], version: 0, createdAt: at(10), updatedAt: at(10), config: { credentials: [{ id: 'AQID', is_passwordless: false }], user_handle: 'x' } },
      { id: crypto.randomUUID(), type: 'totp', identifiers: [], version: 1, createdAt: at(70), updatedAt: at(70), config: { totp_url: 'otpauth://totp/x?secret=ABC' } },
    ],
    verifiableAddresses: tricky(`v${tag}`).map((value, i) => ({
      id: crypto.randomUUID(), value: `${value}@example.com`, via: 'email' as const, verified: i % 2 === 0, verifiedAt: i % 2 === 0 ? at(i) : null,
      status: (['pending', 'sent', 'completed'] as const)[i % 3], createdAt: at(i < 5 ? 0 : 5), updatedAt: at(i),
    })),
    recoveryAddresses: tricky(`r${tag}`).map((value, i) => ({
      id: crypto.randomUUID(), value: `${value}@example.com`, via: 'email' as const, createdAt: at(i % 2), updatedAt: at(i),
    })),
  });
}

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`identity loader (${db.name})`, () => {
    let store: SqlStore;
    let drop: () => Promise<void>;
    const view = async (ids: string[]) => entityView(store.orm.em.fork(), ids);

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      store = (await openStore(created.dsn, { migrations: 'auto' })).store;
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('get equals the entity view: values, types and order', async () => {
      const person = odd();
      await store.identities.save(person, true);
      const loaded = await store.identities.get(person.id);
      const [reference] = await view([person.id]);
      expect(loaded).toStrictEqual(reference);
      expect(loaded!.credentials.map((c) => c.type)).toEqual(['webauthn', 'password', 'totp']);
      expect(loaded!.createdAt).toBeInstanceOf(Date);
      expect(loaded!.verifiableAddresses.map((a) => typeof a.verified)).toEqual(Array(10).fill('boolean'));
    });

    it('an identity without credentials or addresses, and null or scalar metadata', async () => {
      for (const metadata of [null, 'just text', 42, false, '{"looks": "like json"}']) {
        const bare = identity({ metadataPublic: metadata, metadataAdmin: metadata });
        await store.identities.save(bare, true);
        const loaded = await store.identities.get(bare.id);
        expect(loaded).toStrictEqual((await view([bare.id]))[0]);
        expect(loaded!.metadataPublic).toStrictEqual(metadata);
      }
    });

    it('getMany keeps the order asked, skips unknown ids and repeats repeated ones', async () => {
      const [a, b] = [odd(), identity()];
      await store.identities.save(a, true);
      await store.identities.save(b, true);
      const ids = [b.id, crypto.randomUUID(), a.id, b.id];
      const many = await store.identities.getMany(ids);
      expect(many.map((i) => i.id)).toEqual([b.id, a.id, b.id]);
      expect(many).toStrictEqual(await view(ids));
      expect(await store.identities.getMany([])).toEqual([]);
      expect(await store.identities.get(crypto.randomUUID())).toBeNull();
    });

    it('findByCredentialIdentifier loads the owner in one statement; an unknown identifier is null', async () => {
      const person = odd();
      await store.identities.save(person, true);
      const identifier = person.credentials[0].identifiers[3];
      expect(await store.identities.findByCredentialIdentifier('password', identifier)).toStrictEqual((await view([person.id]))[0]);
      expect(await store.identities.findByCredentialIdentifier('webauthn', identifier)).toBeNull();
      expect(await store.identities.findByCredentialIdentifier('password', `${identifier}-nobody`)).toBeNull();
    });

    it('inside a transaction it sees the transaction\'s own writes', async () => {
      const person = odd();
      const seen = await store.transaction(async (tx) => {
        await tx.identities.save(person, true);
        return tx.identities.get(person.id);
      });
      expect(seen).toStrictEqual((await view([person.id]))[0]);
    });
  });
}
