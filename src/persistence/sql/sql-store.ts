import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Orm } from '../orm.ts';
import { UniqueViolationError, type Repositories, type SessionLookup as StoreSessionLookup, type Store } from '../store.ts';
import { autocommitSource, type EmSource } from './em-source.ts';
import { SqlIdentityRepository } from './identity-repository.ts';
import { SqlFlowRepository } from './flow-repository.ts';
import { SqlSessionRepository } from './session-repository.ts';
import { SqlTokenExchangeRepository } from './token-exchange-repository.ts';
import { SqlCodeRepository } from './code-repository.ts';
import { SqlCourierRepository } from './courier-repository.ts';
import { SqlErrorRepository } from './error-repository.ts';
import { createSessionLookup, type SessionLookup } from './session-lookup.ts';
import { LazyTransaction } from './lazy-transaction.ts';

export interface SqlStore extends Store {
  readonly dialect: 'sqlite' | 'postgresql';
  /** The ORM underneath (migrations, the CLI, tests that inspect rows); nothing outside src/persistence/ uses it. */
  readonly orm: Orm;
}

function repositories(source: EmSource, dialect: 'sqlite' | 'postgresql'): Repositories {
  return {
    identities: new SqlIdentityRepository(source, dialect),
    flows: new SqlFlowRepository(source, dialect),
    sessions: new SqlSessionRepository(source),
    codes: new SqlCodeRepository(source),
    tokenExchanges: new SqlTokenExchangeRepository(source),
    courier: new SqlCourierRepository(source, dialect),
    errors: new SqlErrorRepository(source),
  };
}

/** After `close`, lookups fail rather than opening a new reader nobody would close. */
const CLOSED_LOOKUP: StoreSessionLookup = {
  findByTokenHash: () => Promise.reject(new Error('the store is closed')),
};

/** The store on SQLite or PostgreSQL (MikroORM). */
export function createSqlStore(orm: Orm, dialect: 'sqlite' | 'postgresql'): SqlStore {
  let lookup: (SessionLookup & { close(): void }) | undefined;
  let closed = false;
  const outside = repositories(autocommitSource(orm), dialect);
  return {
    ...outside,
    dialect,
    orm,
    get sessionLookup() {
      if (closed) return CLOSED_LOOKUP;
      lookup ??= createSessionLookup(orm);
      return lookup;
    },
    async transaction(fn) {
      const hooks: Array<() => void> = [];
      let result;
      try {
        const lazy = new LazyTransaction(orm, dialect);
        try {
          result = await fn({ ...repositories(lazy.source, dialect), afterCommit: (hook) => hooks.push(hook) });
        } catch (err) {
          await lazy.rollback();
          throw err;
        }
        await lazy.commit();
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) throw new UniqueViolationError(err);
        throw err;
      }
      for (const hook of hooks) hook();
      return result;
    },
    async ping() {
      await orm.em.getConnection().execute('select 1');
    },
    async close() {
      closed = true;
      lookup?.close();
      lookup = undefined;
      await orm.close(true);
    },
  };
}
