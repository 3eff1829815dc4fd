/**
 * Issue 16: store transactions begin at their first statement, and on PostgreSQL a transaction's blind writes (a flow's
 * next version, its history, sessions, new identities, codes, mail) are kept back and sent as ONE statement
 * (src/persistence/sql/lazy-transaction.ts); on SQLite a transaction that only wrote runs its writes at its end,
 * straight on the connection. Whatever the database, a transaction stays all or nothing, reads inside it see its own
 * writes, and a stale flow version fails it with StoreConflictError and leaves nothing behind.
 */
import { describe, expect, it } from 'vitest';
import Database from 'libsql';
import type { SqlStore } from '../../../src/persistence/sql/sql-store.ts';
import { StoreConflictError, UniqueViolationError, type FlowRecord, type SessionRecord } from '../../../src/persistence/store.ts';
import type { CodeRecord } from '../../../src/methods/code/code-record.ts';
import { countDriverCalls, executions } from '../../support/driver-calls.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { flowRecord } from '../../support/flow-record.ts';
import { identityRecord } from '../../support/identity-record.ts';
import { useScratchStore } from '../../support/scratch-store.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const hex64 = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');


const sessionRecord = (identityId: string, tokenHash = hex64()): SessionRecord => ({
  id: crypto.randomUUID(), identityId, active: true, aal: 'aal1', authenticationMethods: [{ method: 'password', aal: 'aal1', completed_at: T0.toISOString() }],
  devices: [], authenticatedAt: T0, issuedAt: T0, expiresAt: new Date(T0.getTime() + 86_400_000), createdAt: T0, updatedAt: T0,
  tokenHash, logoutTokenHash: hex64(),
});

const codeRecord = (flowId: string, address: string, createdAt: Date): CodeRecord => ({
  id: crypto.randomUUID(), flowId, purpose: 'verification', kind: 'code', via: 'email', address, identityId: null, secretHmac: hex64(),
  failedAttempts: 0, expiresAt: new Date(createdAt.getTime() + 900_000), usedAt: null, createdAt, updatedAt: createdAt,
});

