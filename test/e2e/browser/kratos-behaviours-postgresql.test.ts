/** The Kratos browser behaviours (kratos-behaviours.ts) on PostgreSQL, when TEST_DATABASE_URL names one. */
import { describe, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { describeKratosBehaviours } from './kratos-behaviours.ts';

const postgresql = testDatabases().find((db) => db.name === 'postgresql');
if (postgresql) describeKratosBehaviours(postgresql);
else describe.skip('Kratos browser behaviours on PostgreSQL', () => it('needs TEST_DATABASE_URL', () => undefined));
