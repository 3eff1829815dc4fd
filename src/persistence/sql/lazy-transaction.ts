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
 * the database's write lock only for that moment. How the kept writes are sent: writes.ts.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../orm.ts';
import type { EmSource } from './em-source.ts';
import type { SqlDialect, Write } from './statements.ts';
import { runWrites, runWritesAtomically } from './writes.ts';

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
      await runWrites(em, this.#dialect, this.#kept.splice(0));
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
      const em = this.#orm.em.fork();
      return this.#dialect === 'postgresql' ? runWrites(em, this.#dialect, kept) : runWritesAtomically(em, kept);
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
