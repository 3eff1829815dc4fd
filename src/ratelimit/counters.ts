/**
 * Atomic counters with an expiry, on one of rate-limiter-flexible's stores (the only importer of it and of ioredis):
 * Redis when `rate_limit.redis_url` is set, else PostgreSQL's `rate_limits` table (every replica on the database
 * shares them), else the process (SQLite: one process). Each `add` is one atomic increment in the store (Redis: a Lua
 * script; PostgreSQL: `INSERT … ON CONFLICT DO UPDATE … RETURNING`), so concurrent requests each see a distinct
 * count — what keeps 50 parallel guesses from all passing a check (Keycloak CVE-2024-4629).
 *
 * The policies above (abuse-guard.ts) read the time from idflow's clock and put it into keys and values; a store's
 * own expiry only reclaims space. Tests that move the clock therefore move every window and lockout with it.
 */
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface Counters {
  readonly backend: 'redis' | 'postgresql' | 'memory';
  /** Adds `points` (negative: takes back) and returns the new count; a count starts at 0 and lives `ttlMs`. */
  add(key: string, points: number, ttlMs: number): Promise<number>;
  /** The current count, or undefined when none is stored (or it expired). */
  get(key: string): Promise<number | undefined>;
  /** Stores `value` for `ttlMs`, replacing what was there. */
  put(key: string, value: number, ttlMs: number): Promise<void>;
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A `pg` pool's statement interface (src/persistence/rate-limit-pool.ts opens it). */
export interface QueryPool {
  query(statement: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
  end(): Promise<void>;
}

/**
 * The counters' store did not answer (Redis down or unreachable at runtime). The guard answers 503 for it; ioredis
 * keeps reconnecting, so requests work again as soon as the store is back.
 */
export class CountersUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`rate-limit counters unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'CountersUnavailableError';
  }
}

export type CountersOptions =
  | { backend: 'redis'; url: string; keyPrefix: string }
  | { backend: 'postgresql'; pool: QueryPool }
  | { backend: 'memory' };

/** rate-limiter-flexible's own limit (unused: counts are judged in abuse-guard.ts). */
const UNBOUNDED = 2 ** 31 - 1;
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Opens the counters; a Redis URL that does not answer within 5 s fails here, at start-up. */
export async function openCounters(options: CountersOptions): Promise<Counters> {
  let limiter: RateLimiterAbstract;
  let close = async () => {};
  if (options.backend === 'redis') {
    // Loaded only for a Redis URL: without one the process never holds the client and its command table.
    const { Redis } = await import('ioredis');
    const client = new Redis(options.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 });
    // Reconnects are ioredis's business; an error event without a listener would end the process.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw new Error(`can not reach Redis at rate_limit.redis_url: ${(err as Error).message}`, { cause: err });
    }
    limiter = new RateLimiterRedis({ storeClient: client, points: UNBOUNDED, duration: 0, keyPrefix: options.keyPrefix.replace(/:$/, '') });
    close = async () => {
      await client.quit().catch(() => client.disconnect());
    };
  } else if (options.backend === 'postgresql') {
    const pool = options.pool;
    limiter = new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', tableName: 'rate_limits', tableCreated: true, points: UNBOUNDED, duration: 0, keyPrefix: 'rl', clearExpiredByTimeout: true });
    close = () => pool.end();
  } else {
    limiter = new RateLimiterMemory({ points: UNBOUNDED, duration: 0 });
  }
  // A Redis that stopped answering fails each call at once (no offline queue): named, so the guard can answer 503.
  // PostgreSQL's counters live in the database itself: its outage is the database's.
  const store = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw options.backend === 'redis' ? new CountersUnavailableError(err) : err;
    }
  };
  return {
    backend: options.backend,
    add(key, points, ttlMs) {
      const options = { customDuration: seconds(ttlMs) };
      // penalty/reward: the store's atomic increment, without rate-limiter-flexible's own refusal.
      return store(async () => (points >= 0 ? await limiter.penalty(key, points, options) : await limiter.reward(key, -points, options)).consumedPoints);
    },
    get(key) {
      return store(async () => (await limiter.get(key))?.consumedPoints ?? undefined);
    },
    put(key, value, ttlMs) {
      return store(async () => {
        await limiter.set(key, value, seconds(ttlMs));
      });
    },
    remove(key) {
      return store(async () => {
        await limiter.delete(key);
      });
    },
    close: () => close(),
  };
}
