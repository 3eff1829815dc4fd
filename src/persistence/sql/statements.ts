/**
 * Raw statements for the hot paths (a flow read and written per submit, its history, a session per login, an
 * identity per login): SQL with `?` placeholders, every value a bound parameter, run through the ORM's connection
 * (bound-connection.ts) — inside the EntityManager's transaction when it has one — and their rows read as they come.
 * No entity metadata, hydration, identity map or unit of work: measured per call, MikroORM's findOne of a flow cost
 * ~0.85 ms of CPU and a nativeUpdate ~0.6 ms, the same statement through `execute` ~0.1 ms (see the commit message).
 * Driver errors are converted as the ORM converts its own (a unique index: UniqueConstraintViolationException).
 * Their texts list their columns (never `*`): on PostgreSQL they run as named prepared statements (bound-connection.ts).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { PreparedExecute } from './bound-connection.ts';

export type SqlDialect = 'sqlite' | 'postgresql';

/** A write with its bound values, `?` placeholders in order. */
export interface Write {
  sql: string;
  params: unknown[];
  /** The write must change a row; when it changes none, the whole transaction fails with this StoreConflictError. */
  conflict?: string;
}

function convert(em: EntityManager, err: unknown): unknown {
  return em.getDriver().convertException(err as Error);
}

const connectionOf = (em: EntityManager) => em.getConnection() as unknown as PreparedExecute;

/** A statement's rows. */
export async function queryRows<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  try {
    return await connectionOf(em).executePrepared<T[]>(sql, params, 'all', em.getTransactionContext());
  } catch (err) {
    throw convert(em, err);
  }
}

/** A statement that writes: the number of rows it changed. */
export async function runStatement(em: EntityManager, sql: string, params: unknown[]): Promise<number> {
  try {
    const result = await connectionOf(em).executePrepared<{ affectedRows: number }>(sql, params, 'run', em.getTransactionContext());
    return result.affectedRows;
  } catch (err) {
    throw convert(em, err);
  }
}

/** `n` bound placeholders for an `IN (...)` list. */
export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** A JSON column's value as MikroORM writes it (JSON text, SQL NULL for null); bound as one parameter, never a list. */
export const jsonParam = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** `INSERT INTO table (columns) VALUES (...), (...)` for `rows` rows of `columns.length` bound values. */
export function insertSql(table: string, columns: readonly string[], rows: number): string {
  const tuple = `(${placeholders(columns.length)})`;
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`;
}
