/**
 * FedCM (`GET /self-service/fed-cm/parameters`, `POST /self-service/fed-cm/token`): Kratos documents both in its
 * OpenAPI, but only the Ory Network serves them — a self-hosted Kratos registers no FedCM route
 * (selfservice/strategy/oidc/fedcm/definitions.go holds only the API definitions: "only supported on the Ory
 * Network"). idflow answers as self-hosted Kratos does: the route does not exist (404), even with an OpenID Connect
 * provider configured, and a FedCM token is never turned into a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { Session } from '../../../entities/index.ts';

for (const db of testDatabases()) {
  describe(`FedCM endpoints (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        selfservice: {
          methods: {
            oidc: {
              enabled: true,
              config: {
                providers: [{
                  id: 'op', provider: 'generic', client_id: 'idflow', client_secret: 'a client secret',
                  issuer_url: 'http://127.0.0.1:9/', mapper_url: 'base64://bG9jYWwgY2xhaW1zID0gc3RkLmV4dFZhcignY2xhaW1zJyk7IHsgaWRlbnRpdHk6IHsgdHJhaXRzOiB7IGVtYWlsOiBjbGFpbXMuZW1haWwgfSB9IH0=',
                }],
              },
            },
          },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    const notFound = async (res: Response) => {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await res.json()).error).toMatchObject({ code: 404, status: 'Not Found' });
    };

    it('GET /self-service/fed-cm/parameters: 404, as a self-hosted Kratos', async () => {
      await notFound(await fetch(`${server.publicUrl}/self-service/fed-cm/parameters`, { headers: { accept: 'application/json' } }));
    });

    it('POST /self-service/fed-cm/token: 404 for JSON and form bodies, and no session is issued', async () => {
      const sessions = await server.orm.em.fork().count(Session, {});
      await notFound(await fetch(`${server.publicUrl}/self-service/fed-cm/token`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', csrf_token: 'x', nonce: 'n' }),
      }));
      await notFound(await fetch(`${server.publicUrl}/self-service/fed-cm/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', csrf_token: 'x' }).toString(),
      }));
      expect(await server.orm.em.fork().count(Session, {})).toBe(sessions);
    });
  });
}
