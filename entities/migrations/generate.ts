/**
 * Generates a migration per dialect from the difference between the entities and a database migrated to the
 * current head, and rewrites each dialect's index.ts.
 *
 *   npx tsx entities/migrations/generate.ts NAME            add a migration
 *   npx tsx entities/migrations/generate.ts initial --reset  regenerate the initial migration (only before a
 *                                                           release: databases remember migration names)
 *
 * Needs PostgreSQL at TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2] ?? 'schema';
const reset = process.argv.includes('--reset');
const pgBase = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dialects = ['sqlite', 'postgresql'] as const;
const dirOf = (dialect: string) => fileURLToPath(new URL(`./${dialect}/`, import.meta.url));

/** Rewrites <dialect>/index.ts to list every migration file in name (= time) order. */
function writeIndex(dialect: string) {
  const dir = dirOf(dialect);
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

if (reset) {
  for (const dialect of dialects) {
    for (const file of readdirSync(dirOf(dialect)).filter((f) => f.startsWith('Migration'))) rmSync(join(dirOf(dialect), file));
    writeIndex(dialect);
  }
}

// Imported only now: the ORM module imports the (possibly just reset) migration lists.
const { openOrm } = await import('../../src/persistence/orm.ts');
type Migrator = import('@mikro-orm/migrations').Migrator;

async function generate(dsn: string, dialect: (typeof dialects)[number]) {
  const orm = await openOrm(dsn);
  try {
    const migrator = orm.getMigrator() as Migrator;
    await migrator.up();
    const path = dirOf(dialect);
    const options = orm.config.get('migrations') as { path?: string; pathTs?: string };
    options.path = path;
    options.pathTs = path;
    const result = await migrator.createMigration(path, false, false, name);
    console.log(dialect, result.fileName || '(no changes)');
    writeIndex(dialect);
  } finally {
    await orm.close(true);
  }
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
