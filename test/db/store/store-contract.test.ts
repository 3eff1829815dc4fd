import { openStore } from '../../../src/persistence/open-store.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { storeContract, type OpenedStore } from './store-contract.ts';
import { storeParity } from './store-parity.ts';

// SQLite in memory and in a file (WAL), and PostgreSQL when TEST_DATABASE_URL is set.
for (const db of [...testDatabases(), sqliteFile]) {
  const open = async (): Promise<OpenedStore> => {
    const created = await db.create();
    const { store } = await openStore(created.dsn, { migrations: 'auto' });
    return {
      store,
      async close() {
        await store.close();
        await created.drop();
      },
    };
  };
  const name = db.name === 'sqlite' ? 'sqlite :memory:' : db.name;
  storeContract(name, open);
  // What the in-memory store copies from these (courier leases, the whoami lookup, orders, JSON columns).
  storeParity(name, open);
}
