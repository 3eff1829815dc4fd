/**
 * Regression (found moving to libsql, whose statements run synchronously on the event loop): with SQLite's busy
 * handler, a connection waiting for another connection's write lock slept the whole process, so when the lock holder
 * lived in the same process it could not commit meanwhile, and every such wait ran the full busy timeout, then failed.
 * SQLITE_BUSY is now waited out asynchronously and transactions begin IMMEDIATE (bound-connection.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openOrm, type Orm } from '../../src/persistence/orm.ts';
import { sqliteFile } from '../support/databases.ts';

describe('two connections to one SQLite file in one process', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function twoOrms(): Promise<[Orm, Orm]> {
    const created = await sqliteFile.create();
    const a = await openOrm(created.dsn);
    const b = await openOrm(created.dsn);
    cleanups.push(async () => {
      await a.close(true);
      await b.close(true);
      await created.drop();
    });
    await a.em.getConnection().execute('CREATE TABLE t (x INTEGER)');
    return [a, b];
  }

  it('a write waits for the other connection\'s transaction without stopping the event loop', async () => {
    const [a, b] = await twoOrms();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    try {
      let committedAt = 0;
      const started = Date.now();
      const holder = a.em.fork().transactional(async (em) => {
        await em.getConnection().execute('INSERT INTO t VALUES (1)', [], 'run', em.getTransactionContext());
        await new Promise((resolve) => setTimeout(resolve, 100)); // the write lock is held across an await
        committedAt = Date.now();
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
      const ticksBefore = ticks;
      await b.em.getConnection().execute('INSERT INTO t VALUES (2)', [], 'run');
      const doneAt = Date.now();
      await holder;
      expect(committedAt).toBeGreaterThan(0);
      expect(doneAt).toBeGreaterThanOrEqual(committedAt);
      expect(doneAt - started).toBeLessThan(2_000); // not the 10 s budget
      expect(ticks - ticksBefore).toBeGreaterThan(3); // timers kept running while it waited
    } finally {
      clearInterval(ticker);
    }
    expect(await a.em.getConnection().execute('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }]);
  });

  it('concurrent read-then-write transactions on both connections all commit (BEGIN IMMEDIATE: no SQLITE_BUSY inside)', async () => {
    const [a, b] = await twoOrms();
    const bump = (orm: Orm) => orm.em.fork().transactional(async (em) => {
      const ctx = em.getTransactionContext();
      const [row] = await em.getConnection().execute<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM t', [], 'all', ctx);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await em.getConnection().execute('INSERT INTO t VALUES (?)', [row.n], 'run', ctx);
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => bump(i % 2 ? a : b)));
    const rows = await a.em.getConnection().execute<Array<{ x: number }>>('SELECT x FROM t ORDER BY x');
    expect(rows.map((r: { x: number }) => r.x)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // serialised: each saw the previous commits
  });
});
