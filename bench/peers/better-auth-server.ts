/**
 * Better Auth (the peer the goal table compares idflow with) as a standalone server, spawned by the goals bench:
 * `node --import tsx bench/peers/better-auth-server.ts` with
 *   BETTER_AUTH_DATABASE  `sqlite` (BETTER_AUTH_DSN = a file path) or `postgresql` (BETTER_AUTH_DSN = a postgres:// URL)
 * It creates Better Auth's schema with its own migrations, listens on an ephemeral loopback port and prints
 * `better-auth listening on <port>`.
 *
 * Better Auth runs at its defaults: email and password enabled (scrypt through node:crypto, N=16384 r=16 p=1),
 * database sessions with no cookie cache (so get-session reads the database each time, as idflow's whoami does),
 * auto sign-in after sign-up. What is set, and why:
 * - `rateLimit.enabled: false`: the bench turns idflow's rate limits off too (Better Auth's are off outside
 *   NODE_ENV=production anyway);
 * - `telemetry.enabled: false` (already its default): no traffic off loopback;
 * - `baseURL` / `trustedOrigins`: the bench sends `origin: http://127.0.0.1`, which the origin check must accept;
 * - SQLite in WAL mode, like idflow's; the handler sits on bare node:http with no framework in front of it, so any
 *   doubt favours the peer.
 */
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import Database from 'libsql';
import pg from 'pg';

const kind = process.env.BETTER_AUTH_DATABASE;
const dsn = process.env.BETTER_AUTH_DSN;
if ((kind !== 'sqlite' && kind !== 'postgresql') || !dsn) {
  throw new Error('set BETTER_AUTH_DATABASE (sqlite | postgresql) and BETTER_AUTH_DSN');
}

let dialect: Dialect;
let closeDatabase: () => Promise<void>;
if (kind === 'sqlite') {
  const database = new Database(dsn);
  database.exec('PRAGMA journal_mode = WAL;');
  // libsql's Database is better-sqlite3's API, which Kysely's SqliteDialect expects.
  dialect = new SqliteDialect({ database: database as unknown as ConstructorParameters<typeof SqliteDialect>[0]['database'] });
  closeDatabase = async () => { database.close(); };
} else {
  const pool = new pg.Pool({ connectionString: dsn });
  dialect = new PostgresDialect({ pool });
  closeDatabase = () => pool.end();
}

const auth = betterAuth({
  baseURL: 'http://127.0.0.1',
  trustedOrigins: ['http://127.0.0.1'],
  secret: 'bench-better-auth-secret-0123456789abcdef',
  database: { dialect, type: kind === 'sqlite' ? 'sqlite' : 'postgres' },
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const server = createServer(toNodeHandler(auth));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`better-auth listening on ${typeof address === 'object' && address ? address.port : address}`);
});

const stop = () => {
  server.close(() => { void closeDatabase().finally(() => process.exit(0)); });
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
