import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { createMemoryStore } from '../../../src/persistence/memory/memory-store.ts';
import { UniqueViolationError, type FlowRecord, type SessionRecord, type Transaction } from '../../../src/persistence/store.ts';
import { storeContract } from '../../db/store/store-contract.ts';
import { storeParity } from '../../db/store/store-parity.ts';

const open = async () => {
  const store = createMemoryStore();
  return { store, close: () => store.close() };
};

storeContract('memory', open);
storeParity('memory', open);

const T0 = new Date('2030-01-01T00:00:00.000Z');

function flow(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: crypto.randomUUID(), kind: 'login', type: 'browser', state: 'choose_method', requestUrl: 'https://idflow.test/login',
    returnTo: null, csrfToken: null, identityId: null, snapshot: { value: 'choose_method', context: { n: 0 } }, internal: null,
    issuedAt: T0, expiresAt: new Date(T0.getTime() + 3_600_000), createdAt: T0, updatedAt: T0, version: 1, ...overrides,
  };
}

function identity(email = `${crypto.randomUUID()}@example.com`): IdentityRecord {
  return {
    id: crypto.randomUUID(), schemaId: 'default', state: 'active', stateChangedAt: null, traits: { email }, metadataPublic: null,
    metadataAdmin: null, externalId: null, organizationId: null, createdAt: T0, updatedAt: T0,
    verifiableAddresses: [{ id: crypto.randomUUID(), value: email, via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: T0, updatedAt: T0 }],
    recoveryAddresses: [],
    credentials: [{ id: crypto.randomUUID(), type: 'password', identifiers: [email], config: { hashed_password: 'h' }, version: 0, createdAt: T0, updatedAt: T0 }],
  };
}

function session(identityId: string): SessionRecord {
  const hex = () => crypto.randomUUID().replaceAll('-', '').padEnd(64, '0');
  return {
    id: crypto.randomUUID(), identityId, active: true, aal: 'aal1', authenticationMethods: [{ method: 'password', aal: 'aal1', completed_at: T0.toISOString() }],
    devices: [], authenticatedAt: T0, issuedAt: T0, expiresAt: new Date(T0.getTime() + 3_600_000), createdAt: T0, updatedAt: T0,
    tokenHash: hex(), logoutTokenHash: hex(),
  };
}

