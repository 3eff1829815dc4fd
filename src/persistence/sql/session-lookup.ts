/**
 * The `whoami` hot path: ONE prepared SQL statement per dialect that returns a session row joined with its identity's
 * row, whoami's read model of the identity (session/identity-read-model.ts: its JSON, kept beside the row by every
 * write) and the TYPES of its credentials (aggregated inside the same statement, read live every time; they let
 * whoami enforce `required_aal: highest_available` without a second query). An identity without a read model has
 * its addresses aggregated instead. No ORM entity hydration, no unit of work, no credential configs (hashes, secrets)
 * loaded; an identity from its read model is parsed only if something reads more than whoami needs.
 *
 * How the raw driver is reached (all of it lives in this module):
 * - `orm.em.getConnection().getKnex().client` is the knex Client MikroORM owns; its `acquireConnection()` /
 *   `releaseConnection()` borrow a raw driver connection from the same tarn pool MikroORM uses, so pool limits and
 *   transaction exclusivity are respected (on SQLite, pool size 1: a lookup waits while a transaction holds the
 *   connection, so never call `find` from inside an open SQLite transaction).
 * - SQLite is libsql (better-sqlite3's synchronous API): a statement runs on the calling thread, with no thread-pool
 *   round trip. Statements run in raw mode (rows come back as arrays: no per-row object to build, and the memo below
 *   compares them value by value); `get` resets the statement, so no read transaction outlives a lookup.
 * - SQLite database file: a dedicated READ-ONLY connection of its own (`PRAGMA query_only`), outside the ORM's pool,
 *   runs the prepared statement, so a lookup never queues behind the pool's single connection while a request holds
 *   it for a transaction. The ORM opens file databases in WAL mode, where a reader never waits for a writer and sees
 *   every commit made before its statement starts, so a revoked session or a disabled identity is refused by the very
 *   next lookup; lookups asked in the same event-loop turn share a read transaction begun after the last of them was
 *   asked (SqliteFileSessionLookup). The rare SQLITE_BUSY a WAL reader can meet (while another connection recovers the
 *   WAL index) is answered through the pool instead of by busy-waiting on the event loop (busy timeout 0).
 * - SQLite `:memory:` databases exist only inside the pool's connection (a second connection would open a different,
 *   empty database): the statement is prepared once per pool connection (a WeakMap, so a connection the pool
 *   replaced drops its entry) and run while the connection is borrowed.
 * - PostgreSQL (`client.dialect === 'postgresql'`): concurrent lookups share one statement (PgSessionLookup); the raw
 *   connection is a `pg.Client`; the query is sent as a named prepared statement `{ name, text, values }`, which pg
 *   parses once per connection and then only binds/executes.
 *   (Named statements need session-level pooling: with PgBouncer in transaction mode use `max_prepared_statements`.)
 *   MikroORM installs type parsers returning timestamptz as text; json/jsonb come back parsed.
 */
import { existsSync } from 'node:fs';
import { setImmediate } from 'node:timers';
import type { MikroORM } from '@mikro-orm/core';
import { ReadBatcher, type Waiting } from '../../x/read-batcher.ts';
import type { IdentityRecord, IdentityState } from '../../identity/identity.ts';
import { sortAddresses } from '../../session/identity-read-model.ts';
import type { ActiveSession, AuthenticationMethodRecord, AuthenticatorAssuranceLevel, SessionDeviceRecord } from '../../session/session.ts';
import { parseBool, parseDbDate, parseJson, parseNullableDate, parseNullableJson, recoveryAddressFromJson, verifiableAddressFromJson } from './row-values.ts';

export { parseDbDate } from './row-values.ts';

/** The minimal surface of knex's Client used here. */
interface KnexClientLike {
  dialect?: string;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void> | void;
}

/** The part of libsql's `Statement` used here (better-sqlite3's API). */
interface LibsqlStatement {
  raw(on?: boolean): LibsqlStatement;
  columns(): Array<{ name: string }>;
  /** In raw mode: the first row's values in column order. */
  get(...params: unknown[]): unknown[] | undefined;
}

/** The part of libsql's `Database` used here. */
interface LibsqlDatabase {
  readonly inTransaction: boolean;
  prepare(sql: string): LibsqlStatement;
  exec(sql: string): void;
  close(): void;
}

