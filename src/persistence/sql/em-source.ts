import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../orm.ts';

/** Where a repository gets its EntityManager: a transaction's, or a fresh fork per call (committed data only). */
export interface EmSource {
  /** For reads and single-statement writes. */
  em(): EntityManager;
  /** A multi-statement write: inside the open transaction, or in a transaction of its own. */
  write<T>(fn: (em: EntityManager) => Promise<T>): Promise<T>;
}

export function autocommitSource(orm: Orm): EmSource {
  return {
    em: () => orm.em.fork(),
    write: (fn) => orm.em.fork().transactional(fn),
  };
}

export function transactionSource(em: EntityManager): EmSource {
  return { em: () => em, write: (fn) => fn(em) };
}
