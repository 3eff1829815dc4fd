import { afterEach, describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { identityPublicJson } from '../../../src/session/identity-read-model.ts';
import {
  UniqueViolationError,
  type CourierMessageRecord, type SessionRecord, type Store,
} from '../../../src/persistence/store.ts';
import type { OpenedStore } from './store-contract.ts';
import { identityRecord } from '../../support/identity-record.ts';

/**
 * Behaviour the store contract (test/db/store/store-contract.ts) leaves open and the in-memory store copies from the
 * SQL store: the courier's leases, the whoami lookup's shape, the order of credentials and addresses, JSON columns,
 * foreign keys. Every case opens a store of its own (the courier claims whatever is due in the whole table).
 * Written against SQLite first; run for the memory store by memory-store.test.ts.
 */
export function storeParity(name: string, open: () => Promise<OpenedStore>): void {
  describe(`store parity (${name})`, () => {
    const opened: OpenedStore[] = [];
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close();
    });
    const fresh = async (): Promise<Store> => {
      const o = await open();
      opened.push(o);
      return o.store;
    };

    const T0 = new Date('2030-01-01T00:00:00.000Z');
    const at = (ms: number) => new Date(T0.getTime() + ms);
    /** UUIDs whose order is known: `uuid(1) < uuid(2)`. */
    const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    const hex64 = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');

    function message(id: string, overrides: Partial<CourierMessageRecord> = {}): CourierMessageRecord {
      return {
        id, type: 'email', status: 'queued', recipient: `to-${id}@example.com`, subject: `S ${id}`, body: `B ${id}`, htmlBody: null,
        templateType: 'verification_code_valid', templateData: { code: id }, channel: 'email', traceContext: { traceparent: '00-x' },
        sendCount: 0, nextAttemptAt: T0, leaseUntil: null, leasedBy: null, createdAt: T0, updatedAt: T0, ...overrides,
      };
    }

    const identity = (overrides: Partial<IdentityRecord> = {}) => identityRecord(T0, overrides);

    function session(identityId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
      return {
        id: crypto.randomUUID(), identityId, active: true, aal: 'aal1',
        authenticationMethods: [{ method: 'password', aal: 'aal1', completed_at: T0.toISOString() }], devices: [],
        authenticatedAt: T0, issuedAt: T0, expiresAt: at(3_600_000), createdAt: T0, updatedAt: T0, tokenHash: hex64(), logoutTokenHash: hex64(),
        ...overrides,
      };
    }

    describe('courier', () => {
      it('claims what is due in (created_at, id) order, under a lease; others find nothing until the lease runs out', async () => {
        const store = await fresh();
        const now = at(10_000);
        const lease = at(70_000);
        const a = message(uuid(0xb), { createdAt: at(1000) });
        const b = message(uuid(0xa), { createdAt: at(1000) });
        const c = message(uuid(0xc), { createdAt: at(500) });
        const dueExactlyNow = message(uuid(0xd), { createdAt: at(2000), nextAttemptAt: now });
        const later = message(uuid(0xe), { createdAt: at(0), nextAttemptAt: at(1_000_000) });
        const sent = message(uuid(0xf), { createdAt: at(0), status: 'sent' });
        const stuck = message(uuid(0x10), { createdAt: at(0), status: 'processing', leaseUntil: null, leasedBy: 'ghost' });
        for (const m of [a, b, c, dueExactlyNow, later, sent, stuck]) await store.courier.insert(m);

        const first = await store.courier.claim('w1', 2, now, lease);
        expect(first).toEqual([c, b].map((m) => ({
          id: m.id, recipient: m.recipient, subject: m.subject, body: m.body, htmlBody: null, templateType: m.templateType,
          templateData: m.templateData, traceContext: m.traceContext, sendCount: 1, createdAt: m.createdAt, channel: m.channel,
        })));
        expect(await store.courier.get(c.id)).toEqual({ ...c, status: 'processing', leaseUntil: lease, leasedBy: 'w1', sendCount: 1, updatedAt: now });
        expect((await store.courier.claim('w2', 10, now, lease)).map((m) => m.id)).toEqual([a.id, dueExactlyNow.id]);
        expect(await store.courier.claim('w3', 10, now, lease)).toEqual([]);

        // a lease is over only after its end; then the message is claimable again and the attempt counts
        expect(await store.courier.claim('w3', 10, lease, at(130_000))).toEqual([]);
        const reclaimed = await store.courier.claim('w3', 1, at(70_001), at(130_000));
        expect(reclaimed.map((m) => [m.id, m.sendCount])).toEqual([[c.id, 2]]);
        expect(await store.courier.get(c.id)).toMatchObject({ leasedBy: 'w3', leaseUntil: at(130_000), sendCount: 2 });
        expect(await store.courier.countByStatus()).toEqual({ processing: 5, queued: 1, sent: 1 });
      });

      it('a claim takes at most its limit, however many are due (regression: PostgreSQL re-ran the locking subquery)', async () => {
        const store = await fresh();
        const now = at(10_000);
        const burst = Array.from({ length: 30 }, (_, i) => message(uuid(0x100 + i), { createdAt: at(1000) }));
        await store.transaction(async (tx) => {
          for (const m of burst) await tx.courier.insert(m);
        });
        const first = await store.courier.claim('w1', 10, now, at(70_000));
        const second = await store.courier.claim('w2', 10, now, at(70_000));
        expect(first).toHaveLength(10);
        expect(second).toHaveLength(10);
        expect(new Set([...first, ...second].map((m) => m.id)).size).toBe(20);
        expect(await store.courier.countByStatus()).toEqual({ processing: 20, queued: 10 });
      });

      it('renew, release and record are fenced by worker and send count', async () => {
        const store = await fresh();
        const now = at(10_000);
        const [m1, m2, m3] = [message(uuid(1)), message(uuid(2), { createdAt: at(1) }), message(uuid(3), { createdAt: at(2) })];
        for (const m of [m1, m2, m3]) await store.courier.insert(m);
        await store.courier.claim('w1', 2, now, at(20_000));
        await store.courier.claim('w2', 1, now, at(20_000));

        expect(await store.courier.renew('w1', [m1.id, m3.id, uuid(99)], at(40_000))).toEqual([m1.id]);
        expect(await store.courier.renew('w1', [], at(40_000))).toEqual([]);
        expect(await store.courier.get(m1.id)).toMatchObject({ leaseUntil: at(40_000), updatedAt: now });
        expect((await store.courier.get(m3.id))?.leaseUntil).toEqual(at(20_000));

        const later = at(11_000);
        expect(await store.courier.release('w1', [m2.id, m3.id], later)).toBe(1);
        expect(await store.courier.get(m2.id)).toEqual({ ...m2, status: 'queued', sendCount: 0, nextAttemptAt: later, updatedAt: later });
        expect(await store.courier.release('w1', [m2.id], later)).toBe(0);
        expect(await store.courier.release('w1', [], later)).toBe(0);

        const done = at(12_000);
        expect(await store.courier.record({ id: m1.id, sendCount: 1 }, 'w1', { status: 'sent' }, done)).toBe(true);
        expect(await store.courier.get(m1.id)).toEqual({ ...m1, status: 'sent', sendCount: 1, leaseUntil: null, leasedBy: null, updatedAt: done });
        // a lost lease: the dispatch is recorded, the message is left alone
        expect(await store.courier.record({ id: m1.id, sendCount: 1 }, 'w1', { status: 'queued', error: 'late' }, done)).toBe(false);
        expect(await store.courier.record({ id: m3.id, sendCount: 2 }, 'w2', { status: 'queued', error: 'stale' }, done)).toBe(false);
        expect(await store.courier.record({ id: m3.id, sendCount: 1 }, 'w1', { status: 'queued', error: 'thief' }, done)).toBe(false);
        expect((await store.courier.get(m3.id))?.status).toBe('processing');
        const retry = at(99_000);
        expect(await store.courier.record({ id: m3.id, sendCount: 1 }, 'w2', { status: 'queued', nextAttemptAt: retry, error: 'busy' }, done)).toBe(true);
        expect(await store.courier.get(m3.id)).toEqual({ ...m3, sendCount: 1, nextAttemptAt: retry, updatedAt: done });

        const dispatches = await store.courier.dispatchesOf([m1.id, m3.id]);
        expect(dispatches.map((d) => [d.messageId, d.status, d.error])).toEqual(expect.arrayContaining([
          [m1.id, 'success', null], [m1.id, 'failed', { message: 'late' }], [m3.id, 'failed', { message: 'stale' }],
          [m3.id, 'failed', { message: 'thief' }], [m3.id, 'failed', { message: 'busy' }],
        ]));
        expect(dispatches).toHaveLength(5);
        expect(dispatches.every((d) => d.createdAt.getTime() === done.getTime() && d.updatedAt.getTime() === done.getTime())).toBe(true);
        expect(dispatches.map((d) => d.id)).toEqual(dispatches.map((d) => d.id).sort());
        expect(await store.courier.dispatchesOf([])).toEqual([]);
        await expect(store.courier.record({ id: uuid(98), sendCount: 1 }, 'w1', { status: 'sent' }, done)).rejects.toThrow();
        expect(await store.courier.dispatchesOf([uuid(98)])).toEqual([]);
      });

      it('expedite makes every queued message due now; list pages newest first', async () => {
        const store = await fresh();
        const now = at(5000);
        const soon = message(uuid(1), { nextAttemptAt: at(6000), createdAt: at(3) });
        const past = message(uuid(2), { nextAttemptAt: at(1000), createdAt: at(2) });
        const sent = message(uuid(3), { status: 'sent', nextAttemptAt: at(9000), createdAt: at(2), recipient: soon.recipient });
        const other = message(uuid(4), { nextAttemptAt: at(7000), createdAt: at(1) });
        for (const m of [soon, past, sent, other]) await store.courier.insert(m);
        expect(await store.courier.expedite(now)).toBe(2);
        expect(await store.courier.get(soon.id)).toEqual({ ...soon, nextAttemptAt: now });
        expect((await store.courier.get(past.id))?.nextAttemptAt).toEqual(at(1000));
        expect((await store.courier.get(sent.id))?.nextAttemptAt).toEqual(at(9000));
        expect(await store.courier.expedite(now)).toBe(0);

        const ids = async (q: Parameters<Store['courier']['list']>[0]) => (await store.courier.list(q)).map((m) => m.id);
        expect(await ids({ limit: 10 })).toEqual([soon.id, sent.id, past.id, other.id]);
        expect(await ids({ limit: 2 })).toEqual([soon.id, sent.id]);
        expect(await ids({ limit: 10, before: { createdAt: sent.createdAt, id: sent.id } })).toEqual([past.id, other.id]);
        expect(await ids({ limit: 10, status: 'queued' })).toEqual([soon.id, past.id, other.id]);
        expect(await ids({ limit: 10, recipient: soon.recipient })).toEqual([soon.id, sent.id]);
        expect(await store.courier.get(soon.id.toUpperCase())).toEqual(await store.courier.get(soon.id));
        expect(await store.courier.get('garbage')).toBeNull();
      });
    });

    describe('session lookup', () => {
      it('returns the session without its hashes, the identity without credentials, and the sorted credential types', async () => {
        const store = await fresh();
        const person = identity({
          traits: { email: 'lookup@example.com' },
          credentials: [
            { id: crypto.randomUUID(), type: 'totp', identifiers: ['x'], config: { secret: 's' }, version: 0, createdAt: T0, updatedAt: T0 },
            { id: crypto.randomUUID(), type: 'password', identifiers: ['lookup@example.com'], config: { hash: 'h' }, version: 0, createdAt: T0, updatedAt: T0 },
          ],
          verifiableAddresses: [
            { id: crypto.randomUUID(), value: 'b@example.com', via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: at(1), updatedAt: at(1) },
            { id: crypto.randomUUID(), value: 'a@example.com', via: 'email', verified: true, verifiedAt: at(5), status: 'completed', createdAt: at(1), updatedAt: at(5) },
          ],
          recoveryAddresses: [{ id: crypto.randomUUID(), value: 'r@example.com', via: 'email', createdAt: T0, updatedAt: T0 }],
        });
        await store.identities.save(person, true);
        const s = session(person.id);
        await store.sessions.insert(s);
        const { tokenHash: _t, logoutTokenHash: _l, ...view } = s;
        const found = await store.sessionLookup.findByTokenHash(s.tokenHash);
        expect(found).toEqual({
          ...view,
          identity: { ...person, credentials: [], verifiableAddresses: [person.verifiableAddresses[1], person.verifiableAddresses[0]] },
          credentialTypes: ['password', 'totp'],
          identityPublicJson: identityPublicJson(person),
        });
        expect(Object.isFrozen(found)).toBe(true);
        expect(Object.isFrozen(found!.identity.traits)).toBe(true);

        // WebAuthn keys registered as a second factor count as one (`webauthn:mfa`); passwordless keys do not.
        const keys = (passwordless: boolean[]) => ({
          credentials: passwordless.map((p, i) => ({ id: `k${i}`, public_key: 'pk', is_passwordless: p, authenticator: { sign_count: 0 } })),
          user_handle: 'h',
        });
        const kindsOf = async (flags: boolean[]) => {
          const owner = identity({
            traits: { email: `webauthn-${flags.join('-')}@example.com` },
            credentials: [{ id: crypto.randomUUID(), type: 'webauthn', identifiers: [], config: keys(flags), version: 1, createdAt: T0, updatedAt: T0 }],
            verifiableAddresses: [], recoveryAddresses: [],
          });
          await store.identities.save(owner, true);
          const own = session(owner.id);
          await store.sessions.insert(own);
          return (await store.sessionLookup.findByTokenHash(own.tokenHash))!.credentialTypes;
        };
        expect(await kindsOf([true])).toEqual(['webauthn']);
        expect(await kindsOf([true, false])).toEqual(['webauthn', 'webauthn:mfa']);

        // whatever its state: the service judges activity
        await store.sessions.deactivate({ id: s.id }, at(10));
        expect(await store.sessionLookup.findByTokenHash(s.tokenHash)).toMatchObject({ id: s.id, active: false, updatedAt: at(10) });
        expect(await store.sessionLookup.findByTokenHash(s.logoutTokenHash)).toBeUndefined();
        expect(await store.sessionLookup.findByTokenHash(hex64())).toBeUndefined();
      });
    });

    describe('rows', () => {
      it('credentials come back by creation time, identifiers and addresses by (creation time, value)', async () => {
        const store = await fresh();
        const person = identity({
          credentials: [
            { id: crypto.randomUUID(), type: 'password', identifiers: ['zed', 'amy'], config: {}, version: 0, createdAt: at(20), updatedAt: at(20) },
            { id: crypto.randomUUID(), type: 'webauthn', identifiers: ['key'], config: {}, version: 0, createdAt: at(10), updatedAt: at(10) },
          ],
          verifiableAddresses: [
            { id: crypto.randomUUID(), value: 'late@example.com', via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: at(2), updatedAt: at(2) },
            { id: crypto.randomUUID(), value: 'zz@example.com', via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: at(1), updatedAt: at(1) },
            { id: crypto.randomUUID(), value: 'aa@example.com', via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: at(1), updatedAt: at(1) },
          ],
        });
        await store.identities.save(person, true);
        const read = (await store.identities.get(person.id))!;
        expect(read.credentials.map((c) => [c.type, c.identifiers])).toEqual([['webauthn', ['key']], ['password', ['amy', 'zed']]]);
        expect(read.verifiableAddresses.map((a) => a.value)).toEqual(['aa@example.com', 'zz@example.com', 'late@example.com']);

        // an identifier added later comes after the ones kept, whatever its value; the credential keeps its row
        const later = at(60_000);
        await store.identities.save({
          ...person, updatedAt: later,
          credentials: [{ ...person.credentials[0], id: crypto.randomUUID(), identifiers: ['zed', 'amy', 'abe'], version: 1, updatedAt: later }, person.credentials[1]],
        }, false);
        const updated = (await store.identities.get(person.id))!;
        expect(updated.credentials[1]).toEqual({ ...person.credentials[0], identifiers: ['amy', 'zed', 'abe'], version: 1, updatedAt: later });
      });

      it('JSON columns come back as JSON (a Date as its ISO string, undefined members dropped)', async () => {
        const store = await fresh();
        const person = identity({ traits: { email: 'json@example.com', born: at(0), gone: undefined }, metadataPublic: { n: 1 } });
        await store.identities.save(person, true);
        const read = (await store.identities.get(person.id))!;
        expect(read.traits).toStrictEqual({ email: 'json@example.com', born: T0.toISOString() });
      });

      it('a session needs its identity, and goes when the identity is deleted', async () => {
        const store = await fresh();
        const orphan = session(crypto.randomUUID());
        const refused = store.sessions.insert(orphan);
        await expect(refused).rejects.toThrow();
        await expect(refused).rejects.not.toBeInstanceOf(UniqueViolationError);
        expect(await store.sessions.get(orphan.id)).toBeNull();

        const person = identity();
        await store.identities.save(person, true);
        const s = session(person.id);
        await store.sessions.insert(s);
        expect(await store.identities.delete(person.id)).toBe(true);
        expect(await store.sessions.get(s.id)).toBeNull();
        expect(await store.sessions.findByTokenHash(s.tokenHash)).toBeNull();
      });

      it('a session token hash, an external id, a flow id are unique (inside a transaction: UniqueViolationError)', async () => {
        const store = await fresh();
        const person = identity({ externalId: 'ext-1' });
        await store.identities.save(person, true);
        const s = session(person.id);
        await store.sessions.insert(s);
        for (const clash of [{ tokenHash: s.tokenHash }, { logoutTokenHash: s.logoutTokenHash }, { id: s.id }]) {
          await expect(store.transaction((tx) => tx.sessions.insert(session(person.id, clash)))).rejects.toBeInstanceOf(UniqueViolationError);
        }
        // the two hashes are separate indexes
        await store.sessions.insert(session(person.id, { tokenHash: s.logoutTokenHash }));
        await expect(store.identities.save(identity({ externalId: 'ext-1' }), true)).rejects.toBeInstanceOf(UniqueViolationError);
        await store.identities.save(identity({ externalId: null }), true);
        await store.identities.save(identity({ externalId: null }), true);
        await expect(store.identities.save({ ...identity(), id: person.id }, true)).rejects.toBeInstanceOf(UniqueViolationError);
      });
    });
  });
}
