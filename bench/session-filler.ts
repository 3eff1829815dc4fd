/**
 * Filler sessions for "whoami at scale": grows idflow's `sessions` table to a given row count with SQL, straight
 * through the database driver (the server keeps running; nothing it caches refers to the new rows).
 *
 * Each filler row copies the shape of a real session (identity, aal, authentication methods, devices, timestamps)
 * from a handful of existing sessions of distinct identities, with a fresh id and random token / logout-token hashes
 * (64 hex characters like the SHA-256 hashes idflow stores), so the unique indexes the lookup uses grow the way real
 * sessions would make them grow, and the real tokens' entries end up spread among the filler. One statement per
 * growth step: PostgreSQL `INSERT … SELECT` over `generate_series`, SQLite a recursive CTE (one implicit
 * transaction), every value bound as a parameter. Afterwards the table is ANALYZEd (PostgreSQL: VACUUMed too), as
 * autovacuum would, and the SQLite WAL or PostgreSQL's dirty buffers are checkpointed.
 */
import Database from 'libsql';
import pg from 'pg';

/** How many existing sessions (of distinct identities) the filler rows copy their shape from. */
const TEMPLATES = 8;

const COPIED = 'identity_id, active, aal, authentication_methods, devices, authenticated_at, issued_at, expires_at, created_at, updated_at';
const COLUMNS = `id, token_hash, logout_token_hash, ${COPIED}`;
const FROM_TEMPLATE = COPIED.split(', ').map((c) => `t.${c}`).join(', ');

export interface SessionTarget {
  dialect: 'sqlite' | 'postgresql';
  /** The SQLite file, or the PostgreSQL URL of idflow's database. */
  location: string;
}

export interface Growth { before: number; after: number; ms: number }

/** Inserts filler sessions until the table holds `total` rows (nothing when it already does). */
export async function growSessions(target: SessionTarget, total: number): Promise<Growth> {
  return target.dialect === 'sqlite' ? growSqlite(target.location, total) : growPostgres(target.location, total);
}

function growSqlite(file: string, total: number): Growth {
  const db = new Database(file, { timeout: 30_000 });
  try {
    // Room for the indexes being grown (up to 1 GiB, allocated as used): the insert touches random leaves of two
    // unique indexes, and with the default 2 MiB cache a million rows take several times longer.
    db.exec('PRAGMA cache_size = -1048576;');
    const count = () => Number((db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number | bigint }).n);
    const before = count();
    const started = performance.now();
    if (before < total) {
      const templates = (db.prepare('SELECT min(id) AS id FROM sessions GROUP BY identity_id ORDER BY 1 LIMIT ?').all(TEMPLATES) as Array<{ id: string }>).map((r) => r.id);
      if (templates.length === 0) throw new Error('no session to copy the filler rows from');
      db.prepare(`WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < CAST(? AS INTEGER))
        INSERT INTO sessions (${COLUMNS})
        SELECT printf('f1110000-0000-4000-8000-%012x', n.i), lower(hex(randomblob(32))), lower(hex(randomblob(32))), ${FROM_TEMPLATE}
        FROM n JOIN (SELECT s.*, row_number() OVER (ORDER BY s.id) - 1 AS k FROM sessions s WHERE s.id IN (${templates.map(() => '?').join(', ')})) t
          ON t.k = n.i % CAST(? AS INTEGER)`).run(before, total, ...templates, templates.length);
      db.exec('ANALYZE sessions;');
      // Leave no WAL of hundreds of MiB behind: readers then find every page in the database file, as they would
      // long after such a table had grown.
      db.exec('PRAGMA wal_checkpoint(TRUNCATE);');
    }
    return { before, after: count(), ms: performance.now() - started };
  } finally {
    db.close();
  }
}

async function growPostgres(url: string, total: number): Promise<Growth> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async () => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM sessions')).rows[0].n);
    const before = await count();
    const started = performance.now();
    if (before < total) {
      const templates = (await client.query<{ id: string }>(
        'SELECT (array_agg(id ORDER BY id))[1] AS id FROM sessions GROUP BY identity_id ORDER BY 1 LIMIT $1', [TEMPLATES])).rows.map((r) => r.id);
      if (templates.length === 0) throw new Error('no session to copy the filler rows from');
      await client.query(`INSERT INTO sessions (${COLUMNS})
        SELECT gen_random_uuid(), encode(sha256(gen_random_uuid()::text::bytea), 'hex'), encode(sha256(gen_random_uuid()::text::bytea), 'hex'), ${FROM_TEMPLATE}
        FROM generate_series($1::int, $2::int - 1) AS n(i)
        JOIN (SELECT s.*, row_number() OVER (ORDER BY s.id) - 1 AS k FROM sessions s WHERE s.id = ANY($3::uuid[])) t ON t.k = n.i % $4::int`,
      [before, total, templates, templates.length]);
      // VACUUM as well: after a million inserted rows autovacuum would otherwise vacuum the table (insert threshold) and
      // the first readers set every page's hint bits, both during the measurement that follows.
      await client.query('VACUUM (ANALYZE) sessions');
      // Write the filler's dirty pages out now (~120 MiB after a million rows), not during the measurement that follows,
      // as the SQLite WAL checkpoint does. Needs superuser or pg_checkpoint; without it the checkpointer does it later.
      await client.query('CHECKPOINT').catch((err: { code?: string }) => {
        if (err.code !== '42501') throw err;
      });
    }
    return { before, after: await count(), ms: performance.now() - started };
  } finally {
    await client.end();
  }
}
