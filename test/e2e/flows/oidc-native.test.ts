/**
 * Native apps (Kratos strategy_login.go / strategy_registration.go, ProcessIDToken, token_verifier.go): an id_token the
 * app got from the provider's SDK, submitted with `id_token` (+ `id_token_nonce`) to an API flow, verified against
 * the provider's issuer and key set. Tested with the `google` preset, the test OP standing in for Google (the internal vendor seam),
 * whose id_tokens are real ones from the OP's code flow; refusals use tokens signed with the OP's own key but naming
 * another audience or issuer, and a token signed by a key the OP never published.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { testDatabases } from '../../support/databases.ts';
import { expectResponse } from '../../support/openapi.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { Browser, bodyOf, messageIds } from '../browser/browser-client.ts';
import { mapperUrl, startOidcFixture, unique, WEBSITE, type OidcFixture } from './oidc-fixture.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

type Json = any;

const APP = 'https://app.example.com/signed-in';
const GOOGLE = { id: 'google', provider: 'google', label: 'Google', client_id: 'client-g', client_secret: 'secret-google-0123456789', mapper_url: mapperUrl, scope: ['email', 'profile'], additional_id_token_audiences: ['ios-app'] };

for (const db of testDatabases()) {
  describe.skipIf(jsonnetMissing)(`OpenID Connect id_token sign-in for native apps (${db.name})`, () => {
    let f: OidcFixture;

    beforeAll(async () => {
      f = await startOidcFixture(db, {
        providers: () => [GOOGLE],
        vendors: (issuer) => ({ google: issuer }),
        extra: { selfservice: { allowed_return_urls: [APP] } },
      });
    });
    afterAll(async () => {
      await f?.close();
    });

    const client = () => ({ client_id: GOOGLE.client_id, client_secret: GOOGLE.client_secret, redirect_uris: [`${f.pub()}self-service/methods/oidc/callback/google`] });

    async function apiFlow(kind: 'login' | 'registration'): Promise<Json> {
      const res = await fetch(`${f.pub()}self-service/${kind}/api`, { headers: { accept: 'application/json' } });
      const body = await bodyOf(res);
      expectResponse(kind === 'login' ? 'createNativeLoginFlow' : 'createNativeRegistrationFlow', res.status, body);
      return body;
    }

    async function submit(kind: 'login' | 'registration', payload: Record<string, unknown>): Promise<{ status: number; body: Json }> {
      const flow = await apiFlow(kind);
      const res = await fetch(flow.ui.action, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ method: 'oidc', ...payload }) });
      const body = await bodyOf(res);
      expectResponse(kind === 'login' ? 'updateLoginFlow' : 'updateRegistrationFlow', res.status, body);
      return { status: res.status, body };
    }

    async function idToken(sub: string, nonce?: string, claims: Record<string, unknown> = { email: `${sub}@example.org`, email_verified: true, website: WEBSITE }): Promise<string> {
      f.op.setClaims(sub, claims);
      const jar = new CookieJar();
      return f.op.issueIdToken(jar, client(), { login: sub, nonce });
    }

    async function expectRefused(kind: 'login' | 'registration', payload: Record<string, unknown>, reason: string | RegExp): Promise<void> {
      const before = (await f.identities()).length;
      const { status, body } = await submit(kind, payload);
      expect(status).toBe(400);
      expect(body.session_token).toBeUndefined();
      expect(messageIds(body.ui.messages)).toEqual([4000001]);
      expect(body.ui.messages[0].text).toMatch(reason);
      expect((await f.identities()).length).toBe(before);
    }

    it('signs up with an id_token and its nonce (session token, traits from the mapper, verified e-mail), then signs in with another one', async () => {
      const sub = unique('nadia');
      const token = await idToken(sub, 'nonce-one-0123456789');
      const { status, body } = await submit('registration', { provider: 'google', id_token: token, id_token_nonce: 'nonce-one-0123456789' });
      expect(status).toBe(200);
      expect(body.session_token).toMatch(/^ory_st_/);
      expect(body.identity.traits).toEqual({ email: `${sub}@example.org`, website: WEBSITE });
      expect(body.identity.verifiable_addresses[0]).toMatchObject({ verified: true });
      expect((await f.identityWithCredentials(body.identity.id)).credentials.oidc.identifiers).toEqual([`google:${sub}`]);

      const again = await submit('login', { provider: 'google', id_token: await idToken(sub, 'nonce-two-0123456789'), id_token_nonce: 'nonce-two-0123456789' });
      expect(again.status).toBe(200);
      expect(again.body.session.identity.id).toBe(body.identity.id);
      expect(again.body.session.authentication_methods.map((m: Json) => m.method)).toEqual(['oidc']);
      // The token and the nonce reached no log.
      expect(f.srv.logs.join('\n')).not.toContain(token.split('.')[2]);
    });

    it('a login with the id_token of an unknown subject signs up (Kratos converts the flow); Google tokens may come without a nonce', async () => {
      const sub = unique('omar');
      const { status, body } = await submit('login', { provider: 'google', id_token: await idToken(sub) });
      expect(status).toBe(200);
      expect(body.session.identity.traits.email).toBe(`${sub}@example.org`);
    });

    it('accepts a token for one of additional_id_token_audiences (an iOS app\'s client id)', async () => {
      const sub = unique('petra');
      f.op.setClaims(sub, {});
      const token = await f.op.sign({ iss: f.op.issuer, aud: 'ios-app', sub, email: `${sub}@example.org`, website: WEBSITE, nonce: 'n-0123456789' });
      const { status, body } = await submit('registration', { provider: 'google', id_token: token, id_token_nonce: 'n-0123456789' });
      expect(status).toBe(200);
      expect(body.identity.traits.email).toBe(`${sub}@example.org`);
    });

    describe('through the system browser: return_session_token_exchange_code and GET /sessions/token-exchange', () => {
      /** The app creates the flow and submits the provider; the system browser goes to the OP and back. */
      async function signInThroughBrowser(kind: 'login' | 'registration', sub: string): Promise<{ flow: Json; initCode: string; back: Response; browser: Browser }> {
        const res = await fetch(`${f.pub()}self-service/${kind}/api?return_session_token_exchange_code=true&return_to=${encodeURIComponent(APP)}`, { headers: { accept: 'application/json' } });
        const flow = await bodyOf(res);
        expectResponse(kind === 'login' ? 'createNativeLoginFlow' : 'createNativeRegistrationFlow', res.status, flow);
        const initCode = flow.session_token_exchange_code;
        expect(initCode).toMatch(/^[A-Za-z0-9]{64}$/);
        expect(flow.ui.nodes.some((n: Json) => n.attributes.name === 'provider' && n.attributes.value === 'op1')).toBe(true);
        const go = await fetch(flow.ui.action, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ method: 'oidc', provider: 'op1' }) });
        const redirect = await bodyOf(go);
        expect(go.status).toBe(422);
        expect(redirect.error.id).toBe('browser_location_change_required');
        const browser = f.browser();
        f.op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
        const callbackUrl = await f.op.authorize(browser.jar, redirect.redirect_browser_to, { login: sub });
        const back = await f.callback(browser, callbackUrl);
        return { flow, initCode, back, browser };
      }

      const exchange = (init: string, ret: string) => fetch(`${f.pub()}sessions/token-exchange?init_code=${init}&return_to_code=${ret}`, { headers: { accept: 'application/json' } });

      it('a login of an unknown subject signs up in the browser; the app exchanges both codes once for a working session token', async () => {
        const sub = unique('tess');
        const { initCode, back, browser } = await signInThroughBrowser('login', sub);
        expect(back.status).toBe(303);
        const to = new URL(back.headers.get('location')!);
        expect(`${to.origin}${to.pathname}`).toBe(APP);
        const returnCode = to.searchParams.get('code')!;
        expect(returnCode).toMatch(/^[A-Za-z0-9]{64}$/);
        // The system browser got no session: the session is the app's.
        expect(browser.sessionCookie()).toBeUndefined();

        // A wrong return code, or one code alone, gives nothing and does not use the exchange up.
        const wrong = await exchange(initCode, returnCode.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')));
        expect(wrong.status).toBe(404);
        expectResponse('exchangeSessionToken', 404, await bodyOf(wrong));
        const alone = await fetch(`${f.pub()}sessions/token-exchange?init_code=${initCode}`);
        const aloneBody = await bodyOf(alone);
        expect(alone.status).toBe(400);
        expect(aloneBody.error.reason).toBe('"init_code" and "return_to_code" query params must be set');

        const res = await exchange(initCode, returnCode);
        const body = await bodyOf(res);
        expectResponse('exchangeSessionToken', res.status, body);
        expect(res.status).toBe(200);
        expect(body.session_token).toMatch(/^ory_st_/);
        expect(body.session.identity.traits.email).toBe(`${sub}@example.org`);
        const whoami = await fetch(`${f.pub()}sessions/whoami`, { headers: { 'x-session-token': body.session_token } });
        expect(whoami.status).toBe(200);
        expect((await bodyOf(whoami)).id).toBe(body.session.id);

        // Single use.
        expect((await exchange(initCode, returnCode)).status).toBe(404);
        // The codes are stored hashed and reach no log.
        const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
        expect(await f.srv.registry.store.tokenExchanges.findByInitCodeHash(initCode)).toBeNull();
        const row = await f.srv.registry.store.tokenExchanges.findByInitCodeHash(sha256(initCode));
        expect(row).toMatchObject({ returnToCodeHash: sha256(returnCode), sessionId: body.session.id });
        expect(row!.usedAt).not.toBeNull();
        const logs = f.srv.logs.join('\n');
        for (const secret of [initCode, returnCode, body.session_token]) expect(logs).not.toContain(secret);
      });

      it('a known subject signs in through the browser; the exchange is refused after its short window', async () => {
        const sub = unique('ugo');
        const first = await signInThroughBrowser('registration', sub);
        expect(first.back.status).toBe(303);
        const code = new URL(first.back.headers.get('location')!).searchParams.get('code')!;
        expect((await exchange(first.initCode, code)).status).toBe(200);

        const { initCode, back } = await signInThroughBrowser('login', sub);
        const returnCode = new URL(back.headers.get('location')!).searchParams.get('code')!;
        f.srv.clock.advance(6 * 60 * 1000);
        expect((await exchange(initCode, returnCode)).status).toBe(404);
      });

      it('an API flow without the exchange code offers no provider and refuses the redirect', async () => {
        const flow = (await submit('login', { provider: 'op1' })).body;
        expect(messageIds(flow.ui.messages)).toEqual([4000001]);
        expect(flow.ui.nodes.some((n: Json) => n.attributes.name === 'provider')).toBe(false);
      });
    });

    describe('refusals: nothing stored, no session', () => {
      it('an id_token of another audience, of another issuer, expired, or signed by a key the provider never published', async () => {
        const sub = unique('quinn');
        const claims = { sub, email: `${sub}@example.org`, website: WEBSITE };
        await expectRefused('registration', { provider: 'google', id_token: await f.op.sign({ ...claims, iss: f.op.issuer, aud: 'client-1' }) }, /^Could not verify id_token: the "aud" claim/);
        await expectRefused('registration', { provider: 'google', id_token: await f.op.sign({ ...claims, iss: 'https://accounts.example.com', aud: 'client-g' }) }, /^Could not verify id_token: the "iss" claim/);
        const past = Math.floor(Date.now() / 1000) - 7200;
        await expectRefused('registration', { provider: 'google', id_token: await f.op.sign({ ...claims, iss: f.op.issuer, aud: 'client-g', iat: past, exp: past + 600 }) }, 'Could not verify id_token: the token has expired');
        const { privateKey } = await generateKeyPair('RS256');
        const forged = await new SignJWT({ ...claims, iss: f.op.issuer, aud: 'client-g' }).setProtectedHeader({ alg: 'RS256', kid: 'test-op-key' })
          .setIssuedAt().setExpirationTime('5m').sign(privateKey);
        await expectRefused('login', { provider: 'google', id_token: forged }, /^Could not verify id_token: the signature/);
        await expectRefused('login', { provider: 'google', id_token: 'not.a.jwt' }, /^Could not verify id_token/);
      });

      it('a nonce in the token but none submitted, or another one (Kratos\'s texts)', async () => {
        const sub = unique('rosa');
        const token = await idToken(sub, 'the-real-nonce-0123456789');
        await expectRefused('registration', { provider: 'google', id_token: token }, 'No nonce was provided but is required by the provider');
        await expectRefused('registration', { provider: 'google', id_token: token, id_token_nonce: 'another-nonce-0123456789' }, 'The supplied nonce does not match the nonce from the id_token');
      });

      it('a generic provider refuses a submitted id_token, as Kratos does; an unknown provider is refused', async () => {
        const token = await idToken(unique('sven'));
        await expectRefused('login', { provider: 'op1', id_token: token }, 'The provider generic does not support id_token verification');
        await expectRefused('login', { provider: 'nope', id_token: token }, 'OpenID Connect Provider "nope" is unknown or has not been configured');
      });
    });
  });
}
