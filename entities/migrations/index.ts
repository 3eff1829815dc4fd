import type { MigrationObject } from '@mikro-orm/core';
import { sqliteMigrations } from './sqlite/index.ts';
import { postgresqlMigrations } from './postgresql/index.ts';

/** Migrations are listed explicitly (no filesystem discovery) so they run from source, from dist/ and on Deno. */
export function migrationsFor(dialect: 'sqlite' | 'postgresql'): MigrationObject[] {
  return dialect === 'sqlite' ? sqliteMigrations : postgresqlMigrations;
}
