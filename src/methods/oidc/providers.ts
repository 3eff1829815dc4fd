/**
 * `selfservice.methods.oidc.config.providers[]` as the oidc method uses them: Kratos's keys, and per preset the
 * endpoints, scopes and claims source Kratos's provider implementations hard-code (selfservice/strategy/oidc/provider_*.go).
 *
 * Two kinds of provider:
 * - `oidc`: OpenID Connect with discovery from the issuer; claims come from the verified id_token, or the userinfo
 *   endpoint with `claims_source: userinfo` (generic, google, apple, microsoft).
 * - `oauth2`: OAuth 2.0 with the preset's endpoints and the vendor's user API for the claims (github, discord,
 *   facebook, and gitlab and auth0, whose Kratos presets read `/oauth/userinfo` and `/userinfo` likewise).
 */

export type PkceMode = 'auto' | 'force' | 'never';

/** One configured provider, as in kratos.yml. */
export interface OidcProviderConfig {
  id: string;
  provider: string;
  label?: string;
  client_id: string;
  client_secret?: string;
  issuer_url?: string;
  auth_url?: string;
  token_url?: string;
  mapper_url: string;
  scope?: string[];
  microsoft_tenant?: string;
  apple_team_id?: string;
  apple_private_key_id?: string;
  apple_private_key?: string;
  requested_claims?: Record<string, unknown>;
  additional_id_token_audiences?: string[];
  pkce?: PkceMode;
  claims_source?: 'id_token' | 'userinfo';
  subject_source?: 'userinfo' | 'me' | 'oid';
}

/** How the claims of an OAuth 2.0 provider are fetched: the vendor's user API (Kratos's provider_<name>.go). */
export type UserApi = 'github' | 'discord' | 'facebook' | 'gitlab' | 'auth0';

/**
 * The vendor URLs Kratos hard-codes in its presets. Production always uses these; tests pass a loopback stand-in for
 * one vendor through `RegistryOptions.oidcVendors` (an internal seam, not a config key: kratos.yml cannot move them,
 * as in Kratos). Presets whose base Kratos takes from `issuer_url` (gitlab, auth0, generic) are moved with that key.
 */
export interface VendorUrls {
  /** Google's issuer (discovery) and the key set its native id_tokens are checked with. */
  google: string;
  googleKeys: string;
  /** Apple's issuer and key set. */
  apple: string;
  appleKeys: string;
  /** Microsoft identity platform (`<base>/<tenant>/v2.0` is the issuer) and Microsoft Graph (`/v1.0/me`). */
  microsoftLogin: string;
  microsoftGraph: string;
  /** GitHub's web (`/login/oauth/authorize`, `/login/oauth/access_token`) and REST API (`/user`, `/user/emails`). */
  github: string;
  githubApi: string;
  /** Discord's OAuth 2.0 and user API (discordgo v0.28's EndpointOauth2 and EndpointUser, API v9). */
  discordApi: string;
  /** Facebook's login dialog (`/dialog/oauth`) and Graph API (`/oauth/access_token`, `/me`). */
  facebook: string;
  facebookGraph: string;
}

export const VENDOR_URLS: Readonly<VendorUrls> = {
  google: 'https://accounts.google.com',
  googleKeys: 'https://www.googleapis.com/oauth2/v3/certs',
  apple: 'https://appleid.apple.com',
  appleKeys: 'https://appleid.apple.com/auth/keys',
  microsoftLogin: 'https://login.microsoftonline.com',
  microsoftGraph: 'https://graph.microsoft.com',
  github: 'https://github.com',
  githubApi: 'https://api.github.com',
  discordApi: 'https://discord.com/api/v9',
  facebook: 'https://facebook.com',
  facebookGraph: 'https://graph.facebook.com',
};

/** Kratos's default GitLab (provider_gitlab.go `defaultEndpoint`). */
const GITLAB = 'https://gitlab.com';

