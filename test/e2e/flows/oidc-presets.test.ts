/**
 * The provider presets other than `generic` (Kratos selfservice/strategy/oidc/provider_<name>.go), each through a
 * browser sign-up and a sign-in over HTTP, against stand-ins for the vendors:
 * - github, discord, facebook: the OAuth 2.0 vendor double (test/support/oauth2-vendors.ts) with each vendor's
 *   authorize/token endpoints and user API (GitHub's `/user` + `/user/emails`, Discord's `/users/@me`, Facebook's Graph
 *   `/me` checking `appsecret_proof`);
 * - gitlab, auth0: a real OpenID Provider at the vendor's paths, moved with `issuer_url` as Kratos allows; the claims
 *   come from its userinfo endpoint as in Kratos;
 * - microsoft: a real OpenID Provider with the issuer `<login>/<tenant id>/v2.0` and `tid`/`oid` claims, plus
 *   Microsoft Graph's `/v1.0/me` for `subject_source: me`;
 * - apple: a real OpenID Provider at Apple's paths whose token endpoint first verifies the client secret JWT idflow
 *   mints (ES256, the configured key id and key, iss = team id, sub = client id, aud = https://appleid.apple.com).
 * Vendors Kratos does not let `issuer_url` move are pointed at their stand-ins through the internal seam
 * `RegistryOptions.oidcVendors`. Asserted: the traits and verified addresses the claims give, the claims the mapper saw
 * (Kratos's `iss` per preset), and the stored credential identifier `<provider id>:<subject>`.
 * Also here: `upstream_parameters` (Kratos's allow-list) and `claims_source: userinfo`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from 'jose';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { startOpenIdProvider, type TestOpenIdProvider } from '../../support/oidc-provider.ts';
import { startOAuth2Vendors, type OAuth2VendorDouble, type Vendor } from '../../support/oauth2-vendors.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';
import { Browser, bodyOf, csrfOf } from '../browser/browser-client.ts';
import { unique } from './oidc-fixture.ts';

type Json = any;

const TENANT = '6a7b8c9d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const APPLE_TEAM = 'TEAM123456';
const APPLE_KEY_ID = 'KEY7654321';
const APPLE_CLIENT = 'com.example.idflow.web';

const SCHEMA = personSchema('oidc-presets', {
  email: { verification: { via: 'email' } },
  traits: { name: { type: 'string' }, nickname: { type: 'string' } },
});

/** Traits from the standard claims; the claims themselves (without raw_claims) kept in metadata_public to assert on. */
const MAPPER = `
local claims = std.extVar('claims');
{
  identity: {
    traits: {
      [if std.objectHas(claims, 'email') then 'email' else null]: claims.email,
      [if std.objectHas(claims, 'name') then 'name' else null]: claims.name,
      [if std.objectHas(claims, 'nickname') then 'nickname' else null]: claims.nickname,
    },
    verified_addresses: if std.objectHas(claims, 'email_verified') && claims.email_verified then [{ via: 'email', value: claims.email }] else [],
    metadata_public: { claims: { [k]: claims[k] for k in std.objectFields(claims) if k != 'raw_claims' } },
  },
}`;
const mapperUrl = `base64://${Buffer.from(MAPPER).toString('base64')}`;

