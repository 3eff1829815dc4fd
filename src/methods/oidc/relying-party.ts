/**
 * The relying party towards one provider: the authorization URL and the code exchange with its checks (openid-client
 * 6: state, `iss` of the authorization response (RFC 9207), PKCE, id_token signature, issuer, audience, expiry and
 * nonce), then the claims — from the verified id_token (or the userinfo endpoint, whose `sub` must match it), or from
 * the user API of a plain OAuth 2.0 provider. This file is the only importer of openid-client (and of jose, for
 * Apple's client secret).
 *
 * Nothing here logs: codes, tokens and the state travel only to the provider.
 */
import * as client from 'openid-client';
import { importPKCS8, SignJWT } from 'jose';
import { isLoopbackHttp, type ResolvedProvider } from './providers.ts';

/** OpenID Connect claims with Kratos's names (Claims in selfservice/strategy/oidc/provider.go) and `raw_claims`. */
export type Claims = Record<string, unknown> & { sub: string; iss: string; raw_claims: Record<string, unknown> };

export interface UpstreamTokens {
  id_token?: string;
  access_token?: string;
  refresh_token?: string;
}

/** A failure a user is told about (Kratos answers these with a 400 and the reason as message 4000001). */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
}

const STANDARD_CLAIMS = [
  'iss', 'sub', 'name', 'given_name', 'family_name', 'last_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
  'picture', 'website', 'email', 'email_verified', 'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number',
  'phone_number_verified', 'updated_at', 'hd', 'team_id', 'nonce', 'acr', 'amr',
];

export function toClaims(raw: Record<string, unknown>, issuer: string): Claims {
  const claims: Record<string, unknown> = {};
  for (const key of STANDARD_CLAIMS) if (raw[key] !== undefined) claims[key] = raw[key];
  // Some providers send `"true"`; Kratos's ConvertibleBoolean accepts both.
  if (typeof claims.email_verified === 'string') claims.email_verified = claims.email_verified === 'true';
  return { ...claims, iss: typeof raw.iss === 'string' ? raw.iss : issuer, sub: String(raw.sub ?? ''), raw_claims: raw } as Claims;
}

const loopbackHttp = isLoopbackHttp;

const TIMEOUT_SECONDS = 10;

export class RelyingParty {
  readonly provider: ResolvedProvider;
  readonly #redirectUri: () => string;
  #config: Promise<client.Configuration> | undefined;

  constructor(provider: ResolvedProvider, redirectUri: () => string) {
    this.provider = provider;
    this.#redirectUri = redirectUri;
  }

