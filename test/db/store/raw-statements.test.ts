/**
 * The raw statements of the hot paths read and write exactly what the entity API they replaced did. The one-statement
 * identity loader (src/persistence/sql/identity-rows.ts) returns what the five entity queries returned: the same
 * values and types (dates, booleans, JSON however odd), the same order (ties in creation time broken by value in the
 * database's collation), for get, getMany and findByCredentialIdentifier. Flows and sessions written raw read back
 * through the entities as written, and flows written through the entities read back raw as written; so do new
 * identities, codes and courier messages written raw.
 */
import { describe, expect, it } from 'vitest';
import type { EntityManager } from '@mikro-orm/core';
import { CredentialIdentifier, Flow, FlowTransition, Identity, IdentityCredential, RecoveryAddress, Session, VerifiableAddress } from '../../../entities/index.ts';
import type { CredentialType, IdentityRecord } from '../../../src/identity/identity.ts';
import type { CourierMessageRecord, FlowRecord, SessionRecord } from '../../../src/persistence/store.ts';
import type { CodeRecord } from '../../../src/methods/code/code-record.ts';
import type { SqlStore } from '../../../src/persistence/sql/sql-store.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { identityRecord } from '../../support/identity-record.ts';
import { useScratchStore } from '../../support/scratch-store.ts';

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

const identity = (overrides: Partial<IdentityRecord> = {}) => identityRecord(T0, overrides);

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

function flowRecord(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: crypto.randomUUID(), kind: 'login', type: 'browser', state: 'choose_method', requestUrl: 'https://idflow.test/self-service/login/browser?x=\'1\'',
    returnTo: 'https://app.test/?a=1&b=?', csrfToken: 'c'.repeat(64), identityId: null, internal: 'sealed: odd \\ text',
    snapshot: {
      status: 'active', value: { choose_method: 'idle' }, context: { values: { identifier: 'Ünï "q" \\', n: 1.5, list: [1, null, true], nested: {} }, messages: [] },
      historyValue: {}, children: {}, at: at(5).toISOString(),
    },
    issuedAt: at(1), expiresAt: at(3_600_000), createdAt: at(1), updatedAt: at(2), version: 1, ...overrides,
  };
}

function sessionRecord(identityId: string): SessionRecord {
  return {
    id: crypto.randomUUID(), identityId, active: true, aal: 'aal2',
    authenticationMethods: [{ method: 'password', aal: 'aal1', completed_at: at(7).toISOString() }, { method: 'totp', aal: 'aal2', completed_at: at(8).toISOString() }],
    devices: [{ id: crypto.randomUUID(), ip_address: '203.0.113.9', user_agent: 'Mozilla/5.0 "quoted" ünï' }],
    authenticatedAt: at(8), issuedAt: at(7), expiresAt: at(86_400_000), createdAt: at(7), updatedAt: at(9),
    tokenHash: crypto.randomUUID().replaceAll('-', '').repeat(2), logoutTokenHash: crypto.randomUUID().replaceAll('-', '').repeat(2),
  };
}