type LibsqlDatabaseClass = new (path: string, options?: { timeout?: number }) => LibsqlDatabase;

interface PgClientLike {
  query(config: { name: string; text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: unknown[][]; fields: Array<{ name: string }> }>;
}

export type LookupDialect = 'sqlite' | 'postgresql';

/** Looks a session up by the SHA-256 hex hash of its token. */
export interface SessionLookup {
  readonly dialect: LookupDialect;
  /** The joined row, whatever its state (the caller checks active / expiry / identity state). */
  findByTokenHash(tokenHash: string): Promise<ActiveSession | undefined>;
  /** Releases what the lookup opened of its own (the file reader); the ORM's pool is the ORM's to close. */
  close(): void;
}

/** Name of the PostgreSQL prepared statement (bump the suffix whenever the text changes). */
export const PG_STATEMENT_NAME = 'idflow_sessions_by_tokens_v4';

/**
 * The session, the identity's key columns, its read model (session/identity-read-model.ts) and its credential kinds.
 * Only an identity without a read model (a row written before it existed) has its other columns and its addresses
 * read: each of those is a CASE, which does not evaluate the branch it does not take. The metadata come as JSON text
 * on both databases (pg would parse them, and a JSON string value would then be parsed twice), parsed only if read.
 */
const SESSION_COLUMNS = `s.id, s.identity_id, s.active, s.aal, s.authentication_methods, s.devices,
  s.authenticated_at, s.issued_at, s.expires_at, s.created_at, s.updated_at,
  i.schema_id, i.state, i.external_id, i.organization_id, i.public_json, CAST(i.metadata_admin AS text) AS metadata_admin`;

const withoutReadModel = (column: string, as: string) => `CASE WHEN i.public_json IS NULL THEN ${column} END AS ${as}`;

const IDENTITY_COLUMNS_WITHOUT_READ_MODEL = [
  withoutReadModel('i.state_changed_at', 'state_changed_at'),
  withoutReadModel('i.traits', 'traits'),
  withoutReadModel('CAST(i.metadata_public AS text)', 'metadata_public'),
  withoutReadModel('i.created_at', 'identity_created_at'),
  withoutReadModel('i.updated_at', 'identity_updated_at'),
].join(',\n  ');

/** SQLite: `json_group_array` in correlated subqueries (always yields a JSON array, `[]` when empty). */
export const SQLITE_SESSION_BY_TOKEN_SQL = `SELECT ${SESSION_COLUMNS},
  ${IDENTITY_COLUMNS_WITHOUT_READ_MODEL},
  ${withoutReadModel(`(SELECT json_group_array(json_object('id', a.id, 'value', a.value, 'via', a.via, 'verified', a.verified,
      'verified_at', a.verified_at, 'status', a.status, 'created_at', a.created_at, 'updated_at', a.updated_at))
    FROM identity_verifiable_addresses a WHERE a.identity_id = s.identity_id)`, 'verifiable_addresses')},
  ${withoutReadModel(`(SELECT json_group_array(json_object('id', r.id, 'value', r.value, 'via', r.via,
      'created_at', r.created_at, 'updated_at', r.updated_at))
    FROM identity_recovery_addresses r WHERE r.identity_id = s.identity_id)`, 'recovery_addresses')},
  (SELECT json_group_array(k.kind) FROM (
      SELECT c.type AS kind FROM identity_credentials c WHERE c.identity_id = s.identity_id
      UNION ALL SELECT 'webauthn:mfa' FROM identity_credentials c WHERE c.identity_id = s.identity_id AND c.type = 'webauthn'
        AND EXISTS (SELECT 1 FROM json_each(c.config, '$.credentials') e WHERE json_type(e.value, '$.is_passwordless') = 'false')
    ) k) AS credential_types
FROM sessions s JOIN identities i ON i.id = s.identity_id
WHERE s.token_hash = ?`;

/**
 * PostgreSQL: `json_agg` in correlated subqueries, `coalesce(..., '[]')` for identities without addresses. Many
 * token hashes at once (concurrent lookups share one statement, see PgSessionLookup); each row says whose it is.
 */
export const PG_SESSIONS_BY_TOKENS_SQL = `SELECT s.token_hash AS lookup_token_hash, ${SESSION_COLUMNS},
  ${IDENTITY_COLUMNS_WITHOUT_READ_MODEL},
  ${withoutReadModel(`coalesce((SELECT json_agg(json_build_object('id', a.id, 'value', a.value, 'via', a.via, 'verified', a.verified,
      'verified_at', a.verified_at, 'status', a.status, 'created_at', a.created_at, 'updated_at', a.updated_at)
      ORDER BY a.created_at, a.value)
    FROM identity_verifiable_addresses a WHERE a.identity_id = s.identity_id), '[]'::json)`, 'verifiable_addresses')},
  ${withoutReadModel(`coalesce((SELECT json_agg(json_build_object('id', r.id, 'value', r.value, 'via', r.via,
      'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.created_at, r.value)
    FROM identity_recovery_addresses r WHERE r.identity_id = s.identity_id), '[]'::json)`, 'recovery_addresses')},
  coalesce((SELECT json_agg(k.kind ORDER BY k.kind) FROM (
      SELECT c.type AS kind FROM identity_credentials c WHERE c.identity_id = s.identity_id
      UNION ALL SELECT 'webauthn:mfa' FROM identity_credentials c WHERE c.identity_id = s.identity_id AND c.type = 'webauthn'
        AND jsonb_path_exists(c.config::jsonb, '$.credentials[*] ? (@.is_passwordless == false)')
    ) k), '[]'::json) AS credential_types
FROM sessions s JOIN identities i ON i.id = s.identity_id
WHERE s.token_hash = ANY($1::text[])`;

function knexClientOf(orm: MikroORM): KnexClientLike {
  const connection = orm.em.getConnection() as unknown as { getKnex?: () => { client?: KnexClientLike } };
  const client = connection.getKnex?.().client;
  if (!client || typeof client.acquireConnection !== 'function') {
    throw new Error('session lookup: the ORM connection exposes no knex client');
  }
  return client;
}

/** Builds the lookup for the ORM's dialect. Cheap; create it once per ORM and close it before the ORM. */
export function createSessionLookup(orm: MikroORM): SessionLookup {
  const client = knexClientOf(orm);
  const memo = new SessionRowMemo();
  // knex names libsql's dialect after the sqlite3 client it extends
  if (client.dialect === 'sqlite3') {
    const pooled = new PooledSqliteLookup(client, memo);
    const file = String(orm.config.get('dbName') ?? '');
    return file && !isMemoryDatabase(file) ? new SqliteFileSessionLookup(file, pooled, memo) : pooled;
  }
  if (client.dialect === 'postgresql') return new PgSessionLookup(client, memo);
  throw new Error(`session lookup: unsupported knex dialect "${client.dialect}"`);
}

const isMemoryDatabase = (file: string) => file === ':memory:' || file.startsWith('file::memory:') || /[?&]mode=memory\b/.test(file);

/** A prepared statement in raw mode with where each column is. */
interface PreparedLookup {
  statement: LibsqlStatement;
  columns: SessionColumnIndex;
}

function prepareLookup(db: LibsqlDatabase): PreparedLookup {
  const statement = db.prepare(SQLITE_SESSION_BY_TOKEN_SQL).raw(true);
  return { statement, columns: sessionColumnIndex(statement.columns().map((c) => c.name)) };
}

/** The statement per pool connection (`:memory:`, and the fallback of the file reader). */
const pooledStatements = new WeakMap<LibsqlDatabase, PreparedLookup>();

/** Reads the row on a connection borrowed from the ORM's pool: SQLite `:memory:`, and the file reader's fallback. */
class PooledSqliteLookup implements SessionLookup {
  readonly dialect = 'sqlite' as const;
  readonly #client: KnexClientLike;
  readonly #memo: SessionRowMemo;

  constructor(client: KnexClientLike, memo: SessionRowMemo) {
    this.#client = client;
    this.#memo = memo;
  }

  async findByTokenHash(tokenHash: string): Promise<ActiveSession | undefined> {
    const db = (await this.#client.acquireConnection()) as LibsqlDatabase;
    try {
      let prepared = pooledStatements.get(db);
      if (!prepared) {
        prepared = prepareLookup(db); // throws while the tables don't exist: prepared again on the next call
        pooledStatements.set(db, prepared);
      }
      const values = prepared.statement.get(tokenHash);
      return values ? this.#memo.map(tokenHash, values, prepared.columns) : undefined;
    } finally {
      await this.#client.releaseConnection(db);
    }
  }

  close(): void {}
}

/**
 * PostgreSQL: a lookup starts its statement at once when none is running; lookups arriving meanwhile share the next
 * statement (ReadBatcher). Under load that is one round trip, one pool checkout and one backend wake-up for many
 * whoami requests instead of one each (measured: the PostgreSQL whoami spent ~100 us more CPU per request than
 * SQLite's, most of it in the round trip); an idle server waits for nothing. One statement at a time rather than two:
 * the batches grow, and whoami answered ~1.19x the requests per second (two servers side by side, each in both
 * positions, 1,100 rotating tokens; PostgreSQL's CPU per whoami 42-48 against 52-64 us).
 */
class PgSessionLookup implements SessionLookup {
  readonly dialect = 'postgresql' as const;
  readonly #batcher: ReadBatcher<string, ActiveSession>;

  constructor(client: KnexClientLike, memo: SessionRowMemo) {
    // The statement's columns never change: where each one is, worked out from the first answer.
    let positions: { columns: SessionColumnIndex; tokenHashAt: number } | undefined;
    this.#batcher = new ReadBatcher(async (tokenHashes) => {
      const connection = await client.acquireConnection();
      try {
        const result = await (connection as PgClientLike).query({
          name: PG_STATEMENT_NAME, text: PG_SESSIONS_BY_TOKENS_SQL, values: [tokenHashes], rowMode: 'array',
        });
        positions ??= pgPositions(result.fields.map((f) => f.name));
        const { columns, tokenHashAt } = positions;
        const found = new Map<string, ActiveSession>();
        for (const values of result.rows) {
          const tokenHash = String(values[tokenHashAt]);
          found.set(tokenHash, memo.map(tokenHash, values, columns));
        }
        return found;
      } finally {
        await client.releaseConnection(connection);
      }
    }, { maxInFlight: 1, maxBatch: 256 });
  }

  findByTokenHash(tokenHash: string): Promise<ActiveSession | undefined> {
    return this.#batcher.load(tokenHash);
  }

  close(): void {}
}

const pgPositions = (names: string[]) => ({ columns: sessionColumnIndex(names), tokenHashAt: names.indexOf('lookup_token_hash') });

/** A lookup waiting for the reader's next turn. */
type WaitingLookup = Waiting<string, ActiveSession>;

/**
 * See the module comment: a synchronous read-only reader on the database file, the pool when it reports busy.
 *
 * In WAL mode every read transaction costs the process a few system calls (a shared lock taken and released on the
 * wal-index, a stat of the file): ~6 of a lookup's ~10 us in a tight loop, more in a loaded server. So the first
 * lookup of an event-loop turn runs at once, on its own, and the lookups asked after it in the same turn are read
 * together when the turn ends (setImmediate), in ONE read transaction. That transaction begins after the last of
 * them was asked, so every lookup still sees every commit made before it was asked, by this process or another.
 * A lone whoami (an idle server, or one busy with logins) waits for nothing; under a whoami load a turn carries
 * dozens of them.
 */
class SqliteFileSessionLookup implements SessionLookup {
  readonly dialect = 'sqlite' as const;
  readonly #file: string;
  readonly #pooled: SessionLookup;
  readonly #memo: SessionRowMemo;
  #prepared: PreparedLookup | undefined;
  #db: LibsqlDatabase | undefined;
  #closed = false;
  /** Set by the first lookup of a turn, cleared when the turn ends. */
  #turnTaken = false;
  #waiting: WaitingLookup[] = [];

  constructor(file: string, pooled: SessionLookup, memo: SessionRowMemo) {
    this.#file = file;
    this.#pooled = pooled;
    this.#memo = memo;
  }

  findByTokenHash(tokenHash: string): Promise<ActiveSession | undefined> {
    if (this.#closed) return Promise.reject(new Error('session lookup: closed'));
    return new Promise((resolve, reject) => {
      const lookup = { key: tokenHash, resolve, reject };
      if (this.#turnTaken || !this.#prepared) {
        this.#waiting.push(lookup);
      } else {
        this.#readNow([lookup]);
      }
      if (!this.#turnTaken) {
        this.#turnTaken = true;
        setImmediate(() => this.#endTurn());
      }
    });
  }

  #endTurn(): void {
    this.#turnTaken = false;
    if (this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    void this.#readLater(batch);
  }

  async #readLater(batch: WaitingLookup[]): Promise<void> {
    try {
      if (!this.#prepared) await this.#prepare();
    } catch (err) {
      for (const lookup of batch) lookup.reject(err);
      return;
    }
    this.#readNow(batch);
  }

  /** Reads a batch at once: one read transaction when it holds more than one lookup. */
  #readNow(batch: WaitingLookup[]): void {
    const prepared = this.#prepared;
    const db = this.#db;
    let next = 0;
    try {
      if (this.#closed || !prepared || !db) throw new Error('session lookup: closed');
      next = this.#readInOneTransaction(db, prepared, batch);
    } catch (err) {
      for (const lookup of batch.slice(next)) lookup.reject(err);
      return;
    }
    for (const lookup of batch.slice(next)) this.#pooled.findByTokenHash(lookup.key).then(lookup.resolve, lookup.reject);
  }

  /** Settles the batch in order; stops at a SQLITE_BUSY and returns where (the rest go through the pool). */
  #readInOneTransaction(db: LibsqlDatabase, prepared: PreparedLookup, batch: WaitingLookup[]): number {
    const shared = batch.length > 1;
    if (shared) db.exec('BEGIN'); // deferred: the snapshot is taken by the first read below
    try {
      for (let next = 0; next < batch.length; next++) {
        const lookup = batch[next];
        let values: unknown[] | undefined;
        try {
          values = prepared.statement.get(lookup.key);
        } catch (err) {
          if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return next;
          lookup.reject(err);
          continue;
        }
        try {
          lookup.resolve(values ? this.#memo.map(lookup.key, values, prepared.columns) : undefined);
        } catch (err) {
          lookup.reject(err);
        }
      }
      return batch.length;
    } finally {
      // A read transaction left open would pin this reader's snapshot (and keep checkpoints from finishing).
      if (shared && db.inTransaction) db.exec('COMMIT');
    }
  }

  async #prepare(): Promise<PreparedLookup> {
    const { default: Database } = (await import('libsql')) as unknown as { default: LibsqlDatabaseClass };
    if (this.#prepared) return this.#prepared; // a concurrent first call got here first
    if (this.#closed) throw new Error('session lookup: closed');
    // Opening a missing path would create an empty database file: the ORM creates (and migrates) it, never this.
    if (!existsSync(this.#file)) throw new Error('session lookup: the SQLite database file does not exist');
    // timeout 0: no busy handler, never busy-wait on the event loop (SQLITE_BUSY falls back to the pool, above).
    const db = new Database(this.#file, { timeout: 0 });
    try {
      db.exec('PRAGMA query_only = ON;'); // this connection can never write, whatever runs on it
      this.#prepared = prepareLookup(db);
    } catch (err) {
      db.close(); // e.g. the tables don't exist yet: prepare again on the next call
      throw err;
    }
    this.#db = db;
    return this.#prepared;
  }

  close(): void {
    this.#closed = true;
    this.#prepared = undefined;
    this.#db?.close();
    this.#db = undefined;
  }
}

/**
 * whoami is polled: the same session is looked up again and again with nothing changed. The mapping from a raw row
 * to an ActiveSession is pure, so when the row read now equals, column by column, the row read last time for the
 * same token hash, the previous (frozen) ActiveSession is returned, and callers can key derived values (whoami's
 * serialized body) on that object. Nothing can be stale: every lookup still reads the row, and any changed column
 * (revoked, extended, trait or address change) maps afresh. Bounded LRU; holds no token (keys are token hashes).
 */
export class SessionRowMemo {
  readonly #max: number;
  readonly #entries = new Map<string, { values: readonly unknown[]; session: ActiveSession }>();

  constructor(max = 1024) {
    this.#max = max;
  }

  /** A row as its column values (libsql raw mode, pg `rowMode: 'array'`); `columns` says where each one is. */
  map(tokenHash: string, values: readonly unknown[], columns: SessionColumnIndex): ActiveSession {
    const hit = this.#entries.get(tokenHash);
    if (hit) {
      this.#entries.delete(tokenHash);
      if (sameValues(hit.values, values)) {
        this.#entries.set(tokenHash, hit);
        return hit.session;
      }
    }
    const session = freezeSession(mapRow(values, columns));
    this.#entries.set(tokenHash, { values, session });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return session;
  }
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    // PostgreSQL hands json columns back parsed: compare those by content.
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null || JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}

/**
 * Freezes what the memo shares between requests, walking the session's known shape (cheaper than a generic walk
 * over every value); only the parsed JSON values (traits, metadata, methods, devices) are walked generically.
 */
function freezeSession(session: ActiveSession): ActiveSession {
  // An identity read from its read model froze itself, and what it parses when read (walking it here would parse it).
  if (session.identityPublicJson === undefined) freezeIdentity(session.identity);
  freezeJson(session.authenticationMethods);
  freezeJson(session.devices);
  Object.freeze(session.credentialTypes);
  return Object.freeze(session);
}

function freezeIdentity(identity: IdentityRecord): void {
  for (const address of identity.verifiableAddresses) Object.freeze(address);
  for (const address of identity.recoveryAddresses) Object.freeze(address);
  Object.freeze(identity.verifiableAddresses);
  Object.freeze(identity.recoveryAddresses);
  Object.freeze(identity.credentials);
  freezeJson(identity.traits);
  freezeJson(identity.metadataPublic);
  freezeJson(identity.metadataAdmin);
  Object.freeze(identity);
}

function freezeJson(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  Object.freeze(value);
  if (Array.isArray(value)) for (const item of value) freezeJson(item);
  else for (const key in value) freezeJson((value as Record<string, unknown>)[key]);
}

// ---- row mapping (dialect differences: see row-values.ts) ----

/** Every column the lookup statements return (PostgreSQL's adds lookup_token_hash). */
const SESSION_ROW_COLUMNS = [
  'id', 'identity_id', 'active', 'aal', 'authentication_methods', 'devices', 'authenticated_at', 'issued_at', 'expires_at',
  'created_at', 'updated_at', 'schema_id', 'state', 'state_changed_at', 'traits', 'metadata_public', 'metadata_admin',
  'external_id', 'organization_id', 'identity_created_at', 'identity_updated_at', 'verifiable_addresses',
  'recovery_addresses', 'credential_types', 'public_json',
] as const;

/** Where each column is in a row of values (rows are read by position: no per-row object keyed by name). */
export type SessionColumnIndex = Readonly<Record<(typeof SESSION_ROW_COLUMNS)[number], number>>;

export function sessionColumnIndex(names: readonly string[]): SessionColumnIndex {
  const index = {} as Record<(typeof SESSION_ROW_COLUMNS)[number], number>;
  for (const column of SESSION_ROW_COLUMNS) {
    const at = names.indexOf(column);
    if (at < 0) throw new Error(`session lookup: the statement returns no column "${column}"`);
    index[column] = at;
  }
  return index;
}

function mapRow(v: readonly unknown[], c: SessionColumnIndex): ActiveSession {
  const publicJson = v[c.public_json];
  const key = {
    id: String(v[c.identity_id]),
    schemaId: String(v[c.schema_id]),
    state: v[c.state] as IdentityState,
    externalId: (v[c.external_id] as string | null) ?? null,
    organizationId: (v[c.organization_id] as string | null) ?? null,
  };
  const metadataAdmin = v[c.metadata_admin];
  const identity = typeof publicJson === 'string'
    ? identityFromReadModel(key, publicJson, metadataAdmin)
    : identityFromOwnRows(v, c, key);
  const credentialTypes = parseJson<string[]>(v[c.credential_types]) ?? [];
  return {
    id: String(v[c.id]),
    identityId: identity.id,
    active: parseBool(v[c.active]),
    aal: v[c.aal] as AuthenticatorAssuranceLevel,
    authenticationMethods: parseJson<AuthenticationMethodRecord[]>(v[c.authentication_methods]) ?? [],
    devices: parseJson<SessionDeviceRecord[]>(v[c.devices]) ?? [],
    authenticatedAt: parseDbDate(v[c.authenticated_at]),
    issuedAt: parseDbDate(v[c.issued_at]),
    expiresAt: parseDbDate(v[c.expires_at]),
    createdAt: parseDbDate(v[c.created_at]),
    updatedAt: parseDbDate(v[c.updated_at]),
    identity,
    credentialTypes: credentialTypes.length > 1 ? credentialTypes.sort() : credentialTypes,
    ...(typeof publicJson === 'string' ? { identityPublicJson: publicJson } : {}),
  };
}

/**
 * What the lookup reads of the identity's row itself beside its read model: what whoami decides on (the state) and
 * what its answer needs without parsing anything (id, schema, the external id a tokenized session carries).
 */
type IdentityKeyColumns = Pick<IdentityRecord, 'id' | 'schemaId' | 'state' | 'externalId' | 'organizationId'>;

const NO_CREDENTIALS = Object.freeze([]) as unknown as IdentityRecord['credentials'];

/**
 * An identity backed by its read model (session/identity-read-model.ts): the key columns are plain values; the rest
 * is parsed from `publicJson` (and frozen) the first time any of it is read — whoami's answer never reads it. The
 * getters are the object's own enumerable properties, so a spread or structuredClone copies their values.
 */
function identityFromReadModel(key: IdentityKeyColumns, publicJson: string, metadataAdmin: unknown): IdentityRecord {
  let parsed: IdentityRecord | undefined;
  const model = () => (parsed ??= parseReadModel(key, publicJson, metadataAdmin));
  return Object.freeze({
    ...key,
    credentials: NO_CREDENTIALS,
    get stateChangedAt() { return model().stateChangedAt; },
    get traits() { return model().traits; },
    get metadataPublic() { return model().metadataPublic; },
    get metadataAdmin() { return model().metadataAdmin; },
    get createdAt() { return model().createdAt; },
    get updatedAt() { return model().updatedAt; },
    get verifiableAddresses() { return model().verifiableAddresses; },
    get recoveryAddresses() { return model().recoveryAddresses; },
  });
}

/** The read model's JSON (Kratos's identity fields: the same keys the aggregated rows have) as a frozen record. */
function parseReadModel(key: IdentityKeyColumns, publicJson: string, metadataAdmin: unknown): IdentityRecord {
  const json = JSON.parse(publicJson) as Record<string, unknown>;
  const identity: IdentityRecord = {
    ...key,
    stateChangedAt: parseNullableDate(json.state_changed_at),
    traits: json.traits as Record<string, unknown>,
    metadataPublic: json.metadata_public ?? null,
    metadataAdmin: parseNullableJson(metadataAdmin),
    createdAt: parseDbDate(json.created_at),
    updatedAt: parseDbDate(json.updated_at),
    verifiableAddresses: (json.verifiable_addresses as Array<Record<string, unknown>>).map(verifiableAddressFromJson),
    recoveryAddresses: (json.recovery_addresses as Array<Record<string, unknown>>).map(recoveryAddressFromJson),
    credentials: NO_CREDENTIALS,
  };
  freezeIdentity(identity);
  return identity;
}

/** An identity written before its read model existed: mapped from its own columns and aggregated rows. */
function identityFromOwnRows(v: readonly unknown[], c: SessionColumnIndex, key: IdentityKeyColumns): IdentityRecord {
  const verifiable = parseJson<Array<Record<string, unknown>>>(v[c.verifiable_addresses]) ?? [];
  const recovery = parseJson<Array<Record<string, unknown>>>(v[c.recovery_addresses]) ?? [];
  return {
    ...key,
    stateChangedAt: parseNullableDate(v[c.state_changed_at]),
    traits: parseJson<Record<string, unknown>>(v[c.traits]),
    metadataPublic: parseNullableJson(v[c.metadata_public]),
    metadataAdmin: parseNullableJson(v[c.metadata_admin]),
    createdAt: parseDbDate(v[c.identity_created_at]),
    updatedAt: parseDbDate(v[c.identity_updated_at]),
    verifiableAddresses: sortAddresses(verifiable.map(verifiableAddressFromJson)),
    recoveryAddresses: sortAddresses(recovery.map(recoveryAddressFromJson)),
    credentials: [],
  };
}
