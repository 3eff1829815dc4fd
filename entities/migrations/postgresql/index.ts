import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124215256_initial } from './Migration20261124215256_initial.ts';

export const postgresqlMigrations: MigrationObject[] = [
  { name: 'Migration20261124215256_initial', class: Migration20261124215256_initial },
];
