import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/x/random.ts';
import { computeAal } from '../../../src/session/session.ts';
import { SessionService, TOKEN_RANDOM_LENGTH, type IssuedSession } from '../../../src/session/session-service.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { expectSchema } from '../../support/openapi.ts';
import { createIdentity, HOUR, openHarness, schemaUrl, sessionConfig, type Harness } from './helpers.ts';

const PASSWORD = [{ method: 'password', aal: 'aal1' as const }];

describe('computeAal', () => {
  it('follows Kratos: aal2 only with an aal1 AND an aal2 entry', () => {
    expect(computeAal([])).toBe('aal0');
    expect(computeAal([{ method: 'password', aal: 'aal1' }])).toBe('aal1');
    expect(computeAal([{ method: 'totp', aal: 'aal2' }])).toBe('aal1');
    expect(computeAal([{ method: 'totp', aal: 'aal2' }, { method: 'lookup_secret', aal: 'aal2' }])).toBe('aal1');
    expect(computeAal([{ method: 'password', aal: 'aal1' }, { method: 'code', aal: 'aal1' }])).toBe('aal1');
    expect(computeAal([{ method: 'password', aal: 'aal1' }, { method: 'totp', aal: 'aal2' }])).toBe('aal2');
    expect(computeAal([{ method: 'totp', aal: 'aal2' }, { method: 'password', aal: 'aal1' }])).toBe('aal2');
    // OIDC/SAML with upstream MFA counts as both factors
    expect(computeAal([{ method: 'oidc', aal: 'aal2' }])).toBe('aal2');
    expect(computeAal([{ method: 'saml', aal: 'aal2' }])).toBe('aal2');
  });
});

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`SessionService (${db.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await openHarness(db);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('issue writes nothing; once the caller inserts the record findByToken returns the session with identity and addresses', async () => {
      const identity = await createIdentity(h.store);
      const issued = await h.service.issue({
        identityId: identity.id, methods: PASSWORD, device: { ip: '203.0.113.9', userAgent: 'vitest/4' },
      });
      // not inserted yet: nothing in the database
      expect(await h.service.findByToken(issued.token)).toBeNull();
      expect(await h.store.sessions.get(issued.session.id)).toBeNull();
      expect(issued.record.id).toBe(issued.session.id);
      await h.store.sessions.insert(issued.record);

      const found = await h.service.findByToken(issued.token);
      expect(found).not.toBeNull();
      const s = found!;
      expect(s.id).toBe(issued.session.id);
      expect(s.identityId).toBe(identity.id);
      expect(s.active).toBe(true);
      expect(s.aal).toBe('aal1');
      expect(s.authenticatedAt.getTime()).toBe(h.clock.current.getTime());
      expect(s.issuedAt.getTime()).toBe(h.clock.current.getTime());
      expect(s.expiresAt.getTime()).toBe(h.clock.current.getTime() + 24 * HOUR);
      expect(s.authenticationMethods).toEqual([{ method: 'password', aal: 'aal1', completed_at: h.clock.current.toISOString() }]);
      expect(s.devices).toHaveLength(1);
      expect(s.devices[0]).toMatchObject({ ip_address: '203.0.113.9', user_agent: 'vitest/4' });
      expect(s.devices[0].id).toMatch(/^[0-9a-f-]{36}$/);

      const i = s.identity;
      expect(i.id).toBe(identity.id);
      expect(i.state).toBe('active');
      expect(i.traits).toEqual(identity.traits);
      expect(i.metadataPublic).toEqual({ plan: 'free' });
      expect(i.credentials).toEqual([]);
      // credential TYPES only (for whoami's highest_available check), never configs
      expect(s.credentialTypes).toEqual(['password']);
      expect(JSON.stringify(s)).not.toContain('argon2');
      expect(i.createdAt.getTime()).toBe(identity.createdAt.getTime());
      expect(i.verifiableAddresses.map((a) => [a.id, a.value, a.verified, a.status, a.verifiedAt?.getTime() ?? null])).toEqual(
        identity.verifiableAddresses.map((a) => [a.id, a.value, a.verified, a.status, a.verifiedAt?.getTime() ?? null]),
      );
      expect(i.verifiableAddresses[0].createdAt.getTime()).toBe(identity.verifiableAddresses[0].createdAt.getTime());
      expect(i.recoveryAddresses.map((a) => [a.id, a.value, a.via])).toEqual(identity.recoveryAddresses.map((a) => [a.id, a.value, a.via]));
    });

    it('returns an identity without addresses or credentials with empty lists', async () => {
      const identity = await createIdentity(h.store);
      await h.orm.em.fork().getConnection().execute(`delete from identity_credentials where identity_id = ?`, [identity.id]);
      await h.orm.em.fork().getConnection().execute(
        `delete from identity_verifiable_addresses where identity_id = ?`, [identity.id]);
      await h.orm.em.fork().getConnection().execute(
        `delete from identity_recovery_addresses where identity_id = ?`, [identity.id]);
      // Rows edited by hand: their read model is cleared, as the README asks, and the identity's own rows are read.
      await h.orm.em.fork().getConnection().execute(`update identities set public_json = null where id = ?`, [identity.id]);
      const { token } = await h.issue({ identityId: identity.id, methods: PASSWORD });
      const found = await h.service.findByToken(token);
      expect(found?.identity.verifiableAddresses).toEqual([]);
      expect(found?.identity.recoveryAddresses).toEqual([]);
      expect(found?.credentialTypes).toEqual([]);
    });

    it('lists every credential type of the identity', async () => {
      const identity = await createIdentity(h.store, { extraCredentials: ['totp', 'lookup_secret'] });
      const { token } = await h.issue({ identityId: identity.id, methods: PASSWORD });
      expect((await h.service.findByToken(token))?.credentialTypes).toEqual(['lookup_secret', 'password', 'totp']);
    });

    it('stores only SHA-256 hashes: neither token appears in any column of the sessions row', async () => {
      const identity = await createIdentity(h.store);
      const { session, token, logoutToken } = await h.issue({ identityId: identity.id, methods: PASSWORD });
      const rows = await h.orm.em.fork().getConnection().execute(`select * from sessions where id = ?`, [session.id]);
      expect(rows).toHaveLength(1);
      const row = rows[0] as Record<string, unknown>;
      expect(row.token_hash).toBe(await sha256Hex(token));
      expect(row.logout_token_hash).toBe(await sha256Hex(logoutToken));
      for (const [column, value] of Object.entries(row)) {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        for (const secret of [token, logoutToken, token.slice(7), logoutToken.slice(7), token.slice(7, 27), logoutToken.slice(7, 27)]) {
          expect(text?.includes(secret), `column ${column} holds a token`).toBe(false);
        }
      }
      // the logout token is not a session token
      expect(await h.service.findByToken(logoutToken)).toBeNull();
    });

    it('tokens are ory_st_/ory_lo_ + 48 CSPRNG alphanumerics, unique, covering the whole alphabet', async () => {
      const identity = await createIdentity(h.store);
      const tokens: string[] = [];
      const logoutTokens: string[] = [];
      for (let n = 0; n < 150; n++) {
        const issued = await h.service.issue({ identityId: identity.id, methods: PASSWORD });
        tokens.push(issued.token);
        logoutTokens.push(issued.logoutToken);
      }
      // never written
      expect(await h.service.listForIdentity(identity.id, { limit: 1000 })).toEqual([]);
      expect(TOKEN_RANDOM_LENGTH).toBe(48);
      for (const t of tokens) expect(t).toMatch(/^ory_st_[A-Za-z0-9]{48}$/);
      for (const t of logoutTokens) expect(t).toMatch(/^ory_lo_[A-Za-z0-9]{48}$/);
      expect(new Set([...tokens, ...logoutTokens].map((t) => t.slice(7))).size).toBe(300);
      // 48 * log2(62) >= 256 bits
      expect(48 * Math.log2(62)).toBeGreaterThanOrEqual(256);
      const symbols = new Set(tokens.join('').replaceAll('ory_st_', ''));
      expect(symbols.size).toBe(62);
      expect(new Set(logoutTokens.join('').replaceAll('ory_lo_', '')).size).toBe(62);
    });

    it('logoutTokenFor re-derives the issued logout token (stable, no write) and refuses unknown sessions', async () => {
      const identity = await createIdentity(h.store);
      const one = await h.issue({ identityId: identity.id, methods: PASSWORD });
      const two = await h.issue({ identityId: identity.id, methods: PASSWORD });
      expect(await h.service.logoutTokenFor(one.session.id)).toBe(one.logoutToken);
      expect(await h.service.logoutTokenFor(one.session.id)).toBe(one.logoutToken);
      expect(await h.service.logoutTokenFor(two.session.id)).toBe(two.logoutToken);
      expect(one.logoutToken).not.toBe(two.logoutToken);
      await expect(h.service.logoutTokenFor(crypto.randomUUID())).rejects.toMatchObject({ status: 401, id: 'session_inactive' });
      await expect(h.service.logoutTokenFor('nope')).rejects.toMatchObject({ status: 401 });
      // the derived token works for logout
      const fromLater = await h.service.logoutTokenFor(one.session.id);
      expect((await h.service.revokeByLogoutToken(fromLater, { sessionId: one.session.id }))?.id).toBe(one.session.id);
      expect(await h.service.findByToken(one.token)).toBeNull();
    });

    it('unknown, malformed, revoked, expired tokens and inactive identities yield null', async () => {
      expect(await h.service.findByToken('ory_st_' + 'a'.repeat(48))).toBeNull();
      expect(await h.service.findByToken('')).toBeNull();
      expect(await h.service.findByToken('not-a-token')).toBeNull();
      expect(await h.service.findByToken("ory_st_' or 1=1 --")).toBeNull();
      expect(await h.service.findByToken('ory_st_' + 'a'.repeat(10_000))).toBeNull();

      const identity = await createIdentity(h.store);
      const revoked = await h.issue({ identityId: identity.id, methods: PASSWORD });
      const expiring = await h.issue({ identityId: identity.id, methods: PASSWORD });

      expect(await h.service.findByToken(revoked.token)).not.toBeNull();
      expect(await h.service.revoke(revoked.session.id)).toBe(true);
      expect(await h.service.findByToken(revoked.token)).toBeNull();
      expect(await h.service.revoke(revoked.session.id)).toBe(true); // still exists
      expect(await h.service.revoke(crypto.randomUUID())).toBe(false);
      expect(await h.service.revoke('nope')).toBe(false);

      const start = h.clock.current;
      try {
        h.clock.advance(24 * HOUR - 1);
        expect(await h.service.findByToken(expiring.token)).not.toBeNull();
        h.clock.advance(1);
        expect(await h.service.findByToken(expiring.token)).toBeNull();
      } finally {
        h.clock.current = start;
      }
      expect(await h.service.findByToken(expiring.token)).not.toBeNull();

      // disabling the identity ends its sessions immediately
      await h.store.identities.save({ ...identity, state: 'inactive' }, false);
      expect(await h.service.findByToken(expiring.token)).toBeNull();
      await h.store.identities.save({ ...identity, state: 'active' }, false);
      expect(await h.service.findByToken(expiring.token)).not.toBeNull();
    });

    it('computes the AAL at issue and on upgrade (upgrade writes nothing; the caller writes the change)', async () => {
      const identity = await createIdentity(h.store);
      const mfa = await h.issue({
        identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }, { method: 'totp', aal: 'aal2' }],
      });
      const single = await h.issue({ identityId: identity.id, methods: [{ method: 'totp', aal: 'aal2' }] });
      const base = await h.issue({ identityId: identity.id, methods: PASSWORD });
      expect(mfa.session.aal).toBe('aal2');
      expect((await h.service.findByToken(mfa.token))?.aal).toBe('aal2');
      expect((await h.service.findByToken(single.token))?.aal).toBe('aal1');
      expect((await h.service.findByToken(base.token))?.aal).toBe('aal1');

      const start = h.clock.current;
      h.clock.advance(10 * 60_000);
      try {
        const upgraded = h.service.upgrade(base.session, { method: 'totp', aal: 'aal2' });
        expect(upgraded.aal).toBe('aal2');
        expect(upgraded.authenticatedAt.getTime()).toBe(h.clock.current.getTime());
        // nothing written: the database still has aal1 until the caller writes the change
        expect((await h.service.findByToken(base.token))?.aal).toBe('aal1');
        await h.store.sessions.update(base.session.id, upgraded, h.clock.now());
        const after = await h.service.findByToken(base.token);
        expect(after?.aal).toBe('aal2');
        expect(after?.authenticatedAt.getTime()).toBe(h.clock.current.getTime());
        expect(after?.issuedAt.getTime()).toBe(start.getTime());
        expect(after?.expiresAt.getTime()).toBe(start.getTime() + 24 * HOUR);
        expect(after?.authenticationMethods.map((m) => [m.method, m.aal])).toEqual([['password', 'aal1'], ['totp', 'aal2']]);
      } finally {
        h.clock.current = start;
      }
    });

    it('revokeAllForIdentity ends all other sessions and counts them', async () => {
      const a = await createIdentity(h.store);
      const b = await createIdentity(h.store);
      const current = await h.issue({ identityId: a.id, methods: PASSWORD });
      const others = [
        await h.issue({ identityId: a.id, methods: PASSWORD }),
        await h.issue({ identityId: a.id, methods: PASSWORD }),
      ];
      const foreign = await h.issue({ identityId: b.id, methods: PASSWORD });

      expect(await h.service.revokeAllForIdentity(a.id, { exceptSessionId: current.session.id })).toBe(2);
      expect(await h.service.findByToken(current.token)).not.toBeNull();
      for (const o of others) expect(await h.service.findByToken(o.token)).toBeNull();
      expect(await h.service.findByToken(foreign.token)).not.toBeNull();
      expect(await h.service.revokeAllForIdentity(a.id, { exceptSessionId: current.session.id })).toBe(0);

      expect(await h.service.revokeAllForIdentity(a.id)).toBe(1);
      expect(await h.service.findByToken(current.token)).toBeNull();
      expect(await h.service.findByToken(foreign.token)).not.toBeNull();
    });

    it('revoke with identityId refuses sessions of another identity', async () => {
      const a = await createIdentity(h.store);
      const b = await createIdentity(h.store);
      const sa = await h.issue({ identityId: a.id, methods: PASSWORD });
      expect(await h.service.revoke(sa.session.id, { identityId: b.id })).toBe(false);
      expect(await h.service.findByToken(sa.token)).not.toBeNull();
      expect(await h.service.revoke(sa.session.id, { identityId: a.id })).toBe(true);
      expect(await h.service.findByToken(sa.token)).toBeNull();
    });

    it('revokeByLogoutToken and revokeByToken end the matching session only', async () => {
      const identity = await createIdentity(h.store);
      const one = await h.issue({ identityId: identity.id, methods: PASSWORD });
      const two = await h.issue({ identityId: identity.id, methods: PASSWORD });

      expect(await h.service.revokeByLogoutToken('ory_lo_' + 'x'.repeat(48))).toBeNull();
      expect(await h.service.revokeByLogoutToken(one.token)).toBeNull(); // a session token is no logout token
      // bound to the caller's session: another session's logout token is refused
      expect(await h.service.revokeByLogoutToken(one.logoutToken, { sessionId: two.session.id })).toBeNull();
      expect(await h.service.findByToken(one.token)).not.toBeNull();
      const ended = await h.service.revokeByLogoutToken(one.logoutToken, { sessionId: one.session.id });
      expect(ended?.id).toBe(one.session.id);
      expect(await h.service.findByToken(one.token)).toBeNull();
      expect(await h.service.findByToken(two.token)).not.toBeNull();

      expect(await h.service.revokeByToken(two.logoutToken)).toBeNull();
      expect((await h.service.revokeByToken(two.token))?.id).toBe(two.session.id);
      expect(await h.service.findByToken(two.token)).toBeNull();
    });

    it('get, listForIdentity (active filter, except, keyset) and listAll', async () => {
      const identity = await createIdentity(h.store);
      const issued: IssuedSession[] = [];
      for (let n = 0; n < 5; n++) issued.push(await h.issue({ identityId: identity.id, methods: PASSWORD }));
      const ids = issued.map((i) => i.session.id).sort();
      await h.service.revoke(ids[1]);

      const got = await h.service.get(ids[0]);
      expect(got?.identityId).toBe(identity.id);
      expect(got?.expiresAt).toBeInstanceOf(Date);
      expect(await h.service.get(crypto.randomUUID())).toBeNull();
      expect(await h.service.get('garbage')).toBeNull();

      const all = await h.service.listForIdentity(identity.id, { limit: 100 });
      expect(all.map((s) => s.id)).toEqual(ids);
      const active = await h.service.listForIdentity(identity.id, { limit: 100, active: true, exceptSessionId: ids[0] });
      expect(active.map((s) => s.id)).toEqual([ids[2], ids[3], ids[4]]);
      const inactive = await h.service.listForIdentity(identity.id, { limit: 100, active: false });
      expect(inactive.map((s) => s.id)).toEqual([ids[1]]);
      const page1 = await h.service.listForIdentity(identity.id, { limit: 2 });
      const page2 = await h.service.listForIdentity(identity.id, { limit: 2, afterId: page1[1].id });
      expect([...page1, ...page2].map((s) => s.id)).toEqual(ids.slice(0, 4));

      // expired sessions count as inactive
      const start = h.clock.current;
      h.clock.advance(25 * HOUR);
      try {
        expect(await h.service.listForIdentity(identity.id, { limit: 100, active: true })).toEqual([]);
        expect((await h.service.listForIdentity(identity.id, { limit: 100, active: false })).length).toBe(5);
      } finally {
        h.clock.current = start;
      }

      const everything = await h.service.listAll({ limit: 1000 });
      for (const id of ids) expect(everything.some((s) => s.id === id)).toBe(true);
      const sorted = everything.map((s) => s.id);
      expect(sorted).toEqual([...sorted].sort());
      const activeAll = await h.service.listAll({ limit: 1000, active: true });
      expect(activeAll.some((s) => s.id === ids[1])).toBe(false);
      const afterFirst = await h.service.listAll({ limit: 1000, afterId: sorted[0] });
      expect(afterFirst.map((s) => s.id)).toEqual(sorted.slice(1));

      const withIdentity = await h.service.attachIdentities([got!]);
      expect(withIdentity[0].identity.id).toBe(identity.id);
    });

    it('toSessionJson matches the Kratos session schema; admin adds metadata_admin; never credentials', async () => {
      const identity = await createIdentity(h.store, { metadataAdmin: { tier: 'gold' } });
      const { token } = await h.issue({
        identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }, { method: 'totp', aal: 'aal2' }],
        device: { ip: '198.51.100.7' },
      });
      const active = (await h.service.findByToken(token))!;
      const json = h.service.toSessionJson(active, { includeIdentity: true });
      expectSchema('session', json);
      expect(Object.keys(json)).toEqual([
        'id', 'active', 'expires_at', 'authenticated_at', 'issued_at', 'authenticator_assurance_level',
        'authentication_methods', 'identity', 'devices',
      ]);
      expect(json.authenticator_assurance_level).toBe('aal2');
      expect(json.expires_at).toBe(active.expiresAt.toISOString());
      expect(json.authentication_methods).toEqual([
        { method: 'password', aal: 'aal1', completed_at: h.clock.current.toISOString() },
        { method: 'totp', aal: 'aal2', completed_at: h.clock.current.toISOString() },
      ]);
      expect(json.devices).toEqual([{ id: active.devices[0].id, ip_address: '198.51.100.7' }]);
      expect(json.identity?.schema_url).toBe(schemaUrl('default'));
      expect(json.identity?.traits).toEqual(identity.traits);
      expect(json.identity?.verifiable_addresses).toHaveLength(2);
      expect(json.identity?.verifiable_addresses[0].verified_at).toBe(identity.verifiableAddresses[0].verifiedAt!.toISOString());
      expect(json.identity?.recovery_addresses).toHaveLength(1);
      expect(json.identity).not.toHaveProperty('credentials');
      expect(json.identity).not.toHaveProperty('metadata_admin');

      const admin = h.service.toSessionJson(active, { includeIdentity: true, admin: true });
      expectSchema('session', admin);
      expect(admin.identity?.metadata_admin).toEqual({ tier: 'gold' });
      expect(admin.identity).not.toHaveProperty('credentials');

      const bare = h.service.toSessionJson(active, { includeIdentity: false });
      expect(bare).not.toHaveProperty('identity');
      expectSchema('session', bare);
      expect(JSON.stringify(json)).not.toContain('argon2');
    });

    it('extend always extends without earliest_possible_extend, and revives an expired session', async () => {
      const identity = await createIdentity(h.store);
      const issued = await h.issue({ identityId: identity.id, methods: PASSWORD });
      const start = h.clock.current;
      try {
        h.clock.advance(HOUR);
        const extended = await h.service.extend(issued.session.id);
        expect(extended?.expiresAt.getTime()).toBe(start.getTime() + 25 * HOUR);
        expect((await h.service.findByToken(issued.token))?.expiresAt.getTime()).toBe(start.getTime() + 25 * HOUR);

        h.clock.advance(30 * HOUR); // expired now
        expect(await h.service.findByToken(issued.token)).toBeNull();
        await h.service.extend(issued.session.id);
        expect((await h.service.findByToken(issued.token))?.expiresAt.getTime()).toBe(h.clock.current.getTime() + 24 * HOUR);
        // the ORM's own filters still compare correctly against what the native UPDATE wrote
        expect((await h.service.listForIdentity(identity.id, { limit: 10, active: true })).map((s) => s.id)).toEqual([issued.session.id]);
        expect(await h.service.extend(crypto.randomUUID())).toBeNull();
      } finally {
        h.clock.current = start;
      }
    });

    it('extend honours earliest_possible_extend', async () => {
      const identity = await createIdentity(h.store);
      const service = new SessionService({
        store: h.store, config: sessionConfig({ earliest_possible_extend: '1h' }), schemaUrl, clock: h.clock,
      });
      const issued = await h.issue({ identityId: identity.id, methods: PASSWORD }, service);
      const start = h.clock.current;
      const originalExpiry = start.getTime() + 24 * HOUR;
      try {
        h.clock.advance(22 * HOUR); // 2h left > 1h: too early
        const early = await service.extend(issued.session.id);
        expect(early?.expiresAt.getTime()).toBe(originalExpiry);
        expect((await service.get(issued.session.id))?.expiresAt.getTime()).toBe(originalExpiry);

        h.clock.advance(HOUR); // exactly 1h left: allowed
        const extended = await service.extend(issued.session.id);
        expect(extended?.expiresAt.getTime()).toBe(h.clock.current.getTime() + 24 * HOUR);
        expect((await service.findByToken(issued.token))?.expiresAt.getTime()).toBe(h.clock.current.getTime() + 24 * HOUR);
      } finally {
        h.clock.current = start;
      }
    });
  });
}
