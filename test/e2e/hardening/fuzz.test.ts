/**
 * Issue 15, "Fuzzing": property-based bodies and queries (fast-check) for the public self-service endpoints, the
 * admin identity endpoints, and every other operation of Kratos's OpenAPI (path parameters, query and body). Whatever arrives — any JSON value, known field names with values of any type, control
 * characters, arbitrary form bodies and query strings — the answer is never a 5xx and never a hang (each request has
 * 5 s), and a refused admin body writes nothing. `npm test` runs FUZZ_RUNS (default 20) cases per property;
 * `npm run fuzz` runs many more (FUZZ_RUNS=500). A failure prints fast-check's seed and shrunk counterexample.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { referenceUrl } from '../../support/reference.ts';
import { readFileSync } from 'node:fs';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const KINDS = ['login', 'registration', 'recovery', 'verification', 'settings'] as const;
const FIELDS = [
  'method', 'identifier', 'password', 'password_identifier', 'traits', 'code', 'email', 'token', 'csrf_token', 'resend',
  'address', 'provider', 'webauthn_login', 'passkey_login', 'totp_code', 'lookup_secret', 'screen', 'transient_payload',
  'upstream_parameters', 'link', 'unlink', 'flow', '__proto__', 'constructor',
];
const METHODS = ['password', 'code', 'link', 'totp', 'lookup_secret', 'webauthn', 'passkey', 'oidc', 'profile', 'identifier_first'];

/** Strings with the characters that break parsers and SQL: NUL and other controls, quotes, surrogates, very long. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', '\'; DROP TABLE identities; --', '%00', '\ud800', '../../etc/passwd', 'a@b', '{{ .Identity }}', '${x}', ' '),
  fc.string({ unit: fc.constantFrom('a', '\u0000', '\u202e', '\n', '"', '\\', 'é', '𝔘'), maxLength: 2000 }),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 }),
  fc.record({ method: fc.constantFrom(...METHODS) }).chain((base) => fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }).map((rest) => ({ ...rest, ...base }))),
  fc.jsonValue({ maxDepth: 4 }),
);

for (const db of testDatabases()) {
  describe(`fuzzing the public and admin APIs (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        hashers: { algorithm: 'argon2', argon2: { memory: '2MB', iterations: 1, parallelism: 1 } },
        selfservice: {
          methods: {
            password: { config: { haveibeenpwned_enabled: false } }, totp: { enabled: true }, lookup_secret: { enabled: true },
            // Nothing listens on port 9: provider buttons, test-login flows and callbacks without a reachable provider.
            oidc: { enabled: true, config: { providers: [{ id: 'down', provider: 'generic', client_id: 'c', client_secret: 'secret-0123456789', issuer_url: 'http://127.0.0.1:9', mapper_url: `base64://${Buffer.from('{ identity: { traits: { email: std.extVar("claims").email } } }').toString('base64')}` }] } },
          },
          flows: { recovery: { enabled: true, use: 'code' }, verification: { enabled: true, use: 'code' } },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function send(url: string, init: RequestInit = {}): Promise<number> {
      const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      return res.status;
    }
    const identityCount = async () => (await (await fetch(`${server.adminUrl}/admin/identities?page_size=1000`)).json()).length as number;

    it('self-service submits (JSON and form bodies, every flow kind) never answer 5xx', { timeout: 120_000 }, async () => {
      const flows: Record<string, string> = {};
      for (const kind of KINDS.filter((k) => k !== 'settings')) flows[kind] = (await (await fetch(`${server.publicUrl}/self-service/${kind}/api`)).json()).id;
      await fc.assert(fc.asyncProperty(fc.constantFrom(...KINDS), body, fc.boolean(), async (kind, payload, asForm) => {
        const flow = flows[kind] ?? crypto.randomUUID();
        const init: RequestInit = asForm && payload !== null && typeof payload === 'object' && !Array.isArray(payload)
          ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(Object.entries(payload).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])).toString() }
          : { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(payload) };
        const status = await send(`${server.publicUrl}/self-service/${kind}?flow=${flow}`, init);
        expect(status, `${kind} ${init.body}`).toBeLessThan(500);
      }), { numRuns: RUNS * 5 });
    });

    it('regression (found by this fuzzer): a `method` that is an object of 64+ characters answers 400, and the flow history names no method', async () => {
      // It reached the history's method column (varchar 64) as JSON text: PostgreSQL refused the row, the submit was a 500.
      const flow = (await (await fetch(`${server.publicUrl}/self-service/login/api`)).json()).id;
      const method = { '': -9.99197073988303e-310, '  ': null, '      ': false, '     ': null };
      expect(await send(`${server.publicUrl}/self-service/login?flow=${flow}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ method }),
      })).toBe(400);
      const history = await (await fetch(`${server.adminUrl}/admin/flows/${flow}/history`)).json();
      expect(JSON.stringify(history)).not.toContain('9.99197073988303e-310');
    });

    it('regression (found by this fuzzer): a path parameter that is not valid UTF-8 answers 400, not 500', async () => {
      for (const url of [`${server.publicUrl}/sessions/%ED%A0%80`, `${server.adminUrl}/admin/identities/%ED%A0%80`, `${server.adminUrl}/admin/sessions/%C3`]) {
        const res = await fetch(url, { method: url.includes('/sessions/') ? 'DELETE' : 'GET', headers: { accept: 'application/json' } });
        expect(res.status, url).toBe(400);
        expect((await res.json()).error).toMatchObject({ code: 400, reason: 'The request path is not valid percent-encoded UTF-8.' });
      }
    });

    it('regression (found by this fuzzer): a lone surrogate in a JSON body answers 400 on both APIs, nothing stored', async () => {
      const flow = (await (await fetch(`${server.publicUrl}/self-service/login/api`)).json()).id;
      const login = await fetch(`${server.publicUrl}/self-service/login?flow=${flow}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"method":"\\ud800"}',
      });
      expect(login.status).toBe(400);
      expect((await login.json()).error.reason).toMatch(/lone UTF-16 surrogate/);
      const before = await identityCount();
      const admin = await fetch(`${server.adminUrl}/admin/identities`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"schema_id":"default","traits":{"email":"a\\udc00@example.com"}}',
      });
      expect(admin.status).toBe(400);
      expect(await identityCount()).toBe(before);
    });

    it('query strings of flow creation, flow reads, mailed links and errors never answer 5xx', { timeout: 120_000 }, async () => {
      const query = fc.dictionary(fc.constantFrom('id', 'flow', 'return_to', 'refresh', 'aal', 'code', 'token', 'via', 'login_challenge', 'organization'), nasty, { maxKeys: 4 });
      const path = fc.constantFrom(
        ...KINDS.flatMap((k) => [`/self-service/${k}/api`, `/self-service/${k}/browser`, `/self-service/${k}/flows`]),
        '/self-service/recovery', '/self-service/verification', '/self-service/settings', '/self-service/errors', '/sessions/whoami', '/schemas/x',
      );
      await fc.assert(fc.asyncProperty(path, query, async (p, q) => {
        const url = new URL(p, server.publicUrl);
        for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
        const status = await send(url.toString(), { headers: { accept: 'application/json' } });
        expect(status, url.toString()).toBeLessThan(500);
      }), { numRuns: RUNS * 5 });
    });

    it("every operation of Kratos's OpenAPI, with any path parameters, query and body, never answers 5xx", { timeout: 180_000 }, async () => {
      type Operation = { parameters?: Array<{ in: string; name: string }>; requestBody?: unknown };
      const spec = JSON.parse(readFileSync(referenceUrl('kratos-openapi.json'), 'utf8')) as { paths: Record<string, Record<string, Operation>> };
      const operations = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops)
        .filter(([verb]) => ['get', 'post', 'put', 'patch', 'delete'].includes(verb))
        .map(([verb, op]) => ({ path, verb: verb.toUpperCase(), op })));
      expect(operations.length).toBe(60);
      const email = `fuzz-${crypto.randomUUID()}@example.com`;
      const known = await (await fetch(`${server.adminUrl}/admin/identities`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema_id: 'default', traits: { email }, credentials: { password: { config: { password: 'a fuzzed passphrase 1234' } } } }),
      })).json() as { id: string };
      const pathValue = fc.oneof(fc.constant(known.id), fc.uuid(), nasty.filter((v) => v.length > 0), fc.constantFrom('password', 'oidc', 'totp', 'default'));
      const operation = fc.constantFrom(...operations).chain((o) => fc.record({
        o: fc.constant(o),
        params: fc.array(pathValue, { minLength: 3, maxLength: 3 }),
        query: fc.dictionary(fc.constantFrom('x', ...(o.op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)), fc.oneof(nasty, fc.constant(known.id)), { maxKeys: 4 }),
        payload: body,
        token: fc.oneof(fc.constant(undefined), nasty.map((t) => t.replace(/[^\x21-\x7e]/g, '') || 'x')),
      }));
      await fc.assert(fc.asyncProperty(operation, async ({ o, params, query, payload, token }) => {
        let i = 0;
        // A lone surrogate has no UTF-8 form: its CESU bytes go instead (invalid UTF-8 in the path, as an attacker sends).
        const segment = (v: string) => {
          try {
            return encodeURIComponent(v);
          } catch {
            return encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '\ufffd')).replace(/%EF%BF%BD/g, '%ED%A0%80');
          }
        };
        const path = o.path.replace(/\{[^}]+\}/g, () => segment(params[i++ % params.length]));
        const url = new URL(path.replace(/^\//, ''), `${o.path.startsWith('/admin/') ? server.adminUrl : server.publicUrl}/`);
        for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
        const init: RequestInit = { method: o.verb, headers: { accept: 'application/json', ...(token ? { 'x-session-token': token } : {}) } };
        if (o.verb !== 'GET') Object.assign(init, { body: JSON.stringify(payload), headers: { ...init.headers, 'content-type': 'application/json' } });
        const status = await send(url.toString(), init);
        expect(status, `${o.verb} ${url} ${String(init.body ?? '').slice(0, 300)}`).toBeLessThan(500);
      }), { numRuns: RUNS * 10 });
    });

    it('admin identity bodies never answer 5xx, and a refused one writes nothing', { timeout: 120_000 }, async () => {
      const identity = fc.oneof(
        body,
        fc.record({
          schema_id: fc.oneof(fc.constant('default'), nasty),
          traits: fc.oneof(fc.record({ email: fc.oneof(nasty, fc.emailAddress()) }), fc.jsonValue({ maxDepth: 2 })),
          credentials: fc.oneof(fc.constant(undefined), fc.record({ password: fc.record({ config: fc.dictionary(fc.constantFrom('password', 'hashed_password'), nasty) }) })),
          state: fc.oneof(fc.constantFrom('active', 'inactive'), nasty),
          metadata_public: fc.jsonValue({ maxDepth: 2 }),
        }, { requiredKeys: [] }),
      );
      await fc.assert(fc.asyncProperty(identity, fc.boolean(), async (payload, batch) => {
        const before = await identityCount();
        const status = await send(`${server.adminUrl}/admin/identities`, {
          method: batch ? 'PATCH' : 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch ? { identities: [{ create: payload }] } : payload),
        });
        expect(status, JSON.stringify(payload)).toBeLessThan(500);
        if (status >= 400) expect(await identityCount()).toBe(before);
      }), { numRuns: RUNS * 3 });
    });
  });
}
