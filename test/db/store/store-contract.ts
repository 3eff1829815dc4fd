import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import {
  StoreConflictError, UniqueViolationError,
  type CodeRecord, type CourierMessageRecord, type FlowRecord, type SelfServiceErrorRecord, type SessionRecord, type Store,
} from '../../../src/persistence/store.ts';

/** A store under test and how to dispose of it (and its database). */
export interface OpenedStore {
  store: Store;
  close(): Promise<void>;
}

const HOUR = 3_600_000;
let counter = 0;
/** Unique per call, so tests sharing one store never see each other's rows. */
const tag = () => `${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
const hex64 = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

/** An identity with a password credential (its e-mail), two verifiable addresses and a separate recovery address. */
function identityRecord(now = new Date()): IdentityRecord {
  const t = tag();
  const email = `user-${t}@example.com`;
  return {
    id: crypto.randomUUID(),
    schemaId: 'default',
    state: 'active',
    stateChangedAt: null,
    traits: { email, name: { first: 'Ada', last: 'Lovelace' } },
    metadataPublic: { plan: 'free' },
    metadataAdmin: null,
    externalId: `ext-${t}`,
    organizationId: null,
    createdAt: now,
    updatedAt: now,
    verifiableAddresses: [
      { id: crypto.randomUUID(), value: email, via: 'email', verified: true, verifiedAt: now, status: 'completed', createdAt: now, updatedAt: now },
      { id: crypto.randomUUID(), value: `alt-${t}@example.com`, via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: at(now, 1), updatedAt: now },
    ],
    recoveryAddresses: [{ id: crypto.randomUUID(), value: `recovery-${t}@example.com`, via: 'email', createdAt: now, updatedAt: now }],
    credentials: [{
      id: crypto.randomUUID(), type: 'password', identifiers: [email], config: { hashed_password: '$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA' },
      version: 0, createdAt: now, updatedAt: now,
    }],
  };
}

const emailOf = (identity: IdentityRecord) => identity.traits.email as string;

/** Order-free view of an identity (the contract does not fix the order of credentials, identifiers or addresses). */
function normalized(identity: IdentityRecord | null) {
  if (!identity) return identity;
  const byValue = <T extends { value: string }>(list: T[]) => [...list].sort((a, b) => a.value.localeCompare(b.value));
  return {
    ...identity,
    credentials: [...identity.credentials]
      .sort((a, b) => a.type.localeCompare(b.type))
      .map((c) => ({ ...c, identifiers: [...c.identifiers].sort() })),
    verifiableAddresses: byValue(identity.verifiableAddresses),
    recoveryAddresses: byValue(identity.recoveryAddresses),
  };
}

function flowRecord(now = new Date(), overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: crypto.randomUUID(),
    kind: 'login',
    type: 'browser',
    state: 'choose_method',
    requestUrl: 'https://idflow.test/self-service/login/browser',
    returnTo: null,
    csrfToken: hex64(),
    identityId: null,
    snapshot: { status: 'active', value: 'choose_method', context: { attempts: 0, methods: ['password', 'code'] } },
    internal: null,
    issuedAt: now,
    expiresAt: at(now, HOUR),
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...overrides,
  };
}

function sessionRecord(identityId: string, now = new Date(), overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: crypto.randomUUID(),
    identityId,
    active: true,
    aal: 'aal1',
    authenticationMethods: [{ method: 'password', aal: 'aal1', completed_at: now.toISOString() }],
    devices: [{ id: crypto.randomUUID(), ip_address: '203.0.113.9', user_agent: 'vitest' }],
    authenticatedAt: now,
    issuedAt: now,
    expiresAt: at(now, 24 * HOUR),
    createdAt: now,
    updatedAt: now,
    tokenHash: hex64(),
    logoutTokenHash: hex64(),
    ...overrides,
  };
}

function codeRecord(flowId: string, address: string, createdAt: Date, overrides: Partial<CodeRecord> = {}): CodeRecord {
  return {
    id: crypto.randomUUID(),
    flowId,
    purpose: 'verification',
    kind: 'code',
    via: 'email',
    address,
    identityId: null,
    secretHmac: hex64(),
    failedAttempts: 0,
    expiresAt: at(createdAt, 15 * 60_000),
    usedAt: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}

function errorRecord(now = new Date()): SelfServiceErrorRecord {
  return {
    id: crypto.randomUUID(),
    error: { code: 500, status: 'Internal Server Error', message: 'an internal error occurred' },
    csrfToken: hex64(),
    seenAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

function courierRecord(now = new Date()): CourierMessageRecord {
  return {
    id: crypto.randomUUID(), type: 'email', status: 'queued', recipient: `mail-${tag()}@example.com`, subject: 'Subject', body: 'Body',
    htmlBody: null, templateType: 'verification_code_valid', templateData: { verification_code: '123456' }, channel: 'email',
    traceContext: null, sendCount: 0, nextAttemptAt: now, leaseUntil: null, leasedBy: null, createdAt: now, updatedAt: now,
  };
}

const sortedUnique = (ids: string[]) => [...new Set(ids)].sort();

/**
 * The behaviour every Store implementation must show (SQLite, PostgreSQL, and the in-memory store): run it with a
 * factory that opens a fresh, migrated store. The tests share one store and create their own rows.
 */
export function storeContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`store contract (${name})`, () => {
    let opened: OpenedStore | undefined;
    let store: Store;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('flows', () => {
      it('insert then get returns the record; unknown and malformed ids are null', async () => {
        const flow = flowRecord(new Date(), { returnTo: 'https://app.idflow.test/home', internal: 'sealed-blob', identityId: crypto.randomUUID() });
        await store.flows.insert(flow);
        expect(await store.flows.get(flow.id)).toEqual(flow);
        expect(await store.flows.get(flow.id.toUpperCase())).toEqual(flow);
        expect(await store.flows.get(crypto.randomUUID())).toBeNull();
        expect(await store.flows.get('not-a-uuid')).toBeNull();
        expect(await store.flows.get("' or 1=1 --")).toBeNull();
      });

      it('appendHistory keeps transitions; history lists a flow\'s own, ordered by version then position', async () => {
        const now = new Date(Math.floor(Date.now() / 1000) * 1000);
        const flowId = crypto.randomUUID();
        const row = (flowVersion: number, position: number, to: string, method: string | null = 'password') => ({
          flowId, flowVersion, position, event: 'method.submit', from: 'choose_method.awaiting_input', to, method, at: now,
        });
        await store.flows.appendHistory([row(2, 0, 'b'), row(2, 1, 'c', null)]);
        await store.flows.appendHistory([row(1, 1, 'a2'), row(1, 0, 'a1')]);
        await store.flows.appendHistory([{ ...row(1, 0, 'elsewhere'), flowId: crypto.randomUUID() }]);
        await store.flows.appendHistory([]);
        expect((await store.flows.history(flowId)).map((t) => t.to)).toEqual(['a1', 'a2', 'b', 'c']);
        expect((await store.flows.history(flowId))[3]).toEqual(row(2, 1, 'c', null));
        expect(await store.flows.history(flowId.toUpperCase())).toHaveLength(4);
        expect(await store.flows.history(crypto.randomUUID())).toEqual([]);
        expect(await store.flows.history('not-a-uuid')).toEqual([]);
      });

      it('delete removes a flow and its history only (inside a transaction too); unknown and malformed ids are false', async () => {
        const now = new Date(Math.floor(Date.now() / 1000) * 1000);
        const flow = flowRecord(now);
        const other = flowRecord(now);
        await store.flows.insert(flow);
        await store.flows.insert(other);
        const row = (flowId: string) => ({ flowId, flowVersion: 1, position: 0, event: 'method.submit', from: 'choose_method.awaiting_input', to: 'passed_challenge', method: 'oidc', at: now });
        await store.flows.appendHistory([row(flow.id), row(other.id)]);
        expect(await store.transaction((tx) => tx.flows.delete(flow.id.toUpperCase()))).toBe(true);
        expect(await store.flows.get(flow.id)).toBeNull();
        expect(await store.flows.history(flow.id)).toEqual([]);
        expect(await store.flows.get(other.id)).toEqual(other);
        expect(await store.flows.history(other.id)).toHaveLength(1);
        expect(await store.flows.delete(flow.id)).toBe(false);
        expect(await store.flows.delete('not-a-uuid')).toBe(false);
        expect(await store.flows.delete("' or 1=1 --")).toBe(false);
        expect(await store.flows.get(other.id)).toEqual(other);
      });

      it('update writes the next version; a stale version throws StoreConflictError and changes nothing', async () => {
        const now = new Date();
        const flow = flowRecord(now);
        await store.flows.insert(flow);

        const later = at(now, 5000);
        const changed = { ...flow, state: 'passed_challenge', snapshot: { status: 'done', value: 'passed_challenge' }, internal: 'x', updatedAt: later };
        const next = await store.flows.update(changed);
        expect(next).toEqual({ ...changed, version: flow.version + 1 });
        expect(await store.flows.get(flow.id)).toEqual(next);

        // A second writer that read the same version loses.
        const stale = { ...flow, state: 'sent_email', updatedAt: at(now, 6000) };
        await expect(store.flows.update(stale)).rejects.toBeInstanceOf(StoreConflictError);
        await expect(store.flows.update(stale)).rejects.not.toBeInstanceOf(UniqueViolationError);
        expect(await store.flows.get(flow.id)).toEqual(next);

        // The winner goes on from the version it got back.
        const third = await store.flows.update({ ...next, state: 'choose_method' });
        expect(third.version).toBe(flow.version + 2);
        expect((await store.flows.get(flow.id))?.state).toBe('choose_method');

        // A flow that was never stored cannot be updated.
        await expect(store.flows.update(flowRecord())).rejects.toBeInstanceOf(StoreConflictError);
      });
    });

    describe('identities', () => {
      it('save inserts; get, getMany and exists return it', async () => {
        const a = identityRecord();
        const b = identityRecord();
        await store.identities.save(a, true);
        await store.identities.save(b, true);
        expect(normalized(await store.identities.get(a.id))).toEqual(normalized(a));
        expect(await store.identities.get(crypto.randomUUID())).toBeNull();
        expect(await store.identities.get('garbage')).toBeNull();
        const many = await store.identities.getMany([b.id, crypto.randomUUID(), a.id, 'garbage']);
        expect(many.map((i) => i.id)).toEqual([b.id, a.id]);
        expect(normalized(many[0])).toEqual(normalized(b));
        expect(await store.identities.getMany([])).toEqual([]);
        expect(await store.identities.exists(a.id)).toBe(true);
        expect(await store.identities.exists(crypto.randomUUID())).toBe(false);
        expect(await store.identities.exists('garbage')).toBe(false);
      });

      it('save(record, false) makes the stored identity equal to the record (diff update)', async () => {
        const now = new Date();
        const original = identityRecord(now);
        await store.identities.save(original, true);
        const later = at(now, 60_000);
        const oldEmail = emailOf(original);
        const newEmail = `renamed-${tag()}@example.com`;
        const [primary, alt] = original.verifiableAddresses;
        const updated: IdentityRecord = {
          ...original,
          state: 'inactive',
          stateChangedAt: later,
          traits: { email: newEmail, name: { first: 'Grace', last: 'Hopper' } },
          metadataPublic: { plan: 'pro' },
          metadataAdmin: { note: 'vip' },
          externalId: `ext-${tag()}`,
          updatedAt: later,
          credentials: [
            { ...original.credentials[0], identifiers: [newEmail], config: { hashed_password: '$argon2id$new' }, version: 1, updatedAt: later },
            { id: crypto.randomUUID(), type: 'totp', identifiers: [original.id], config: { totp_url: 'otpauth://totp/x' }, version: 0, createdAt: later, updatedAt: later },
          ],
          verifiableAddresses: [
            { ...alt, verified: true, verifiedAt: later, status: 'completed', updatedAt: later },
            { id: crypto.randomUUID(), value: newEmail, via: 'email', verified: false, verifiedAt: null, status: 'sent', createdAt: later, updatedAt: later },
          ],
          recoveryAddresses: [{ id: crypto.randomUUID(), value: newEmail, via: 'email', createdAt: later, updatedAt: later }],
        };
        await store.identities.save(updated, false);
        expect(normalized(await store.identities.get(original.id))).toEqual(normalized(updated));

        // The identifier and addresses that were dropped are free again; the new ones resolve.
        expect(await store.identities.findByCredentialIdentifier('password', oldEmail)).toBeNull();
        expect((await store.identities.findByCredentialIdentifier('password', newEmail))?.id).toBe(original.id);
        expect(await store.identities.findIdByAddress('verifiable', 'email', primary.value)).toBeUndefined();
        expect(await store.identities.findIdByAddress('recovery', 'email', original.recoveryAddresses[0].value)).toBeUndefined();
        expect(await store.identities.findIdByAddress('recovery', 'email', newEmail)).toBe(original.id);
        expect(await store.identities.findIdByExternalId(original.externalId!)).toBeUndefined();
        expect(await store.identities.findIdByExternalId(updated.externalId!)).toBe(original.id);
        const reuse = { ...identityRecord(), traits: { email: oldEmail } };
        reuse.credentials[0].identifiers = [oldEmail];
        reuse.verifiableAddresses = [{ ...reuse.verifiableAddresses[0], id: crypto.randomUUID(), value: primary.value }];
        await store.identities.save(reuse, true);
        expect((await store.identities.findByCredentialIdentifier('password', oldEmail))?.id).toBe(reuse.id);

        // Removing a credential removes its identifiers.
        const fewer = { ...updated, credentials: updated.credentials.filter((c) => c.type !== 'totp'), updatedAt: at(later, 1000) };
        await store.identities.save(fewer, false);
        expect(normalized(await store.identities.get(original.id))).toEqual(normalized(fewer));
        expect(await store.identities.findByCredentialIdentifier('totp', original.id)).toBeNull();
      });

      it('a clashing identifier or address throws UniqueViolationError and writes nothing (outside a transaction)', async () => {
        const owner = identityRecord();
        await store.identities.save(owner, true);

        const sameIdentifier = identityRecord();
        sameIdentifier.credentials[0].identifiers = [emailOf(owner)];
        await expect(store.identities.save(sameIdentifier, true)).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.identities.exists(sameIdentifier.id)).toBe(false);
        expect(await store.identities.findIdByAddress('verifiable', 'email', emailOf(sameIdentifier))).toBeUndefined();

        const sameAddress = identityRecord();
        sameAddress.verifiableAddresses[1] = { ...sameAddress.verifiableAddresses[1], value: owner.verifiableAddresses[1].value };
        await expect(store.identities.save(sameAddress, true)).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.identities.exists(sameAddress.id)).toBe(false);
        expect(await store.identities.findByCredentialIdentifier('password', emailOf(sameAddress))).toBeNull();

        const sameRecovery = identityRecord();
        sameRecovery.recoveryAddresses = [{ ...sameRecovery.recoveryAddresses[0], value: owner.recoveryAddresses[0].value }];
        await expect(store.identities.save(sameRecovery, true)).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.identities.exists(sameRecovery.id)).toBe(false);

        // An update that takes someone else's identifier changes nothing of the updated identity.
        const other = identityRecord();
        await store.identities.save(other, true);
        const grab: IdentityRecord = {
          ...other,
          traits: { email: emailOf(owner) },
          credentials: [{ ...other.credentials[0], identifiers: [emailOf(other), emailOf(owner)] }],
          updatedAt: at(other.updatedAt, 1000),
        };
        await expect(store.identities.save(grab, false)).rejects.toBeInstanceOf(UniqueViolationError);
        expect(normalized(await store.identities.get(other.id))).toEqual(normalized(other));
        expect(normalized(await store.identities.get(owner.id))).toEqual(normalized(owner));
      });

      it('inside a transaction a clash throws UniqueViolationError and rolls the whole transaction back', async () => {
        const owner = identityRecord();
        await store.identities.save(owner, true);
        const flow = flowRecord();
        const innocent = identityRecord();
        const clash = identityRecord();
        clash.credentials[0].identifiers = [emailOf(owner)];
        let hookRan = false;
        await expect(store.transaction(async (tx) => {
          tx.afterCommit(() => {
            hookRan = true;
          });
          await tx.flows.insert(flow);
          await tx.identities.save(innocent, true);
          await tx.identities.save(clash, true);
        })).rejects.toBeInstanceOf(UniqueViolationError);
        expect(hookRan).toBe(false);
        expect(await store.flows.get(flow.id)).toBeNull();
        expect(await store.identities.exists(innocent.id)).toBe(false);
        expect(await store.identities.exists(clash.id)).toBe(false);
        expect((await store.identities.findByCredentialIdentifier('password', emailOf(owner)))?.id).toBe(owner.id);
      });

      it('findByCredentialIdentifier, findIdByAddress and findIdByExternalId', async () => {
        const identity = identityRecord();
        await store.identities.save(identity, true);
        const email = emailOf(identity);
        expect(normalized(await store.identities.findByCredentialIdentifier('password', email))).toEqual(normalized(identity));
        expect(await store.identities.findByCredentialIdentifier('webauthn', email)).toBeNull();
        expect(await store.identities.findByCredentialIdentifier('password', `nobody-${tag()}@example.com`)).toBeNull();
        expect(await store.identities.findCredentialByIdentifier('password', email)).toEqual({
          identityId: identity.id, config: identity.credentials.find((c) => c.type === 'password')!.config,
        });
        expect(await store.identities.findCredentialByIdentifier('webauthn', email)).toBeNull();
        expect(await store.identities.findCredentialByIdentifier('password', `nobody-${tag()}@example.com`)).toBeNull();

        expect(await store.identities.findIdByAddress('verifiable', 'email', email)).toBe(identity.id);
        expect(await store.identities.findIdByAddress('verifiable', 'email', identity.verifiableAddresses[1].value)).toBe(identity.id);
        expect(await store.identities.findIdByAddress('verifiable', 'sms', email)).toBeUndefined();
        const recovery = identity.recoveryAddresses[0].value;
        expect(await store.identities.findIdByAddress('recovery', 'email', recovery)).toBe(identity.id);
        // the two kinds of address are separate
        expect(await store.identities.findIdByAddress('verifiable', 'email', recovery)).toBeUndefined();
        expect(await store.identities.findIdByAddress('recovery', 'email', email)).toBeUndefined();

        expect(await store.identities.findIdByExternalId(identity.externalId!)).toBe(identity.id);
        expect(await store.identities.findIdByExternalId(`ext-${tag()}`)).toBeUndefined();
      });

      it('identifierOwners and addressOwners name the owners, except one identity', async () => {
        const a = identityRecord();
        const b = identityRecord();
        await store.identities.save(a, true);
        await store.identities.save(b, true);
        const identifiers = [
          { type: 'password', identifier: emailOf(a) },
          { type: 'password', identifier: emailOf(b) },
          { type: 'password', identifier: `nobody-${tag()}@example.com` },
        ];
        expect(sortedUnique(await store.identities.identifierOwners(identifiers))).toEqual(sortedUnique([a.id, b.id]));
        expect(sortedUnique(await store.identities.identifierOwners(identifiers, a.id))).toEqual([b.id]);
        expect(await store.identities.identifierOwners([{ type: 'webauthn', identifier: emailOf(a) }])).toEqual([]);
        expect(await store.identities.identifierOwners([])).toEqual([]);

        const addresses = [
          { via: 'email', value: a.verifiableAddresses[1].value },
          { via: 'email', value: b.recoveryAddresses[0].value },
          { via: 'email', value: `nobody-${tag()}@example.com` },
        ];
        expect(sortedUnique(await store.identities.addressOwners(addresses))).toEqual(sortedUnique([a.id, b.id]));
        expect(sortedUnique(await store.identities.addressOwners(addresses, b.id))).toEqual([a.id]);
        expect(await store.identities.addressOwners([{ via: 'sms', value: emailOf(a) }])).toEqual([]);
        expect(await store.identities.addressOwners([])).toEqual([]);
      });

      it('listIds pages by ascending id (keyset) and filters by ids and credentials identifier', async () => {
        const mine: IdentityRecord[] = [];
        for (let n = 0; n < 5; n++) mine.push(identityRecord());
        for (const identity of mine) await store.identities.save(identity, true);
        const ids = mine.map((i) => i.id).sort();

        const everything = await store.identities.listIds({ limit: 10_000 });
        expect(everything).toEqual([...everything].sort());
        expect(everything.filter((id) => ids.includes(id))).toEqual(ids);

        const page1 = await store.identities.listIds({ limit: 2, ids });
        const page2 = await store.identities.listIds({ limit: 2, ids, afterId: page1.at(-1) });
        const page3 = await store.identities.listIds({ limit: 2, ids, afterId: page2.at(-1) });
        expect(page1).toHaveLength(2);
        expect(page2).toHaveLength(2);
        expect([...page1, ...page2, ...page3]).toEqual(ids);
        expect(await store.identities.listIds({ limit: 2, ids, afterId: ids[4] })).toEqual([]);
        const afterFirst = await store.identities.listIds({ limit: 10_000, afterId: ids[0] });
        expect(afterFirst.every((id) => id > ids[0])).toBe(true);
        expect(afterFirst.filter((id) => ids.includes(id))).toEqual(ids.slice(1));

        const target = mine.find((i) => i.id === ids[2])!;
        expect(await store.identities.listIds({ limit: 10, credentialsIdentifier: emailOf(target) })).toEqual([target.id]);
        expect(await store.identities.listIds({ limit: 10, credentialsIdentifier: emailOf(target), ids: [ids[0], ids[1]] })).toEqual([]);
        expect(await store.identities.listIds({ limit: 10, credentialsIdentifier: emailOf(target), ids })).toEqual([target.id]);
        expect(await store.identities.listIds({ limit: 10, credentialsIdentifier: `nobody-${tag()}@example.com` })).toEqual([]);
      });

      it('delete removes the identity', async () => {
        const identity = identityRecord();
        await store.identities.save(identity, true);
        expect(await store.identities.delete(identity.id)).toBe(true);
        expect(await store.identities.get(identity.id)).toBeNull();
        expect(await store.identities.findByCredentialIdentifier('password', emailOf(identity))).toBeNull();
        expect(await store.identities.findIdByAddress('verifiable', 'email', emailOf(identity))).toBeUndefined();
        expect(await store.identities.delete(identity.id)).toBe(false);
        expect(await store.identities.delete('garbage')).toBe(false);
      });
    });

    describe('sessions', () => {
      it('insert, get, findByTokenHash and findByLogoutTokenHash', async () => {
        const identity = identityRecord();
        await store.identities.save(identity, true);
        const session = sessionRecord(identity.id);
        await store.sessions.insert(session);
        expect(await store.sessions.get(session.id)).toEqual(session);
        expect(await store.sessions.findByTokenHash(session.tokenHash)).toEqual(session);
        expect(await store.sessions.findByLogoutTokenHash(session.logoutTokenHash)).toEqual(session);
        // the two hashes are looked up separately
        expect(await store.sessions.findByTokenHash(session.logoutTokenHash)).toBeNull();
        expect(await store.sessions.findByLogoutTokenHash(session.tokenHash)).toBeNull();
        expect(await store.sessions.findByTokenHash(hex64())).toBeNull();
        expect(await store.sessions.get(crypto.randomUUID())).toBeNull();
        expect(await store.sessions.get('garbage')).toBeNull();
      });

      it('listForIdentity and listAll filter by activity, skip one session and page by ascending id', async () => {
        const now = new Date();
        const identity = identityRecord(now);
        const other = identityRecord(now);
        await store.identities.save(identity, true);
        await store.identities.save(other, true);
        const live = [sessionRecord(identity.id, now), sessionRecord(identity.id, now), sessionRecord(identity.id, now)];
        const revoked = sessionRecord(identity.id, now, { active: false });
        const expired = sessionRecord(identity.id, at(now, -25 * HOUR));
        const foreign = sessionRecord(other.id, now);
        for (const s of [...live, revoked, expired, foreign]) await store.sessions.insert(s);
        const ids = (list: SessionRecord[]) => list.map((s) => s.id);
        const sortedIds = (list: SessionRecord[]) => ids(list).sort();

        const all = await store.sessions.listForIdentity(identity.id, { now, limit: 100 });
        expect(ids(all)).toEqual(sortedIds([...live, revoked, expired]));
        expect(all.find((s) => s.id === revoked.id)).toEqual(revoked);
        expect(ids(await store.sessions.listForIdentity(identity.id, { now, limit: 100, active: true }))).toEqual(sortedIds(live));
        expect(ids(await store.sessions.listForIdentity(identity.id, { now, limit: 100, active: false }))).toEqual(sortedIds([revoked, expired]));
        const except = sortedIds(live)[0];
        expect(ids(await store.sessions.listForIdentity(identity.id, { now, limit: 100, active: true, exceptSessionId: except })))
          .toEqual(sortedIds(live).slice(1));
        // activity is judged at `now`: later every session of the identity has expired
        expect(await store.sessions.listForIdentity(identity.id, { now: at(now, 25 * HOUR), limit: 100, active: true })).toEqual([]);

        const page1 = await store.sessions.listForIdentity(identity.id, { now, limit: 2 });
        const page2 = await store.sessions.listForIdentity(identity.id, { now, limit: 2, afterId: page1.at(-1)!.id });
        const page3 = await store.sessions.listForIdentity(identity.id, { now, limit: 2, afterId: page2.at(-1)!.id });
        expect([...ids(page1), ...ids(page2), ...ids(page3)]).toEqual(ids(all));
        expect(await store.sessions.listForIdentity(crypto.randomUUID(), { now, limit: 100 })).toEqual([]);
        expect(await store.sessions.listForIdentity('garbage', { now, limit: 100 })).toEqual([]);

        const everything = ids(await store.sessions.listAll({ now, limit: 10_000 }));
        expect(everything).toEqual([...everything].sort());
        const mine = sortedIds([...live, revoked, expired, foreign]);
        expect(everything.filter((id) => mine.includes(id))).toEqual(mine);
        const activeAll = ids(await store.sessions.listAll({ now, limit: 10_000, active: true }));
        expect(activeAll.filter((id) => mine.includes(id))).toEqual(sortedIds([...live, foreign]));
        const inactiveAll = ids(await store.sessions.listAll({ now, limit: 10_000, active: false }));
        expect(inactiveAll.filter((id) => mine.includes(id))).toEqual(sortedIds([revoked, expired]));
        const afterFirst = ids(await store.sessions.listAll({ now, limit: 10_000, afterId: everything[0] }));
        expect(afterFirst).toEqual(everything.slice(1));
      });

      it('deactivate (scoped to an identity), deactivateAllForIdentity (except one), update and deleteAllForIdentity', async () => {
        const now = new Date();
        const a = identityRecord(now);
        const b = identityRecord(now);
        await store.identities.save(a, true);
        await store.identities.save(b, true);
        const [s1, s2, s3, s4] = [sessionRecord(a.id, now), sessionRecord(a.id, now), sessionRecord(a.id, now), sessionRecord(a.id, now)];
        const foreign = sessionRecord(b.id, now);
        for (const s of [s1, s2, s3, s4, foreign]) await store.sessions.insert(s);

        const t1 = at(now, 1000);
        expect(await store.sessions.deactivate({ id: s1.id, identityId: b.id }, t1)).toBe(false);
        expect((await store.sessions.get(s1.id))?.active).toBe(true);
        expect(await store.sessions.deactivate({ id: s1.id, identityId: a.id }, t1)).toBe(true);
        expect(await store.sessions.get(s1.id)).toEqual({ ...s1, active: false, updatedAt: t1 });
        expect(await store.sessions.deactivate({ id: s2.id }, t1)).toBe(true);
        expect((await store.sessions.get(s2.id))?.active).toBe(false);
        // an ended session still exists
        expect(await store.sessions.deactivate({ id: s2.id }, t1)).toBe(true);
        expect(await store.sessions.deactivate({ id: crypto.randomUUID() }, t1)).toBe(false);
        expect(await store.sessions.deactivate({ id: 'garbage' }, t1)).toBe(false);
        expect(await store.sessions.deactivate({ id: s3.id, identityId: 'garbage' }, t1)).toBe(false);

        const t2 = at(now, 2000);
        const patch = {
          expiresAt: at(now, 48 * HOUR),
          aal: 'aal2' as const,
          authenticationMethods: [...s3.authenticationMethods, { method: 'totp', aal: 'aal2' as const, completed_at: t2.toISOString() }],
          authenticatedAt: t2,
          devices: [...s3.devices, { id: crypto.randomUUID(), ip_address: '198.51.100.1' }],
        };
        await store.sessions.update(s3.id, patch, t2);
        expect(await store.sessions.get(s3.id)).toEqual({ ...s3, ...patch, updatedAt: t2 });
        await store.sessions.update(crypto.randomUUID(), { expiresAt: t2 }, t2);

        // only active sessions count, and the excepted one stays
        const t3 = at(now, 3000);
        expect(await store.sessions.deactivateAllForIdentity(a.id, t3, s4.id)).toBe(1);
        expect((await store.sessions.get(s3.id))?.active).toBe(false);
        expect((await store.sessions.get(s4.id))?.active).toBe(true);
        expect((await store.sessions.get(foreign.id))?.active).toBe(true);
        expect(await store.sessions.deactivateAllForIdentity(a.id, t3, s4.id)).toBe(0);
        expect(await store.sessions.deactivateAllForIdentity(a.id, t3)).toBe(1);
        expect((await store.sessions.get(s4.id))?.active).toBe(false);
        expect(await store.sessions.deactivateAllForIdentity('garbage', t3)).toBe(0);

        expect(await store.sessions.deleteAllForIdentity(a.id)).toBe(4);
        expect(await store.sessions.listForIdentity(a.id, { now, limit: 100 })).toEqual([]);
        expect(await store.sessions.get(s1.id)).toBeNull();
        expect(await store.sessions.get(foreign.id)).toEqual(foreign);
        expect(await store.sessions.deleteAllForIdentity(a.id)).toBe(0);
        expect(await store.sessions.deleteAllForIdentity('garbage')).toBe(0);
      });

      it('deactivateSelected and deleteSelected by session ids, by identity ids, and one bounded batch of all', async () => {
        const now = new Date();
        const a = identityRecord(now);
        const b = identityRecord(now);
        const c = identityRecord(now);
        for (const i of [a, b, c]) await store.identities.save(i, true);
        const [a1, a2, b1, c1] = [sessionRecord(a.id, now), sessionRecord(a.id, now, { active: false }), sessionRecord(b.id, now), sessionRecord(c.id, now)];
        for (const s of [a1, a2, b1, c1]) await store.sessions.insert(s);
        const t1 = at(now, 1000);

        // only sessions active before count; unknown and malformed ids match nothing
        expect(await store.sessions.deactivateSelected({ sessionIds: [a1.id, a2.id, crypto.randomUUID(), 'garbage'] }, t1)).toBe(1);
        expect(await store.sessions.get(a1.id)).toEqual({ ...a1, active: false, updatedAt: t1 });
        expect(await store.sessions.get(a2.id)).toEqual(a2);
        expect(await store.sessions.deactivateSelected({ sessionIds: [a1.id] }, t1)).toBe(0);
        expect(await store.sessions.deactivateSelected({ identityIds: [b.id, 'garbage'] }, t1)).toBe(1);
        expect((await store.sessions.get(b1.id))?.active).toBe(false);
        expect((await store.sessions.get(c1.id))?.active).toBe(true);
        expect(await store.sessions.deactivateSelected({ sessionIds: [] }, t1)).toBe(0);

        expect(await store.sessions.deleteSelected({ identityIds: [a.id] })).toBe(2);
        expect(await store.sessions.get(a1.id)).toBeNull();
        expect(await store.sessions.deleteSelected({ sessionIds: [b1.id, 'garbage'] })).toBe(1);
        expect(await store.sessions.get(c1.id)).toEqual(c1);

        // `all` takes at most `limit` rows per call (disable: of the active ones), whatever the identity
        const more = [sessionRecord(c.id, now), sessionRecord(c.id, now)];
        for (const s of more) await store.sessions.insert(s);
        const activeBefore = (await store.sessions.listAll({ now, limit: 100_000, active: true })).length;
        expect(activeBefore).toBeGreaterThanOrEqual(3);
        expect(await store.sessions.deactivateSelected({ all: true, limit: 2 }, t1)).toBe(2);
        expect((await store.sessions.listAll({ now, limit: 100_000, active: true })).length).toBe(activeBefore - 2);
        let total = (await store.sessions.listAll({ now, limit: 100_000 })).length;
        expect(await store.sessions.deleteSelected({ all: true, limit: 2 })).toBe(2);
        expect((await store.sessions.listAll({ now, limit: 100_000 })).length).toBe(total - 2);
        total -= 2;
        expect(await store.sessions.deleteSelected({ all: true, limit: 100_000 })).toBe(total);
        expect(await store.sessions.deleteSelected({ all: true, limit: 10 })).toBe(0);
        expect(await store.sessions.deactivateSelected({ all: true, limit: 10 }, t1)).toBe(0);
      });
    });

    describe('codes', () => {
      it('latestUnused returns the newest unused code of a flow and purpose; update and voidUnusedForFlow use codes up', async () => {
        const now = new Date();
        const flowId = crypto.randomUUID();
        const otherFlowId = crypto.randomUUID();
        const address = `code-${tag()}@example.com`;
        const older = codeRecord(flowId, address, at(now, -2000));
        const newer = codeRecord(flowId, address, at(now, -1000));
        const recovery = codeRecord(flowId, address, at(now, -1500), { purpose: 'recovery', kind: 'link', identityId: crypto.randomUUID() });
        const elsewhere = codeRecord(otherFlowId, address, at(now, -500));
        for (const code of [older, newer, recovery, elsewhere]) await store.codes.insert(code);

        expect(await store.codes.latestUnused(flowId, 'verification')).toEqual(newer);
        expect(await store.codes.latestUnused(flowId, 'recovery')).toEqual(recovery);
        expect(await store.codes.latestUnused(crypto.randomUUID(), 'verification')).toBeNull();

        await store.codes.update(newer.id, { usedAt: now }, now);
        expect(await store.codes.latestUnused(flowId, 'verification')).toEqual(older);

        await store.codes.update(older.id, { failedAttempts: 3 }, now);
        expect(await store.codes.latestUnused(flowId, 'verification')).toEqual({ ...older, failedAttempts: 3, updatedAt: now });

        await store.codes.voidUnusedForFlow(flowId, at(now, 1000));
        expect(await store.codes.latestUnused(flowId, 'verification')).toBeNull();
        expect(await store.codes.latestUnused(flowId, 'recovery')).toBeNull();
        expect(await store.codes.latestUnused(otherFlowId, 'verification')).toEqual(elsewhere);
      });

      it('voidUnusedForAddress uses up the unused codes of one purpose sent to one address, in every flow', async () => {
        const now = new Date();
        const address = `void-${tag()}@example.com`;
        const first = codeRecord(crypto.randomUUID(), address, at(now, -2000), { purpose: 'recovery' });
        const second = codeRecord(crypto.randomUUID(), address, at(now, -1000), { purpose: 'recovery' });
        const verification = codeRecord(second.flowId, address, at(now, -1000));
        const bystander = codeRecord(first.flowId, `other-${tag()}@example.com`, at(now, -1000), { purpose: 'recovery' });
        for (const code of [first, second, verification, bystander]) await store.codes.insert(code);
        await store.codes.voidUnusedForAddress('recovery', address, now);
        expect(await store.codes.latestUnused(first.flowId, 'recovery')).toEqual(bystander);
        expect(await store.codes.latestUnused(second.flowId, 'recovery')).toBeNull();
        expect(await store.codes.latestUnused(second.flowId, 'verification')).toEqual(verification);
      });

      it('unusedForFlow lists a flow\'s unused codes of one purpose, newest first (sign-up mails one per address)', async () => {
        const now = new Date();
        const flowId = crypto.randomUUID();
        const a = codeRecord(flowId, `a-${tag()}@example.com`, at(now, -2000), { purpose: 'registration' });
        const b = codeRecord(flowId, `b-${tag()}@example.com`, at(now, -1000), { purpose: 'registration' });
        const login = codeRecord(flowId, `c-${tag()}@example.com`, at(now, -500), { purpose: 'login', identityId: crypto.randomUUID() });
        for (const code of [a, b, login]) await store.codes.insert(code);
        expect(await store.codes.unusedForFlow(flowId, 'registration')).toEqual([b, a]);
        expect(await store.codes.unusedForFlow(flowId, 'login')).toEqual([login]);
        await store.codes.update(b.id, { usedAt: now }, now);
        expect(await store.codes.unusedForFlow(flowId, 'registration')).toEqual([a]);
        expect(await store.codes.unusedForFlow(crypto.randomUUID(), 'registration')).toEqual([]);
      });

      it('failuresSince sums the failed attempts of a purpose and address since a time, used codes included', async () => {
        const now = new Date();
        const address = `fail-${tag()}@example.com`;
        const old = codeRecord(crypto.randomUUID(), address, at(now, -2 * HOUR), { failedAttempts: 2, usedAt: at(now, -HOUR) });
        const recent = codeRecord(crypto.randomUUID(), address, at(now, -60_000), { failedAttempts: 1 });
        const otherPurpose = codeRecord(crypto.randomUUID(), address, at(now, -60_000), { purpose: 'recovery', failedAttempts: 5 });
        const otherAddress = codeRecord(crypto.randomUUID(), `other-${tag()}@example.com`, at(now, -60_000), { failedAttempts: 7 });
        for (const code of [old, recent, otherPurpose, otherAddress]) await store.codes.insert(code);

        expect(await store.codes.failuresSince('verification', address, at(now, -HOUR))).toBe(1);
        expect(await store.codes.failuresSince('verification', address, at(now, -3 * HOUR))).toBe(3);
        // `since` is inclusive
        expect(await store.codes.failuresSince('verification', address, old.createdAt)).toBe(3);
        expect(await store.codes.failuresSince('recovery', address, at(now, -HOUR))).toBe(5);
        expect(await store.codes.failuresSince('verification', `nobody-${tag()}@example.com`, at(now, -HOUR))).toBe(0);

        await store.codes.update(recent.id, { failedAttempts: 4 }, now);
        expect(await store.codes.failuresSince('verification', address, at(now, -HOUR))).toBe(4);
      });
    });

    describe('errors', () => {
      it('insert, get and markSeen (the first time it was seen is kept)', async () => {
        const now = new Date();
        const error = errorRecord(now);
        await store.errors.insert(error);
        expect(await store.errors.get(error.id)).toEqual(error);
        expect(await store.errors.get(crypto.randomUUID())).toBeNull();
        expect(await store.errors.get('garbage')).toBeNull();

        const seen = at(now, 1000);
        await store.errors.markSeen(error.id, seen);
        expect(await store.errors.get(error.id)).toEqual({ ...error, seenAt: seen, updatedAt: seen });
        await store.errors.markSeen(error.id, at(now, 2000));
        expect((await store.errors.get(error.id))?.seenAt).toEqual(seen);
      });
    });

    describe('token exchanges', () => {
      it('insert, find by init code hash and by flow, move to another flow, complete once the session exists, use up once', async () => {
        const now = new Date(Math.floor(Date.now() / 1000) * 1000);
        const flowId = crypto.randomUUID();
        const record = {
          id: crypto.randomUUID(), flowId, initCodeHash: hex64(), returnToCodeHash: null, sessionId: null,
          expiresAt: at(now, HOUR), usedAt: null, createdAt: now, updatedAt: now,
        };
        await store.tokenExchanges.insert(record);
        await expect(store.transaction((tx) => tx.tokenExchanges.insert({ ...record, id: crypto.randomUUID() }))).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.tokenExchanges.findByInitCodeHash(record.initCodeHash)).toEqual(record);
        expect(await store.tokenExchanges.findByInitCodeHash(hex64())).toBeNull();
        expect(await store.tokenExchanges.findForFlow(flowId)).toEqual(record);

        const next = crypto.randomUUID();
        await store.tokenExchanges.moveToFlow(flowId, next, at(now, 1000));
        expect(await store.tokenExchanges.findForFlow(flowId)).toBeNull();
        const sessionId = crypto.randomUUID();
        const returnHash = hex64();
        await store.tokenExchanges.complete(next, returnHash, sessionId, at(now, 5000), at(now, 2000));
        expect(await store.tokenExchanges.findForFlow(next)).toEqual({
          ...record, flowId: next, returnToCodeHash: returnHash, sessionId, expiresAt: at(now, 5000), updatedAt: at(now, 2000),
        });
        expect(await store.tokenExchanges.markUsed(record.id, at(now, 3000))).toBe(true);
        expect(await store.tokenExchanges.markUsed(record.id, at(now, 4000))).toBe(false);
        expect((await store.tokenExchanges.findByInitCodeHash(record.initCodeHash))?.usedAt).toEqual(at(now, 3000));
        // A used exchange is never completed again.
        await store.tokenExchanges.complete(next, hex64(), crypto.randomUUID(), at(now, 9000), at(now, 9000));
        expect((await store.tokenExchanges.findForFlow(next))?.sessionId).toBe(sessionId);
      });
    });

    describe('transactions', () => {
      it('commits every write together, shows them to the transaction itself, and returns the callback value', async () => {
        const identity = identityRecord();
        const flow = flowRecord(new Date(), { identityId: identity.id });
        const session = sessionRecord(identity.id);
        const result = await store.transaction(async (tx) => {
          await tx.identities.save(identity, true);
          await tx.flows.insert(flow);
          await tx.sessions.insert(session);
          // reads through the transaction see its own writes
          expect(await tx.flows.get(flow.id)).toEqual(flow);
          expect(await tx.identities.exists(identity.id)).toBe(true);
          expect((await tx.sessions.findByTokenHash(session.tokenHash))?.id).toBe(session.id);
          return 'committed';
        });
        expect(result).toBe('committed');
        expect(await store.flows.get(flow.id)).toEqual(flow);
        expect(normalized(await store.identities.get(identity.id))).toEqual(normalized(identity));
        expect(await store.sessions.get(session.id)).toEqual(session);
      });

      it('a throw inside leaves nothing written and reaches the caller', async () => {
        const now = new Date();
        const existing = flowRecord(now);
        await store.flows.insert(existing);
        const identity = identityRecord(now);
        const flow = flowRecord(now);
        const session = sessionRecord(identity.id, now);
        const code = codeRecord(flow.id, `rollback-${tag()}@example.com`, now);
        const error = errorRecord(now);
        const message = courierRecord(now);
        const boom = new Error('boom');
        await expect(store.transaction(async (tx) => {
          await tx.identities.save(identity, true);
          await tx.flows.insert(flow);
          await tx.flows.update({ ...existing, state: 'passed_challenge' });
          await tx.sessions.insert(session);
          await tx.codes.insert(code);
          await tx.errors.insert(error);
          await tx.courier.insert(message);
          throw boom;
        })).rejects.toBe(boom);
        expect(await store.identities.exists(identity.id)).toBe(false);
        expect(await store.identities.findByCredentialIdentifier('password', emailOf(identity))).toBeNull();
        expect(await store.flows.get(flow.id)).toBeNull();
        expect(await store.flows.get(existing.id)).toEqual(existing);
        expect(await store.sessions.get(session.id)).toBeNull();
        expect(await store.codes.latestUnused(flow.id, 'verification')).toBeNull();
        expect(await store.errors.get(error.id)).toBeNull();
        expect(await store.courier.get(message.id)).toBeNull();
        // the version the failed transaction would have written is still free
        expect((await store.flows.update(existing)).version).toBe(existing.version + 1);
      });

      it('a stale flow update inside a transaction throws StoreConflictError and rolls back the other writes', async () => {
        const flow = flowRecord();
        await store.flows.insert(flow);
        await store.flows.update({ ...flow, state: 'sent_email' });
        const error = errorRecord();
        await expect(store.transaction(async (tx) => {
          await tx.errors.insert(error);
          await tx.flows.update({ ...flow, state: 'passed_challenge' });
        })).rejects.toBeInstanceOf(StoreConflictError);
        expect(await store.errors.get(error.id)).toBeNull();
        expect(await store.flows.get(flow.id)).toMatchObject({ state: 'sent_email', version: flow.version + 1 });
      });

      it('afterCommit hooks run once each, in order, after the commit; never for a rolled-back transaction', async () => {
        const events: string[] = [];
        const flow = flowRecord();
        let read: Promise<FlowRecord | null> | undefined;
        await store.transaction(async (tx) => {
          tx.afterCommit(() => {
            events.push('first hook');
            // outside the transaction: sees the write only because it committed
            read = store.flows.get(flow.id);
          });
          await tx.flows.insert(flow);
          tx.afterCommit(() => events.push('second hook'));
          events.push('callback done');
        });
        events.push('transaction returned');
        expect(events).toEqual(['callback done', 'first hook', 'second hook', 'transaction returned']);
        expect(await read).toEqual(flow);

        const rolledBack: string[] = [];
        const other = flowRecord();
        await expect(store.transaction(async (tx) => {
          tx.afterCommit(() => rolledBack.push('hook'));
          await tx.flows.insert(other);
          throw new Error('no commit');
        })).rejects.toThrow('no commit');
        expect(rolledBack).toEqual([]);
        expect(await store.flows.get(other.id)).toBeNull();
        // a later transaction does not run the hooks of an earlier one
        await store.transaction(async () => {});
        expect(events).toHaveLength(4);
        expect(rolledBack).toEqual([]);
      });
    });
  });
}
