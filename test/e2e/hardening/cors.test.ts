/**
 * `serve.public.cors` and `serve.admin.cors` over HTTP (Kratos: rs/cors with ory/x corsx.CheckOrigin): preflights,
 * allowed and refused origins (exact and `https://*.example.org`), methods, headers, credentials, max age.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';

const PASSWORD = 'a long cross-origin test passphrase';

for (const db of testDatabases()) {
  describe(`CORS (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let token: string;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } },
        serve: {
          public: {
            cors: {
              enabled: true,
              // `https://*.com` could match anyone's site: ignored (with a warning), as Kratos does.
              allowed_origins: ['https://app.example.com', 'https://*.example.org', 'https://*.com'],
              allow_credentials: true,
              max_age: 600,
              exposed_headers: ['Content-Type', 'X-Kratos-Authenticated-Identity-Id'],
            },
          },
          admin: { cors: { enabled: true, allowed_origins: ['https://admin.example.com'], allow_credentials: false, allowed_methods: ['GET', 'DELETE'] } },
        },
      });
      const email = `cors-${crypto.randomUUID()}@example.com`;
      await server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } },
      });
      const flow = await server.frontendApi.createNativeLoginFlow();
      token = (await server.frontendApi.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: 'password', identifier: email, password: PASSWORD } })).session_token!;
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    const preflight = (base: string, path: string, origin: string, method: string, headers?: string) => fetch(`${base}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
    });
    const corsHeaders = (res: Response) => Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));

    it('answers an allowed preflight with 204 and the CORS headers, credentials and max age', async () => {
      for (const origin of ['https://app.example.com', 'https://shop.example.org', 'https://a.b.example.org']) {
        const res = await preflight(server.publicUrl, '/sessions/whoami', origin, 'get', 'X-Session-Token, content-type');
        expect(res.status).toBe(204);
        expect(corsHeaders(res)).toEqual({
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'GET',
          'access-control-allow-headers': 'X-Session-Token, content-type',
          'access-control-allow-credentials': 'true',
          'access-control-max-age': '600',
        });
        expect(res.headers.get('vary')).toBe('Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      }
      // Any route, before CSRF and body parsing: a flow submit's preflight too.
      const submit = await preflight(server.publicUrl, '/self-service/login?flow=x', 'https://app.example.com', 'POST', 'Content-Type, X-CSRF-Token');
      expect(submit.status).toBe(204);
      expect(submit.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    });

    it('answers refused preflights with 204 and no CORS headers: origin, method or header not allowed', async () => {
      const refused: Array<[string, string, string | undefined]> = [
        ['https://evil.example.net', 'GET', undefined],
        ['https://example.org', 'GET', undefined], // the wildcard needs a subdomain
        ['https://evil.com', 'GET', undefined], // `https://*.com` is ignored
        ['https://app.example.com.evil.net', 'GET', undefined],
        ['null', 'GET', undefined],
        ['https://app.example.com', 'TRACE', undefined],
        ['https://app.example.com', 'GET', 'X-Session-Token, X-Not-Allowed'],
      ];
      for (const [origin, method, headers] of refused) {
        const res = await preflight(server.publicUrl, '/sessions/whoami', origin, method, headers);
        expect(res.status, `${origin} ${method} ${headers}`).toBe(204);
        expect(corsHeaders(res), `${origin} ${method} ${headers}`).toEqual({});
      }
    });

    it('adds the CORS headers to actual requests from allowed origins, with credentials; none for others', async () => {
      const allowed = await fetch(`${server.publicUrl}/sessions/whoami`, { headers: { origin: 'https://app.example.com', 'x-session-token': token } });
      expect(allowed.status).toBe(200);
      expectResponse('toSession', 200, await allowed.json());
      expect(corsHeaders(allowed)).toEqual({
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'Content-Type, X-Kratos-Authenticated-Identity-Id',
      });
      expect(allowed.headers.get('vary')).toContain('Origin');

      // An error answer carries them too (the browser lets the page read the 401).
      const anonymous = await fetch(`${server.publicUrl}/sessions/whoami`, { headers: { origin: 'https://shop.example.org' } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('access-control-allow-origin')).toBe('https://shop.example.org');

      // A refused origin is answered as usual, without CORS headers: the browser keeps the answer from the page.
      const refused = await fetch(`${server.publicUrl}/sessions/whoami`, { headers: { origin: 'https://evil.example.net', 'x-session-token': token } });
      expect(refused.status).toBe(200);
      expect(corsHeaders(refused)).toEqual({});
      expect(refused.headers.get('vary')).toContain('Origin');
      // No Origin (same-origin or not a browser): nothing added.
      expect(corsHeaders(await fetch(`${server.publicUrl}/health/alive`))).toEqual({});
    });

    it('applies serve.admin.cors to the admin port on its own', async () => {
      const res = await preflight(server.adminUrl, '/admin/identities', 'https://admin.example.com', 'GET');
      expect(res.status).toBe(204);
      expect(corsHeaders(res)).toEqual({ 'access-control-allow-origin': 'https://admin.example.com', 'access-control-allow-methods': 'GET' });
      expect(corsHeaders(await preflight(server.adminUrl, '/admin/identities', 'https://admin.example.com', 'POST'))).toEqual({});
      expect(corsHeaders(await preflight(server.adminUrl, '/admin/identities', 'https://app.example.com', 'GET'))).toEqual({});
      expect(corsHeaders(await preflight(server.publicUrl, '/sessions/whoami', 'https://admin.example.com', 'GET'))).toEqual({});

      const list = await fetch(`${server.adminUrl}/admin/identities`, { headers: { origin: 'https://admin.example.com' } });
      expect(list.status).toBe(200);
      expect(corsHeaders(list)).toEqual({ 'access-control-allow-origin': 'https://admin.example.com', 'access-control-expose-headers': 'Content-Type' });
      // A method outside allowed_methods gets no CORS headers (rs/cors checks actual requests too).
      const post = await fetch(`${server.adminUrl}/admin/identities`, { method: 'POST', headers: { origin: 'https://admin.example.com', 'content-type': 'application/json' }, body: '{}' });
      expect(corsHeaders(post)).toEqual({});
    });

    it('warned at start-up about the unbounded wildcard', () => {
      expect(server.logs.some((line) => line.includes('serve.public.cors.allowed_origins: \\"https://*.com\\" is ignored'))).toBe(true);
    });
  });
}