const transition = (flow: FlowRecord, position: number) => ({
  flowId: flow.id, flowVersion: flow.version, position, event: 'method.submit', from: 'choose_method', to: 'passed_challenge', method: 'password', at: T0,
});

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`store transactions (${db.name})`, () => {
    let store: SqlStore;
    useScratchStore(db, (opened) => { store = opened; });

    /** A stored identity and a stored flow (version 1) for a commit to move on. */
    async function storedIdentityAndFlow() {
      const identity = identityRecord(T0);
      await store.identities.save(identity, true);
      const flow = flowRecord(T0);
      await store.flows.insert(flow);
      return { identity, flow };
    }

    /** A login's commit: the flow's next version, its history, a session. */
    async function loginCommit(flow: FlowRecord, session: SessionRecord) {
      return store.transaction(async (tx) => {
        const written = await tx.flows.update(flow);
        await tx.flows.appendHistory([transition(flow, 0), transition(flow, 1)]);
        await tx.sessions.insert(session);
        return written;
      });
    }

    it('a login\'s writes commit together, as the next version of the flow', async () => {
      const { identity, flow } = await storedIdentityAndFlow();
      const session = sessionRecord(identity.id);
      const written = await loginCommit({ ...flow, state: 'passed_challenge' }, session);
      expect(written.version).toBe(2);
      expect((await store.flows.get(flow.id))).toMatchObject({ state: 'passed_challenge', version: 2 });
      expect(await store.flows.history(flow.id)).toHaveLength(2);
      expect((await store.sessions.get(session.id))?.tokenHash).toBe(session.tokenHash);
    });

    it('a stale flow version fails the transaction with StoreConflictError and writes nothing', async () => {
      const { identity, flow } = await storedIdentityAndFlow();
      await loginCommit(flow, sessionRecord(identity.id));
      // A second submit that read version 1 too.
      const late = sessionRecord(identity.id);
      await expect(loginCommit({ ...flow, state: 'stale' }, late)).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.sessions.get(late.id)).toBeNull();
      expect(await store.flows.history(flow.id)).toHaveLength(2);
      expect(await store.flows.get(flow.id)).toMatchObject({ version: 2, state: 'choose_method' });
    });

    it('a unique violation among the writes is a UniqueViolationError, and nothing of the transaction stays', async () => {
      const { identity, flow } = await storedIdentityAndFlow();
      const taken = sessionRecord(identity.id);
      await store.sessions.insert(taken);
      const newcomer = identityRecord(T0);
      const err = await store.transaction(async (tx) => {
        await tx.flows.update(flow);
        await tx.identities.save(newcomer, true);
        await tx.sessions.insert(sessionRecord(newcomer.id, taken.tokenHash));
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UniqueViolationError);
      expect(await store.identities.get(newcomer.id)).toBeNull();
      expect(await store.flows.get(flow.id)).toMatchObject({ version: 1 });
    });

    it('a failure after the writes rolls all of them back', async () => {
      const { identity, flow } = await storedIdentityAndFlow();
      const session = sessionRecord(identity.id);
      await expect(store.transaction(async (tx) => {
        await tx.flows.update(flow);
        await tx.sessions.insert(session);
        throw new Error('the hook refused');
      })).rejects.toThrow('the hook refused');
      expect(await store.sessions.get(session.id)).toBeNull();
      expect(await store.flows.get(flow.id)).toMatchObject({ version: 1 });
    });

    it('a read inside the transaction sees its own writes, and a conflict found before it fails the transaction', async () => {
      const identity = identityRecord(T0);
      const flow = flowRecord(T0);
      const seen = await store.transaction(async (tx) => {
        await tx.identities.save(identity, true);
        await tx.flows.insert(flow);
        return { identity: await tx.identities.get(identity.id), flow: await tx.flows.get(flow.id) };
      });
      expect(seen.identity?.id).toBe(identity.id);
      expect(seen.flow?.id).toBe(flow.id);

      const session = sessionRecord(identity.id);
      await expect(store.transaction(async (tx) => {
        await tx.flows.update({ ...flow, version: 7 });
        await tx.sessions.insert(session);
        await tx.flows.get(flow.id);
      })).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.sessions.get(session.id)).toBeNull();
    });

    it('writes keep their order: a code voided after one was inserted for its address voids it', async () => {
      const flow = flowRecord(T0);
      await store.flows.insert(flow);
      const address = `${crypto.randomUUID()}@example.com`;
      const first = codeRecord(flow.id, address, T0);
      const second = codeRecord(flow.id, address, new Date(T0.getTime() + 1000));
      const voidAt = new Date(T0.getTime() + 500);
      await store.transaction(async (tx) => {
        await tx.codes.voidUnusedForAddress('verification', address, voidAt);
        await tx.codes.insert(first);
        await tx.codes.voidUnusedForAddress('verification', address, voidAt);
        await tx.codes.insert(second);
      });
      const unused = await store.codes.unusedForFlow(flow.id, 'verification');
      expect(unused.map((c) => c.id)).toEqual([second.id]);
    });

    if (db.name !== 'postgresql') {
      it('runs a transaction of writes at its end straight on the connection: BEGIN IMMEDIATE, the writes, COMMIT', async () => {
        const { identity, flow } = await storedIdentityAndFlow();
        const calls = await countDriverCalls(store.orm, () => loginCommit(flow, sessionRecord(identity.id)));
        expect(calls.counts['statement.run']).toBe(3);
        expect(calls.counts['db.exec']).toBe(2);
        expect(calls.statements, 'nothing went through knex').toEqual([]);
        expect((await store.flows.get(flow.id))?.version).toBe(2);
      });
    }

    if (db.name === 'sqlite-file') {
      it('takes the write lock only at its end: another connection writes meanwhile', async () => {
        const other = new Database(store.orm.config.get('dbName')!, { timeout: 0 });
        try {
          const flow = flowRecord(T0);
          await store.transaction(async (tx) => {
            await tx.flows.insert(flow);
            other.prepare('UPDATE selfservice_flows SET state = state WHERE id = ?').run(crypto.randomUUID());
          });
          expect((await store.flows.get(flow.id))?.id).toBe(flow.id);
        } finally {
          other.close();
        }
      });
    }

    if (db.name === 'postgresql') {
      it('sends a transaction of blind writes as one statement, with no BEGIN or COMMIT', async () => {
        const { identity, flow } = await storedIdentityAndFlow();
        const calls = await countDriverCalls(store.orm, () => loginCommit(flow, sessionRecord(identity.id)));
        expect(executions(calls), calls.statements.join('\n')).toBe(1);
        expect(calls.statements.join('\n')).not.toMatch(/^\s*(BEGIN|COMMIT)/im);
      });

      it('a read begins the transaction: what was kept goes first, in the same transaction', async () => {
        const flow = flowRecord(T0);
        const calls = await countDriverCalls(store.orm, () => store.transaction(async (tx) => {
          await tx.flows.insert(flow);
          await tx.flows.appendHistory([transition(flow, 0)]);
          expect((await tx.flows.get(flow.id))?.id).toBe(flow.id);
        }));
        expect(calls.statements.map((s) => s.split(/\s+/)[0].replace(/;$/, '').toUpperCase())).toEqual(['BEGIN', 'WITH', 'SELECT', 'COMMIT']);
      });
    }
  });
}
