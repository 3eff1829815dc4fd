/**
 * Native apps (Kratos strategy_login.go / strategy_registration.go, ProcessIDToken, token_verifier.go): an id_token the
 * app got from the provider's SDK, submitted with `id_token` (+ `id_token_nonce`) to an API flow, verified against
 * the provider's issuer and key set. Tested with the `google` preset pointed at the test OP (issuer_url on loopback),
 * whose id_tokens are real ones from the OP's code flow; refusals use tokens signed with the OP's own key but naming
 * another audience or issuer, and a token signed by a key the OP never published.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT } from 'jose';
import { testDatabases } from '../../support/databases.ts';
import { expectResponse } from '../../support/openapi.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { bodyOf, messageIds } from '../browser/browser-client.ts';
import { mapperUrl, startOidcFixture, unique, WEBSITE, type OidcFixture } from './oidc-fixture.ts';

type Json = any;

const GOOGLE = { id: 'google', provider: 'google', label: 'Google', client_id: 'client-g', client_secret: 'secret-google-0123456789', mapper_url: mapperUrl, scope: ['email', 'profile'], additional_id_token_audiences: ['ios-app'] };

for (const db of testDatabases()) {
  describe(`OpenID Connect id_token sign-in for native apps (${db.name})`, () => {
    let f: OidcFixture;

    beforeAll(async () => {
      f = await startOidcFixture(db, { providers: (issuer) => [{ ...GOOGLE, issuer_url: issuer }] });
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
