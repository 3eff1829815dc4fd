/**
 * `session.whoami.tokenizer.templates` and `GET /sessions/whoami?tokenize_as=` (Kratos session/tokenizer.go): the JWT
 * is verified with the public half of the template's key; claims, TTL, the Jsonnet mapper and Kratos's 400s.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { testDatabases, type TestDatabase } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { createIdentity, nativeLogin, whoami, type Json } from './helpers.ts';

const PASSWORD = 'a long tokenizer test passphrase';
const NO_HIBP = { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const b64 = (text: string) => `base64://${Buffer.from(text, 'utf8').toString('base64')}`;

let counter = 0;
const email = (label: string) => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;

async function keyPair(alg: 'ES256' | 'RS256', kid: string): Promise<{ privateJwk: JWK; publicKey: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateJwk: { ...(await exportJWK(privateKey)), alg, kid, use: 'sig' }, publicKey };
}

const MAPPER = `
local session = std.extVar('session');
local claims = std.extVar('claims');
{
  claims: claims + {
    email: session.identity.traits.email,
    aal: session.authenticator_assurance_level,
    sub: 'the mapper can not change the subject',
  },
}`;

for (const db of testDatabases()) {
  describe(`session tokenizer (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let dir: string;
    let es: Awaited<ReturnType<typeof keyPair>>;
    let rs: Awaited<ReturnType<typeof keyPair>>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'idflow-tokenizer-'));
      es = await keyPair('ES256', 'es-key');
      rs = await keyPair('RS256', 'rs-key');
      const other = await keyPair('ES256', 'never-used');
      // The first key of the set signs (Kratos resolves the set without a key id).
      await writeFile(join(dir, 'es.jwks.json'), JSON.stringify({ keys: [es.privateJwk, other.privateJwk] }));
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        ...NO_HIBP,
        session: {
          whoami: {
            tokenizer: {
              templates: {
                plain: { jwks_url: `file://${join(dir, 'es.jwks.json')}`, ttl: '10m' },
                mapped: { jwks_url: b64(JSON.stringify({ keys: [rs.privateJwk] })), claims_mapper_url: b64(MAPPER) },
                not_an_object: { jwks_url: `file://${join(dir, 'es.jwks.json')}`, claims_mapper_url: b64('{ claims: "nope" }') },
                broken_mapper: { jwks_url: `file://${join(dir, 'es.jwks.json')}`, claims_mapper_url: b64('{ claims: error "boom" }') },
                external: { jwks_url: `file://${join(dir, 'es.jwks.json')}`, subject_source: 'external_id' },
              },
            },
          },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
      await rm(dir, { recursive: true, force: true });
    });

    const tokenize = async (token: string, template: string): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${server.publicUrl}/sessions/whoami?tokenize_as=${encodeURIComponent(template)}`, {
        headers: { accept: 'application/json', 'X-Session-Token': token },
      });
      return { status: res.status, body: await res.json() };
    };

    it('answers the session with a JWT signed by the first key of the template, with Kratos claims and the ttl', async () => {
      const address = email('plain');
      const identityId = await createIdentity(server, address, PASSWORD);
      const { token, session } = await nativeLogin(server, address, PASSWORD);

      const { status, body } = await tokenize(token, 'plain');
      expect(status, JSON.stringify(body)).toBe(200);
      expectResponse('toSession', 200, body);
      expect(body.id).toBe(session.id);
      expect(body.identity.id).toBe(identityId);
      expect(decodeProtectedHeader(body.tokenized)).toMatchObject({ alg: 'ES256', kid: 'es-key' });
      const { payload } = await jwtVerify(body.tokenized, es.publicKey, { issuer: `${server.publicUrl}/`, subject: identityId, currentDate: server.clock.now() });
      expect(payload.sid).toBe(session.id);
      expect(payload.jti).toMatch(UUID);
      const now = Math.floor(server.clock.now().getTime() / 1000);
      expect(Math.abs(payload.iat! - now)).toBeLessThanOrEqual(2);
      expect(payload.nbf).toBe(payload.iat);
      expect(payload.exp! - payload.iat!).toBe(600);
      expect(Object.keys(payload).sort()).toEqual(['exp', 'iat', 'iss', 'jti', 'nbf', 'sid', 'sub']);

      // A new token (new jti) per call; the plain whoami answer carries none.
      const again = await tokenize(token, 'plain');
      const second = await jwtVerify(again.body.tokenized, es.publicKey, { currentDate: server.clock.now() });
      expect(second.payload.jti).not.toBe(payload.jti);
      const plain = await whoami(server, { 'X-Session-Token': token });
      expect(plain.body.tokenized).toBeUndefined();

      // The token expires after its ttl (the server's clock signs; the verifier is told the time).
      await expect(jwtVerify(body.tokenized, es.publicKey, { currentDate: new Date((payload.exp! + 1) * 1000) })).rejects.toThrow(/exp/);
    });

    it('runs the Jsonnet claims mapper over the session and the default claims; `sub` stays the identity', async () => {
      const address = email('mapped');
      const identityId = await createIdentity(server, address, PASSWORD);
      const { token, session } = await nativeLogin(server, address, PASSWORD);
      const { status, body } = await tokenize(token, 'mapped');
      expect(status, JSON.stringify(body)).toBe(200);
      expectResponse('toSession', 200, body);
      expect(decodeProtectedHeader(body.tokenized)).toMatchObject({ alg: 'RS256', kid: 'rs-key' });
      const { payload } = await jwtVerify(body.tokenized, rs.publicKey, { currentDate: server.clock.now() });
      expect(payload).toMatchObject({ sub: identityId, sid: session.id, email: address, aal: 'aal1', iss: `${server.publicUrl}/` });
      // default ttl: 1m
      expect(payload.exp! - payload.iat!).toBe(60);
      // signed by the template's key only
      await expect(jwtVerify(body.tokenized, es.publicKey)).rejects.toThrow();
    });

    it("answers Kratos's 400s: unknown template, a mapper without a claims object or failing, no external id", async () => {
      const address = email('errors');
      await createIdentity(server, address, PASSWORD);
      const { token } = await nativeLogin(server, address, PASSWORD);
      const cases: Array<[string, string]> = [
        ['nope', 'Unable to find tokenizer template "nope".'],
        ['not_an_object', 'Expected tokenizer JsonNet to return a claims object but it did not.'],
        ['broken_mapper', 'Unable to execute tokenizer JsonNet.'],
        ['external', "The session's identity does not have an external ID set, but it is required for the subject claim."],
      ];
      for (const [template, reason] of cases) {
        const { status, body } = await tokenize(token, template);
        expect(status, template).toBe(400);
        expectResponse('toSession', 400, body);
        expect(body.error).toMatchObject({ code: 400, status: 'Bad Request', reason });
        expect(JSON.stringify(body)).not.toContain('boom');
      }
      // Without a session it is the usual 401, whatever the template.
      const anonymous = await fetch(`${server.publicUrl}/sessions/whoami?tokenize_as=nope`, { headers: { accept: 'application/json' } });
      expect(anonymous.status).toBe(401);
    });

    it('uses the external id as the subject with subject_source: external_id', async () => {
      const address = email('external');
      const externalId = `ext-${Math.random().toString(36).slice(2)}`;
      const created = await server.identityApi.createIdentity({
        createIdentityBody: {
          schema_id: 'default', external_id: externalId, traits: { email: address }, credentials: { password: { config: { password: PASSWORD } } },
        },
      });
      const { token } = await nativeLogin(server, address, PASSWORD);
      const { status, body } = await tokenize(token, 'external');
      expect(status, JSON.stringify(body)).toBe(200);
      const { payload } = await jwtVerify(body.tokenized, es.publicKey, { currentDate: server.clock.now() });
      expect(payload.sub).toBe(externalId);
      expect(payload.sub).not.toBe(created.id);
    });
  });
}
