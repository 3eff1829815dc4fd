import { openStore } from '../../../src/persistence/open-store.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { storeContract } from './store-contract.ts';

// SQLite in memory and in a file (WAL), and PostgreSQL when TEST_DATABASE_URL is set.
for (const db of [...testDatabases(), sqliteFile]) {
  storeContract(db.name === 'sqlite' ? 'sqlite :memory:' : db.name, async () => {
    const created = await db.create();
    const { store } = await openStore(created.dsn, { migrations: 'auto' });
    return {
      store,
      async close() {
        await store.close();
        await created.drop();
      },
    };
  });
}
