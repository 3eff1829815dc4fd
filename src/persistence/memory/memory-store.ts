/**
 * The store in memory, for unit tests of flows and methods without a database. It behaves as the SQL store does
 * wherever test/db/store/store-contract.ts looks (unique indexes, optimistic locking, keyset pages, the order of
 * credentials and addresses, ids that are not UUIDs matching nothing, courier leases), and returns copies: nothing a
 * caller does to a record it got back, or to one it handed in, reaches the store.
 *
 * Writers take turns, as SQLite's single writer does: a transaction holds the writer lock from its start to its end
 * and works on a copy-on-write view of the tables, which becomes the committed state when its callback returns and
 * is dropped when it throws. A write outside a transaction applies at once (after the open transaction, if there is
 * one). Reads outside a transaction see committed data only. A write through the store itself, or a nested
 * `transaction`, from inside a transaction's callback would wait for that transaction forever (on SQLite it does):
 * here it is refused at once with an error naming the mistake.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ActiveSession } from '../../session/session.ts';
import type { Clock } from '../../x/clock.ts';
import { credentialKinds } from '../../session/aal.ts';
import { identityPublicJson } from '../../session/identity-read-model.ts';
import type { Repositories, SessionLookup, SessionRecord, Store, Transaction } from '../store.ts';
import { MemoryCodeRepository } from './memory-code-repository.ts';
import { MemoryCourierRepository } from './memory-courier-repository.ts';
import { MemoryTokenExchangeRepository } from './memory-token-exchange-repository.ts';
import { MemoryErrorRepository } from './memory-error-repository.ts';
import { MemoryFlowRepository } from './memory-flow-repository.ts';
import { MemoryIdentityRepository, toIdentityRecord } from './memory-identity-repository.ts';
import { MemorySessionRepository } from './memory-session-repository.ts';
import { copy, deepFreeze, emptyTables, Working, type IdentityRow, type Source, type Tables } from './memory-tables.ts';

export interface MemoryStoreOptions {
  /**
   * Accepted so the composition root can hand every store the same options. Unused today: like the SQL store, this
   * one writes only the times its callers pass.
   */
  clock?: Clock;
}

export interface MemoryStore extends Store {
  readonly dialect: 'memory';
}

/** One writer at a time, first come first served. */
class WriterLock {
  #held = false;
  readonly #waiting: Array<() => void> = [];

  tryAcquire(): boolean {
    if (this.#held) return false;
    this.#held = true;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }
}

function repositories(source: Source): Repositories {
  return {
    identities: new MemoryIdentityRepository(source),
    flows: new MemoryFlowRepository(source),
    sessions: new MemorySessionRepository(source),
    codes: new MemoryCodeRepository(source),
    courier: new MemoryCourierRepository(source),
    errors: new MemoryErrorRepository(source),
    tokenExchanges: new MemoryTokenExchangeRepository(source),
  };
}

/** What the SQL lookup's joined row maps to: the session without its token hashes, the identity without credentials. */
function activeSession(session: SessionRecord, identity: IdentityRow): ActiveSession {
  const { tokenHash: _token, logoutTokenHash: _logout, ...view } = copy(session);
  const record = toIdentityRecord(identity);
  return deepFreeze({
    ...view,
    identity: { ...record, credentials: [] },
    credentialTypes: credentialKinds(identity.credentials),
    identityPublicJson: identityPublicJson(record),
  });
}

export function createMemoryStore(_options: MemoryStoreOptions = {}): MemoryStore {
  let committed: Tables = emptyTables();
  let closed = false;
  const lock = new WriterLock();
  /** The transaction whose callback the current async call runs in, if any. */
  const inside = new AsyncLocalStorage<{ open: boolean }>();

  const assertOpen = () => {
    if (closed) throw new Error('the store is closed');
  };
  const assertNotInsideTransaction = (what: string) => {
    if (inside.getStore()?.open) {
      throw new Error(`memory store: ${what} from inside a transaction's callback would wait for that transaction forever (use the transaction's repositories)`);
    }
  };

  /** Writes in place under the writer lock: every operation checks before it changes anything, so a throw leaves no trace. */
  const autocommit: Source = {
    read(name) {
      assertOpen();
      return committed[name];
    },
    async write(op) {
      assertOpen();
      assertNotInsideTransaction('a write through the store');
      if (!lock.tryAcquire()) await lock.acquire();
      try {
        assertOpen();
        const working = new Working(committed, false);
        const result = op(working);
        committed = working.tables;
        return result;
      } finally {
        lock.release();
      }
    },
  };

  const sessionLookup: SessionLookup = {
    async findByTokenHash(tokenHash) {
      assertOpen();
      for (const session of committed.sessions.values()) {
        if (session.tokenHash !== tokenHash) continue;
        const identity = committed.identities.get(session.identityId);
        return identity ? activeSession(session, identity) : undefined;
      }
      return undefined;
    },
  };

  return {
    ...repositories(autocommit),
    dialect: 'memory',
    sessionLookup,

    async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      assertOpen();
      assertNotInsideTransaction('a nested transaction');
      await lock.acquire();
      const state = { open: true };
      const hooks: Array<() => void> = [];
      let result: T;
      try {
        assertOpen();
        const working = new Working(committed, true);
        const live = () => {
          assertOpen();
          if (!state.open) throw new Error('memory store: this transaction has ended');
        };
        const source: Source = {
          read(name) {
            live();
            return working.read(name);
          },
          async write(op) {
            live();
            return op(working);
          },
        };
        const tx: Transaction = {
          ...repositories(source),
          afterCommit(hook) {
            live();
            hooks.push(hook);
          },
        };
        result = await inside.run(state, () => fn(tx));
        assertOpen();
        committed = working.tables;
      } finally {
        state.open = false;
        lock.release();
      }
      for (const hook of hooks) hook();
      return result;
    },

    async ping() {
      assertOpen();
    },

    async close() {
      closed = true;
    },
  };
}
