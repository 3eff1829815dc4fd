/** A parsed Kratos-style DSN. */
export type ParsedDsn =
  | { dialect: 'sqlite'; file: string; memory: boolean; original: string }
  | { dialect: 'postgresql'; clientUrl: string; poolMax?: number; original: string };

/** Pop/Kratos connection parameters the pg driver doesn't understand. */
const POP_PARAMS = ['max_conns', 'max_idle_conns', 'max_conn_lifetime', 'max_conn_idle_time', 'connect_timeout_ms'];

export class DsnError extends Error {}

/**
 * Parses `memory`, `sqlite://PATH?opts` (Kratos style; `sqlite:///abs/path`, query options tolerated),
 * `postgres://` and `postgresql://`. Kratos's `cockroach://` is refused by name: CockroachDB speaks PostgreSQL's wire
 * protocol but not all of its SQL, and idflow is not tested against it (no CockroachDB server can be installed from
 * the npm registry or Debian, where idflow's test databases come from), so it is refused rather than half-working.
 */
export function parseDsn(dsn: string): ParsedDsn {
  const text = String(dsn ?? '').trim();
  if (text === '') throw new DsnError('dsn is empty');
  if (text === 'memory' || text === 'sqlite://:memory:' || text.startsWith('sqlite://file::memory:')) {
    return { dialect: 'sqlite', file: ':memory:', memory: true, original: text };
  }
  const scheme = /^([a-z0-9+]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    const rest = text.slice(scheme.length + 3);
    const path = decodeURIComponent(rest.split('?')[0]);
    if (path === '' ) throw new DsnError(`dsn "${redactDsn(text)}" names no SQLite file`);
    if (path === ':memory:' || path === 'file::memory:') return { dialect: 'sqlite', file: ':memory:', memory: true, original: text };
    return { dialect: 'sqlite', file: path.replace(/^file:/, ''), memory: false, original: text };
  }
  if (scheme === 'cockroach' || scheme === 'cockroachdb') {
    throw new DsnError(`dsn "${redactDsn(text)}": CockroachDB (${scheme}://) is not supported by idflow: it is untested there ` +
      '(no CockroachDB server is available to its test suite) and idflow relies on PostgreSQL behaviour CockroachDB does not share in full; use PostgreSQL (postgres://) or SQLite (sqlite://)');
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(text.replace(/^[a-z]+:\/\//i, 'postgresql://'));
    } catch {
      throw new DsnError(`dsn "${redactDsn(text)}" is not a valid URL`);
    }
    const maxConns = url.searchParams.get('max_conns');
    for (const param of POP_PARAMS) url.searchParams.delete(param);
    return {
      dialect: 'postgresql',
      clientUrl: url.toString(),
      poolMax: maxConns ? Number(maxConns) : undefined,
      original: text,
    };
  }
  if (scheme === 'mysql') throw new DsnError('MySQL is not supported by idflow; use sqlite:// or postgres://');
  throw new DsnError(`dsn "${redactDsn(text)}" has an unsupported scheme; use memory, sqlite:// or postgres://`);
}

/** The DSN with its password replaced, for messages and logs. */
export function redactDsn(dsn: string): string {
  return dsn.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
