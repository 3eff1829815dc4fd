import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A rate-limit counter on PostgreSQL, shared by every replica (src/ratelimit/ reads and writes it through
 * rate-limiter-flexible's Postgres store, which expects exactly these columns, in this order). `expire` is epoch
 * milliseconds; expired rows are cleared by the store. SQLite keeps its counters in the process, so there the table
 * stays empty.
 */
export const RateLimit = defineEntity({
  name: 'RateLimit',
  tableName: 'rate_limits',
  properties: {
    key: p.string().length(255).primary(),
    points: p.integer().default(0),
    expire: p.bigint().nullable(),
  },
});
export type RateLimitRow = InferEntity<typeof RateLimit>;
