import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer } from '../../support/server.ts';

describe('readiness', () => {
  it('is 503 with the reason on admin (none on public) when the database is gone, while alive stays 200', async () => {
    const server = await startTestServer('memory');
    try {
      expect((await fetch(`${server.publicUrl}/health/ready`)).status).toBe(200);
      await server.orm.close(true);
      const pub = await fetch(`${server.publicUrl}/health/ready`);
      expect(pub.status).toBe(503);
      expect(await pub.json()).toEqual({ errors: { database: 'not ready' } });
      const adm = await fetch(`${server.adminUrl}/health/ready`);
      expect(adm.status).toBe(503);
      expect((await adm.json()).errors.database).toMatch(/database is not reachable/);
      expect((await fetch(`${server.publicUrl}/health/alive`)).status).toBe(200);

      // A failing request answers a bare 500 and logs its details under the request id it echoes.
      const failed = await fetch(`${server.adminUrl}/admin/identities`, { headers: { 'x-request-id': 'req-42' } });
      expect(failed.status).toBe(500);
      expect(failed.headers.get('x-request-id')).toBe('req-42');
      expect(JSON.stringify(await failed.json())).not.toMatch(/sqlite|knex|stack/i);
      const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request failed');
      expect(line).toMatchObject({ level: 'error', request_id: 'req-42', method: 'GET' });
      const generated = await fetch(`${server.publicUrl}/health/alive`);
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await server.close();
    }
  });

  const pg = testDatabases().find((d) => d.name === 'postgresql');
  it.runIf(pg)('is 503 when the PostgreSQL database disappears, and a request fails without partial writes', async () => {
    const created = await pg!.create();
    const server = await startTestServer(created.dsn);
    try {
      expect((await fetch(`${server.adminUrl}/health/ready`)).status).toBe(200);
      await created.drop();
      const ready = await fetch(`${server.adminUrl}/health/ready`);
      expect(ready.status).toBe(503);
      const create = await fetch(`${server.adminUrl}/admin/identities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema_id: 'default', traits: { email: 'down@example.com' } }) });
      expect(create.status).toBe(500);
      const body = await create.json();
      expect(body.error.code).toBe(500);
      expect(JSON.stringify(body)).not.toMatch(/idflow_t_|postgres|SQL/i);
    } finally {
      await server.close();
    }
  });
});
