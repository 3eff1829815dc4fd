import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124215255_initial } from './Migration20261124215255_initial.ts';

export const sqliteMigrations: MigrationObject[] = [
  { name: 'Migration20261124215255_initial', class: Migration20261124215255_initial },
];
