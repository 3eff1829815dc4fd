/**
 * A suite's test server on a throwaway database, for password submits: the breached-password check off (no network
 * here), started before the suite's tests and closed, its database dropped, after them.
 */
import { afterAll, beforeAll } from 'vitest';
import type { TestDatabase } from './databases.ts';
import { startTestServer, type TestServer } from './server.ts';

type Json = any;

export interface PasswordSuite {
  /** The running server (from the suite's first beforeAll on). */
  readonly server: TestServer;
  /** POSTs `body` as JSON to the public API; the status and the parsed answer. */
  post(path: string, body: unknown): Promise<{ status: number; body: Json }>;
}

export function passwordSuite(db: TestDatabase): PasswordSuite {
  let server: TestServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await db.create();
    drop = created.drop;
    server = await startTestServer(created.dsn, { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });
  return {
    get server() {
      if (!server) throw new Error('the suite\'s server has not started');
      return server;
    },
    async post(path, body) {
      const res = await fetch(this.server.publicUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    },
  };
}