export interface ResolvedProvider {
  id: string;
  /** The preset (`generic`, `google`, `github` ...). */
  type: string;
  label: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  pkce: PkceMode;
  requestedClaims?: string;
  mapperUrl: string;
  kind: 'oidc' | 'oauth2';
  /** `oidc`: the issuer to discover. */
  issuer?: string;
  /** `oidc`: claims from the verified id_token, or from the userinfo endpoint (Kratos `claims_source`, generic presets). */
  claimsSource: 'id_token' | 'userinfo';
  /** `oauth2`: fixed endpoints and the user API that yields the claims. */
  endpoints?: { authorization: string; token: string; user: string; emails?: string };
  userApi?: UserApi;
  /**
   * `oauth2`: the configured `issuer_url` (gitlab, auth0): where `pkce: auto` looks for `code_challenge_methods_supported`
   * (Kratos discoverPKCE), the issuer an id_token the token endpoint adds must name, the claims' `iss` fallback.
   */
  issuerUrl?: string;
  /** Extra authorization request parameters of the preset (Google's `access_type=offline`). */
  authParams: Record<string, string>;
  /**
   * `prompt` of the preset when the flow forces a sign-in, and otherwise (Kratos AuthCodeURLOptions: `login` for the
   * presets built on its generic provider, Discord's consent / none, none for GitHub). `requestedClaims` likewise
   * goes to every preset but GitHub and Discord.
   */
  prompt?: { forced: string; otherwise?: string };
  /**
   * Presets that accept an id_token submitted by a native app (Kratos's IDTokenVerifier): the issuer the token must
   * name and the provider's key set (undefined: the `jwks_uri` of the issuer's discovery document).
   */
  idToken?: { issuer: string; jwksUri?: string; audiences: string[] };
  /** Apple: the client secret is a JWT signed with this key (ES256), minted per token request. */
  appleKey?: { teamId: string; keyId: string; pem: string };
  /** Microsoft: which claim names the user (Kratos `subject_source`), and Graph's `/me` for `me`. */
  microsoft?: { subjectSource: 'userinfo' | 'me' | 'oid'; graphMe: string };
}

/** Presets idflow implements; Kratos knows more (`provider` enum in config.schema.json), refused in config/unsupported.ts. */
export const SUPPORTED_PROVIDERS = ['generic', 'google', 'microsoft', 'gitlab', 'auth0', 'apple', 'github', 'discord', 'facebook'] as const;

/** http:// on this machine (development and tests); everything else needs https. */
export function isLoopbackHttp(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  } catch {
    return false;
  }
}

export class OidcConfigError extends Error {
  override name = 'OidcConfigError';
}

const OPENID = 'openid';

