/**
 * Issue 15, "bodies are limited in depth, size and key count before parsing reaches the engine": a 10,000-deep JSON
 * body used to reach the flow engine and overflow the stack while its snapshot was saved (a 500). Depth and member
 * count are now checked on the raw bytes (src/http/middleware/json-shape.ts): 400, size: 413, on both APIs,
 * and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectSchema } from '../../support/openapi.ts';
import { Flow, Identity as IdentityEntity } from '../../../entities/index.ts';

type Json = any;

const deep = (levels: number) => `{"traits":${'['.repeat(levels)}${']'.repeat(levels)},"method":"password","password":"x"}`;
const manyKeys = (n: number) => `{"traits":{${Array.from({ length: n }, () => '"a":0').join(',')}},"method":"password","password":"x"}`;
const huge = (bytes: number) => `{"traits":{"email":"${'a'.repeat(bytes)}"},"method":"password","password":"x"}`;

for (const db of testDatabases()) {
  describe(`request body limits (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn);
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    const rows = async () => {
      const em = server.orm.em.fork();
      return { identities: await em.count(IdentityEntity, {}), flows: await em.find(Flow, {}, { fields: ['id', 'version'], disableIdentityMap: true }).then((f) => f.map((r) => `${r.id}@${r.version}`).sort()) };
    };

    async function send(url: string, body: string): Promise<{ status: number; body: Json }> {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    }

    async function targets(): Promise<Array<[string, string]>> {
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      return [['public registration submit', `${server.publicUrl}/self-service/registration?flow=${flow.id}`], ['admin create identity', `${server.adminUrl}/admin/identities`]];
    }

    function expectKratosError(res: { status: number; body: Json }, status: number, reason: RegExp) {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expectSchema('errorGeneric', res.body);
      expect(res.body.error).toMatchObject({ code: status });
      expect(res.body.error.reason).toMatch(reason);
    }

    it('answers a 10,000-deep body with 400 and writes nothing', async () => {
      for (const [name, url] of await targets()) {
        const before = await rows();
        expectKratosError(await send(url, deep(10_000)), 400, /nested deeper than 32 levels/);
        expect(await rows(), name).toEqual(before);
      }
    });

    it('accepts nesting up to the limit (the flow answers; no body error)', async () => {
      const [[, url]] = await targets();
      const res = await send(url, deep(30));
      expect(res.status).toBe(400);
      expect(res.body.ui, JSON.stringify(res.body)).toBeDefined();
    });

    it('answers a body with 100,000 keys with 400 and writes nothing', async () => {
      for (const [name, url] of await targets()) {
        const before = await rows();
        expectKratosError(await send(url, manyKeys(100_000)), 400, /more than \d+ keys/);
        expect(await rows(), name).toEqual(before);
      }
    });

    it('answers a body over the size limit with 413 and a form with too many fields with 400', async () => {
      const [[, publicUrl], [, adminUrl]] = await targets();
      expectKratosError(await send(publicUrl, huge(1_100_000)), 413, /size limit/);
      expectKratosError(await send(adminUrl, huge(5_300_000)), 413, /size limit/);
      const form = Array.from({ length: 1001 }, (_, i) => `f${i}=x`).join('&');
      const res = await fetch(publicUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form });
      expectKratosError({ status: res.status, body: await res.json() }, 400, /too many form fields/);
    });
  });
}
