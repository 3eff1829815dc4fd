import { afterAll, beforeAll } from 'vitest';
import { openStore } from '../../src/persistence/open-store.ts';
import type { SqlStore } from '../../src/persistence/sql/sql-store.ts';
import type { TestDatabase } from './databases.ts';

/**
 * For the describe block it is called in: a migrated store on a scratch database of `db`, handed to `opened` before
 * the tests run, closed and the database dropped after them.
 */
export function useScratchStore(db: TestDatabase, opened: (store: SqlStore) => void): void {
  let store: SqlStore | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await db.create();
    drop = created.drop;
    store = (await openStore(created.dsn, { migrations: 'auto' })).store;
    opened(store);
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });
}
