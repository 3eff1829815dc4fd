import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOrm } from '../../src/persistence/orm.ts';

export interface TestDatabase {
  name: 'sqlite' | 'sqlite-file' | 'postgresql';
  /** Creates a fresh, empty database and returns its DSN; `drop()` removes it. */
  create(): Promise<{ dsn: string; drop(): Promise<void> }>;
}

const sqlite: TestDatabase = {
  name: 'sqlite',
  async create() {
    return { dsn: 'memory', drop: async () => {} };
  },
};

/**
 * A SQLite database FILE (WAL) in a throwaway directory: what `npm start` and production SQLite run on. The suites
 * use `memory` for speed; code whose behaviour differs for files (the whoami reader) is tested on this as well.
 */
export const sqliteFile: TestDatabase = {
  name: 'sqlite-file',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'idflow-test-'));
    return { dsn: `sqlite://${join(dir, 'db.sqlite')}?_fk=true`, drop: () => rm(dir, { recursive: true, force: true }) };
  },
};

/** One throwaway database per call on the PostgreSQL server at TEST_DATABASE_URL. */
function postgres(baseUrl: string): TestDatabase {
  return {
    name: 'postgresql',
    async create() {
      const name = `idflow_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      const admin = await openOrm(baseUrl);
      try {
        await admin.em.getConnection().execute(`CREATE DATABASE ${name}`);
      } finally {
        await admin.close(true);
      }
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return {
        dsn: url.toString(),
        async drop() {
          const admin2 = await openOrm(baseUrl);
          try {
            await admin2.em.getConnection().execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          } finally {
            await admin2.close(true);
          }
        },
      };
    },
  };
}

/** SQLite always; PostgreSQL too when TEST_DATABASE_URL is set. */
export function testDatabases(): TestDatabase[] {
  const url = process.env.TEST_DATABASE_URL;
  return url ? [sqlite, postgres(url)] : [sqlite];
}
