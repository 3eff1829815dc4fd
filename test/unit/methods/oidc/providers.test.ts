/**
 * Preset resolution as Kratos's provider_<name>.go: endpoints per preset, which keys move them (issuer_url for generic,
 * gitlab and auth0 only), and the vendor URLs that only the internal seam (`vendors`) can move.
 */
import { describe, expect, it } from 'vitest';
import { OidcConfigError, resolveProvider, VENDOR_URLS, type OidcProviderConfig } from '../../../../src/methods/oidc/providers.ts';

const base = { id: 'p', client_id: 'client', client_secret: 'secret', mapper_url: 'base64://e30=' };
const resolve = (config: Partial<OidcProviderConfig> & { provider: string }, vendors = VENDOR_URLS) => resolveProvider({ ...base, ...config } as OidcProviderConfig, 0, vendors);

describe('oidc presets', () => {
  it('google and apple keep their fixed issuers whatever issuer_url says (Kratos ignores it); the seam moves them', () => {
    expect(resolve({ provider: 'google', issuer_url: 'http://127.0.0.1:1234' }).issuer).toBe('https://accounts.google.com');
    expect(resolve({ provider: 'apple', issuer_url: 'http://127.0.0.1:1234' }).issuer).toBe('https://appleid.apple.com');
    const moved = resolve({ provider: 'google' }, { ...VENDOR_URLS, google: 'http://127.0.0.1:1234' });
    expect(moved.issuer).toBe('http://127.0.0.1:1234');
    // A stand-in publishes its keys at its discovery document's jwks_uri; the real Google at its fixed key set URL.
    expect(moved.idToken?.jwksUri).toBeUndefined();
    expect(resolve({ provider: 'google' }).idToken?.jwksUri).toBe('https://www.googleapis.com/oauth2/v3/certs');
  });

  it('google: offline_access is no scope but access_type=offline; openid is added', () => {
    const google = resolve({ provider: 'google', scope: ['email', 'offline_access'] });
    expect(google.scopes).toEqual(['email', 'openid']);
    expect(google.authParams).toEqual({ access_type: 'offline' });
  });

  it('github, discord and facebook: the vendors\' endpoints and user APIs; no issuer_url moves them', () => {
    const github = resolve({ provider: 'github', scope: ['user:email'], issuer_url: 'http://127.0.0.1:1' });
    expect(github).toMatchObject({
      kind: 'oauth2', scopes: ['user:email'],
      endpoints: { authorization: 'https://github.com/login/oauth/authorize', token: 'https://github.com/login/oauth/access_token', user: 'https://api.github.com/user', emails: 'https://api.github.com/user/emails' },
    });
    expect(github.issuerUrl).toBeUndefined();
    // Kratos's GitHub preset adds nothing to the authorization URL; its generic-based presets send prompt=login and claims.
    const claims = { requested_claims: { id_token: { email: { essential: true } } } };
    expect(resolve({ provider: 'github', ...claims })).toMatchObject({ prompt: undefined, requestedClaims: undefined });
    expect(resolve({ provider: 'facebook', ...claims })).toMatchObject({ prompt: { forced: 'login' }, requestedClaims: JSON.stringify(claims.requested_claims) });
    expect(resolve({ provider: 'discord' })).toMatchObject({
      endpoints: { authorization: 'https://discord.com/api/v9/oauth2/authorize', token: 'https://discord.com/api/v9/oauth2/token', user: 'https://discord.com/api/v9/users/@me' },
      prompt: { forced: 'consent', otherwise: 'none' },
    });
    expect(resolve({ provider: 'facebook' }).endpoints).toMatchObject({
      authorization: 'https://facebook.com/dialog/oauth', token: 'https://graph.facebook.com/oauth/access_token',
      user: 'https://graph.facebook.com/me?fields=id,name,first_name,last_name,middle_name,email,picture,birthday,gender',
    });
  });

  it('gitlab: gitlab.com unless issuer_url; PKCE discovery only with an issuer_url (Kratos discoverPKCE)', () => {
    const hosted = resolve({ provider: 'gitlab' });
    expect(hosted.endpoints).toMatchObject({ authorization: 'https://gitlab.com/oauth/authorize', token: 'https://gitlab.com/oauth/token', user: 'https://gitlab.com/oauth/userinfo' });
    expect(hosted.issuerUrl).toBeUndefined();
    const own = resolve({ provider: 'gitlab', issuer_url: 'https://git.example.com/' });
    expect(own.endpoints?.authorization).toBe('https://git.example.com/oauth/authorize');
    expect(own.issuerUrl).toBe('https://git.example.com/');
  });

  it('auth0 needs issuer_url; microsoft needs microsoft_tenant and takes subject_source', () => {
    expect(() => resolve({ provider: 'auth0' })).toThrow(OidcConfigError);
    expect(resolve({ provider: 'auth0', issuer_url: 'https://t.auth0.com/' }).endpoints)
      .toMatchObject({ authorization: 'https://t.auth0.com/authorize', token: 'https://t.auth0.com/oauth/token', user: 'https://t.auth0.com/userinfo' });
    expect(() => resolve({ provider: 'microsoft' })).toThrow(/microsoft_tenant/);
    const ms = resolve({ provider: 'microsoft', microsoft_tenant: 'contoso.onmicrosoft.com', subject_source: 'me' });
    expect(ms.issuer).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    expect(ms.microsoft).toEqual({ subjectSource: 'me', graphMe: 'https://graph.microsoft.com/v1.0/me' });
    expect(resolve({ provider: 'microsoft', microsoft_tenant: 'common' }).microsoft?.subjectSource).toBe('userinfo');
  });

  it('claims_source applies where Kratos reads it (generic, google, apple), not to microsoft', () => {
    for (const provider of ['generic', 'google', 'apple']) {
      expect(resolve({ provider, issuer_url: 'https://op.example.com', claims_source: 'userinfo' }).claimsSource).toBe('userinfo');
    }
    expect(resolve({ provider: 'microsoft', microsoft_tenant: 'common', claims_source: 'userinfo' }).claimsSource).toBe('id_token');
  });
});