  /** Discovery happens on first use and is kept; a failed discovery is retried by the next request. */
  configuration(): Promise<client.Configuration> {
    this.#config ??= this.#configure().catch((err: unknown) => {
      this.#config = undefined;
      throw new UpstreamError(`Unable to initialize OpenID Connect Provider: ${(err as Error).message}`);
    });
    return this.#config;
  }

  async #configure(): Promise<client.Configuration> {
    const p = this.provider;
    const auth = p.appleKey ? client.None() : p.clientSecret ? client.ClientSecretPost(p.clientSecret) : client.None();
    const metadata: Partial<client.ClientMetadata> = { client_secret: p.clientSecret || undefined };
    if (p.kind === 'oidc') {
      const insecure = loopbackHttp(p.issuer!);
      const config = await client.discovery(new URL(p.issuer!), p.clientId, metadata, auth, {
        timeout: TIMEOUT_SECONDS, execute: insecure ? [client.allowInsecureRequests] : [],
      });
      config.timeout = TIMEOUT_SECONDS;
      return config;
    }
    const endpoints = p.endpoints!;
    const config = new client.Configuration(
      { issuer: new URL(endpoints.authorization).origin, authorization_endpoint: endpoints.authorization, token_endpoint: endpoints.token },
      p.clientId, metadata, auth,
    );
    config.timeout = TIMEOUT_SECONDS;
    if (loopbackHttp(endpoints.token)) client.allowInsecureRequests(config);
    return config;
  }

  /** The provider's key set, from its discovery document. */
  async jwksUri(): Promise<string> {
    const uri = (await this.configuration()).serverMetadata().jwks_uri;
    if (!uri) throw new UpstreamError('The OpenID Connect provider publishes no jwks_uri.');
    return uri;
  }

  /** PKCE for this provider: `force` always, `never` never, `auto` when the provider advertises S256 (Kratos pkce.go). */
  async usesPkce(): Promise<boolean> {
    if (this.provider.pkce === 'never') return false;
    if (this.provider.pkce === 'force') return true;
    if (this.provider.kind !== 'oidc') return false;
    const methods = (await this.configuration()).serverMetadata().code_challenge_methods_supported ?? [];
    return methods.includes('S256');
  }

  async authorizationUrl(input: { state: string; nonce?: string; pkceVerifier?: string; prompt?: string }): Promise<string> {
    const config = await this.configuration();
    const params: Record<string, string> = {
      redirect_uri: this.#redirectUri(),
      response_type: 'code',
      state: input.state,
      ...this.provider.authParams,
    };
    if (this.provider.scopes.length > 0) params.scope = this.provider.scopes.join(' ');
    if (input.nonce) params.nonce = input.nonce;
    if (input.pkceVerifier) {
      params.code_challenge = await client.calculatePKCECodeChallenge(input.pkceVerifier);
      params.code_challenge_method = 'S256';
    }
    if (input.prompt) params.prompt = input.prompt;
    if (this.provider.requestedClaims) params.claims = this.provider.requestedClaims;
    // Apple answers with a form post when names or e-mail are asked for.
    if (this.provider.type === 'apple' && this.provider.scopes.some((s) => s === 'email' || s === 'name')) params.response_mode = 'form_post';
    return client.buildAuthorizationUrl(config, params).toString();
  }

  /**
   * Exchanges the code of an authorization response (`params`: the callback's query) and returns the claims and the
   * tokens. Every check failure is an UpstreamError with a reason fit for the user.
   */
  async exchange(params: Record<string, string>, checks: { state: string; nonce?: string; pkceVerifier?: string }): Promise<{ claims: Claims; tokens: UpstreamTokens }> {
    const config = await this.configuration();
    const current = new URL(this.#redirectUri());
    for (const [key, value] of Object.entries(params)) current.searchParams.set(key, value);
    const extra: Record<string, string> = {};
    // Apple: client_id (None) plus the minted client_secret in the body, i.e. client_secret_post.
    if (this.provider.appleKey) extra.client_secret = await this.#appleClientSecret();
    let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      response = await client.authorizationCodeGrant(config, current, {
        expectedState: checks.state,
        pkceCodeVerifier: checks.pkceVerifier,
        ...(this.provider.kind === 'oidc' ? { expectedNonce: checks.nonce, idTokenExpected: true } : {}),
      }, extra);
    } catch (err) {
      throw new UpstreamError(describe(err));
    }
    const tokens: UpstreamTokens = { id_token: response.id_token, access_token: response.access_token, refresh_token: response.refresh_token };
    if (this.provider.kind === 'oidc') {
      const idToken = response.claims();
      if (!idToken) throw new UpstreamError('The OpenID Connect provider returned no id_token.');
      return { claims: toClaims(idToken as Record<string, unknown>, this.provider.issuer!), tokens };
    }
    return { claims: await this.#userApiClaims(config, response), tokens };
  }

  /** Apple's client secret: an ES256 JWT from the team's key, valid for a few minutes (Kratos provider_apple.go). */
  async #appleClientSecret(): Promise<string> {
    const key = this.provider.appleKey!;
    const privateKey = await importPKCS8(key.pem, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: key.keyId })
      .setIssuer(key.teamId).setIssuedAt(now).setExpirationTime(now + 300)
      .setAudience('https://appleid.apple.com').setSubject(this.provider.clientId)
      .sign(privateKey);
  }

  /** The claims of a plain OAuth 2.0 provider, from its user API (Kratos provider_github.go, _discord.go, _facebook.go). */
  async #userApiClaims(config: client.Configuration, token: { access_token: string; scope?: string }): Promise<Claims> {
    const get = async (url: string): Promise<unknown> => {
      let res: Response;
      try {
        res = await client.fetchProtectedResource(config, token.access_token, new URL(url), 'GET', undefined, new Headers({ accept: 'application/json' }));
      } catch (err) {
        throw new UpstreamError(describe(err));
      }
      if (!res.ok) throw new UpstreamError(`The provider's user API answered HTTP ${res.status}.`);
      return res.json();
    };
    switch (this.provider.userApi) {
      case 'github': {
        // Kratos: every configured scope must have been granted (GitHub lists them comma-separated).
        const granted = (token.scope ?? '').split(/[ ,]/).filter(Boolean);
        if (this.provider.scopes.some((s) => !granted.includes(s))) throw new UpstreamError('Please grant all requested scopes.');
        const user = await get('https://api.github.com/user') as Record<string, unknown>;
        const raw: Record<string, unknown> = {
          sub: String(user.id), iss: 'https://github.com/login/oauth/access_token', name: user.name, nickname: user.login,
          website: user.blog, picture: user.avatar_url, profile: user.html_url,
        };
        if (granted.includes('user:email')) {
          const emails = await get('https://api.github.com/user/emails') as Array<{ email: string; primary: boolean; verified: boolean }>;
          const primary = emails.find((e) => e.primary) ?? emails[emails.length - 1];
          if (primary) Object.assign(raw, { email: primary.email, email_verified: primary.verified });
        }
        return toClaims(raw, raw.iss as string);
      }
      case 'discord': {
        const user = await get('https://discord.com/api/users/@me') as Record<string, string | boolean | undefined>;
        const avatar = user.avatar ? `https://cdn.discordapp.com/avatars/${String(user.id)}/${String(user.avatar)}.png` : undefined;
        const raw = {
          sub: String(user.id), iss: 'https://discord.com/api/oauth2/', name: `${String(user.username)}#${String(user.discriminator ?? '0')}`,
          nickname: user.username, picture: avatar, email: user.email, email_verified: user.verified === true, locale: user.locale,
        };
        return toClaims(raw, raw.iss);
      }
      case 'facebook': {
        // Graph API calls carry an appsecret_proof: HMAC-SHA256 of the access token keyed by the client secret.
        const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(this.provider.clientSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const proof = Buffer.from(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(token.access_token))).toString('hex');
        const url = `https://graph.facebook.com/me?fields=id,name,first_name,last_name,middle_name,email,picture,birthday,gender&appsecret_proof=${proof}`;
        const user = await get(url) as Record<string, unknown> & { picture?: { data?: { url?: string } } };
        const raw = {
          sub: String(user.id), iss: 'https://graph.facebook.com/me', name: user.name, given_name: user.first_name, family_name: user.last_name,
          middle_name: user.middle_name, nickname: user.name, preferred_username: user.name, picture: user.picture?.data?.url,
          email: user.email, email_verified: typeof user.email === 'string' && user.email !== '', gender: user.gender, birthdate: user.birthday,
        };
        return toClaims(raw, raw.iss);
      }
      default:
        throw new UpstreamError('The provider has no user API.');
    }
  }
}

/**
 * A reason for the user: openid-client's messages (fixed texts), never a response body or a claim's value (they may
 * echo tokens). A nonce mismatch has Kratos's text.
 */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return 'The OpenID Connect provider could not be reached.';
  const e = err as Error & { error?: string; error_description?: string };
  if (e.error) return `The OpenID Connect provider refused the request: ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  const inner = e.cause instanceof Error ? e.cause as Error & { cause?: unknown } : undefined;
  const claim = (inner?.cause as { claim?: unknown } | undefined)?.claim;
  if (claim === 'nonce') return 'The supplied nonce does not match the nonce from the id_token';
  return inner && inner.message !== e.message ? `${e.message}: ${inner.message}` : e.message;
}
