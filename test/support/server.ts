import { Configuration, FrontendApi, IdentityApi } from '@ory/client-fetch';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../observability/logger.ts';
import { createRegistry, type Registry } from '../../src/registry.ts';
import { startServer } from '../../src/server.ts';
import type { SqlStore } from '../../src/persistence/sql/sql-store.ts';
import type { Orm } from '../../src/persistence/orm.ts';
import type { Method } from '../../src/methods/method.ts';
import type { VendorUrls } from '../../src/methods/oidc/providers.ts';
import { TestClock } from './clock.ts';

export type Overlay = Record<string, unknown>;

export interface TestServer {
  registry: Registry;
  /** The server's clock: advance it to expire flows, codes and sessions. */
  clock: TestClock;
  /** The ORM under the server's store, for tests that look at rows directly. */
  orm: Orm;
  publicUrl: string;
  adminUrl: string;
  /** idflow's own UI, when the overlay turns `serve.ui` on. */
  uiUrl?: string;
  identityApi: IdentityApi;
  frontendApi: FrontendApi;
  /** Every log line the server wrote (JSON strings). */
  logs: string[];
  close(): Promise<void>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepMerge(base: Overlay, overlay: Overlay): Overlay {
  const out: Overlay = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Overlay, value) : value;
  }
  return out;
}

export const TEST_SECRETS = {
  cookie: ['test-cookie-secret-0123456789abcdef'],
  cipher: ['0123456789abcdef0123456789abcdef'],
  default: ['test-default-secret-0123456789abcdef'],
};

/** Starts the real servers on 127.0.0.1 with ephemeral ports against `dsn`, with an optional config overlay. */
export async function startTestServer(dsn: string, overlay: Overlay = {}, options: { inspectUrl?: string; extraMethods?: Method[]; oidcVendors?: Partial<VendorUrls> } = {}): Promise<TestServer> {
  const base: Overlay = {
    dsn,
    // The built-in config serves idflow's UI on 4455; tests that want it turn it on (on a port of their own).
    serve: { public: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, ui: { enabled: false } },
    secrets: TEST_SECRETS,
    log: { level: 'info', format: 'json' },
    // Every test client is 127.0.0.1, so a suite's requests would share one address's budgets: limits are off here
    // and turned on (`rate_limit: { enabled: true }`) by the tests about them (test/e2e/hardening/rate-limits.test.ts).
    rate_limit: { enabled: false },
  };
  const { config } = loadConfig({ env: {}, dev: true, overrides: deepMerge(base, overlay) });
  const logs: string[] = [];
  const logger = createLogger({ level: config.log.level, format: 'json', write: (line) => logs.push(line) });
  const clock = new TestClock();
  const registry = await createRegistry(config, { logger, migrations: 'auto', inspectUrl: options.inspectUrl, clock, extraMethods: options.extraMethods, oidcVendors: options.oidcVendors });
  const server = await startServer(registry);
  return {
    registry,
    clock,
    orm: (registry.store as SqlStore).orm,
    publicUrl: server.publicUrl,
    adminUrl: server.adminUrl,
    uiUrl: server.uiUrl,
    identityApi: new IdentityApi(new Configuration({ basePath: server.adminUrl })),
    frontendApi: new FrontendApi(new Configuration({ basePath: server.publicUrl, headers: { Accept: 'application/json' } })),
    logs,
    close: () => server.close(1000),
  };
}
