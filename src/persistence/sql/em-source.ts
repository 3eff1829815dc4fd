import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../orm.ts';
import type { Write } from './statements.ts';
import { runWrite } from './writes.ts';

/** Where a repository gets its EntityManager: a transaction's, or a fresh fork per call (committed data only). */
export interface EmSource {
  /** For reads and single-statement writes (inside a transaction: once the writes kept back have been sent). */
  em(): Promise<EntityManager>;
  /** A multi-statement write: inside the open transaction, or in a transaction of its own. */
  write<T>(fn: (em: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Keeps blind writes back to send them with others (a transaction, see lazy-transaction.ts): true when all were
   * kept, false when none was and the caller must run them now.
   */
  keep(...writes: Write[]): boolean;
}

export function autocommitSource(orm: Orm): EmSource {
  return {
    em: async () => orm.em.fork(),
    write: (fn) => orm.em.fork().transactional(fn),
    keep: () => false,
  };
}

/** Runs a blind write now, or leaves it to the transaction that keeps it back. */
export async function runOrKeep(source: EmSource, write: Write): Promise<void> {
  if (!source.keep(write)) await runWrite(await source.em(), write);
}