/** Kratos adds `openid` to every OpenID Connect provider's scopes (provider_generic_oidc.go). */
const withOpenId = (scopes: string[]) => (scopes.includes(OPENID) ? scopes : [...scopes, OPENID]);
const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** Validates one provider and fills in its preset. Throws OidcConfigError naming the key. */
export function resolveProvider(config: OidcProviderConfig, index: number, vendors: Readonly<VendorUrls> = VENDOR_URLS): ResolvedProvider {
  const where = `selfservice.methods.oidc.config.providers[${index}]`;
  if (!(SUPPORTED_PROVIDERS as readonly string[]).includes(config.provider)) {
    throw new OidcConfigError(`${where}.provider: "${config.provider}" is not supported by idflow (supported: ${SUPPORTED_PROVIDERS.join(', ')})`);
  }
  const scopes = config.scope ?? [];
  const base = {
    id: config.id,
    type: config.provider,
    label: config.label || config.id,
    clientId: config.client_id,
    clientSecret: config.client_secret ?? '',
    pkce: config.pkce ?? 'auto',
    requestedClaims: config.requested_claims && Object.keys(config.requested_claims).length > 0 ? JSON.stringify(config.requested_claims) : undefined,
    mapperUrl: config.mapper_url,
    claimsSource: 'id_token' as const,
    authParams: {} as Record<string, string>,
    prompt: { forced: 'login' },
  };
  const oidc = (issuer: string | undefined): ResolvedProvider => {
    if (!issuer) throw new OidcConfigError(`${where}.issuer_url: required for provider "${config.provider}"`);
    return { ...base, kind: 'oidc', issuer, scopes: withOpenId(scopes) };
  };
  /** Kratos reads `claims_source` in ProviderGenericOIDC.Claims, which generic, google and apple use. */
  const withClaimsSource = (resolved: ResolvedProvider): ResolvedProvider => ({ ...resolved, claimsSource: config.claims_source ?? 'id_token' });
  /** Google and Apple have fixed issuers (Kratos ignores `issuer_url` for them) and key sets for native id_tokens. */
  const withIdToken = (resolved: ResolvedProvider, jwksUri: string, defaultIssuer: string): ResolvedProvider => ({
    ...resolved,
    idToken: {
      issuer: resolved.issuer!,
      // A stand-in vendor (tests) publishes its keys at the jwks_uri of its discovery document.
      jwksUri: resolved.issuer === defaultIssuer ? jwksUri : undefined,
      audiences: [config.client_id, ...(config.additional_id_token_audiences ?? [])],
    },
  });
  /** An OAuth 2.0 preset: fixed endpoints, claims from the vendor's user API. */
  const oauth2 = (userApi: UserApi, endpoints: NonNullable<ResolvedProvider['endpoints']>, issuerUrl?: string): ResolvedProvider => (
    { ...base, kind: 'oauth2', scopes, userApi, endpoints, issuerUrl }
  );
  switch (config.provider) {
    case 'generic':
      return withClaimsSource(oidc(config.issuer_url));
    case 'auth0': {
      // Kratos provider_auth0.go: `<issuer_url>/authorize`, `/oauth/token`, claims from `/userinfo`.
      if (!config.issuer_url) throw new OidcConfigError(`${where}.issuer_url: required for provider "auth0"`);
      const root = trimSlash(config.issuer_url);
      return oauth2('auth0', { authorization: `${root}/authorize`, token: `${root}/oauth/token`, user: `${root}/userinfo` }, config.issuer_url);
    }
    case 'gitlab': {
      // Kratos provider_gitlab.go: `<issuer_url or gitlab.com>/oauth/authorize`, `/oauth/token`, claims from `/oauth/userinfo`;
      // PKCE discovery needs an `issuer_url` (Kratos discoverPKCE).
      const root = trimSlash(config.issuer_url || GITLAB);
      return oauth2('gitlab', { authorization: `${root}/oauth/authorize`, token: `${root}/oauth/token`, user: `${root}/oauth/userinfo` }, config.issuer_url || undefined);
    }
    case 'google': {
      // Kratos (provider_google.go): `offline_access` is not a Google scope; it asks for a refresh token instead.
      const offline = scopes.includes('offline_access');
      const resolved = withClaimsSource(withIdToken(oidc(vendors.google), vendors.googleKeys, VENDOR_URLS.google));
      return { ...resolved, scopes: resolved.scopes.filter((s) => s !== 'offline_access'), authParams: offline ? { access_type: 'offline' } : {} };
    }
    case 'microsoft': {
      const tenant = config.microsoft_tenant?.trim();
      if (!tenant) throw new OidcConfigError(`${where}.microsoft_tenant: required for provider "microsoft" (a tenant id or domain, or common, organizations, consumers)`);
      // Kratos provider_microsoft.go: the tenant's endpoints; the id_token's issuer is that of the user's tenant (`tid`).
      return {
        ...oidc(`${trimSlash(vendors.microsoftLogin)}/${tenant}/v2.0`),
        microsoft: { subjectSource: config.subject_source ?? 'userinfo', graphMe: `${trimSlash(vendors.microsoftGraph)}/v1.0/me` },
      };
    }
    case 'apple': {
      const resolved = withClaimsSource(withIdToken(oidc(vendors.apple), vendors.appleKeys, VENDOR_URLS.apple));
      if (config.apple_private_key && config.apple_team_id && config.apple_private_key_id) {
        return { ...resolved, appleKey: { teamId: config.apple_team_id, keyId: config.apple_private_key_id, pem: config.apple_private_key } };
      }
      if (!config.client_secret) {
        throw new OidcConfigError(`${where}: provider "apple" needs client_secret, or apple_team_id, apple_private_key_id and apple_private_key`);
      }
      return resolved;
    }
    case 'github': {
      // golang.org/x/oauth2/github's endpoint and go-github's `/user` and `/user/emails`.
      const web = trimSlash(vendors.github);
      const api = trimSlash(vendors.githubApi);
      // Kratos's GitHub preset adds no authorization parameters (no prompt, no requested claims).
      return {
        ...oauth2('github', { authorization: `${web}/login/oauth/authorize`, token: `${web}/login/oauth/access_token`, user: `${api}/user`, emails: `${api}/user/emails` }),
        prompt: undefined, requestedClaims: undefined,
      };
    }
    case 'discord': {
      const api = trimSlash(vendors.discordApi);
      // Kratos asks Discord not to prompt again unless the flow forces a sign-in.
      return {
        ...oauth2('discord', { authorization: `${api}/oauth2/authorize`, token: `${api}/oauth2/token`, user: `${api}/users/@me` }),
        prompt: { forced: 'consent', otherwise: 'none' }, requestedClaims: undefined,
      };
    }
    case 'facebook': {
      const graph = trimSlash(vendors.facebookGraph);
      // Kratos: an unversioned Graph API call (the app's oldest version), with these fields.
      return oauth2('facebook', {
        authorization: `${trimSlash(vendors.facebook)}/dialog/oauth`, token: `${graph}/oauth/access_token`,
        user: `${graph}/me?fields=id,name,first_name,last_name,middle_name,email,picture,birthday,gender`,
      });
    }
    default:
      throw new OidcConfigError(`${where}.provider: "${config.provider}" is not supported by idflow`);
  }
}

/** Every provider of the method's config; ids must be unique (they name the callback URL and the credential). */
export function resolveProviders(config: Record<string, unknown> | undefined, vendors: Readonly<VendorUrls> = VENDOR_URLS): ResolvedProvider[] {
  const list = ((config?.providers ?? []) as OidcProviderConfig[]).map((p, i) => resolveProvider(p, i, vendors));
  const seen = new Set<string>();
  for (const p of list) {
    if (seen.has(p.id)) throw new OidcConfigError(`selfservice.methods.oidc.config.providers: the id "${p.id}" is used twice`);
    seen.add(p.id);
  }
  return list;
}
