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
import { isLoopbackHttp, VENDOR_URLS, type ResolvedProvider } from './providers.ts';

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
  #pkceDiscovery: Promise<boolean> | undefined;

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
      // openid-client trusts an id_token from the token endpoint over TLS without checking its signature (OpenID
      // Connect Core 3.1.3.7 allows it); Kratos (go-oidc) checks it against the provider's keys, and so does idflow.
      client.enableNonRepudiationChecks(config);
      return config;
    }
    const endpoints = p.endpoints!;
    const config = new client.Configuration(
      // openid-client checks an id_token the token endpoint adds (gitlab, auth0 with `openid`) against this issuer.
      { issuer: p.issuerUrl ?? new URL(endpoints.authorization).origin, authorization_endpoint: endpoints.authorization, token_endpoint: endpoints.token },
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
    if (this.provider.kind === 'oidc') {
      const methods = (await this.configuration()).serverMetadata().code_challenge_methods_supported ?? [];
      return methods.includes('S256');
    }
    // Kratos discoverPKCE: an OAuth 2.0 preset with an issuer_url is asked too; a failed discovery means no PKCE.
    const issuer = this.provider.issuerUrl;
    if (!issuer) return false;
    this.#pkceDiscovery ??= client.discovery(new URL(issuer), this.provider.clientId, undefined, undefined, {
      timeout: TIMEOUT_SECONDS, execute: loopbackHttp(issuer) ? [client.allowInsecureRequests] : [],
    }).then((c) => (c.serverMetadata().code_challenge_methods_supported ?? []).includes('S256'), () => {
      this.#pkceDiscovery = undefined;
      return false;
    });
    return this.#pkceDiscovery;
  }

  /**
   * `forced`: the flow asks for a fresh sign-in (refresh); `upstream`: the submit's `upstream_parameters`, already
   * reduced to Kratos's allow-list.
   */
  async authorizationUrl(input: { state: string; nonce?: string; pkceVerifier?: string; forced?: boolean; upstream?: Record<string, string> }): Promise<string> {
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
    const prompt = input.forced ? this.provider.prompt?.forced : this.provider.prompt?.otherwise;
    if (prompt) params.prompt = prompt;
    if (this.provider.requestedClaims) params.claims = this.provider.requestedClaims;
    // Apple answers with a form post when names or e-mail are asked for.
    if (this.provider.type === 'apple' && this.provider.scopes.some((s) => s === 'email' || s === 'name')) params.response_mode = 'form_post';
    // Kratos appends the upstream parameters last: they win over the preset's (a `prompt` of the user's choice).
    Object.assign(params, input.upstream ?? {});
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
      const idToken = response.claims() as Record<string, unknown> | undefined;
      if (!idToken) throw new UpstreamError('The OpenID Connect provider returned no id_token.');
      if (this.provider.microsoft) return { claims: await this.#microsoftClaims(config, response.access_token, idToken), tokens };
      if (this.provider.claimsSource === 'userinfo') return { claims: await this.#userInfoClaims(config, response.access_token, idToken), tokens };
      return { claims: toClaims(idToken, this.provider.issuer!), tokens };
    }
    return { claims: await this.#userApiClaims(config, response), tokens };
  }

  /**
   * `claims_source: userinfo` (Kratos claimsFromUserInfo): the claims of the userinfo endpoint, whose `sub` must be the
   * verified id_token's (OpenID Connect Core 5.3.2: a userinfo response may be about another user otherwise).
   */
  async #userInfoClaims(config: client.Configuration, accessToken: string, idToken: Record<string, unknown>): Promise<Claims> {
    let info: Record<string, unknown>;
    try {
      info = await client.fetchUserInfo(config, accessToken, String(idToken.sub)) as Record<string, unknown>;
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') throw new UpstreamError('sub (Subject) claim mismatch between ID token and UserInfo endpoint');
      throw new UpstreamError(describe(err));
    }
    // A userinfo response need not name the issuer: the id_token's then (Kratos).
    return toClaims(info, typeof info.iss === 'string' && info.iss !== '' ? info.iss : String(idToken.iss ?? this.provider.issuer));
  }

  /**
   * Microsoft (Kratos provider_microsoft.go): the id_token must name the user's tenant (`tid`, a UUID); the subject is
   * the id_token's `sub` (`subject_source: userinfo`), its `oid`, or the `id` of Microsoft Graph's `/me`.
   */
  async #microsoftClaims(config: client.Configuration, accessToken: string, idToken: Record<string, unknown>): Promise<Claims> {
    const ms = this.provider.microsoft!;
    if (typeof idToken.tid !== 'string' || !UUID.test(idToken.tid)) throw new UpstreamError('TenantID claim is not a valid UUID.');
    const claims = toClaims(idToken, this.provider.issuer!);
    if (ms.subjectSource === 'oid') return { ...claims, sub: typeof idToken.oid === 'string' ? idToken.oid : '' };
    if (ms.subjectSource === 'me') {
      const me = await this.#getJson(config, accessToken, ms.graphMe) as { id?: unknown };
      return { ...claims, sub: typeof me.id === 'string' ? me.id : '' };
    }
    return claims;
  }

  /** A GET of the vendor's API with the access token as bearer (Kratos httpx.SetOAuth2). */
  async #getJson(config: client.Configuration, accessToken: string, url: string): Promise<unknown> {
    let res: Response;
    try {
      res = await client.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, new Headers({ accept: 'application/json' }));
    } catch (err) {
      throw new UpstreamError(describe(err));
    }
    if (!res.ok) throw new UpstreamError(`The provider's user API answered HTTP ${res.status}.`);
    try {
      return await res.json();
    } catch {
      throw new UpstreamError('The provider\'s user API answered something else than JSON.');
    }
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

  /**
   * The claims of an OAuth 2.0 preset from the vendor's user API, as Kratos maps them (provider_github.go,
   * _discord.go, _facebook.go, _gitlab.go, _auth0.go). Kratos's issuer values are kept: they are what mappers see.
   */
  async #userApiClaims(config: client.Configuration, token: { access_token: string; scope?: string }): Promise<Claims> {
    const endpoints = this.provider.endpoints!;
    const get = (url: string) => this.#getJson(config, token.access_token, url);
    /** Kratos: every configured scope must have been granted (GitHub lists them with commas, Discord with spaces). */
    const requireScopes = (separator: string): string[] => {
      const granted = (token.scope ?? '').split(separator).map((s) => s.trim()).filter(Boolean);
      if (this.provider.scopes.some((s) => !granted.includes(s))) throw new UpstreamError('Please grant all requested scopes.');
      return granted;
    };
    switch (this.provider.userApi) {
      case 'github': {
        const granted = requireScopes(',');
        const user = obj(await get(endpoints.user));
        const raw: Record<string, unknown> = {
          sub: String(user.id ?? ''), iss: `${VENDOR_URLS.github}/login/oauth/access_token`, name: user.name, nickname: user.login,
          website: user.blog, picture: user.avatar_url, profile: user.html_url,
          updated_at: typeof user.updated_at === 'string' ? Math.floor(Date.parse(user.updated_at) / 1000) : undefined,
        };
        // `/user` shows no private address: with `user:email` granted, the primary one of `/user/emails` (Kratos takes
        // the primary address only, verified or not, and says which).
        if (granted.includes('user:email')) {
          const emails = await get(endpoints.emails!);
          const primary = (Array.isArray(emails) ? emails : []).map(obj).find((e) => e.primary === true);
          if (primary) Object.assign(raw, { email: primary.email, email_verified: primary.verified === true });
        }
        return toClaims(raw, raw.iss as string);
      }
      case 'discord': {
        requireScopes(' ');
        const user = obj(await get(endpoints.user));
        const id = String(user.id ?? '');
        const raw = {
          sub: id, iss: 'https://discord.com/api/v9/oauth2/', name: `${String(user.username ?? '')}#${String(user.discriminator ?? '')}`,
          nickname: user.username, preferred_username: user.username, picture: discordAvatar(id, user),
          email: user.email, email_verified: user.verified === true, locale: user.locale,
        };
        return toClaims(raw, raw.iss);
      }
      case 'facebook': {
        // Graph API calls carry an appsecret_proof: HMAC-SHA256 of the access token keyed by the client secret.
        const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(this.provider.clientSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const proof = Buffer.from(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(token.access_token))).toString('hex');
        const url = `${endpoints.user}&appsecret_proof=${proof}`;
        const user = obj(await get(url));
        const picture = obj(obj(user.picture).data).url;
        const email = typeof user.email === 'string' ? user.email : '';
        // Kratos's issuer is the URL it called (appsecret_proof included); the vendor's, not the stand-in's.
        const iss = `${VENDOR_URLS.facebookGraph}/me?${new URL(url).search.slice(1)}`;
        const raw = {
          sub: String(user.id ?? ''), iss, name: user.name, given_name: user.first_name, family_name: user.last_name,
          middle_name: user.middle_name, nickname: user.name, preferred_username: user.name, picture,
          // Kratos: Facebook only returns confirmed addresses.
          email: email || undefined, email_verified: email !== '', gender: user.gender, birthdate: user.birthday,
        };
        return toClaims(raw, iss);
      }
      case 'gitlab':
      case 'auth0': {
        const info = obj(await get(endpoints.user));
        // Auth0 may send `updated_at` as an RFC 3339 string (Kratos authZeroUpdatedAtWorkaround).
        if (typeof info.updated_at === 'string') {
          const t = Date.parse(info.updated_at);
          if (Number.isNaN(t)) throw new UpstreamError('bad time format in updated_at');
          info.updated_at = Math.floor(t / 1000);
        }
        const issuer = this.provider.issuerUrl ?? new URL(endpoints.user).origin;
        return toClaims(info, typeof info.iss === 'string' && info.iss !== '' ? info.iss : issuer);
      }
      default:
        throw new UpstreamError('The provider has no user API.');
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {});

/** discordgo's User.AvatarURL(""): the CDN's png (gif when animated), or the default avatar. */
function discordAvatar(id: string, user: Record<string, unknown>): string {
  const avatar = typeof user.avatar === 'string' ? user.avatar : '';
  if (avatar === '') {
    // discordgo: discriminator "0" (new usernames) picks by (id >> 22) % 6, else discriminator % 5.
    const discriminator = String(user.discriminator ?? '0');
    const index = discriminator === '0' ? Number((BigInt(/^\d+$/.test(id) ? id : '0') >> 22n) % 6n) : (Number(discriminator) || 0) % 5;
    return `https://cdn.discordapp.com/embed/avatars/${index}.png`;
  }
  return `https://cdn.discordapp.com/avatars/${id}/${avatar}.${avatar.startsWith('a_') ? 'gif' : 'png'}`;
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