for (const db of testDatabases()) {
  describe(`OpenID Connect provider presets against vendor stand-ins (${db.name})`, () => {
    let srv: TestServer;
    let drop: () => Promise<void>;
    let vendors: OAuth2VendorDouble;
    let gitlab: TestOpenIdProvider;
    let auth0: TestOpenIdProvider;
    let microsoft: TestOpenIdProvider;
    let apple: TestOpenIdProvider;
    /** What Apple's token endpoint saw: the client secret JWT's header and claims. */
    const appleSecrets: Array<{ header: Json; claims: Json }> = [];

    beforeAll(async () => {
      const appleKey = await generateKeyPair('ES256', { extractable: true });
      const applePem = await exportPKCS8(appleKey.privateKey);
      // Apple knows the public half of the key the team registered.
      const applePublic = await importSPKI(await exportSPKI(appleKey.publicKey), 'ES256');
      vendors = await startOAuth2Vendors();
      gitlab = await startOpenIdProvider({ routes: { authorization: '/oauth/authorize', token: '/oauth/token', userinfo: '/oauth/userinfo' } });
      auth0 = await startOpenIdProvider({ routes: { authorization: '/authorize', token: '/oauth/token', userinfo: '/userinfo' } });
      microsoft = await startOpenIdProvider({
        issuerPath: `/${TENANT}/v2.0`,
        routes: { authorization: '/oauth2/v2.0/authorize', token: '/oauth2/v2.0/token', jwks: '/discovery/v2.0/keys', userinfo: '/oidc/userinfo' },
        openidClaims: ['tid', 'oid'],
        // Microsoft Graph's /v1.0/me for the access token's user.
        async extraRoute(req, res, tools) {
          if (!req.url?.startsWith('/v1.0/me')) return false;
          const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
          const user = await tools.userinfo(token);
          res.writeHead(user ? 200 : 401, { 'content-type': 'application/json' });
          res.end(JSON.stringify(user
            ? { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', id: `graph-${String(user.sub)}`, displayName: user.name, mail: user.email, userPrincipalName: user.email }
            : { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } }));
          return true;
        },
      });
      apple = await startOpenIdProvider({
        routes: { authorization: '/auth/authorize', token: '/auth/token', jwks: '/auth/keys' },
        // Apple's token endpoint authenticates the client by the JWT it signed with the team's key.
        async tokenRequest(form) {
          try {
            const header = decodeProtectedHeader(form.client_secret ?? '');
            const { payload } = await jwtVerify(form.client_secret ?? '', applePublic, {
              algorithms: ['ES256'], issuer: APPLE_TEAM, subject: APPLE_CLIENT, audience: 'https://appleid.apple.com', maxTokenAge: '180d',
            });
            if (header.kid !== APPLE_KEY_ID || form.client_id !== APPLE_CLIENT) throw new Error('kid or client_id');
            appleSecrets.push({ header, claims: payload });
          } catch {
            return { status: 400, body: { error: 'invalid_client' } };
          }
          const passOn: Record<string, string> = { ...form, client_secret: 'apple-registered-secret-0123456789' };
          return passOn;
        },
      });
      const created = await db.create();
      drop = created.drop;
      const base = { mapper_url: mapperUrl };
      srv = await startTestServer(created.dsn, {
        identity: { default_schema_id: 'presets', schemas: [{ id: 'presets', url: schemaUrl(SCHEMA) }] },
        selfservice: {
          methods: {
            password: { enabled: false },
            oidc: {
              enabled: true,
              config: {
                providers: [
                  { ...base, id: 'github', provider: 'github', client_id: 'gh-client', client_secret: 'gh-secret-0123456789', scope: ['read:user', 'user:email'] },
                  { ...base, id: 'discord', provider: 'discord', client_id: '1234567890', client_secret: 'discord-secret-0123456789', scope: ['identify', 'email'] },
                  { ...base, id: 'facebook', provider: 'facebook', client_id: 'fb-app-1', client_secret: 'fb-app-secret-0123456789', scope: ['email', 'public_profile'] },
                  { ...base, id: 'gitlab', provider: 'gitlab', client_id: 'gitlab-client', client_secret: 'gitlab-secret-0123456789', issuer_url: gitlab.issuer, scope: ['openid', 'email', 'profile'] },
                  { ...base, id: 'auth0', provider: 'auth0', client_id: 'auth0-client', client_secret: 'auth0-secret-0123456789', issuer_url: auth0.issuer, scope: ['openid', 'email', 'profile'] },
                  { ...base, id: 'microsoft', provider: 'microsoft', client_id: 'ms-client', client_secret: 'ms-secret-0123456789', microsoft_tenant: TENANT, scope: ['email', 'profile'] },
                  { ...base, id: 'microsoft-me', provider: 'microsoft', client_id: 'ms-me-client', client_secret: 'ms-me-secret-0123456789', microsoft_tenant: TENANT, subject_source: 'me', scope: ['email', 'profile'] },
                  { ...base, id: 'microsoft-oid', provider: 'microsoft', client_id: 'ms-oid-client', client_secret: 'ms-oid-secret-0123456789', microsoft_tenant: TENANT, subject_source: 'oid', scope: ['email', 'profile'] },
                  {
                    ...base, id: 'apple', provider: 'apple', client_id: APPLE_CLIENT, apple_team_id: APPLE_TEAM, apple_private_key_id: APPLE_KEY_ID,
                    apple_private_key: applePem, scope: ['email'],
                  },
                  { ...base, id: 'userinfo', provider: 'generic', client_id: 'ui-client', client_secret: 'ui-secret-0123456789', issuer_url: gitlab.issuer, scope: ['email', 'profile'], claims_source: 'userinfo' },
                ],
              },
            },
          },
          flows: { registration: { after: { oidc: { hooks: [{ hook: 'session' }] } } } },
        },
      }, {
        oidcVendors: { ...vendors.urls, microsoftLogin: new URL(microsoft.issuer).origin, microsoftGraph: new URL(microsoft.issuer).origin, apple: apple.issuer },
      });
      const callback = (id: string) => `${pub()}self-service/methods/oidc/callback/${id}`;
      const client = (id: string, client_id: string, client_secret: string) => ({ client_id, client_secret, redirect_uris: [callback(id)] });
      vendors.register('github', { client_id: 'gh-client', client_secret: 'gh-secret-0123456789', redirect_uri: callback('github') });
      vendors.register('discord', { client_id: '1234567890', client_secret: 'discord-secret-0123456789', redirect_uri: callback('discord') });
      vendors.register('facebook', { client_id: 'fb-app-1', client_secret: 'fb-app-secret-0123456789', redirect_uri: callback('facebook') });
      await gitlab.start([client('gitlab', 'gitlab-client', 'gitlab-secret-0123456789'), client('userinfo', 'ui-client', 'ui-secret-0123456789')]);
      await auth0.start([client('auth0', 'auth0-client', 'auth0-secret-0123456789')]);
      await microsoft.start([
        client('microsoft', 'ms-client', 'ms-secret-0123456789'), client('microsoft-me', 'ms-me-client', 'ms-me-secret-0123456789'),
        client('microsoft-oid', 'ms-oid-client', 'ms-oid-secret-0123456789'),
      ]);
      await apple.start([client('apple', APPLE_CLIENT, 'apple-registered-secret-0123456789')]);
    });
    afterAll(async () => {
      await srv?.close();
      await Promise.all([vendors?.close(), gitlab?.close(), auth0?.close(), microsoft?.close(), apple?.close()]);
      await drop?.();
    });

    const pub = () => srv.publicUrl.replace(/\/?$/, '/');
    const admin = () => srv.adminUrl.replace(/\/?$/, '/');
    const browser = () => new Browser(pub().replace(/\/$/, ''));
    const OPS: Record<string, () => TestOpenIdProvider> = {
      gitlab: () => gitlab, userinfo: () => gitlab, auth0: () => auth0, microsoft: () => microsoft, 'microsoft-me': () => microsoft,
      'microsoft-oid': () => microsoft, apple: () => apple,
    };

    async function identityWithCredentials(id: string): Promise<Json> {
      const res = await fetch(`${admin()}admin/identities/${id}?include_credential=oidc`);
      const body = await bodyOf(res);
      expectResponse('getIdentity', res.status, body);
      return body;
    }

    /** Submits the provider on a new browser flow: the 303 to the vendor's authorization URL. */
    async function toVendor(b: Browser, kind: 'login' | 'registration', provider: string): Promise<URL> {
      const flow = await b.startJson(kind);
      const res = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider });
      expect(res.status, await res.clone().text()).toBe(303);
      return new URL(res.headers.get('location')!);
    }

    /** Goes to the vendor, signs in there as `login`, and comes back: idflow's answer to the callback. */
    async function through(b: Browser, kind: 'login' | 'registration', provider: string, login: string, grant?: string[]): Promise<{ authorization: URL; res: Response }> {
      const authorization = await toVendor(b, kind, provider);
      const op = OPS[provider]?.();
      if (!op) {
        const back = await vendors.authorize(authorization.toString(), { login, grant });
        return { authorization, res: await b.navigate(back.toString()) };
      }
      const back = await op.authorize(b.jar, authorization.toString(), { login });
      if (back.formPost) {
        // Apple's form_post: idflow turns the POST into a GET of the same callback (Kratos redirectToGET).
        const posted = await b.submitForm(back.toString(), back.formPost);
        expect(posted.status).toBe(302);
        return { authorization, res: await b.navigate(new URL(posted.headers.get('location')!, pub()).toString()) };
      }
      return { authorization, res: await b.navigate(back.toString()) };
    }

    /** Sign-up through `provider`, then a sign-in in another browser: both end in a session of the same identity. */
    async function signUpAndIn(provider: string, login: string): Promise<{ identity: Json; authorization: URL }> {
      const b = browser();
      const { authorization, res } = await through(b, 'registration', provider, login);
      if (res.status !== 303) {
        const shown = await b.readFlow(kind(res), new URL(res.headers.get('location')!).searchParams.get('flow')!);
        expect.fail(`refused: ${JSON.stringify(shown.ui.messages)}`);
      }
      const session = await b.whoami();
      expect(session.status, JSON.stringify(session.body)).toBe(200);
      expect(session.body.authentication_methods).toMatchObject([{ method: 'oidc', aal: 'aal1', provider }]);
      const identity = await identityWithCredentials(session.body.identity.id);
      const again = browser();
      const signIn = await through(again, 'login', provider, login);
      expect(signIn.res.status).toBe(303);
      const second = await again.whoami();
      expect(second.status).toBe(200);
      expect(second.body.identity.id).toBe(identity.id);
      // The provider is recorded on the session, as Kratos's CompletedLoginForWithProvider does.
      expect(second.body.authentication_methods.at(-1)).toMatchObject({ method: 'oidc', aal: 'aal1', provider });
      return { identity, authorization };
    }

    const kind = (res: Response) => (new URL(res.headers.get('location')!).pathname.includes('login') ? 'login' : 'registration');

    function expectCredential(identity: Json, provider: string, subject: string): void {
      const credential = identity.credentials.oidc;
      expect(credential.identifiers).toEqual([`${provider}:${subject}`]);
      expect(credential.config.providers).toEqual([expect.objectContaining({ provider, subject })]);
    }

    const verified = (identity: Json) => identity.verifiable_addresses.map((a: Json) => ({ value: a.value, verified: a.verified }));

    it('github: OAuth 2.0 code, then /user and the primary address of /user/emails (user:email granted); Kratos\'s claims', async () => {
      const login = unique('octo');
      const id = 5_000_000 + Math.floor(Math.random() * 1_000_000);
      const email = `${login}@users.example.org`;
      vendors.setGitHubUser(login, {
        id, login, name: 'Octo Cat', blog: 'https://octo.example.org', email: null,
        emails: [{ email: `${login}-old@example.org`, primary: false, verified: true }, { email, primary: true, verified: true }],
      });
      const { identity, authorization } = await signUpAndIn('github', login);
      // No OpenID Connect: no nonce; scopes as configured (space-separated, as golang.org/x/oauth2 sends them).
      expect(authorization.pathname).toBe('/login/oauth/authorize');
      expect(authorization.searchParams.get('scope')).toBe('read:user user:email');
      expect(authorization.searchParams.get('nonce')).toBeNull();
      expect(identity.traits).toEqual({ email, name: 'Octo Cat', nickname: login });
      expect(verified(identity)).toEqual([{ value: email, verified: true }]);
      expectCredential(identity, 'github', String(id));
      expect(identity.metadata_public.claims).toMatchObject({
        iss: 'https://github.com/login/oauth/access_token', sub: String(id), website: 'https://octo.example.org',
        profile: `https://github.com/${login}`, picture: `https://avatars.githubusercontent.com/u/${id}?v=4`, email_verified: true,
        updated_at: Date.parse('2024-05-06T07:08:09Z') / 1000,
      });
      const apiCalls = vendors.calls.filter((c) => c.vendor === 'github' && c.path.startsWith('/user'));
      expect(apiCalls.map((c) => c.path)).toContain('/user/emails');
      expect(apiCalls.every((c) => /^Bearer github-/.test(c.authorization ?? ''))).toBe(true);
    });

    it('github: a scope the user did not grant refuses the sign-in (Kratos "Please grant all requested scopes."); nothing stored', async () => {
      const login = unique('stingy');
      vendors.setGitHubUser(login, { id: 6_100_000 + Math.floor(Math.random() * 1000), login, emails: [{ email: `${login}@example.org`, primary: true, verified: true }] });
      const b = browser();
      const { res } = await through(b, 'registration', 'github', login, ['read:user']);
      // A refused callback goes back to the flow's UI with the message (as the other refusals in oidc.test.ts).
      expect(res.status).toBe(302);
      const flowId = new URL(res.headers.get('location')!).searchParams.get('flow')!;
      const flow = await b.readFlow('registration', flowId);
      expect(flow.ui.messages).toEqual([expect.objectContaining({ id: 4000001, text: expect.stringContaining('Please grant all requested scopes.') })]);
      expect((await b.whoami()).status).toBe(401);
    });

    it('discord: API v9 code flow with prompt=none, /users/@me; name is username#discriminator as Kratos builds it', async () => {
      const login = unique('nelly');
      const id = `80351110224678${Math.floor(Math.random() * 10_000).toString().padStart(4, '0')}`;
      const email = `${login}@discord.example.org`;
      vendors.setDiscordUser(login, { id, username: login, discriminator: '0', global_name: 'Nelly', avatar: '8342729096ea3675442027381ff50dfe', email, verified: true, locale: 'de' });
      const { identity, authorization } = await signUpAndIn('discord', login);
      expect(authorization.pathname).toBe('/api/v9/oauth2/authorize');
      expect(authorization.searchParams.get('prompt')).toBe('none');
      expect(identity.traits).toEqual({ email, name: `${login}#0`, nickname: login });
      expect(verified(identity)).toEqual([{ value: email, verified: true }]);
      expectCredential(identity, 'discord', id);
      expect(identity.metadata_public.claims).toMatchObject({
        iss: 'https://discord.com/api/v9/oauth2/', sub: id, preferred_username: login, locale: 'de',
        picture: `https://cdn.discordapp.com/avatars/${id}/8342729096ea3675442027381ff50dfe.png`,
      });
    });

    it('facebook: Graph API /me with the fields Kratos asks for and an appsecret_proof the double checks', async () => {
      const login = unique('fay');
      const id = `10158${Math.floor(Math.random() * 1e9)}`;
      const email = `${login}@fb.example.org`;
      vendors.setFacebookUser(login, { id, name: 'Fay Book', first_name: 'Fay', last_name: 'Book', email, picture_url: 'https://pics.example.org/fay.jpg' });
      const { identity } = await signUpAndIn('facebook', login);
      expect(identity.traits).toEqual({ email, name: 'Fay Book', nickname: 'Fay Book' });
      // Kratos: Facebook returns confirmed addresses only, so a returned one is verified.
      expect(verified(identity)).toEqual([{ value: email, verified: true }]);
      expectCredential(identity, 'facebook', id);
      const me = vendors.calls.filter((c) => c.vendor === 'facebook' && c.path === '/me').at(-1)!;
      const token = me.authorization!.replace(/^Bearer /, '');
      expect(me.query.fields).toBe('id,name,first_name,last_name,middle_name,email,picture,birthday,gender');
      expect(me.query.appsecret_proof).toBe(createHmac('sha256', 'fb-app-secret-0123456789').update(token).digest('hex'));
      expect(identity.metadata_public.claims).toMatchObject({
        sub: id, given_name: 'Fay', family_name: 'Book', preferred_username: 'Fay Book', picture: 'https://pics.example.org/fay.jpg',
        iss: expect.stringMatching(/^https:\/\/graph\.facebook\.com\/me\?fields=id,name,.*&appsecret_proof=[0-9a-f]{64}$/),
      });
    });

    it('gitlab: issuer_url moves the preset; /oauth/authorize with PKCE (discovered), claims from /oauth/userinfo', async () => {
      const login = unique('tanuki');
      const email = `${login}@gitlab.example.org`;
      gitlab.setClaims(login, { email, email_verified: true, name: 'Tanu Ki' });
      const { identity, authorization } = await signUpAndIn('gitlab', login);
      expect(authorization.origin + authorization.pathname).toBe(`${gitlab.issuer}/oauth/authorize`);
      expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
      expect(identity.traits).toEqual({ email, name: 'Tanu Ki' });
      expect(verified(identity)).toEqual([{ value: email, verified: true }]);
      expectCredential(identity, 'gitlab', login);
      expect(identity.metadata_public.claims).toMatchObject({ iss: gitlab.issuer, sub: login });
    });

    it('auth0: <issuer_url>/authorize and /oauth/token, claims from /userinfo with updated_at given as a string (Kratos\'s workaround)', async () => {
      const login = unique('zero');
      const email = `${login}@auth0.example.org`;
      auth0.setClaims(login, { email, email_verified: false, name: 'Zero Auth', updated_at: '2024-01-02T03:04:05.000Z' });
      const { identity, authorization } = await signUpAndIn('auth0', login);
      expect(authorization.origin + authorization.pathname).toBe(`${auth0.issuer}/authorize`);
      expect(identity.traits).toEqual({ email, name: 'Zero Auth' });
      expect(verified(identity)).toEqual([{ value: email, verified: false }]);
      expectCredential(identity, 'auth0', login);
      expect(identity.metadata_public.claims).toMatchObject({ iss: auth0.issuer, sub: login, updated_at: Date.parse('2024-01-02T03:04:05Z') / 1000 });
    });

    it('microsoft: the tenant\'s v2.0 issuer, the id_token\'s tid checked; subject from sub, Graph /me (subject_source: me) or oid', async () => {
      const cases = [
        { provider: 'microsoft', subject: (login: string) => login },
        { provider: 'microsoft-me', subject: (login: string) => `graph-${login}` },
        { provider: 'microsoft-oid', subject: (login: string) => `oid-of-${login}` },
      ];
      for (const c of cases) {
        const login = unique('adele');
        const email = `${login}@contoso.example.org`;
        microsoft.setClaims(login, { email, name: 'Adele Vance', tid: TENANT, oid: `oid-of-${login}` });
        const { identity, authorization } = await signUpAndIn(c.provider, login);
        expect(authorization.pathname).toBe(`/${TENANT}/v2.0/oauth2/v2.0/authorize`);
        expect(identity.traits).toEqual({ email, name: 'Adele Vance' });
        // Microsoft sends no email_verified: the address is not verified.
        expect(verified(identity)).toEqual([{ value: email, verified: false }]);
        expectCredential(identity, c.provider, c.subject(login));
        expect(identity.metadata_public.claims).toMatchObject({ iss: microsoft.issuer, sub: c.subject(login) });
      }
    });

    it('microsoft: an id_token without a tenant id (tid) is refused as Kratos refuses it; nothing stored', async () => {
      const login = unique('tenantless');
      microsoft.setClaims(login, { email: `${login}@contoso.example.org`, name: 'No Tenant' });
      const b = browser();
      const { res } = await through(b, 'registration', 'microsoft', login);
      const flow = await b.readFlow('registration', new URL(res.headers.get('location')!).searchParams.get('flow')!);
      expect(flow.ui.messages).toEqual([expect.objectContaining({ id: 4000001, text: expect.stringContaining('TenantID claim is not a valid UUID') })]);
      expect((await b.whoami()).status).toBe(401);
    });

    it('apple: form_post answer; the client secret is an ES256 JWT of the configured key (iss team id, sub client id, aud Apple)', async () => {
      const login = `000123.${unique('apple').replace(/[^a-z0-9]/gi, '')}.0042`;
      const email = `${login.replace(/\./g, '-')}@privaterelay.example.org`;
      // Apple sends email_verified as a string.
      apple.setClaims(login, { email, email_verified: 'true' });
      const before = appleSecrets.length;
      const { identity, authorization } = await signUpAndIn('apple', login);
      expect(authorization.pathname).toBe('/auth/authorize');
      expect(authorization.searchParams.get('response_mode')).toBe('form_post');
      expect(identity.traits).toEqual({ email });
      expect(verified(identity)).toEqual([{ value: email, verified: true }]);
      expectCredential(identity, 'apple', login);
      // One token request per sign-in (up and in), each with a fresh secret that Apple's check accepted.
      const seen = appleSecrets.slice(before);
      expect(seen).toHaveLength(2);
      for (const { header, claims } of seen) {
        expect(header).toMatchObject({ alg: 'ES256', kid: APPLE_KEY_ID });
        expect(claims).toMatchObject({ iss: APPLE_TEAM, sub: APPLE_CLIENT, aud: 'https://appleid.apple.com' });
        expect(claims.exp - claims.iat).toBeLessThanOrEqual(300);
      }
    });

    it('claims_source: userinfo takes the claims of the userinfo endpoint', async () => {
      const login = unique('userinfo');
      const email = `${login}@example.org`;
      // The name is released at the userinfo endpoint only: the traits show that the claims came from there.
      gitlab.setClaims(login, { email, email_verified: true }, { name: 'From Userinfo' });
      const { identity } = await signUpAndIn('userinfo', login);
      expect(identity.traits).toEqual({ email, name: 'From Userinfo' });
      expectCredential(identity, 'userinfo', login);
      // The userinfo answer names no issuer: the id_token's (Kratos).
      expect(identity.metadata_public.claims).toMatchObject({ iss: gitlab.issuer, sub: login });
    });

    it('upstream_parameters: Kratos\'s allow-list (hd, prompt, auth_type, acr_values) reaches the authorization URL, the rest is dropped', async () => {
      const b = browser();
      const flow = await b.startJson('login');
      const res = await b.submitJson(flow.ui.action, {
        csrf_token: csrfOf(flow), method: 'oidc', provider: 'gitlab',
        upstream_parameters: { hd: 'example.org', prompt: 'select_account', auth_type: 'reauthenticate', acr_values: 'phr', login_hint: 'victim@example.org', redirect_uri: 'https://evil.example/cb', foo: 'bar' },
      });
      const body = await bodyOf(res);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(body.error.id).toBe('browser_location_change_required');
      const to = new URL(body.redirect_browser_to);
      expect(to.origin + to.pathname).toBe(`${gitlab.issuer}/oauth/authorize`);
      expect(Object.fromEntries(['hd', 'prompt', 'auth_type', 'acr_values'].map((k) => [k, to.searchParams.get(k)])))
        .toEqual({ hd: 'example.org', prompt: 'select_account', auth_type: 'reauthenticate', acr_values: 'phr' });
      expect(to.searchParams.get('login_hint')).toBeNull();
      expect(to.searchParams.get('foo')).toBeNull();
      expect(to.searchParams.get('redirect_uri')).toBe(`${pub()}self-service/methods/oidc/callback/gitlab`);
      // Only strings are forwarded (Kratos decodes a map of strings).
      const again = await b.startJson('login');
      const other = await b.submitJson(again.ui.action, { csrf_token: csrfOf(again), method: 'oidc', provider: 'gitlab', upstream_parameters: { prompt: ['login'], hd: 7 } });
      const otherTo = new URL((await bodyOf(other)).redirect_browser_to);
      expect([otherTo.searchParams.get('prompt'), otherTo.searchParams.get('hd')]).toEqual([null, null]);
    });
  });
}
