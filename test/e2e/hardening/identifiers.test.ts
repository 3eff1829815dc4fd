/**
 * Issue 15, "Input handling": identifiers and addresses whose labels mix scripts (a Latin "paypal" with a Cyrillic
 * "а") are refused, at sign-up and through the admin API, so no account can take a look-alike of another's name;
 * single-script identifiers in any script, and internationalised addresses whose parts are each of one script, are
 * accepted. Whole-script look-alikes need Unicode's confusables data (README, "Security").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'correct horse battery staple';
const REASON = 'The value mixes letters of different scripts (for example Latin and Cyrillic), which is not allowed in an identifier.';

for (const db of testDatabases()) {
  describe(`mixed-script identifiers (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } }, flows: { registration: { after: { password: { hooks: [] } } } } },
      });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function signUp(email: string): Promise<{ status: number; body: Json }> {
      const flow = await (await fetch(`${server.publicUrl}/self-service/registration/api`)).json();
      const res = await fetch(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ method: 'password', traits: { email }, password: PASSWORD }),
      });
      return { status: res.status, body: await res.json() };
    }
    const adminCreate = (email: string) => fetch(`${server.adminUrl}/admin/identities`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema_id: 'default', traits: { email } }),
    });

    it('refuses a sign-up whose address mixes Latin and Cyrillic letters (4000001 on the field)', async () => {
      const tag = crypto.randomUUID().slice(0, 8);
      const refused = await signUp(`p\u0430ypal.${tag}@example.com`);
      expect(refused.status).toBe(400);
      const field = refused.body.ui.nodes.find((n: Json) => n.attributes.name === 'traits.email');
      expect(field.messages).toEqual([{ id: 4000001, text: REASON, type: 'error', context: { reason: REASON } }]);
      expect((await adminCreate(`p\u0430ypal.${tag}@example.com`)).status).toBe(400);
    });

    it('accepts identifiers of one script per part, in any script', async () => {
      const tag = String(Math.floor(Math.random() * 1e9)); // digits belong to no script
      for (const email of [`paypal.${tag}@example.com`, `иван${tag}@example.com`, `josé.núñez.${tag}@example.com`, `田中たなか${tag}@example.jp`]) {
        const res = await signUp(email);
        expect(res.status, `${email}: ${JSON.stringify(res.body.ui?.nodes?.find((n: Json) => n.attributes.name === 'traits.email')?.messages)}`).toBe(200);
      }
    });
  });
}