/** Lets every pending callback run (the store never uses timers, so one macrotask is enough). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('memory store', () => {
  it('is the memory dialect', () => {
    expect(createMemoryStore().dialect).toBe('memory');
  });

  describe('copies', () => {
    it('a record handed in or read out can be changed by its holder without changing the store', async () => {
      const store = createMemoryStore();
      const f = flow({ updatedAt: new Date(T0) });
      await store.flows.insert(f);
      (f.snapshot as { context: { n: number } }).context.n = 99;
      f.updatedAt.setTime(0);
      const read = (await store.flows.get(f.id))!;
      expect(read.snapshot).toEqual({ value: 'choose_method', context: { n: 0 } });
      expect(read.updatedAt).toEqual(T0);
      (read.snapshot as { context: { n: number } }).context.n = 7;
      read.expiresAt.setTime(0);
      expect(await store.flows.get(f.id)).toMatchObject({ snapshot: { context: { n: 0 } }, expiresAt: new Date(T0.getTime() + 3_600_000) });

      const person = identity();
      await store.identities.save(person, true);
      person.credentials[0].identifiers.push('intruder');
      person.verifiableAddresses.pop();
      const got = (await store.identities.get(person.id))!;
      expect(got.credentials[0].identifiers).toEqual([person.traits.email]);
      expect(got.verifiableAddresses).toHaveLength(1);
      got.credentials[0].config.hashed_password = 'changed';
      got.traits.email = 'changed';
      const again = (await store.identities.get(person.id))!;
      expect(again.credentials[0].config).toEqual({ hashed_password: 'h' });
      expect(again.traits.email).toBe(person.traits.email);
      expect(await store.identities.findByCredentialIdentifier('password', 'intruder')).toBeNull();

      const s = session(person.id);
      await store.sessions.insert(s);
      const [listed] = await store.sessions.listForIdentity(person.id, { now: T0, limit: 10 });
      listed.authenticationMethods.push({ method: 'totp', aal: 'aal2', completed_at: '' });
      listed.active = false;
      expect(await store.sessions.get(s.id)).toEqual(s);
    });

    it('flow update returns the next version and keeps the stored creation time', async () => {
      const store = createMemoryStore();
      const f = flow();
      await store.flows.insert(f);
      const next = await store.flows.update({ ...f, createdAt: new Date(0), state: 'sent_email' });
      expect(next).toMatchObject({ version: 2, state: 'sent_email' });
      expect(await store.flows.get(f.id)).toMatchObject({ version: 2, state: 'sent_email', createdAt: T0 });
    });
  });

  describe('transactions', () => {
    it('run one at a time, in the order they were asked for', async () => {
      const store = createMemoryStore();
      const events: string[] = [];
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const first = store.transaction(async (tx) => {
        events.push('first begins');
        await gate;
        await tx.flows.insert(flow());
        events.push('first ends');
      });
      const second = store.transaction(async () => {
        events.push('second begins');
      });
      const third = store.transaction(async () => {
        events.push('third begins');
      });
      await settle();
      expect(events).toEqual(['first begins']);
      openGate();
      await Promise.all([first, second, third]);
      expect(events).toEqual(['first begins', 'first ends', 'second begins', 'third begins']);
    });

    it('others see nothing of an open transaction; a write outside waits for it and is not lost', async () => {
      const store = createMemoryStore();
      const inner = flow();
      const outer = flow();
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const tx = store.transaction(async (t) => {
        await t.flows.insert(inner);
        await gate;
      });
      await settle();
      // another request meanwhile: its read sees committed data, its write waits for the writer lock
      expect(await store.flows.get(inner.id)).toBeNull();
      const outsideWrite = store.flows.insert(outer);
      await settle();
      expect(await store.flows.get(outer.id)).toBeNull();
      openGate();
      await Promise.all([tx, outsideWrite]);
      expect(await store.flows.get(inner.id)).toEqual(inner);
      expect(await store.flows.get(outer.id)).toEqual(outer);
    });

    it('a write queued behind a transaction that rolls back still applies', async () => {
      const store = createMemoryStore();
      const outer = flow();
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const tx = store.transaction(async (t) => {
        await t.flows.insert(flow());
        await gate;
        throw new Error('rollback');
      });
      await settle();
      const outsideWrite = store.flows.insert(outer);
      openGate();
      await expect(tx).rejects.toThrow('rollback');
      await outsideWrite;
      expect(await store.flows.get(outer.id)).toEqual(outer);
    });

    it('a write that fails inside a transaction leaves no trace; the transaction may go on and commit', async () => {
      const store = createMemoryStore();
      const owner = identity('taken@example.com');
      await store.identities.save(owner, true);
      const clash = identity('taken@example.com');
      clash.verifiableAddresses[0].value = 'free@example.com';
      const after = flow();
      await store.transaction(async (tx) => {
        await expect(tx.identities.save(clash, true)).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await tx.identities.exists(clash.id)).toBe(false);
        expect(await tx.identities.findIdByAddress('verifiable', 'email', 'free@example.com')).toBeUndefined();
        await tx.flows.insert(after);
      });
      expect(await store.identities.exists(clash.id)).toBe(false);
      expect(await store.flows.get(after.id)).toEqual(after);
    });

    it('refuses, instead of hanging, a write through the store or a nested transaction from inside a callback', async () => {
      const store = createMemoryStore();
      const stray = flow();
      const kept = flow();
      await store.transaction(async (tx) => {
        await expect(store.flows.insert(stray)).rejects.toThrow(/use the transaction's repositories/);
        await expect(store.transaction(async () => {})).rejects.toThrow(/nested transaction/);
        // reads outside see committed data and do not wait
        expect(await store.flows.get(kept.id)).toBeNull();
        await tx.flows.insert(kept);
      });
      expect(await store.flows.get(stray.id)).toBeNull();
      expect(await store.flows.get(kept.id)).toEqual(kept);
      // once the transaction is over, the same async call may write again
      await store.flows.insert(stray);
    });

    it('a transaction cannot be used after it ended', async () => {
      const store = createMemoryStore();
      let kept: Transaction | undefined;
      await store.transaction(async (tx) => {
        kept = tx;
      });
      await expect(kept!.flows.insert(flow())).rejects.toThrow(/ended/);
      await expect(kept!.flows.get(crypto.randomUUID())).rejects.toThrow(/ended/);
      expect(() => kept!.afterCommit(() => {})).toThrow(/ended/);
    });
  });

  it('close makes every later call fail', async () => {
    const store = createMemoryStore();
    const person = identity();
    await store.identities.save(person, true);
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    await expect(store.identities.get(person.id)).rejects.toThrow(/closed/);
    await expect(store.flows.insert(flow())).rejects.toThrow(/closed/);
    await expect(store.transaction(async () => {})).rejects.toThrow(/closed/);
    await expect(store.sessionLookup.findByTokenHash('x')).rejects.toThrow(/closed/);
    await expect(store.courier.countByStatus()).rejects.toThrow(/closed/);
  });

  it('a unique clash outside a transaction is a UniqueViolationError for every table', async () => {
    const store = createMemoryStore();
    const person = identity();
    await store.identities.save(person, true);
    const s = session(person.id);
    await store.sessions.insert(s);
    await expect(store.sessions.insert({ ...session(person.id), tokenHash: s.tokenHash })).rejects.toBeInstanceOf(UniqueViolationError);
    const f = flow();
    await store.flows.insert(f);
    await expect(store.flows.insert(f)).rejects.toBeInstanceOf(UniqueViolationError);
  });
});