/** A flow row as the entity API reads it, as a FlowRecord. */
async function flowView(em: EntityManager, id: string): Promise<FlowRecord | null> {
  const row = await em.findOne(Flow, { id }, { disableIdentityMap: true });
  return row && {
    id: row.id, kind: row.kind, type: row.type, state: row.state, requestUrl: row.requestUrl, returnTo: row.returnTo ?? null,
    csrfToken: row.csrfToken ?? null, identityId: row.identityId ?? null, snapshot: row.snapshot, internal: row.internal ?? null,
    issuedAt: row.issuedAt, expiresAt: row.expiresAt, createdAt: row.createdAt, updatedAt: row.updatedAt, version: row.version,
  };
}

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`raw statements (${db.name})`, () => {
    let store: SqlStore;
    const view = async (ids: string[]) => entityView(store.orm.em.fork(), ids);
    useScratchStore(db, (opened) => { store = opened; });

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

    it('a flow inserted and updated raw reads back through the entity as written, and one the entity wrote reads back raw', async () => {
      const flow = flowRecord();
      await store.flows.insert(flow);
      expect(await flowView(store.orm.em.fork(), flow.id)).toStrictEqual(flow);
      expect(await store.flows.get(flow.id)).toStrictEqual(flow);
      const next = await store.flows.update({ ...flow, state: 'passed_challenge', identityId: crypto.randomUUID(), snapshot: { status: 'done', output: null }, internal: null, updatedAt: at(10) });
      expect(next.version).toBe(2);
      expect(await flowView(store.orm.em.fork(), flow.id)).toStrictEqual(next);
      expect(await store.flows.get(flow.id.toUpperCase())).toStrictEqual(next);

      const viaEntity = flowRecord({ returnTo: null, csrfToken: null, internal: null, snapshot: ['an', 'array', { of: 'json' }] });
      const em = store.orm.em.fork();
      await em.insert(Flow, viaEntity);
      expect(await store.flows.get(viaEntity.id)).toStrictEqual(viaEntity);
    });

    it('history rows appended raw read back through the entity', async () => {
      const flow = flowRecord();
      await store.flows.insert(flow);
      await store.flows.appendHistory([
        { flowId: flow.id, flowVersion: 1, position: 0, event: 'method.submit', from: 'choose_method', to: 'authenticating', method: 'password', at: at(20) },
        { flowId: flow.id, flowVersion: 1, position: 1, event: 'xstate.done.actor.authenticate', from: 'authenticating', to: 'done', method: null, at: at(20) },
      ]);
      const rows = await store.orm.em.fork().find(FlowTransition, { flowId: flow.id }, { orderBy: { position: 'asc' } });
      expect(rows.map((r) => [r.flowVersion, r.position, r.event, r.fromState, r.toState, r.method ?? null, r.createdAt])).toStrictEqual([
        [1, 0, 'method.submit', 'choose_method', 'authenticating', 'password', at(20)],
        [1, 1, 'xstate.done.actor.authenticate', 'authenticating', 'done', null, at(20)],
      ]);
      expect(await store.flows.history(flow.id)).toHaveLength(2);
    });

    it('a session inserted raw reads back through the entity as written', async () => {
      const person = identity();
      await store.identities.save(person, true);
      const session = sessionRecord(person.id);
      await store.sessions.insert(session);
      const row = await store.orm.em.fork().findOne(Session, { id: session.id }, { disableIdentityMap: true });
      expect({
        id: row!.id, identityId: row!.identity, active: row!.active, aal: row!.aal, authenticationMethods: row!.authenticationMethods, devices: row!.devices,
        authenticatedAt: row!.authenticatedAt, issuedAt: row!.issuedAt, expiresAt: row!.expiresAt, createdAt: row!.createdAt, updatedAt: row!.updatedAt,
        tokenHash: row!.tokenHash, logoutTokenHash: row!.logoutTokenHash,
      }).toStrictEqual(session);
      expect(await store.sessions.get(session.id)).toStrictEqual(session);
      expect((await store.sessionLookup.findByTokenHash(session.tokenHash))?.authenticationMethods).toStrictEqual(session.authenticationMethods);
    });

    it('a new identity inserted raw reads back through the entities as written', async () => {
      const person = odd();
      await store.identities.save(person, true);
      const [read] = await view([person.id]);
      const byType = (r: IdentityRecord) => [...r.credentials].sort((a, b) => a.type.localeCompare(b.type)).map((c) => ({ ...c, identifiers: [...c.identifiers].sort() }));
      const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
      expect({ ...read, credentials: byType(read), verifiableAddresses: byId(read.verifiableAddresses), recoveryAddresses: byId(read.recoveryAddresses) })
        .toStrictEqual({ ...person, credentials: byType(person), verifiableAddresses: byId(person.verifiableAddresses), recoveryAddresses: byId(person.recoveryAddresses) });
      const identifiers = await store.orm.em.fork().find(CredentialIdentifier, { identity: person.id });
      expect(identifiers.map((i) => [i.createdAt, i.updatedAt])).toStrictEqual(identifiers.map(() => [person.updatedAt, person.updatedAt]));
    });

    it('a code inserted raw and voided raw reads back through the entity', async () => {
      const flowId = crypto.randomUUID();
      const address = `code-${crypto.randomUUID()}@example.com`;
      const code: CodeRecord = {
        id: crypto.randomUUID(), flowId, purpose: 'verification', kind: 'code', via: 'email', address, identityId: crypto.randomUUID(),
        secretHmac: 'ab'.repeat(32), failedAttempts: 2, expiresAt: at(900_000), usedAt: null, createdAt: at(1), updatedAt: at(1),
      };
      await store.codes.insert(code);
      expect(await store.codes.latestUnused(flowId, 'verification')).toStrictEqual(code);
      await store.codes.voidUnusedForAddress('verification', address, at(2));
      expect(await store.codes.latestUnused(flowId, 'verification')).toBeNull();
      expect(await store.codes.unusedForFlow(flowId, 'verification')).toEqual([]);
      expect(await store.codes.failuresSince('verification', address, at(0))).toBe(2);
    });

    it('a courier message inserted raw reads back through the entity', async () => {
      const message: CourierMessageRecord = {
        id: crypto.randomUUID(), type: 'email', status: 'queued', recipient: `m-${crypto.randomUUID()}@example.com`, subject: 'Sübject "q"', body: 'Body \\ ?',
        htmlBody: null, templateType: 'verification_code_valid', templateData: { verification_code: '123456', identity: { traits: { list: [1, 'x'] } } }, channel: 'email',
        traceContext: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, sendCount: 0, nextAttemptAt: at(3), leaseUntil: null, leasedBy: null,
        createdAt: at(3), updatedAt: at(3),
      };
      await store.courier.insert(message);
      expect(await store.courier.get(message.id)).toStrictEqual(message);
      const bare = { ...message, id: crypto.randomUUID(), htmlBody: '<p>x</p>', templateData: null, traceContext: null, channel: null };
      await store.courier.insert(bare);
      expect(await store.courier.get(bare.id)).toStrictEqual(bare);
    });
  });
}
