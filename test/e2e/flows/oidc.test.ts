/**
 * Sign-in and sign-up with OpenID Connect against a REAL OpenID Provider (panva's oidc-provider on loopback, its
 * login and consent pages driven over HTTP), checked against Kratos's answers (strategy/oidc: strategy.go,
 * strategy_login.go, strategy_registration.go; Cypress profiles/oidc): sign-up, sign-in with the same subject, a
 * login of an unknown subject that continues as a sign-up, account linking (1010016) when the e-mail is taken, a
 * missing trait (the form pre-filled, Continue with the provider), and the refusals — a state from another browser,
 * flow or provider, a replayed callback, a wrong nonce, the provider's access_denied, an unreachable provider, a code
 * bound to another PKCE challenge, an id_token not signed with the provider's keys, an expired flow: nothing stored, no
 * session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse, expectSchema } from '../../support/openapi.ts';
import { startOpenIdProvider, type TestOpenIdProvider } from '../../support/oidc-provider.ts';
import { schemaUrl } from '../../support/person-schema.ts';
import { Browser, bodyOf, csrfOf, messageIds } from '../browser/browser-client.ts';
import { generateKeyPair, SignJWT } from 'jose';
import { flowIdOf, mapperUrl, node, PASSWORD, SCHEMA, unique, WEBSITE } from './oidc-fixture.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

type Json = any;

for (const db of testDatabases()) {
  describe.skipIf(jsonnetMissing)(`OpenID Connect sign-in against a real provider (${db.name})`, () => {
    let srv: TestServer;
    let op: TestOpenIdProvider;
    let drop: () => Promise<void>;
    /** When set, the provider's token endpoint answers with this instead of its own tokens. */
    let forgeTokens: ((form: Record<string, string>) => Promise<{ status: number; body: unknown }>) | undefined;

    beforeAll(async () => {
      op = await startOpenIdProvider({ tokenRequest: async (form) => forgeTokens ? forgeTokens(form) : form });
      const created = await db.create();
      drop = created.drop;
      srv = await startTestServer(created.dsn, {
        identity: { default_schema_id: 'oidc', schemas: [{ id: 'oidc', url: schemaUrl(SCHEMA) }] },
        selfservice: {
          methods: {
            password: { config: { haveibeenpwned_enabled: false } },
            oidc: {
              enabled: true,
              config: {
                providers: [
                  { id: 'op1', provider: 'generic', label: 'Test OP', client_id: 'client-1', client_secret: 'secret-one-0123456789', issuer_url: op.issuer, mapper_url: mapperUrl, scope: ['email', 'profile'] },
                  { id: 'op2', provider: 'generic', client_id: 'client-2', client_secret: 'secret-two-0123456789', issuer_url: op.issuer, mapper_url: mapperUrl, scope: ['email', 'profile'], pkce: 'never' },
                  // Nothing listens on port 9 of this machine: an unreachable provider.
                  { id: 'down', provider: 'generic', client_id: 'client-3', client_secret: 'secret-three-0123456789', issuer_url: 'http://127.0.0.1:9', mapper_url: mapperUrl },
                ],
              },
            },
          },
          flows: { registration: { style: 'unified', after: { oidc: { hooks: [{ hook: 'session' }] } } } },
        },
      });
      await op.start([
        { client_id: 'client-1', client_secret: 'secret-one-0123456789', redirect_uris: [`${pub()}self-service/methods/oidc/callback/op1`] },
        { client_id: 'client-2', client_secret: 'secret-two-0123456789', redirect_uris: [`${pub()}self-service/methods/oidc/callback/op2`] },
      ]);
    });
    afterAll(async () => {
      await srv?.close();
      await op?.close();
      await drop?.();
    });

    const pub = () => srv.publicUrl.replace(/\/?$/, '/');
    const admin = () => srv.adminUrl.replace(/\/?$/, '/');
    const browser = () => new Browser(pub().replace(/\/$/, ''));

    async function identities(): Promise<Json[]> {
      const res = await fetch(`${admin()}admin/identities?page_size=500`);
      const body = await bodyOf(res);
      expectResponse('listIdentities', res.status, body);
      return body;
    }
    async function identityWithCredentials(id: string): Promise<Json> {
      const res = await fetch(`${admin()}admin/identities/${id}?include_credential=oidc`);
      const body = await bodyOf(res);
      expectResponse('getIdentity', res.status, body);
      return body;
    }
    async function sessionCount(): Promise<number> {
      let total = 0;
      for (const identity of await identities()) {
        const res = await fetch(`${admin()}admin/identities/${identity.id}/sessions`);
        total += (await bodyOf(res)).length;
      }
      return total;
    }

    /** Starts a browser flow (SPA read) and submits the provider as an HTML form: 303 to the provider. */
    async function goToProvider(b: Browser, kind: 'login' | 'registration', provider = 'op1', extra: Record<string, string> = {}): Promise<{ flow: Json; authorization: URL }> {
      const flow = await b.startJson(kind);
      const res = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider, ...extra });
      expect(res.status, await res.clone().text()).toBe(303);
      const authorization = new URL(res.headers.get('location')!);
      expect(authorization.origin).toBe(op.issuer);
      return { flow, authorization };
    }

    /** Opens the provider's redirect back to idflow in the browser. */
    async function callback(b: Browser, url: URL): Promise<Response> {
      expect(url.toString().startsWith(pub())).toBe(true);
      return b.navigate(url.toString());
    }

    async function register(b: Browser, sub: string, claims: Record<string, unknown>): Promise<{ callbackUrl: URL; res: Response }> {
      op.setClaims(sub, claims);
      const { authorization } = await goToProvider(b, 'registration');
      const callbackUrl = await op.authorize(b.jar, authorization.toString(), { login: sub });
      return { callbackUrl, res: await callback(b, callbackUrl) };
    }

    it('shows one provider button per provider, with Kratos labels, on login and registration', async () => {
      const b = browser();
      const registration = await b.startJson('registration');
      const reg = node(registration, 'provider', 'op1');
      expect(reg).toMatchObject({ group: 'oidc', type: 'input', attributes: { type: 'submit', value: 'op1' } });
      expect(reg.meta.label).toMatchObject({ id: 1040002, text: 'Sign up with Test OP', context: { provider: 'Test OP', provider_id: 'op1' } });
      expect(node(registration, 'provider', 'op2').meta.label).toMatchObject({ id: 1040002, text: 'Sign up with op2' });
      const login = await b.startJson('login');
      expect(node(login, 'provider', 'op1').meta.label).toMatchObject({ id: 1010002, text: 'Sign in with Test OP' });
    });

    it('signs up through the provider: state, nonce and PKCE S256 sent; identity with an oidc credential, verified e-mail, session', async () => {
      const b = browser();
      const sub = unique('alice');
      const email = `${sub}@example.org`;
      op.setClaims(sub, { email, email_verified: true, website: WEBSITE });
      const before = (await identities()).length;
      const { authorization } = await goToProvider(b, 'registration');
      const q = authorization.searchParams;
      expect(q.get('client_id')).toBe('client-1');
      expect(q.get('redirect_uri')).toBe(`${pub()}self-service/methods/oidc/callback/op1`);
      expect(q.get('scope')!.split(' ').sort()).toEqual(['email', 'openid', 'profile']);
      expect(q.get('code_challenge_method')).toBe('S256');
      expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      // The state is sealed: it names no flow id in clear.
      expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]+$/);
      const callbackUrl = await op.authorize(b.jar, authorization.toString(), { login: sub });
      expect(callbackUrl.searchParams.get('code')).toBeTruthy();
      const res = await callback(b, callbackUrl);
      expect(res.status).toBe(303);
      expect(b.sessionCookie()).toBeTruthy();
      const { status, body: session } = await b.whoami();
      expect(status).toBe(200);
      expect(session.identity.traits).toEqual({ email, website: WEBSITE });
      expect(session.authentication_methods.map((m: Json) => [m.method, m.provider])).toEqual([['oidc', 'op1']]);
      expect(session.identity.verifiable_addresses[0]).toMatchObject({ value: email, verified: true, status: 'completed' });
      expect(session.identity.metadata_public).toEqual({ provider_subject: sub });
      expect((await identities()).length).toBe(before + 1);

      const stored = await identityWithCredentials(session.identity.id);
      expect(stored.credentials.oidc.identifiers).toEqual([`op1:${sub}`]);
      expect(stored.credentials.oidc.config).toEqual({ providers: [{ provider: 'op1', subject: sub }] });
      // The upstream tokens are stored sealed, never as issued.
      const row = await srv.registry.store.identities.get(session.identity.id);
      const provider = (row!.credentials.find((c) => c.type === 'oidc')!.config.providers as Json[])[0];
      for (const key of ['initial_id_token', 'initial_access_token']) {
        expect(typeof provider[key]).toBe('string');
        expect(provider[key].length).toBeGreaterThan(20);
        expect(provider[key]).not.toMatch(/^eyJ/);
      }
      // No secret reached the logs.
      const logs = srv.logs.join('\n');
      for (const secret of [callbackUrl.searchParams.get('code')!, q.get('state')!, q.get('nonce')!, 'secret-one-0123456789']) expect(logs).not.toContain(secret);
    });

    it('signs in again with the same subject (matched by provider and subject), also from a JSON client (422 with redirect_browser_to)', async () => {
      const sub = unique('carol');
      const first = await register(browser(), sub, { email: `${sub}@example.org`, website: WEBSITE });
      expect(first.res.status).toBe(303);
      const [registered] = (await identities()).filter((i: Json) => i.traits.email === `${sub}@example.org`);
      // The provider now reports another e-mail: the login still finds the account by (provider, subject).
      op.setClaims(sub, { email: `${sub}-changed@example.org`, website: WEBSITE });
      const b = browser();
      const flow = await b.startJson('login');
      const res = await b.submitJson(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider: 'op1' });
      const body = await bodyOf(res);
      expect(res.status).toBe(422);
      // Spec quirk (see webauthn.test.ts): errorBrowserLocationChangeRequired.error nests errorGeneric; Kratos sends genericError.
      expectSchema('genericError', body.error);
      expectSchema('errorBrowserLocationChangeRequired', { redirect_browser_to: body.redirect_browser_to });
      expect(body.error.id).toBe('browser_location_change_required');
      expect(new URL(body.redirect_browser_to).origin).toBe(op.issuer);
      const callbackUrl = await op.authorize(b.jar, body.redirect_browser_to, { login: sub });
      const done = await callback(b, callbackUrl);
      expect(done.status).toBe(303);
      const { body: session } = await b.whoami();
      expect(session.identity.id).toBe(registered.id);
      expect(session.identity.traits.email).toBe(`${sub}@example.org`);
    });

    it('a login of an unknown subject continues as a sign-up (Kratos converts the flow)', async () => {
      const b = browser();
      const sub = unique('dave');
      op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
      const { authorization } = await goToProvider(b, 'login');
      const res = await callback(b, await op.authorize(b.jar, authorization.toString(), { login: sub }));
      expect(res.status).toBe(303);
      const { body: session } = await b.whoami();
      expect(session.identity.traits.email).toBe(`${sub}@example.org`);
      expect((await identityWithCredentials(session.identity.id)).credentials.oidc.identifiers).toEqual([`op1:${sub}`]);
    });

    it('while registration is disabled, a login of an unknown subject is refused (Kratos 4000001), nothing stored', async () => {
      const flows = srv.registry.config.selfservice.flows;
      const b = browser();
      const sub = unique('nina');
      op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
      const before = (await identities()).length;
      const { authorization, flow } = await goToProvider(b, 'login');
      const callbackUrl = await op.authorize(b.jar, authorization.toString(), { login: sub });
      flows.registration.enabled = false;
      try {
        const res = await callback(b, callbackUrl);
        expect(res.status).toBe(303);
        expect(flowIdOf(res.headers.get('location')!)).toBe(flow.id);
        const shown = await b.readFlow('login', flow.id);
        expect(messageIds(shown.ui.messages)).toEqual([4000001]);
        expect(shown.ui.messages[0].text).toBe('Registration is not allowed because it was disabled.');
      } finally {
        flows.registration.enabled = true;
      }
      expect((await identities()).length).toBe(before);
      expect(b.sessionCookie()).toBeUndefined();
    });

    it('an e-mail that belongs to another account: no new identity, a login flow with 1010016; logging in links the provider', async () => {
      const sub = unique('erin');
      const email = `${sub}@example.org`;
      const created = await fetch(`${admin()}admin/identities`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema_id: 'oidc', traits: { email, website: WEBSITE }, credentials: { password: { config: { password: PASSWORD } } } }),
      });
      const existing = await bodyOf(created);
      expect(created.status).toBe(201);
      const before = (await identities()).length;
      const sessionsBefore = await sessionCount();

      const b = browser();
      // Even an address the provider marks verified is not linked automatically.
      const { res } = await register(b, sub, { email, email_verified: true, website: WEBSITE });
      expect(res.status).toBe(303);
      const location = res.headers.get('location')!;
      expect(location).toContain('/login?flow=');
      expect((await identities()).length).toBe(before);
      expect(await sessionCount()).toBe(sessionsBefore);
      expect(b.sessionCookie()).toBeUndefined();

      const login = await b.readFlow('login', flowIdOf(location));
      expect(messageIds(login.ui.messages)).toEqual([1010016]);
      expect(login.ui.messages[0].context).toMatchObject({ duplicateIdentifier: email, duplicate_identifier: email, provider: 'Test OP', available_credential_types: ['password'] });
      // The provider that led here is not offered again.
      expect(node(login, 'provider', 'op1')).toBeUndefined();
      expect(node(login, 'provider', 'op2')).toBeDefined();

      const done = await b.submitJson(login.ui.action, { csrf_token: csrfOf(login), method: 'password', identifier: email, password: PASSWORD });
      const body = await bodyOf(done);
      expectResponse('updateLoginFlow', done.status, body);
      expect(done.status).toBe(200);
      expect(body.session.identity.id).toBe(existing.id);
      expect((await identityWithCredentials(existing.id)).credentials.oidc.identifiers).toEqual([`op1:${sub}`]);

      // From now on the provider signs in to that account.
      const again = browser();
      const { authorization } = await goToProvider(again, 'login');
      expect((await callback(again, await op.authorize(again.jar, authorization.toString(), { login: sub }))).status).toBe(303);
      expect((await again.whoami()).body.identity.id).toBe(existing.id);
    });

    it('a missing required trait shows the registration form pre-filled with a Continue button; continuing signs up', async () => {
      const b = browser();
      const sub = unique('frank');
      const email = `${sub}@example.org`;
      const before = (await identities()).length;
      const { res } = await register(b, sub, { email });
      expect([302, 303]).toContain(res.status);
      const flow = await b.readFlow('registration', flowIdOf(res.headers.get('location')!));
      expect(node(flow, 'traits.email').attributes.value).toBe(email);
      expect(messageIds(node(flow, 'traits.website').messages)).toEqual([4000002]);
      const buttons = flow.ui.nodes.filter((n: Json) => n.attributes.name === 'provider');
      expect(buttons.map((n: Json) => [n.attributes.value, n.meta.label.id])).toEqual([['op1', 1040003]]);
      expect(node(flow, 'password')).toBeUndefined();
      expect((await identities()).length).toBe(before);
      expect(b.sessionCookie()).toBeUndefined();

      const go = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider: 'op1', 'traits.email': email, 'traits.website': WEBSITE });
      expect(go.status).toBe(303);
      const done = await callback(b, await op.authorize(b.jar, go.headers.get('location')!, { login: sub }));
      expect(done.status).toBe(303);
      const { body: session } = await b.whoami();
      expect(session.identity.traits).toEqual({ email, website: WEBSITE });
    });

    describe('refusals: nothing stored, no session', () => {
      async function expectFlowMessage(b: Browser, res: Response, kind: 'login' | 'registration', pattern: RegExp): Promise<void> {
        expect([302, 303]).toContain(res.status);
        const flow = await b.readFlow(kind, flowIdOf(res.headers.get('location')!));
        expect(messageIds(flow.ui.messages)).toEqual([4000001]);
        expect(flow.ui.messages[0].text).toMatch(pattern);
      }

      it('the provider answers access_denied: Kratos 4000001 with the provider error on the flow', async () => {
        const b = browser();
        const before = (await identities()).length;
        const { authorization } = await goToProvider(b, 'registration');
        const callbackUrl = await op.authorize(b.jar, authorization.toString(), { deny: true });
        expect(callbackUrl.searchParams.get('error')).toBe('access_denied');
        const res = await callback(b, callbackUrl);
        await expectFlowMessage(b, res, 'registration', /^Unable to complete OpenID Connect flow because the OpenID Provider returned error "access_denied"/);
        expect((await identities()).length).toBe(before);
        expect(b.sessionCookie()).toBeUndefined();
      });

      it('an id_token with another nonce is refused', async () => {
        const b = browser();
        const sub = unique('mallory');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const before = (await identities()).length;
        const { authorization } = await goToProvider(b, 'registration');
        authorization.searchParams.set('nonce', 'a-nonce-the-relying-party-never-sent-0123456789');
        const res = await callback(b, await op.authorize(b.jar, authorization.toString(), { login: sub }));
        await expectFlowMessage(b, res, 'registration', /^The supplied nonce does not match the nonce from the id_token$/);
        expect((await identities()).length).toBe(before);
        expect(b.sessionCookie()).toBeUndefined();
      });

      it("an id_token signed with a key other than the provider's is refused, even with every claim right", async () => {
        const b = browser();
        const sub = unique('forger');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const before = (await identities()).length;
        const { authorization } = await goToProvider(b, 'registration');
        const { privateKey } = await generateKeyPair('RS256');
        const now = Math.floor(Date.now() / 1000);
        // The provider's key id, issuer, audience, nonce and times: only the signature is not the provider's.
        const forged = await new SignJWT({ nonce: authorization.searchParams.get('nonce')!, email: `${sub}@example.org`, email_verified: true })
          .setProtectedHeader({ alg: 'RS256', kid: 'test-op-key' })
          .setIssuer(op.issuer).setAudience('client-1').setSubject(sub).setIssuedAt(now).setExpirationTime(now + 300)
          .sign(privateKey);
        forgeTokens = async () => ({ status: 200, body: { access_token: 'forged-access-token', token_type: 'Bearer', expires_in: 300, id_token: forged } });
        try {
          const res = await callback(b, await op.authorize(b.jar, authorization.toString(), { login: sub }));
          await expectFlowMessage(b, res, 'registration', /signature/i);
        } finally {
          forgeTokens = undefined;
        }
        expect((await identities()).length).toBe(before);
        expect(b.sessionCookie()).toBeUndefined();
      });

      it('a callback in another browser does not touch the flow; the right browser still completes it', async () => {
        const a = browser();
        const sub = unique('grace');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const { authorization, flow } = await goToProvider(a, 'registration');
        const callbackUrl = await op.authorize(a.jar, authorization.toString(), { login: sub });
        const other = browser();
        const res = await callback(other, callbackUrl);
        expect(res.status).toBe(303);
        expect(other.sessionCookie()).toBeUndefined();
        expect((await identities()).some((i: Json) => i.traits.email === `${sub}@example.org`)).toBe(false);
        const unchanged = await a.readFlow('registration', flow.id);
        expect(unchanged.ui.messages ?? []).toEqual([]);
        expect((await callback(a, callbackUrl)).status).toBe(303);
        expect((await a.whoami()).body.identity.traits.email).toBe(`${sub}@example.org`);
      });

      it('a replayed callback issues nothing', async () => {
        const b = browser();
        const sub = unique('heidi');
        const { callbackUrl, res } = await register(b, sub, { email: `${sub}@example.org`, website: WEBSITE });
        expect(res.status).toBe(303);
        const sessions = await sessionCount();
        const count = (await identities()).length;
        // The same browser (signed in now), and a fresh one.
        for (const replayer of [b, browser()]) {
          const replay = await callback(replayer, callbackUrl);
          expect([302, 303]).toContain(replay.status);
        }
        expect(await sessionCount()).toBe(sessions);
        expect((await identities()).length).toBe(count);
      });

      it('the state of an earlier request of the same flow is refused', async () => {
        const b = browser();
        const sub = unique('ivan');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const { flow, authorization: first } = await goToProvider(b, 'registration');
        // The user went to the provider again from the same form: only the latest request may come back.
        const again = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider: 'op1' });
        expect(again.status).toBe(303);
        const res = await callback(b, await op.authorize(b.jar, first.toString(), { login: sub }));
        await expectFlowMessage(b, res, 'registration', /state parameter does not match/);
        expect(b.sessionCookie()).toBeUndefined();
      });

      it('an unreachable provider: the flow says so (4000001), nothing stored', async () => {
        const b = browser();
        const before = (await identities()).length;
        const flow = await b.startJson('registration');
        const res = await b.submitJson(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider: 'down' });
        const body = await bodyOf(res);
        expect(res.status).toBe(400);
        expect(messageIds(body.ui.messages)).toEqual([4000001]);
        expect(body.ui.messages[0].text).toMatch(/^Unable to initialize OpenID Connect Provider: /);
        expect((await identities()).length).toBe(before);
      });

      it('a code bound to another PKCE challenge (the verifier does not match): the OP refuses the exchange, nothing stored', async () => {
        const b = browser();
        const sub = unique('peggy');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const before = (await identities()).length;
        const { authorization } = await goToProvider(b, 'registration');
        // An attacker's challenge: the code is bound to it, not to the verifier idflow keeps for the flow.
        authorization.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
        const res = await callback(b, await op.authorize(b.jar, authorization.toString(), { login: sub }));
        await expectFlowMessage(b, res, 'registration', /^The OpenID Connect provider refused the request: invalid_grant/);
        expect((await identities()).length).toBe(before);
        expect(b.sessionCookie()).toBeUndefined();
      });

      it('a state for one provider at another provider\'s callback goes to the error UI', async () => {
        const b = browser();
        const sub = unique('judy');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const { authorization } = await goToProvider(b, 'registration', 'op1');
        const callbackUrl = await op.authorize(b.jar, authorization.toString(), { login: sub });
        const swapped = new URL(callbackUrl.toString().replace('/callback/op1', '/callback/op2'));
        const res = await callback(b, swapped);
        expect(res.status).toBe(303);
        const errorId = new URL(res.headers.get('location')!).searchParams.get('id');
        const error = await b.getJson(`/self-service/errors?id=${errorId}`);
        const body = await bodyOf(error);
        expectResponse('getFlowError', error.status, body);
        expect(body.error).toMatchObject({ code: 400, reason: 'Unable to complete OpenID Connect flow: provider mismatch between internal state and URL.' });
        const garbled = new URL(callbackUrl);
        garbled.searchParams.set('state', 'not-a-sealed-state');
        const bad = await callback(b, garbled);
        const badId = new URL(bad.headers.get('location')!).searchParams.get('id');
        expect((await bodyOf(await b.getJson(`/self-service/errors?id=${badId}`))).error.reason).toBe('Unable to complete OpenID Connect flow because the state parameter is invalid.');
        expect(b.sessionCookie()).toBeUndefined();
        // A state of another flow kind or id never reaches another flow: the same browser's real callback still works.
        expect((await callback(b, callbackUrl)).status).toBe(303);
      });

      // Last: it moves the server's clock past every flow's lifespan.
      it('a callback for an expired flow: a new flow says the old one expired (Kratos 4040001), nothing stored', async () => {
        const b = browser();
        const sub = unique('olga');
        op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const before = (await identities()).length;
        const { authorization, flow } = await goToProvider(b, 'registration');
        const callbackUrl = await op.authorize(b.jar, authorization.toString(), { login: sub });
        srv.clock.advance(2 * 60 * 60 * 1000);
        const res = await callback(b, callbackUrl);
        expect([302, 303]).toContain(res.status);
        const next = await b.readFlow('registration', flowIdOf(res.headers.get('location')!));
        expect(next.id).not.toBe(flow.id);
        expect(messageIds(next.ui.messages)).toEqual([4040001]);
        expect((await identities()).length).toBe(before);
        expect(b.sessionCookie()).toBeUndefined();
      });
    });
  });
}
