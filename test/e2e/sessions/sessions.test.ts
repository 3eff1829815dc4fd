/**
 * Sessions end to end (Kratos sections 2, 3.4, 8): whoami by every carrier, token format and storage, the caller's
 * own session management (`/sessions`), the admin session API, identity state changes, lifespan and expiry.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteFile, testDatabases, type TestDatabase } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { Session as SessionEntity } from '../../../entities/index.ts';
import {
  SESSION_COOKIE, TOKEN_SHAPE, browserLogin, createIdentity, expectWhoamiOk, expectWhoamiUnauthorized, failure,
  nativeLogin, nextPageToken, walkPages, whoami, type Json,
} from './helpers.ts';

const PASSWORD = 'a long session test passphrase';
const HOUR = 60 * 60 * 1000;
const NO_HIBP: Overlay = { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } };
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

let counter = 0;
const email = (label: string) => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;

function useServer(db: TestDatabase, overlay: Overlay): () => TestServer {
  let server: TestServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await db.create();
    drop = created.drop;
    server = await startTestServer(created.dsn, { ...NO_HIBP, ...overlay });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });
  return () => server!;
}

/** Every row of every table, as one string (to prove a secret is stored nowhere). */
async function dumpDatabase(server: TestServer, db: TestDatabase): Promise<string> {
  const conn = server.orm.em.getConnection();
  const tables = db.name !== 'postgresql'
    ? await conn.execute<Array<{ name: string }>>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
    : await conn.execute<Array<{ name: string }>>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`);
  let out = '';
  for (const { name } of tables) out += `${name}:${JSON.stringify(await conn.execute(`SELECT * FROM "${name}"`))}\n`;
  return out;
}

const setExpiresAt = (server: TestServer, id: string, expiresAt: Date) =>
  server.orm.em.fork().nativeUpdate(SessionEntity, { id }, { expiresAt });

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`sessions (${db.name})`, () => {
    const server = useServer(db, { session: { lifespan: '2h' } });
    const publicFetch = (path: string, init: RequestInit = {}) =>
      fetch(`${server().publicUrl}${path}`, { ...init, headers: { accept: 'application/json', ...(init.headers as Record<string, string> | undefined) } });
    const adminFetch = (path: string, init: RequestInit = {}) =>
      fetch(`${server().adminUrl}${path}`, { ...init, headers: { accept: 'application/json', 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
    const jsonOf = async (res: Response): Promise<Json> => {
      const text = await res.text();
      return text === '' ? undefined : JSON.parse(text);
    };

    it('answers whoami for X-Session-Token, the session cookie and Authorization: Bearer, on GET, HEAD and POST', async () => {
      const address = email('whoami');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const { token, session } = await nativeLogin(server(), address, PASSWORD);

      const byHeader = await whoami(server(), { 'X-Session-Token': token });
      expect(byHeader.status).toBe(200);
      expectResponse('toSession', 200, byHeader.body);
      expect(byHeader.body.id).toBe(session.id);
      expect(byHeader.body.identity.id).toBe(identityId);
      expect(byHeader.body.identity.traits.email).toBe(address);
      expect(byHeader.body.identity.credentials).toBeUndefined();
      expect(byHeader.body.active).toBe(true);
      expect(byHeader.body.authenticator_assurance_level).toBe('aal1');
      expect(byHeader.body.authentication_methods).toEqual([expect.objectContaining({ method: 'password', aal: 'aal1' })]);
      expect(byHeader.headers.get('x-kratos-authenticated-identity-id')).toBe(identityId);

      const bearer = await whoami(server(), { authorization: `Bearer ${token}` });
      expect(bearer.status).toBe(200);
      expectResponse('toSession', 200, bearer.body);
      expect(bearer.body.id).toBe(session.id);

      // The SDK call with the token, for good measure.
      const sdk = await server().frontendApi.toSessionRaw({ xSessionToken: token });
      const sdkBody = await sdk.raw.json();
      expectResponse('toSession', 200, sdkBody);
      expect(sdkBody.id).toBe(session.id);

      const browser = await browserLogin(server(), address, PASSWORD);
      expect(browser.session.id).not.toBe(session.id);
      const byCookie = await whoami(server(), { cookie: browser.jar.header() });
      expect(byCookie.status).toBe(200);
      expectResponse('toSession', 200, byCookie.body);
      expect(byCookie.body.id).toBe(browser.session.id);
      expect(byCookie.headers.get('x-kratos-authenticated-identity-id')).toBe(identityId);
      const sdkCookie = await server().frontendApi.toSessionRaw({ cookie: browser.jar.header() });
      expect((await sdkCookie.raw.json()).id).toBe(browser.session.id);

      const head = await whoami(server(), { 'X-Session-Token': token }, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBeUndefined();
      expect(head.headers.get('x-kratos-authenticated-identity-id')).toBe(identityId);
      const headCookie = await whoami(server(), { cookie: browser.jar.header() }, 'HEAD');
      expect(headCookie.status).toBe(200);

      const post = await whoami(server(), { 'X-Session-Token': token }, 'POST');
      expect(post.status).toBe(200);
      expectResponse('toSession', 200, post.body);
      expect(post.body.id).toBe(session.id);
      const postCookie = await whoami(server(), { cookie: browser.jar.header() }, 'POST');
      expect(postCookie.status).toBe(200);
      expect(postCookie.body.id).toBe(browser.session.id);

      // X-Session-Token wins over the cookie, the cookie over Bearer (section 8).
      const other = await nativeLogin(server(), address, PASSWORD);
      const both = await whoami(server(), { 'X-Session-Token': other.token, cookie: browser.jar.header(), authorization: `Bearer ${token}` });
      expect(both.body.id).toBe(other.session.id);
      const cookieAndBearer = await whoami(server(), { cookie: browser.jar.header(), authorization: `Bearer ${token}` });
      expect(cookieAndBearer.body.id).toBe(browser.session.id);

      const noCredentials = await whoami(server(), {}, 'HEAD');
      expect(noCredentials.status).toBe(401);
    });

    it('answers 401 without an error id for no credentials and for tokens that are not session tokens', async () => {
      await expectWhoamiUnauthorized(server(), {});
      const sdk = await failure(server().frontendApi.toSession());
      expect(sdk.status).toBe(401);
      expectResponse('toSession', 401, sdk.body);
      expect(sdk.body.error.id).toBeUndefined();
      expect((await whoami(server(), {}, 'POST')).status).toBe(401);

      const address = email('not-a-token');
      await createIdentity(server(), address, PASSWORD);
      const { jar, session } = await browserLogin(server(), address, PASSWORD);
      const csrfName = jar.names().find((n) => n.startsWith('csrf_token_'))!;
      const csrfValue = jar.get(csrfName)!;
      expect(csrfValue).toBeTruthy();

      const logout = await publicFetch('/self-service/logout/browser', { headers: { cookie: jar.header() } });
      expect(logout.status).toBe(200);
      const logoutBody = await logout.json();
      expectResponse('createBrowserLogoutFlow', 200, logoutBody);
      const logoutToken: string = logoutBody.logout_token;
      expect(logoutToken).toMatch(/^ory_lo_[A-Za-z0-9]+$/);

      const loginFlow = await server().frontendApi.createNativeLoginFlow();
      const registrationFlow = await server().frontendApi.createNativeRegistrationFlow();
      const candidates = [
        csrfValue,
        loginFlow.id,
        registrationFlow.id,
        session.id,
        logoutToken,
        // A logout token's secret behind the session-token prefix has the right shape but is no session token.
        `ory_st_${logoutToken.slice('ory_lo_'.length)}`,
        `ory_st_${'A'.repeat(48)}`,
        'ory_st_',
        'garbage',
      ];
      for (const candidate of candidates) {
        await expectWhoamiUnauthorized(server(), { cookie: `${SESSION_COOKIE}=${candidate}` });
        await expectWhoamiUnauthorized(server(), { 'X-Session-Token': candidate });
        await expectWhoamiUnauthorized(server(), { authorization: `Bearer ${candidate}` });
      }
      // The CSRF cookie itself (under its own name) is no session either.
      await expectWhoamiUnauthorized(server(), { cookie: `${csrfName}=${csrfValue}` });
      // An invalid X-Session-Token is not rescued by a valid cookie (no fallback to the next carrier).
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': logoutToken, cookie: jar.header() });
      // All of that left the real session alone.
      expect((await whoami(server(), { cookie: jar.header() })).status).toBe(200);
    });

    it('issues ory_st_ + 48 alphanumerics, a new token per login, and stores only their SHA-256', async () => {
      const address = email('tokens');
      await createIdentity(server(), address, PASSWORD);
      const logins = [await nativeLogin(server(), address, PASSWORD), await nativeLogin(server(), address, PASSWORD), await nativeLogin(server(), address, PASSWORD)];
      const browser = await browserLogin(server(), address, PASSWORD);
      const cookieToken = browser.jar.get(SESSION_COOKIE)!;
      const tokens = [...logins.map((l) => l.token), cookieToken];
      for (const token of logins.map((l) => l.token)) expect(token).toMatch(TOKEN_SHAPE);
      expect(new Set(tokens).size).toBe(tokens.length);
      expect(new Set(logins.map((l) => l.session.id)).size).toBe(logins.length);

      const logoutToken = (await (await publicFetch('/self-service/logout/browser', { headers: { cookie: browser.jar.header() } })).json()).logout_token as string;

      const rows = (await server().orm.em.getConnection().execute('SELECT * FROM sessions')) as Array<Record<string, unknown>>;
      const byId = new Map(rows.map((r) => [String(r.id), r]));
      for (const login of logins) {
        const row = byId.get(login.session.id)!;
        expect(row).toBeDefined();
        expect(row.token_hash).toBe(sha256(login.token));
      }
      expect(byId.get(browser.session.id)!.token_hash).toBe(sha256(cookieToken));
      expect(byId.get(browser.session.id)!.logout_token_hash).toBe(sha256(logoutToken));

      const dump = await dumpDatabase(server(), db);
      expect(dump).toContain(sha256(logins[0].token));
      for (const secret of [...tokens, logoutToken]) {
        expect(dump).not.toContain(secret);
        expect(dump).not.toContain(secret.slice(7)); // the random part without its prefix
      }
    });

    it('sets expires_at = authenticated_at + session.lifespan and a cookie living as long', async () => {
      const address = email('lifespan');
      await createIdentity(server(), address, PASSWORD);
      const before = Date.now();
      const { token, session } = await nativeLogin(server(), address, PASSWORD);
      const after = Date.now();
      for (const s of [session, await expectWhoamiOk(server(), token)]) {
        const authenticatedAt = Date.parse(s.authenticated_at);
        expect(Date.parse(s.expires_at) - authenticatedAt).toBe(2 * HOUR);
        expect(authenticatedAt).toBeGreaterThanOrEqual(before - 1000);
        expect(authenticatedAt).toBeLessThanOrEqual(after + 1000);
        expect(Date.parse(s.issued_at)).toBe(authenticatedAt);
      }

      const browser = await browserLogin(server(), address, PASSWORD);
      expect(Date.parse(browser.session.expires_at) - Date.parse(browser.session.authenticated_at)).toBe(2 * HOUR);
      const reissued = await fetch(`${server().publicUrl}/sessions/whoami`, { headers: { cookie: browser.jar.header() } });
      const sessionCookie = reissued.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
      expect(sessionCookie).toBeDefined();
      const maxAge = Number(/Max-Age=(\d+)/i.exec(sessionCookie)?.[1]);
      expect(maxAge).toBeGreaterThan(2 * 3600 - 60);
      expect(maxAge).toBeLessThanOrEqual(2 * 3600);
      expect(sessionCookie).toMatch(/HttpOnly/i);
      expect(sessionCookie).toMatch(/SameSite=Lax/i);
    });

    it("lists the caller's other active sessions and revokes one or all of them, never the current one", async () => {
      const address = email('mine');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const [s1, s2, s3, s4] = [
        await nativeLogin(server(), address, PASSWORD), await nativeLogin(server(), address, PASSWORD),
        await nativeLogin(server(), address, PASSWORD), await nativeLogin(server(), address, PASSWORD),
      ];
      await server().frontendApi.performNativeLogout({ performNativeLogoutBody: { session_token: s4.token } });
      const mine = (token: string) => publicFetch('/sessions', { headers: { 'X-Session-Token': token } });

      const listRes = await mine(s1.token);
      expect(listRes.status).toBe(200);
      const list = await listRes.json();
      expectResponse('listMySessions', 200, list);
      expect(list.map((s: Json) => s.id).sort()).toEqual([s2.session.id, s3.session.id].sort());
      expect(list.every((s: Json) => s.active === true)).toBe(true);
      // Kratos lists them expanded: the caller's own identity, without credentials or admin metadata.
      for (const s of list) {
        expect(s.identity.id).toBe(identityId);
        expect(s.identity.credentials).toBeUndefined();
        expect(s.identity.metadata_admin).toBeUndefined();
      }
      const sdkList = await server().frontendApi.listMySessionsRaw({ xSessionToken: s1.token });
      expect((await sdkList.raw.json()).map((s: Json) => s.id).sort()).toEqual([s2.session.id, s3.session.id].sort());

      // Keyset pages with Link headers on the public URL; a page token works only for the identity it was issued to.
      const paged = await walkPages(server().publicUrl, '/sessions?page_size=1', 'listMySessions', { 'X-Session-Token': s1.token });
      expect(paged.pages.map((p) => p.length)).toEqual([1, 1]);
      expect(paged.pages.flat().map((s: Json) => s.id).sort()).toEqual([s2.session.id, s3.session.id].sort());
      expect(paged.links[0]).toContain(`<${server().publicUrl}/sessions?page_size=1>; rel="first"`);
      expect(paged.links.at(-1)).not.toContain('rel="next"');
      const token = nextPageToken(paged.links[0])!;
      const otherAddress = email('mine-other');
      await createIdentity(server(), otherAddress, PASSWORD);
      const other = await nativeLogin(server(), otherAddress, PASSWORD);
      const foreign = await publicFetch(`/sessions?page_token=${encodeURIComponent(token)}`, { headers: { 'X-Session-Token': other.token } });
      expect(foreign.status).toBe(400);
      expectResponse('listMySessions', 400, await foreign.json());

      const anonymous = await publicFetch('/sessions');
      expect(anonymous.status).toBe(401);
      expectResponse('listMySessions', 401, await anonymous.json());
      expect((await mine(s4.token)).status).toBe(401);

      const revokeOne = await publicFetch(`/sessions/${s2.session.id}`, { method: 'DELETE', headers: { 'X-Session-Token': s1.token } });
      expect(revokeOne.status).toBe(204);
      expectResponse('disableMySession', 204, await revokeOne.text());
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': s2.token });
      await expectWhoamiOk(server(), s3.token);
      expect((await (await mine(s1.token)).json()).map((s: Json) => s.id)).toEqual([s3.session.id]);

      const current = await publicFetch(`/sessions/${s1.session.id}`, { method: 'DELETE', headers: { 'X-Session-Token': s1.token } });
      expect(current.status).toBe(400);
      expectResponse('disableMySession', 400, await current.json());
      await expectWhoamiOk(server(), s1.token);
      // The current session's id in another spelling is still the current session.
      const upper = await publicFetch(`/sessions/${s1.session.id.toUpperCase()}`, { method: 'DELETE', headers: { 'X-Session-Token': s1.token } });
      expect(upper.status).toBe(400);
      await expectWhoamiOk(server(), s1.token);

      const malformed = await publicFetch('/sessions/not-a-uuid', { method: 'DELETE', headers: { 'X-Session-Token': s1.token } });
      expect(malformed.status).toBe(400);
      expectResponse('disableMySession', 400, await malformed.json());
      const unknown = await publicFetch(`/sessions/${crypto.randomUUID()}`, { method: 'DELETE', headers: { 'X-Session-Token': s1.token } });
      expect(unknown.status).toBe(404);
      expectResponse('disableMySession', 404, await unknown.json());
      const noSession = await publicFetch(`/sessions/${s3.session.id}`, { method: 'DELETE' });
      expect(noSession.status).toBe(401);
      expectResponse('disableMySession', 401, await noSession.json());
      await expectWhoamiOk(server(), s3.token);

      const s5 = await nativeLogin(server(), address, PASSWORD);
      const revokeAll = await server().frontendApi.disableMyOtherSessionsRaw({ xSessionToken: s1.token });
      const revokeAllBody = await revokeAll.raw.json();
      expectResponse('disableMyOtherSessions', 200, revokeAllBody);
      expect(revokeAllBody).toEqual({ count: 2 });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': s3.token });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': s5.token });
      await expectWhoamiOk(server(), s1.token);
      expect(await (await mine(s1.token)).json()).toEqual([]);
      const again = await publicFetch('/sessions', { method: 'DELETE', headers: { 'X-Session-Token': s1.token } });
      expect(await again.json()).toEqual({ count: 0 });
      const anonymousAll = await publicFetch('/sessions', { method: 'DELETE' });
      expect(anonymousAll.status).toBe(401);
      expectResponse('disableMyOtherSessions', 401, await anonymousAll.json());

      const admin = await server().identityApi.listIdentitySessions({ id: identityId, active: true });
      expect(admin.map((s) => s.id)).toEqual([s1.session.id]);
    });

    it("never revokes another identity's session through /sessions (GHSA-wmjr-v86c-m9jj)", async () => {
      const alice = email('alice');
      const bob = email('bob');
      await createIdentity(server(), alice, PASSWORD);
      await createIdentity(server(), bob, PASSWORD);
      const a1 = await nativeLogin(server(), alice, PASSWORD);
      const a2 = await nativeLogin(server(), alice, PASSWORD);
      const b1 = await nativeLogin(server(), bob, PASSWORD);
      const bBrowser = await browserLogin(server(), bob, PASSWORD);

      const foreign = await publicFetch(`/sessions/${b1.session.id}`, { method: 'DELETE', headers: { 'X-Session-Token': a1.token } });
      expect(foreign.status).toBe(404);
      expectResponse('disableMySession', 404, await foreign.json());
      await expectWhoamiOk(server(), b1.token);

      // Alice's token plus Bob's cookie (a planted or forged cookie): the header decides whose request this is.
      const mixed = { 'X-Session-Token': a1.token, cookie: bBrowser.jar.header() };
      const foreignByCookie = await publicFetch(`/sessions/${bBrowser.session.id}`, { method: 'DELETE', headers: mixed });
      expect(foreignByCookie.status).toBe(404);
      const revokeOthers = await publicFetch('/sessions', { method: 'DELETE', headers: mixed });
      expect(await revokeOthers.json()).toEqual({ count: 1 });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': a2.token });
      await expectWhoamiOk(server(), a1.token);
      await expectWhoamiOk(server(), b1.token);
      expect((await whoami(server(), { cookie: bBrowser.jar.header() })).status).toBe(200);

      // Bob's own list does not show Alice's sessions, and Alice's listing never shows Bob's.
      const bobList = await (await publicFetch('/sessions', { headers: { 'X-Session-Token': b1.token } })).json();
      expect(bobList.map((s: Json) => s.id)).toEqual([bBrowser.session.id]);
      const aliceList = await (await publicFetch('/sessions', { headers: mixed })).json();
      expect(aliceList).toEqual([]);
    });

    it('lists all sessions for admins with keyset pagination, Link headers, active filter and expand=identity', async () => {
      const address = email('admin-list');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const logins = [];
      for (let i = 0; i < 5; i++) logins.push(await nativeLogin(server(), address, PASSWORD));
      const ids = logins.map((l) => l.session.id);
      const revoked = [ids[1], ids[3]];
      for (const id of revoked) expect((await adminFetch(`/admin/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
      const active = ids.filter((id) => !revoked.includes(id));

      const all = await walkPages(server().adminUrl, '/admin/sessions?page_size=2', 'listSessions');
      const seen = all.pages.flat();
      expect(all.pages.length).toBeGreaterThanOrEqual(3);
      for (const page of all.pages) expect(page.length).toBeLessThanOrEqual(2);
      for (const link of all.links) expect(link).toContain('rel="first"');
      expect(all.links.at(-1)).not.toContain('rel="next"');
      expect(new Set(seen.map((s: Json) => s.id)).size).toBe(seen.length);
      for (const id of ids) expect(seen.map((s: Json) => s.id)).toContain(id);
      expect(seen.every((s: Json) => s.identity === undefined)).toBe(true);
      const mineInAll = seen.filter((s: Json) => ids.includes(s.id));
      expect(mineInAll.filter((s: Json) => s.active).map((s: Json) => s.id).sort()).toEqual([...active].sort());

      const onlyActive = (await walkPages(server().adminUrl, '/admin/sessions?active=true&page_size=2', 'listSessions')).pages.flat();
      expect(onlyActive.every((s: Json) => s.active === true && Date.parse(s.expires_at) > Date.now())).toBe(true);
      for (const id of active) expect(onlyActive.map((s: Json) => s.id)).toContain(id);
      for (const id of revoked) expect(onlyActive.map((s: Json) => s.id)).not.toContain(id);

      const inactive = (await walkPages(server().adminUrl, '/admin/sessions?active=false', 'listSessions')).pages.flat();
      for (const id of revoked) expect(inactive.map((s: Json) => s.id)).toContain(id);
      for (const id of active) expect(inactive.map((s: Json) => s.id)).not.toContain(id);
      expect(inactive.every((s: Json) => s.active === false || Date.parse(s.expires_at) <= Date.now())).toBe(true);

      const expanded = (await walkPages(server().adminUrl, '/admin/sessions?expand=identity&page_size=3', 'listSessions')).pages.flat();
      const mineExpanded = expanded.filter((s: Json) => ids.includes(s.id));
      expect(mineExpanded).toHaveLength(ids.length);
      for (const s of mineExpanded) {
        expect(s.identity.id).toBe(identityId);
        expect(s.identity.traits.email).toBe(address);
        expect(s.identity.credentials).toBeUndefined();
      }
      const sdkList = await server().identityApi.listSessionsRaw({ expand: ['identity'], pageSize: 1000 });
      const sdkBody = await sdkList.raw.json();
      expectResponse('listSessions', 200, sdkBody);
      expect(sdkBody.find((s: Json) => s.id === ids[0]).identity.id).toBe(identityId);

      // Go's strconv.ParseBool spellings, as Kratos.
      const oneIsTrue = (await walkPages(server().adminUrl, '/admin/sessions?active=1&page_size=1000', 'listSessions')).pages.flat();
      expect(oneIsTrue.map((s: Json) => s.id).sort()).toEqual(onlyActive.map((s: Json) => s.id).sort());
      expect((await adminFetch('/admin/sessions?active=F')).status).toBe(200);
      const badActive = await adminFetch('/admin/sessions?active=maybe');
      expect(badActive.status).toBe(400);
      expectResponse('listSessions', 400, await badActive.json());
      const firstActive = await adminFetch('/admin/sessions?active=true&page_size=1');
      const token = nextPageToken(firstActive.headers.get('link') ?? '')!;
      expect(token).toBeTruthy();
      expect((await adminFetch(`/admin/sessions?active=true&page_size=1&page_token=${token}`)).status).toBe(200);
      const crossContext = await adminFetch(`/admin/sessions?active=false&page_size=1&page_token=${token}`);
      expect(crossContext.status).toBe(400);
      expectResponse('listSessions', 400, await crossContext.json());
      const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
      expect((await adminFetch(`/admin/sessions?active=true&page_token=${tampered}`)).status).toBe(400);
    });

    it('reads and deactivates single sessions through the admin API', async () => {
      const address = email('admin-one');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const { token, session } = await nativeLogin(server(), address, PASSWORD);

      // Kratos getSession: "If no value is provided, the expandable properties are skipped."
      const plain = await server().identityApi.getSessionRaw({ id: session.id });
      const plainBody = await plain.raw.json();
      expectResponse('getSession', 200, plainBody);
      expect(plainBody).toMatchObject({ id: session.id, active: true, expires_at: session.expires_at, devices: [] });
      expect(plainBody.identity).toBeUndefined();
      const expanded = await adminFetch(`/admin/sessions/${session.id}?expand=identity`);
      const expandedBody = await expanded.json();
      expectResponse('getSession', 200, expandedBody);
      expect(expandedBody.identity.id).toBe(identityId);
      expect(expandedBody.identity.credentials).toBeUndefined();
      expect(expandedBody.identity).toHaveProperty('metadata_admin');
      expect(expandedBody.devices).toEqual([]);
      const both = await server().identityApi.getSessionRaw({ id: session.id, expand: ['identity', 'devices'] });
      const bothBody = await both.raw.json();
      expectResponse('getSession', 200, bothBody);
      expect(bothBody.identity.id).toBe(identityId);
      expect(bothBody.devices).toEqual([expect.objectContaining({ id: expect.any(String) })]);
      // Kratos ParseExpandable lower-cases the option; anything else is a 400.
      const upper = await (await adminFetch(`/admin/sessions/${session.id}?expand=Devices`)).json();
      expect(upper.devices).toHaveLength(1);
      expect(upper.identity).toBeUndefined();
      const bogus = await adminFetch(`/admin/sessions/${session.id}?expand=credentials`);
      expect(bogus.status).toBe(400);
      const bogusBody = await bogus.json();
      expectResponse('getSession', 400, bogusBody);
      expect(bogusBody.error.reason).toBe('Could not parse expand option: credentials');
      expect((await adminFetch('/admin/sessions?expand=credentials')).status).toBe(400);

      // The admin port sends the public session routes to the public port (307, path and query kept).
      const redirected = await adminFetch('/admin/sessions/whoami?tokenize_as=x', { redirect: 'manual' });
      expect(redirected.status).toBe(307);
      expect(redirected.headers.get('location')).toBe(`${server().publicUrl}/sessions/whoami?tokenize_as=x`);

      const unknown = await adminFetch(`/admin/sessions/${crypto.randomUUID()}`);
      expect(unknown.status).toBe(404);
      expectResponse('getSession', 404, await unknown.json());
      const malformed = await adminFetch('/admin/sessions/not-a-uuid');
      expect(malformed.status).toBe(400);
      expectResponse('getSession', 400, await malformed.json());

      const disabled = await server().identityApi.disableSessionRaw({ id: session.id });
      expect(disabled.raw.status).toBe(204);
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': token });
      const afterBody = await (await adminFetch(`/admin/sessions/${session.id}`)).json();
      expectResponse('getSession', 200, afterBody);
      expect(afterBody.active).toBe(false);

      const unknownDelete = await adminFetch(`/admin/sessions/${crypto.randomUUID()}`, { method: 'DELETE' });
      expect(unknownDelete.status).toBe(404);
      expectResponse('disableSession', 404, await unknownDelete.json());
      const malformedDelete = await adminFetch('/admin/sessions/not-a-uuid', { method: 'DELETE' });
      expect(malformedDelete.status).toBe(400);
      expectResponse('disableSession', 400, await malformedDelete.json());
    });

    it('extends a session to now + lifespan when session.earliest_possible_extend is unset', async () => {
      const address = email('extend');
      await createIdentity(server(), address, PASSWORD);
      const { token, session } = await nativeLogin(server(), address, PASSWORD);
      await setExpiresAt(server(), session.id, new Date(Date.now() + 5 * 60 * 1000));
      const soon = await expectWhoamiOk(server(), token);
      expect(Date.parse(soon.expires_at) - Date.now()).toBeLessThan(6 * 60 * 1000);

      const before = Date.now();
      const extended = await server().identityApi.extendSessionRaw({ id: session.id });
      expect(extended.raw.status).toBe(200);
      const body = await extended.raw.json();
      expectResponse('extendSession', 200, body);
      expect(body.id).toBe(session.id);
      const expiresAt = Date.parse(body.expires_at);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 2 * HOUR - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 2 * HOUR + 1000);
      expect(Date.parse((await expectWhoamiOk(server(), token)).expires_at)).toBe(expiresAt);
      // authenticated_at is not touched by an extension.
      expect(body.authenticated_at).toBe(session.authenticated_at);

      const unknown = await adminFetch(`/admin/sessions/${crypto.randomUUID()}/extend`, { method: 'PATCH' });
      expect(unknown.status).toBe(404);
      expectResponse('extendSession', 404, await unknown.json());
      const malformed = await adminFetch('/admin/sessions/not-a-uuid/extend', { method: 'PATCH' });
      expect(malformed.status).toBe(400);
      expectResponse('extendSession', 400, await malformed.json());
    });

    it("lists and deletes an identity's sessions (listIdentitySessions / deleteIdentitySessions)", async () => {
      const address = email('identity-sessions');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const other = email('identity-sessions-other');
      await createIdentity(server(), other, PASSWORD);
      const bystander = await nativeLogin(server(), other, PASSWORD);
      const logins = [await nativeLogin(server(), address, PASSWORD), await nativeLogin(server(), address, PASSWORD), await nativeLogin(server(), address, PASSWORD)];
      const ids = logins.map((l) => l.session.id);
      await server().identityApi.disableSession({ id: ids[2] });

      const listed = await server().identityApi.listIdentitySessionsRaw({ id: identityId });
      const listedBody = await listed.raw.json();
      expectResponse('listIdentitySessions', 200, listedBody);
      expect(listedBody.map((s: Json) => s.id).sort()).toEqual([...ids].sort());
      // Kratos expands the identity here (admin view: metadata_admin, never credentials).
      for (const s of listedBody) {
        expect(s.identity.id).toBe(identityId);
        expect(s.identity.credentials).toBeUndefined();
        expect(s.identity).toHaveProperty('metadata_admin');
      }
      const activeOnly = await (await server().identityApi.listIdentitySessionsRaw({ id: identityId, active: true })).raw.json();
      expectResponse('listIdentitySessions', 200, activeOnly);
      expect(activeOnly.map((s: Json) => s.id).sort()).toEqual([ids[0], ids[1]].sort());
      const inactiveOnly = await (await server().identityApi.listIdentitySessionsRaw({ id: identityId, active: false })).raw.json();
      expect(inactiveOnly.map((s: Json) => s.id)).toEqual([ids[2]]);

      const paged = await walkPages(server().adminUrl, `/admin/identities/${identityId}/sessions?page_size=1`, 'listIdentitySessions');
      expect(paged.pages.map((p) => p.length)).toEqual([1, 1, 1]);
      expect(paged.pages.flat().map((s: Json) => s.id).sort()).toEqual([...ids].sort());

      // Kratos lists by identity id without loading the identity: an unknown one has no sessions (200, []).
      const unknownList = await server().identityApi.listIdentitySessionsRaw({ id: crypto.randomUUID() });
      const unknownBody = await unknownList.raw.json();
      expectResponse('listIdentitySessions', 200, unknownBody);
      expect(unknownBody).toEqual([]);
      // ExpandEverything: the devices too.
      for (const s of listedBody) expect(s.devices).toHaveLength(1);
      const malformedList = await failure(server().identityApi.listIdentitySessions({ id: 'not-a-uuid' }));
      expect(malformedList.status).toBe(400);
      expectResponse('listIdentitySessions', 400, malformedList.body);

      const deleted = await server().identityApi.deleteIdentitySessionsRaw({ id: identityId });
      expect(deleted.raw.status).toBe(204);
      expectResponse('deleteIdentitySessions', 204, await deleted.raw.text());
      for (const login of logins) await expectWhoamiUnauthorized(server(), { 'X-Session-Token': login.token });
      // Kratos deletes them permanently: nothing is left to list or read.
      expect(await (await server().identityApi.listIdentitySessionsRaw({ id: identityId })).raw.json()).toEqual([]);
      expect((await adminFetch(`/admin/sessions/${ids[0]}`)).status).toBe(404);
      await expectWhoamiOk(server(), bystander.token);

      const unknownDelete = await failure(server().identityApi.deleteIdentitySessions({ id: crypto.randomUUID() }));
      expect(unknownDelete.status).toBe(404);
      expectResponse('deleteIdentitySessions', 404, unknownDelete.body);
      // Kratos DeleteSessionsByIdentity: no row deleted is a 404, for a known identity without sessions too.
      const nothingLeft = await failure(server().identityApi.deleteIdentitySessions({ id: identityId }));
      expect(nothingLeft.status).toBe(404);
      expectResponse('deleteIdentitySessions', 404, nothingLeft.body);
      const malformedDelete = await failure(server().identityApi.deleteIdentitySessions({ id: 'not-a-uuid' }));
      expect(malformedDelete.status).toBe(400);
      expectResponse('deleteIdentitySessions', 400, malformedDelete.body);
    });

    it('disables and deletes sessions in bulk by session ids or identity ids (POST /admin/sessions, manageSessions)', async () => {
      const [a, b, c] = [email('manage-a'), email('manage-b'), email('manage-c')];
      const [aId, bId, cId] = [await createIdentity(server(), a, PASSWORD), await createIdentity(server(), b, PASSWORD), await createIdentity(server(), c, PASSWORD)];
      const a1 = await nativeLogin(server(), a, PASSWORD);
      const a2 = await nativeLogin(server(), a, PASSWORD);
      const b1 = await nativeLogin(server(), b, PASSWORD);
      const c1 = await nativeLogin(server(), c, PASSWORD);
      const manage = async (body: Json, status = 200): Promise<Json> => {
        const res = await adminFetch('/admin/sessions', { method: 'POST', body: JSON.stringify(body) });
        const json = await res.json();
        expect(res.status, JSON.stringify(json)).toBe(status);
        expectResponse('manageSessions', status, json);
        return json;
      };

      // disable counts only the sessions that were active; unknown ids are no error.
      expect(await manage({ action: 'disable', sessions: [a1.session.id, crypto.randomUUID()] })).toEqual({ processed: 1, more: false });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': a1.token });
      await expectWhoamiOk(server(), a2.token);
      expect(await manage({ action: 'disable', sessions: [a1.session.id] })).toEqual({ processed: 0, more: false });
      const kept = await (await adminFetch(`/admin/sessions/${a1.session.id}`)).json();
      expect(kept.active).toBe(false);

      expect(await manage({ action: 'disable', identities: [aId, bId] })).toEqual({ processed: 2, more: false });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': a2.token });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': b1.token });
      await expectWhoamiOk(server(), c1.token);

      // delete removes the rows, active or not.
      expect(await manage({ action: 'delete', identities: [aId] })).toEqual({ processed: 2, more: false });
      expect((await adminFetch(`/admin/sessions/${a1.session.id}`)).status).toBe(404);
      expect(await manage({ action: 'delete', sessions: [b1.session.id.toUpperCase()] })).toEqual({ processed: 1, more: false });
      expect((await adminFetch(`/admin/sessions/${b1.session.id}`)).status).toBe(404);
      await expectWhoamiOk(server(), c1.token);
      expect((await server().identityApi.manageSessions({ manageSessionsBody: { action: 'disable', identities: [cId] } })).processed).toBe(1);
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': c1.token });

      // Kratos's 400s, with its reasons.
      const reason = async (body: unknown) => (await manage(body, 400)).error.reason;
      expect(await reason({ action: 'revoke', sessions: [c1.session.id] })).toBe("The 'action' field must be one of 'disable' or 'delete'.");
      expect(await reason({ action: 'delete' })).toBe("Exactly one of 'identities' or 'sessions' must be a non-empty array.");
      expect(await reason({ action: 'delete', identities: [], sessions: [] })).toBe("Exactly one of 'identities' or 'sessions' must be a non-empty array.");
      expect(await reason({ action: 'delete', identities: [cId], sessions: [c1.session.id] })).toBe("Exactly one of 'identities' or 'sessions' must be a non-empty array.");
      expect(await reason({ action: 'delete', sessions: ['*'] })).toBe("Could not parse 'sessions' field: the wildcard '*' is not accepted here");
      expect(await reason({ action: 'delete', identities: ['*', cId] })).toBe("Could not parse 'identities' field: the wildcard '*' is not accepted here");
      expect(await reason({ action: 'delete', sessions: ['nope'] })).toBe(`Could not parse 'sessions' field: could not parse "nope" as UUID`);
      const tooMany = Array.from({ length: 501 }, () => crypto.randomUUID());
      expect(await reason({ action: 'delete', sessions: tooMany })).toBe("Could not parse 'sessions' field: at most 500 IDs may be provided per call");
      expect((await manage({ action: 'delete', sessions: tooMany.slice(0, 500) })).processed).toBe(0);
      const broken = await adminFetch('/admin/sessions', { method: 'POST', body: '{"action":' });
      expect(broken.status).toBe(400);
      expectResponse('manageSessions', 400, await broken.json());
      expect((await adminFetch(`/admin/sessions/${c1.session.id}`)).status).toBe(200);
    });

    it("ends an identity's sessions when it is disabled (at once) or deleted", async () => {
      const address = email('disable');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const { token, session } = await nativeLogin(server(), address, PASSWORD);
      const browser = await browserLogin(server(), address, PASSWORD);
      await expectWhoamiOk(server(), token);

      const patched = await server().identityApi.patchIdentity({ id: identityId, jsonPatch: [{ op: 'replace', path: '/state', value: 'inactive' }] });
      expect(patched.state).toBe('inactive');
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': token });
      await expectWhoamiUnauthorized(server(), { cookie: browser.jar.header() });
      expect((await publicFetch('/sessions', { headers: { 'X-Session-Token': token } })).status).toBe(401);
      expect((await publicFetch('/sessions', { method: 'DELETE', headers: { 'X-Session-Token': token } })).status).toBe(401);
      const loginAgain = await failure(server().frontendApi.updateLoginFlow({
        flow: (await server().frontendApi.createNativeLoginFlow()).id,
        updateLoginFlowBody: { method: 'password', identifier: address, password: PASSWORD },
      }));
      expect(loginAgain.status).toBe(400);
      expect(loginAgain.body.ui.messages.map((m: Json) => m.id)).toEqual([4010011]);

      const doomed = email('delete');
      const doomedId = await createIdentity(server(), doomed, PASSWORD);
      const doomedLogin = await nativeLogin(server(), doomed, PASSWORD);
      await expectWhoamiOk(server(), doomedLogin.token);
      await server().identityApi.deleteIdentity({ id: doomedId });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': doomedLogin.token });
      expect((await adminFetch(`/admin/sessions/${doomedLogin.session.id}`)).status).toBe(404);
      const all = (await walkPages(server().adminUrl, '/admin/sessions?page_size=1000', 'listSessions')).pages.flat();
      expect(all.map((s: Json) => s.id)).not.toContain(doomedLogin.session.id);
      expect(all.map((s: Json) => s.id)).toContain(session.id);
    });
  });

  describe(`every session at once, and feature_flags.faster_session_extend (${db.name})`, () => {
    const server = useServer(db, { session: { lifespan: '2h' }, feature_flags: { faster_session_extend: true } });

    it('answers extend with 204 and disables then deletes every session with identities: ["*"]', async () => {
      const address = email('wildcard');
      await createIdentity(server(), address, PASSWORD);
      const one = await nativeLogin(server(), address, PASSWORD);
      const two = await nativeLogin(server(), address, PASSWORD);
      await setExpiresAt(server(), one.session.id, new Date(Date.now() + 5 * 60 * 1000));
      const extended = await fetch(`${server().adminUrl}/admin/sessions/${one.session.id}/extend`, { method: 'PATCH' });
      expect(extended.status).toBe(204);
      expect(await extended.text()).toBe('');
      expect(Date.parse((await expectWhoamiOk(server(), one.token)).expires_at)).toBeGreaterThan(Date.now() + HOUR);

      const manage = async (action: string) => {
        const res = await fetch(`${server().adminUrl}/admin/sessions`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action, identities: ['*'] }),
        });
        const body = await res.json();
        expect(res.status).toBe(200);
        expectResponse('manageSessions', 200, body);
        return body;
      };
      expect(await manage('disable')).toEqual({ processed: 2, more: false });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': one.token });
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': two.token });
      expect(await manage('disable')).toEqual({ processed: 0, more: false });
      expect(await manage('delete')).toEqual({ processed: 2, more: false });
      expect(await server().identityApi.listSessions()).toEqual([]);
    });
  });

  describe(`session expiry (${db.name})`, () => {
    const server = useServer(db, { session: { lifespan: '1h' } });

    it('answers 401 once session.lifespan has passed', async () => {
      const address = email('expiry');
      const identityId = await createIdentity(server(), address, PASSWORD);
      const { token, session } = await nativeLogin(server(), address, PASSWORD);
      expect(Date.parse(session.expires_at) - Date.parse(session.authenticated_at)).toBe(3_600_000);
      await expectWhoamiOk(server(), token);

      server().clock.advance(3_600_000 + 1000);
      await expectWhoamiUnauthorized(server(), { 'X-Session-Token': token });
      expect((await fetch(`${server().publicUrl}/sessions`, { headers: { 'X-Session-Token': token } })).status).toBe(401);
      const active = await server().identityApi.listIdentitySessions({ id: identityId, active: true });
      expect(active).toEqual([]);
      const inactive = await server().identityApi.listIdentitySessions({ id: identityId, active: false });
      expect(inactive.map((s) => s.id)).toEqual([session.id]);
    });
  });

  describe(`session extension with session.earliest_possible_extend (${db.name})`, () => {
    const server = useServer(db, { session: { lifespan: '2h', earliest_possible_extend: '1h' } });

    it('leaves a session alone until it is within earliest_possible_extend of its expiry, then extends it', async () => {
      const address = email('earliest');
      await createIdentity(server(), address, PASSWORD);
      const { token, session } = await nativeLogin(server(), address, PASSWORD);

      const early = await server().identityApi.extendSessionRaw({ id: session.id });
      const earlyBody = await early.raw.json();
      expectResponse('extendSession', 200, earlyBody);
      expect(earlyBody.expires_at).toBe(session.expires_at);
      expect((await expectWhoamiOk(server(), token)).expires_at).toBe(session.expires_at);

      await setExpiresAt(server(), session.id, new Date(Date.now() + 30 * 60 * 1000));
      const before = Date.now();
      const late = await server().identityApi.extendSessionRaw({ id: session.id });
      const lateBody = await late.raw.json();
      expectResponse('extendSession', 200, lateBody);
      const expiresAt = Date.parse(lateBody.expires_at);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 2 * HOUR - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 2 * HOUR + 1000);
      expect(Date.parse((await expectWhoamiOk(server(), token)).expires_at)).toBe(expiresAt);
    });
  });
}
