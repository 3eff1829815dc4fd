/**
 * A transaction that begins at its first statement and commits with `em.begin()` / `em.commit()` (MikroORM's
 * `transactional()` around the same insert cost ~1.1 ms against ~0.6 ms here: its context plumbing, not the database).
 *
 * On PostgreSQL it also keeps its blind writes back (a flow's next version, its history, a new session, a new
 * identity's rows: writes whose answer nobody reads but a "changed no row" check): the first read, or any other
 * statement, begins the transaction and sends them first as one statement; a transaction that only wrote sends them at
 * its end as ONE statement on its own — data-modifying CTEs, atomic without BEGIN and COMMIT, foreign keys checked
 * when every row is in. A login's commit was five statements (BEGIN, the flow, its history, the session, COMMIT), each
 * ~0.5 ms of driver and ORM work on the event loop and a round trip to PostgreSQL in another process; it is one.
 *
 * SQLite runs in this process, where a statement costs no round trip but the same ORM and knex work: it keeps its
 * writes back too, and a transaction that only wrote runs them in order at its end, straight on the libsql connection
 * between BEGIN IMMEDIATE and COMMIT in one synchronous step (bound-connection.ts, runAtomically), so it also holds
 * the database's write lock only for that moment.
 *
 * "Changed no row" (a flow moved on by a concurrent submit) must undo the whole statement: its guard turns the count of
 * rows the write returned into an integer cast that fails when there were none, so PostgreSQL aborts the statement,
 * and the failure, recognised by its constant marker, becomes the write's StoreConflictError.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../orm.ts';
import { StoreConflictError } from '../store.ts';
import type { EmSource, Write } from './em-source.ts';
import type { AtomicWrites } from './bound-connection.ts';
import { queryRows, runStatement, type SqlDialect } from './statements.ts';

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

const TARGET = /^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([\w.]+)/i;

/**
 * The parts of one statement all see the database as it was before it: an UPDATE or DELETE kept after another kept
 * write to its table would not see that write's rows, where run in order it would (a code voided after one inserted,
 * a row changed twice). Such a write is not kept: the transaction begins, what was kept goes first, then it runs.
 * (The UPDATEs kept change no unique key — a flow's version, a code's use — so parts never collide on an index.)
 */
function keepable(write: Write, kept: readonly Write[]): boolean {
  const target = TARGET.exec(write.sql);
  if (!target) return false;
  if (/^INSERT/i.test(target[1])) return true;
  return !kept.some((k) => TARGET.exec(k.sql)?.[2].toLowerCase() === target[2].toLowerCase());
}

async function sendInOrder(em: EntityManager, writes: readonly Write[]): Promise<void> {
  for (const write of writes) {
    const changed = await runStatement(em, write.sql, write.params);
    if (write.conflict !== undefined && changed === 0) throw new StoreConflictError(write.conflict);
  }
}

/** PostgreSQL: the writes as one statement (inside the open transaction, or atomic on its own). */
async function sendAsOne(em: EntityManager, writes: readonly Write[]): Promise<void> {
  if (writes.length <= 1) return sendInOrder(em, writes);
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
async function sendAtomically(em: EntityManager, writes: readonly Write[]): Promise<void> {
  if (writes.length === 0) return;
  let unchanged: number | undefined;
  try {
    unchanged = await (em.getConnection() as unknown as AtomicWrites).runAtomically(
      writes.map((w) => ({ sql: w.sql, params: w.params, mustChange: w.conflict !== undefined })),
    );
  } catch (err) {
    throw em.getDriver().convertException(err as Error);
  }
  if (unchanged !== undefined) throw new StoreConflictError(writes[unchanged].conflict!);
}

export class LazyTransaction {
  readonly #orm: Orm;
  readonly #dialect: SqlDialect;
  readonly #kept: Write[] = [];
  #begun?: Promise<EntityManager>;

  constructor(orm: Orm, dialect: SqlDialect) {
    this.#orm = orm;
    this.#dialect = dialect;
  }

  readonly source: EmSource = {
    em: () => (this.#begun ??= this.#begin()),
    write: async (fn) => fn(await this.source.em()),
    keep: (...writes) => {
      if (this.#begun) return false;
      // SQLite runs what it kept one after the other, in order: any write will do.
      const fits = (write: Write, n: number) => (this.#dialect === 'postgresql'
        ? keepable(write, [...this.#kept, ...writes.slice(0, n)])
        : TARGET.test(write.sql));
      if (!writes.every(fits)) return false;
      this.#kept.push(...writes);
      return true;
    },
  };

  async #begin(): Promise<EntityManager> {
    const em = this.#orm.em.fork();
    await em.begin();
    try {
      const kept = this.#kept.splice(0);
      await (this.#dialect === 'postgresql' ? sendAsOne(em, kept) : sendInOrder(em, kept));
    } catch (err) {
      await em.rollback().catch(() => undefined);
      throw err;
    }
    return em;
  }

  /** After the work succeeded: commits, or sends what was kept back in a transaction of its own when nothing began. */
  async commit(): Promise<void> {
    if (!this.#begun) {
      const kept = this.#kept.splice(0);
      return this.#dialect === 'postgresql' ? sendAsOne(this.#orm.em.fork(), kept) : sendAtomically(this.#orm.em.fork(), kept);
    }
    const em = await this.#begun;
    try {
      await em.commit();
    } catch (err) {
      await em.rollback().catch(() => undefined);
      throw err;
    }
  }

  /** After the work failed: nothing kept back is sent; a begun transaction rolls back. */
  async rollback(): Promise<void> {
    this.#kept.length = 0;
    const em = await this.#begun?.catch(() => undefined);
    await em?.rollback();
  }
}
