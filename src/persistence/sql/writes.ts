/**
 * How a group of writes reaches the database (writes.ts is their one owner): in order, statement by statement; on
 * PostgreSQL as ONE statement of data-modifying CTEs (one round trip, atomic on its own, foreign keys checked when
 * every row is in); on SQLite in a transaction of their own straight on the connection (bound-connection.ts).
 *
 * "Changed no row" (a flow moved on by a concurrent submit) must undo the whole statement: its guard turns the count of
 * rows the write returned into an integer cast that fails when there were none, so PostgreSQL aborts the statement,
 * and the failure, recognised by its constant marker, becomes the write's StoreConflictError.
 */
import type { EntityManager } from '@mikro-orm/core';
import { StoreConflictError } from '../store.ts';
import type { AtomicWrites } from './bound-connection.ts';
import { queryRows, runStatement, type SqlDialect, type Write } from './statements.ts';

const CONFLICT_MARKER = 'idflow-unchanged-write-';
const CONFLICT_FAILURE = new RegExp(`"${CONFLICT_MARKER}(\\d+)"`);

/** The writes as one statement: each a CTE, then one guard per write that must change a row. */
function asOneStatement(writes: readonly Write[]): { sql: string; params: unknown[] } {
  const ctes = writes.map((w, n) => `w${n} AS (${w.sql}${w.conflict !== undefined ? ' RETURNING 1' : ''})`);
  const guards = writes.flatMap((w, n) => (w.conflict !== undefined
    ? [`CAST((SELECT CASE WHEN count(*) > 0 THEN '0' ELSE '${CONFLICT_MARKER}${n}' END FROM w${n}) AS integer) AS g${n}`]
    : []));
  return { sql: `WITH ${ctes.join(', ')} SELECT ${guards.length > 0 ? guards.join(', ') : '1'}`, params: writes.flatMap((w) => w.params) };
}

/** One write; a write that must change a row and changed none is a StoreConflictError. */
export async function runWrite(em: EntityManager, write: Write): Promise<void> {
  const changed = await runStatement(em, write.sql, write.params);
  if (write.conflict !== undefined && changed === 0) throw new StoreConflictError(write.conflict);
}

/** The writes on `em` (inside its transaction, if it has one): one statement on PostgreSQL, in order on SQLite. */
export async function runWrites(em: EntityManager, dialect: SqlDialect, writes: readonly Write[]): Promise<void> {
  if (dialect === 'sqlite' || writes.length <= 1) {
    for (const write of writes) await runWrite(em, write);
    return;
  }
  const { sql, params } = asOneStatement(writes);
  try {
    await queryRows(em, sql, params);
  } catch (err) {
    const failed = err instanceof Error ? CONFLICT_FAILURE.exec(err.message) : null;
    const write = failed ? writes[Number(failed[1])] : undefined;
    if (write?.conflict !== undefined) throw new StoreConflictError(write.conflict, { cause: err });
    throw err;
  }
}

/** SQLite: the writes in a transaction of their own, straight on the connection (bound-connection.ts). */
export async function runWritesAtomically(em: EntityManager, writes: readonly Write[]): Promise<void> {
  if (writes.length === 0) return;
  let unchanged: number | undefined;
  try {
    unchanged = await (em.getConnection() as unknown as AtomicWrites).runAtomically(writes);
  } catch (err) {
    throw em.getDriver().convertException(err as Error);
  }
  if (unchanged !== undefined) throw new StoreConflictError(writes[unchanged].conflict!);
}
