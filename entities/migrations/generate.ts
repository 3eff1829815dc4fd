/**
 * Generates a migration per dialect from the difference between the entities and a database migrated to the
 * current head. Usage: `npx tsx entities/migrations/generate.ts [name]` (needs PostgreSQL at
 * TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres). It also rewrites each dialect's index.ts.
 */
import { Migrator } from '@mikro-orm/migrations';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openOrm } from '../../src/persistence/orm.ts';

const name = process.argv[2] ?? 'schema';
const pgBase = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function generate(dsn: string, dialect: 'sqlite' | 'postgresql', prepare?: () => Promise<void>) {
  await prepare?.();
  const orm = await openOrm(dsn);
  try {
    const migrator = orm.getMigrator() as Migrator;
    await migrator.up();
    const path = fileURLToPath(new URL(`./${dialect}/`, import.meta.url));
    (orm.config.get('migrations') as { path?: string; pathTs?: string }).path = path;
    (orm.config.get('migrations') as { path?: string; pathTs?: string }).pathTs = path;
    const result = await migrator.createMigration(path, false, false, name);
    console.log(dialect, result.fileName || '(no changes)');
    writeIndex(path, dialect);
  } finally {
    await orm.close(true);
  }
}

/** Rewrites <dialect>/index.ts to list every migration file in name (= time) order. */
function writeIndex(dir: string, dialect: string) {
  const names = readdirSync(dir).filter((f) => /^Migration.*\.ts$/.test(f)).sort().map((f) => f.replace(/\.ts$/, ''));
  const lines = [
    `import type { MigrationObject } from '@mikro-orm/core';`,
    ...names.map((n) => `import { ${n} } from './${n}.ts';`),
    '',
    `export const ${dialect}Migrations: MigrationObject[] = [`,
    ...names.map((n) => `  { name: '${n}', class: ${n} },`),
    '];',
    '',
  ];
  writeFileSync(join(dir, 'index.ts'), lines.join('\n'));
}

const tmpDb = `idflow_gen_${Date.now()}`;
await generate('memory', 'sqlite');
const admin = await openOrm(pgBase);
await admin.em.getConnection().execute(`CREATE DATABASE ${tmpDb}`);
try {
  const url = new URL(pgBase);
  url.pathname = `/${tmpDb}`;
  await generate(url.toString(), 'postgresql');
} finally {
  await admin.em.getConnection().execute(`DROP DATABASE ${tmpDb}`);
  await admin.close(true);
}
