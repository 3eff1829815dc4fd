/**
 * Issue 16: how many statements one API password login and one API registration send to the database. The bounds
 * are what the submit path reaches today, so a change that adds round trips fails here (nothing is timed).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { passwordSuite } from '../../support/password-suite.ts';
import { countDriverCalls, executions } from '../../support/driver-calls.ts';
import type { TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'a long and unguessable passphrase';
/**
 * Statements per submit, BEGIN and COMMIT included. Registration: the flow, the clash check, then one transaction
 * (flow, history, identity rows, verification flow, code, mail, session); login: the flow, the credential, the
 * identity, then one transaction (flow, history, session). On PostgreSQL that transaction's writes are one statement
 * of their own, with no BEGIN or COMMIT (src/persistence/sql/lazy-transaction.ts); SQLite, in-process, runs them one
 * by one.
 */
const MAX_STATEMENTS = { registration: { sqlite: 17, postgresql: 4 }, login: { sqlite: 8, postgresql: 4 } };

for (const db of testDatabases()) {
  const dialect = db.name === 'postgresql' ? 'postgresql' : 'sqlite';
  const maxRegistration = MAX_STATEMENTS.registration[dialect];
  const maxLogin = MAX_STATEMENTS.login[dialect];
  describe(`database round trips of password submits (${db.name})`, () => {
    const suite = passwordSuite(db);
    let server: TestServer;
    const post = (path: string, body: unknown) => suite.post(path, body);

    beforeAll(async () => {
      server = suite.server;
      // The courier's sender polls the queue: it would count too.
      await server.registry.courier.stop();
    });

    async function register(email: string) {
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      return post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email }, password: PASSWORD });
    }

    async function login(identifier: string) {
      const flow = await server.frontendApi.createNativeLoginFlow();
      return post(`/self-service/login?flow=${flow.id}`, { method: 'password', identifier, password: PASSWORD });
    }

    it(`registers with at most ${maxRegistration} statements`, async () => {
      expect((await register('warm-up@example.com')).status).toBe(200);
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      let answer: { status: number; body: Json } | undefined;
      const calls = await countDriverCalls(server.orm, async () => {
        answer = await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: 'counted@example.com' }, password: PASSWORD });
      });
      expect(answer!.status, JSON.stringify(answer!.body)).toBe(200);
      expect(executions(calls), calls.statements.join('\n')).toBeLessThanOrEqual(maxRegistration);
      expect(calls.counts['db.prepare'] ?? 0, 'statements compiled again').toBe(0);
    });

    it(`logs in with at most ${maxLogin} statements`, async () => {
      expect((await register('login@example.com')).status).toBe(200);
      expect((await login('login@example.com')).status).toBe(200);
      const flow = await server.frontendApi.createNativeLoginFlow();
      let answer: { status: number; body: Json } | undefined;
      const calls = await countDriverCalls(server.orm, async () => {
        answer = await post(`/self-service/login?flow=${flow.id}`, { method: 'password', identifier: 'login@example.com', password: PASSWORD });
      });
      expect(answer!.status, JSON.stringify(answer!.body)).toBe(200);
      expect(executions(calls), calls.statements.join('\n')).toBeLessThanOrEqual(maxLogin);
      expect(calls.counts['db.prepare'] ?? 0, 'statements compiled again').toBe(0);
    });
  });
}
