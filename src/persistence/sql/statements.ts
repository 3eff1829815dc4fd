import type { EntityManager } from '@mikro-orm/core';

export type SqlDialect = 'sqlite' | 'postgresql';

/**
 * A raw statement on a repository's EntityManager — inside its transaction when it has one — through the ORM's
 * connection (values bound, see bound-connection.ts): its rows, without entity hydration or a unit of work.
 */
export function queryRows<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
}

/** `n` bound placeholders for an `IN (...)` list. */
export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
