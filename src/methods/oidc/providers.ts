/**
 * `selfservice.methods.oidc.config.providers[]` as the oidc method uses them: Kratos's keys, and per preset the
 * endpoints, scopes and claims source Kratos's provider implementations hard-code (selfservice/strategy/oidc/provider_*.go).
 *
 * Two kinds of provider:
 * - `oidc`: OpenID Connect with discovery from the issuer; claims come from the verified id_token (generic, google,
 *   microsoft, gitlab, auth0, apple).
 * - `oauth2`: plain OAuth 2.0 with fixed endpoints and a user API for the claims (github, discord, facebook), as
 *   Kratos does for providers whose sign-in is not OpenID Connect.
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
}

/** How the user API of an OAuth 2.0 provider becomes OpenID Connect claims. */
export type UserApi = 'github' | 'discord' | 'facebook';

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
  /** `oauth2`: fixed endpoints and the user API that yields the claims. */
  endpoints?: { authorization: string; token: string };
  userApi?: UserApi;
  /** Extra authorization request parameters of the preset (Google's `access_type=offline`). */
  authParams: Record<string, string>;
  /**
   * Presets that accept an id_token submitted by a native app (Kratos's IDTokenVerifier): the issuer the token must
   * name and the provider's key set (undefined: the `jwks_uri` of the issuer's discovery document).
   */
  idToken?: { issuer: string; jwksUri?: string; audiences: string[] };
  /** Apple: the client secret is a JWT signed with this key (ES256), minted per token request. */
  appleKey?: { teamId: string; keyId: string; pem: string };
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

/** Validates one provider and fills in its preset. Throws OidcConfigError naming the key. */
export function resolveProvider(config: OidcProviderConfig, index: number): ResolvedProvider {
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
    authParams: {} as Record<string, string>,
  };
  const oidc = (issuer: string | undefined): ResolvedProvider => {
    if (!issuer) throw new OidcConfigError(`${where}.issuer_url: required for provider "${config.provider}"`);
    return { ...base, kind: 'oidc', issuer, scopes: withOpenId(scopes) };
  };
  /**
   * Google and Apple have fixed issuers (Kratos ignores `issuer_url` for them). idflow takes an `issuer_url` on this
   * machine (http://127.0.0.1, localhost) instead — discovery, the code flow and submitted id_tokens then use that
   * issuer and its discovered key set — so the presets' native id_token sign-in can be tested against a local
   * OpenID Provider; any other `issuer_url` is ignored as Kratos does.
   */
  const fixedIssuer = (issuer: string) => (config.issuer_url && isLoopbackHttp(config.issuer_url) ? config.issuer_url : issuer);
  const withIdToken = (resolved: ResolvedProvider, jwksUri: string): ResolvedProvider => ({
    ...resolved,
    idToken: {
      issuer: resolved.issuer!,
      jwksUri: fixedIssuer(jwksUri) === jwksUri ? jwksUri : undefined,
      audiences: [config.client_id, ...(config.additional_id_token_audiences ?? [])],
    },
  });
  switch (config.provider) {
    case 'generic':
    case 'auth0':
      return oidc(config.issuer_url);
    case 'gitlab':
      return oidc(config.issuer_url ?? 'https://gitlab.com');
    case 'google': {
      // Kratos (provider_google.go): `offline_access` is not a Google scope; it asks for a refresh token instead.
      const offline = scopes.includes('offline_access');
      const resolved = withIdToken(oidc(fixedIssuer('https://accounts.google.com')), 'https://www.googleapis.com/oauth2/v3/certs');
      return { ...resolved, scopes: resolved.scopes.filter((s) => s !== 'offline_access'), authParams: offline ? { access_type: 'offline', prompt: 'consent' } : {} };
    }
    case 'microsoft': {
      const tenant = config.microsoft_tenant;
      // A multi-tenant endpoint's id_tokens carry each user's tenant as issuer, which no discovered issuer matches.
      if (!tenant || ['common', 'organizations', 'consumers'].includes(tenant)) {
        throw new OidcConfigError(`${where}.microsoft_tenant: set a tenant id or domain (the multi-tenant "common", "organizations" and "consumers" endpoints are not supported by idflow)`);
      }
      return oidc(`https://login.microsoftonline.com/${tenant}/v2.0`);
    }
    case 'apple': {
      const resolved = withIdToken(oidc(fixedIssuer('https://appleid.apple.com')), 'https://appleid.apple.com/auth/keys');
      if (config.apple_private_key && config.apple_team_id && config.apple_private_key_id) {
        return { ...resolved, appleKey: { teamId: config.apple_team_id, keyId: config.apple_private_key_id, pem: config.apple_private_key } };
      }
      if (!config.client_secret) {
        throw new OidcConfigError(`${where}: provider "apple" needs client_secret, or apple_team_id, apple_private_key_id and apple_private_key`);
      }
      return resolved;
    }
    case 'github':
      return {
        ...base, kind: 'oauth2', scopes, userApi: 'github',
        endpoints: { authorization: 'https://github.com/login/oauth/authorize', token: 'https://github.com/login/oauth/access_token' },
      };
    case 'discord':
      return {
        ...base, kind: 'oauth2', scopes, userApi: 'discord',
        endpoints: { authorization: 'https://discord.com/oauth2/authorize', token: 'https://discord.com/api/oauth2/token' },
      };
    case 'facebook':
      return {
        ...base, kind: 'oauth2', scopes, userApi: 'facebook',
        endpoints: { authorization: 'https://facebook.com/dialog/oauth', token: 'https://graph.facebook.com/oauth/access_token' },
      };
    default:
      throw new OidcConfigError(`${where}.provider: "${config.provider}" is not supported by idflow`);
  }
}

/** Every provider of the method's config; ids must be unique (they name the callback URL and the credential). */
export function resolveProviders(config: Record<string, unknown> | undefined): ResolvedProvider[] {
  const list = ((config?.providers ?? []) as OidcProviderConfig[]).map((p, i) => resolveProvider(p, i));
  const seen = new Set<string>();
  for (const p of list) {
    if (seen.has(p.id)) throw new OidcConfigError(`selfservice.methods.oidc.config.providers: the id "${p.id}" is used twice`);
    seen.add(p.id);
  }
  return list;
}
