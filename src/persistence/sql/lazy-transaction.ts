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
 * SQLite runs in this process, where a statement costs no round trip: its writes run as they come.
 *
 * "Changed no row" (a flow moved on by a concurrent submit) must undo the whole statement: its guard turns the count of
 * rows the write returned into an integer cast that fails when there were none, so PostgreSQL aborts the statement,
 * and the failure, recognised by its constant marker, becomes the write's StoreConflictError.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../orm.ts';
import { StoreConflictError } from '../store.ts';
import type { EmSource, Write } from './em-source.ts';
import { queryRows, runStatement } from './statements.ts';

const CONFLICT_MARKER = 'idflow-unchanged-write-';
const CONFLICT_FAILURE = new RegExp(`"${CONFLICT_MARKER}(\\d+)"`);

/** The writes as one statement: each a CTE, then one guard per write that must change a row. */
export function asOneStatement(writes: readonly Write[]): { sql: string; params: unknown[] } {
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
 */
function keepable(write: Write, kept: readonly Write[]): boolean {
  const target = TARGET.exec(write.sql);
  if (!target) return false;
  if (/^INSERT/i.test(target[1])) return true;
  return !kept.some((k) => TARGET.exec(k.sql)?.[2].toLowerCase() === target[2].toLowerCase());
}

async function send(em: EntityManager, writes: readonly Write[]): Promise<void> {
  if (writes.length === 0) return;
  if (writes.length === 1) {
    const changed = await runStatement(em, writes[0].sql, writes[0].params);
    if (writes[0].conflict !== undefined && changed === 0) throw new StoreConflictError(writes[0].conflict);
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

export class LazyTransaction {
  readonly #orm: Orm;
  readonly #keepWrites: boolean;
  readonly #kept: Write[] = [];
  #begun?: Promise<EntityManager>;

  constructor(orm: Orm, options: { keepWrites: boolean }) {
    this.#orm = orm;
    this.#keepWrites = options.keepWrites;
  }

  readonly source: EmSource = {
    em: () => (this.#begun ??= this.#begin()),
    write: async (fn) => fn(await this.source.em()),
    keep: (write) => {
      if (this.#begun || !this.#keepWrites || !keepable(write, this.#kept)) return false;
      this.#kept.push(write);
      return true;
    },
  };

  async #begin(): Promise<EntityManager> {
    const em = this.#orm.em.fork();
    await em.begin();
    try {
      await send(em, this.#kept.splice(0));
    } catch (err) {
      await em.rollback().catch(() => undefined);
      throw err;
    }
    return em;
  }

  /** After the work succeeded: commits, or sends what was kept back as one statement when nothing began. */
  async commit(): Promise<void> {
    if (!this.#begun) return send(this.#orm.em.fork(), this.#kept.splice(0));
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
