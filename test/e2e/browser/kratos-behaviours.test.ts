/** The Kratos browser behaviours (kratos-behaviours.ts) on SQLite; PostgreSQL runs them in its own file, in parallel. */
import { testDatabases } from '../../support/databases.ts';
import { describeKratosBehaviours } from './kratos-behaviours.ts';

describeKratosBehaviours(testDatabases()[0]);
