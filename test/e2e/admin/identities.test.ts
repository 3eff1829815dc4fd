import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '@ory/client-fetch';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse, expectSchema } from '../../support/openapi.ts';
import { Identity as IdentityEntity } from '../../../entities/index.ts';
import { failure as errorOf } from '../../support/sdk.ts';
import { TEST_TOTP_SECRET, testTotpUrl } from '../../support/totp.ts';

for (const db of testDatabases()) {
  describe(`admin identity API (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    const countIdentities = () => server.orm.em.fork().count(IdentityEntity, {});

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, { serve: { admin: { request_body_limit: '64KB' } } });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    it('creates an identity through the Ory SDK and derives identifiers and addresses from the schema', async () => {
      const res = await server.identityApi.createIdentityRaw({
        createIdentityBody: {
          schema_id: 'default',
          traits: { email: '  Alice@Example.COM ', name: { first: 'Alice' } },
          credentials: { password: { config: { password: 'correct horse battery staple' } } },
          metadata_public: { plan: 'pro' },
          metadata_admin: { note: 'vip' },
        },
      });
      expect(res.raw.status).toBe(201);
      const body = await res.raw.clone().json();
      expectResponse('createIdentity', 201, body);
      const identity = await res.value();
      expect(res.raw.headers.get('location')).toMatch(new RegExp(`/admin/identities/${identity.id}$`));
      expect(identity.state).toBe('active');
      expect(identity.metadata_admin).toEqual({ note: 'vip' });
      expect(identity.verifiable_addresses?.map((a) => [a.value, a.verified, a.status])).toEqual([['alice@example.com', false, 'pending']]);
      expect(identity.recovery_addresses?.map((a) => a.value)).toEqual(['alice@example.com']);
      expect(identity.credentials?.password?.identifiers).toEqual(['alice@example.com']);
      expect(identity.credentials?.password?.config).toBeUndefined();
      expect(identity.schema_url).toMatch(/\/schemas\/ZGVmYXVsdA$/);
    });

    it('shows password hashes only when include_credential asks for them', async () => {
      const created = await server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email: 'hash-view@example.com' }, credentials: { password: { config: { password: 'another long passphrase' } } } },
      });
      const plainRes = await server.identityApi.getIdentityRaw({ id: created.id });
      const plain = await plainRes.raw.json();
      expectResponse('getIdentity', 200, plain);
      expect(JSON.stringify(plain)).not.toContain('argon2');
      const withHash = await server.identityApi.getIdentity({ id: created.id, includeCredential: ['password'] });
      const hashed = (withHash.credentials?.password?.config as { hashed_password: string }).hashed_password;
      expect(hashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await server.registry.hasher.verify('another long passphrase', hashed)).toBe(true);
    });

    it('answers an identifier clash with 409 and writes nothing', async () => {
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'taken@example.com' } } });
      const before = await countIdentities();
      const failure = await errorOf(server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email: 'TAKEN@example.com ' }, credentials: { password: { config: { password: 'yet another passphrase' } } } },
      }));
      expect(failure.status).toBe(409);
      expectResponse('createIdentity', 409, failure.body);
      expect(failure.body.error).toMatchObject({ code: 409, status: 'Conflict', reason: expect.stringContaining('conflicts') });
      expect(await countIdentities()).toBe(before);
    });

    it('imports second factors in Kratos\'s format, sealed at rest, and refuses a TOTP URL that is no key', async () => {
      const email = `second-factor-${crypto.randomUUID()}@example.com`;
      const created = await server.identityApi.createIdentity({
        createIdentityBody: {
          schema_id: 'default', traits: { email },
          credentials: {
            totp: { config: { totp_url: testTotpUrl(email) } },
            lookup_secret: { config: { codes: [{ code: 'abcd1234' }, { code: 'used0000', used_at: new Date('2026-01-02T03:04:05Z') }] } },
          } as never,
        },
      });
      const shown = await server.identityApi.getIdentity({ id: created.id, includeCredential: ['totp', 'lookup_secret'] });
      expect(shown.credentials!.totp!.identifiers).toEqual([created.id]);
      expect(shown.credentials!.lookup_secret!.identifiers).toEqual([created.id]);
      // Neither the TOTP key nor a backup code is stored in the clear (Kratos stores both as given).
      const stored = JSON.stringify(shown.credentials);
      expect(stored).not.toContain(TEST_TOTP_SECRET);
      expect(stored).not.toContain('abcd1234');
      const codes = (shown.credentials!.lookup_secret!.config as { recovery_codes: Array<{ used_at: string | null }> }).recovery_codes;
      expect(codes.map((c) => c.used_at)).toEqual([null, '2026-01-02T03:04:05Z']);

      // Replacing the identity with more codes appends them, as Kratos does.
      await server.identityApi.updateIdentity({
        id: created.id,
        updateIdentityBody: { schema_id: 'default', state: 'active', traits: { email }, credentials: { lookup_secret: { config: { codes: [{ code: 'efgh5678' }] } } } as never },
      });
      const replaced = await server.identityApi.getIdentity({ id: created.id, includeCredential: ['lookup_secret'] });
      expect((replaced.credentials!.lookup_secret!.config as { recovery_codes: unknown[] }).recovery_codes).toHaveLength(3);

      const before = await countIdentities();
      const failure = await errorOf(server.identityApi.createIdentity({
        createIdentityBody: {
          schema_id: 'default', traits: { email: `bad-totp-${crypto.randomUUID()}@example.com` },
          credentials: { totp: { config: { totp_url: 'otpauth://totp/idflow:a@example.com?secret=not-base32!' } } } as never,
        },
      }));
      expect(failure.status).toBe(400);
      expectResponse('createIdentity', 400, failure.body);
      expect(failure.body.error.reason).toMatch(/totp_url is not a valid/);
      expect(await countIdentities()).toBe(before);
    });

    it('lets exactly one of 20 concurrent creates with the same e-mail succeed', async () => {
      const before = await countIdentities();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${server.adminUrl}/admin/identities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema_id: 'default', traits: { email: i % 2 ? 'race@example.com' : 'Race@Example.com' } }),
      }).then((r) => r.status)));
      expect(results.filter((s) => s === 201)).toHaveLength(1);
      expect(results.filter((s) => s === 409)).toHaveLength(19);
      expect(await countIdentities()).toBe(before + 1);
    });

    it('validates traits per field with JSON pointer, message and Kratos message id', async () => {
      const before = await countIdentities();
      const failure = await errorOf(server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'not-an-email', name: { first: 7 } } } }));
      expect(failure.status).toBe(400);
      expectResponse('createIdentity', 400, failure.body);
      const errors = failure.body.error.details.errors as Array<{ pointer: string; id: number; message: string }>;
      expect(errors.map((e) => e.pointer).sort()).toEqual(['/traits/email', '/traits/name/first']);
      expect(errors.find((e) => e.pointer === '/traits/name/first')?.id).toBe(4000026);
      expect(await countIdentities()).toBe(before);

      const missing = await errorOf(server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: {} } }));
      expect(missing.body.error.details.errors).toEqual([expect.objectContaining({ pointer: '/traits/email', id: 4000002 })]);

      const unknownSchema = await errorOf(server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'nope', traits: { email: 'x@example.com' } } }));
      expect(unknownSchema.status).toBe(400);
    });

    it('refuses malformed JSON (400), oversized bodies (413) and unknown routes (404) in Kratos shape', async () => {
      const malformed = await fetch(`${server.adminUrl}/admin/identities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"traits": ' });
      expect(malformed.status).toBe(400);
      expectSchema('errorGeneric', await malformed.json());
      const big = await fetch(`${server.adminUrl}/admin/identities`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ traits: { email: 'big@example.com' }, metadata_public: { blob: 'x'.repeat(70 * 1024) } }),
      });
      expect(big.status).toBe(413);
      expect((await big.json()).error.code).toBe(413);
      const unknown = await fetch(`${server.adminUrl}/admin/nothing-here`);
      expect(unknown.status).toBe(404);
      expectSchema('errorGeneric', await unknown.json());
      const missingId = await errorOf(server.identityApi.getIdentity({ id: crypto.randomUUID() }));
      expect(missingId.status).toBe(404);
      expectResponse('getIdentity', 404, missingId.body);
    });

    it('updates with PUT and JSON Patch, re-deriving identifiers and protecting immutable paths', async () => {
      const created = await server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email: 'before@example.com' }, credentials: { password: { config: { password: 'patch me please now' } } }, metadata_public: { a: 1 } },
      });
      const putRes = await server.identityApi.updateIdentityRaw({
        id: created.id,
        updateIdentityBody: { schema_id: 'default', state: 'inactive', traits: { email: 'after@example.com' } },
      });
      const put = await putRes.raw.clone().json();
      expectResponse('updateIdentity', 200, put);
      expect(put.state).toBe('inactive');
      expect(put.metadata_public).toBeNull();
      expect(put.credentials?.password?.identifiers).toEqual(['after@example.com']);
      expect(put.verifiable_addresses?.map((a: { value: string }) => a.value)).toEqual(['after@example.com']);
      expect(new Date(put.state_changed_at).getTime()).toBeGreaterThanOrEqual(new Date(created.state_changed_at!).getTime());

      const patched = await server.identityApi.patchIdentity({
        id: created.id,
        jsonPatch: [{ op: 'replace', path: '/traits/email', value: 'Patched@Example.com' }, { op: 'add', path: '/metadata_public', value: { b: 2 } }],
      });
      expect(patched.credentials?.password?.identifiers).toEqual(['patched@example.com']);
      expect(patched.metadata_public).toEqual({ b: 2 });
      const stillHashed = await server.identityApi.getIdentity({ id: created.id, includeCredential: ['password'] });
      expect(await server.registry.hasher.verify('patch me please now', (stillHashed.credentials?.password?.config as { hashed_password: string }).hashed_password)).toBe(true);

      const protectedPath = await errorOf(server.identityApi.patchIdentity({ id: created.id, jsonPatch: [{ op: 'replace', path: '/id', value: crypto.randomUUID() }] }));
      expect(protectedPath.status).toBe(400);
      const badPatch = await errorOf(server.identityApi.patchIdentity({ id: created.id, jsonPatch: [{ op: 'replace', path: '/traits/email', value: 'not an email' }] }));
      expect(badPatch.status).toBe(400);
      expect((await server.identityApi.getIdentity({ id: created.id })).traits).toEqual({ email: 'Patched@Example.com' });
    });

    it('lists with keyset pagination, Link headers, filters, and refuses forged page tokens', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: `page${i}@example.com` } } })).id);
      }
      const seen: string[] = [];
      let url: string | undefined = `${server.adminUrl}/admin/identities?page_size=2`;
      let pages = 0;
      while (url) {
        const res: Response = await fetch(url);
        expect(res.status).toBe(200);
        const body = await res.json() as Identity[];
        expectResponse('listIdentities', 200, body);
        expect(body.length).toBeLessThanOrEqual(2);
        seen.push(...body.map((i) => i.id));
        const link: string = res.headers.get('link') ?? '';
        expect(link).toContain('rel="first"');
        const next: string | undefined = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
        url = next ? `${server.adminUrl}${new URL(next).pathname}${new URL(next).search}` : undefined;
        pages++;
      }
      expect(pages).toBeGreaterThanOrEqual(3);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of ids) expect(seen).toContain(id);

      const byIdentifier = await server.identityApi.listIdentities({ credentialsIdentifier: ' PAGE3@example.com' });
      expect(byIdentifier.map((i) => i.id)).toEqual([ids[3]]);
      expect(byIdentifier[0].credentials?.code?.identifiers).toEqual(['page3@example.com']);
      const byIds = await server.identityApi.listIdentities({ ids: [ids[0], ids[4]] });
      expect(byIds.map((i) => i.id).sort()).toEqual([ids[0], ids[4]].sort());

      const forged = await fetch(`${server.adminUrl}/admin/identities?page_token=${'A'.repeat(60)}`);
      expect(forged.status).toBe(400);
      const first = await fetch(`${server.adminUrl}/admin/identities?page_size=1`);
      const token = new URL(/<([^>]+)>;\s*rel="next"/.exec(first.headers.get('link')!)![1]).searchParams.get('page_token')!;
      const crossContext = await fetch(`${server.adminUrl}/admin/identities?page_size=1&page_token=${token}&credentials_identifier=x`);
      expect(crossContext.status).toBe(400);
      const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
      expect((await fetch(`${server.adminUrl}/admin/identities?page_token=${tampered}`)).status).toBe(400);
    });

    it('batch-creates with per-item results', async () => {
      const raw = await server.identityApi.batchPatchIdentitiesRaw({
        patchIdentitiesBody: {
          identities: [
            { create: { schema_id: 'default', traits: { email: 'batch1@example.com' } }, patch_id: crypto.randomUUID() },
            { create: { schema_id: 'default', traits: { email: 'batch1@example.com' } }, patch_id: crypto.randomUUID() },
            { create: { schema_id: 'default', traits: { email: 'nope' } }, patch_id: crypto.randomUUID() },
          ],
        },
      });
      const res = await raw.raw.json();
      expectResponse('batchPatchIdentities', 200, res);
      expect(res.identities.map((r: { action: string }) => r.action)).toEqual(['create', 'error', 'error']);
      expect(res.identities[1].error.code).toBe(409);
    });

    it('deletes identities and credentials, never the last first factor', async () => {
      const created = await server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email: 'delete-me@example.com' }, credentials: { password: { config: { password: 'a fine passphrase here' } } } },
      });
      const lastFactor = await errorOf(server.identityApi.deleteIdentityCredentials({ id: created.id, type: 'password' }));
      expect(lastFactor.status).toBe(400);
      const noTotp = await errorOf(server.identityApi.deleteIdentityCredentials({ id: created.id, type: 'totp' }));
      expect(noTotp.status).toBe(404);
      await server.identityApi.deleteIdentity({ id: created.id });
      expect((await errorOf(server.identityApi.getIdentity({ id: created.id }))).status).toBe(404);
      expect((await errorOf(server.identityApi.deleteIdentity({ id: created.id }))).status).toBe(404);
    });

    it('serves identity schemas on the public API by id and by base64url id', async () => {
      const list = await fetch(`${server.publicUrl}/schemas`).then((r) => r.json());
      expectResponse('listIdentitySchemas', 200, list);
      expect(list.map((s: { id: string }) => s.id)).toContain('default');
      const plain = await fetch(`${server.publicUrl}/schemas/default`).then((r) => r.json());
      const encoded = await fetch(`${server.publicUrl}/schemas/ZGVmYXVsdA`).then((r) => r.json());
      expect(encoded).toEqual(plain);
      expect(plain.properties.traits.properties.email.format).toBe('email');
      expect((await fetch(`${server.publicUrl}/schemas/unknown`)).status).toBe(404);
    });

    it('reports health and version', async () => {
      for (const base of [server.publicUrl, server.adminUrl]) {
        expect(await fetch(`${base}/health/alive`).then((r) => r.json())).toEqual({ status: 'ok' });
        expect(await fetch(`${base}/health/ready`).then((r) => r.json())).toEqual({ status: 'ok' });
        expect((await fetch(`${base}/version`).then((r) => r.json())).version).toMatch(/^\d+\.\d+\.\d+/);
      }
      expect((await fetch(`${server.adminUrl}/identities?page_size=1`)).status).toBe(200);
    });
  });
}
