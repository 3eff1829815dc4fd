/**
 * A loopback test double of the OAuth 2.0 sign-in APIs of GitHub, Discord and Facebook — the vendors whose Kratos
 * presets are not OpenID Connect (Kratos selfservice/strategy/oidc/provider_github.go, _discord.go, _facebook.go). One
 * HTTP server on 127.0.0.1 answers each vendor's paths with the vendor's documented request checks and response shapes:
 *
 * - GitHub: `GET /login/oauth/authorize`, `POST /login/oauth/access_token` (JSON when asked, else form-encoded; a bad
 *   code is a 200 with `error: bad_verification_code`, as GitHub answers), `GET /user`, and `GET /user/emails` only
 *   with the `user:email` scope. Granted scopes come back comma-separated.
 * - Discord (API v9): `GET /api/v9/oauth2/authorize`, `POST /api/v9/oauth2/token` (space-separated scopes),
 *   `GET /api/v9/users/@me` (e-mail and `verified` only with the `email` scope).
 * - Facebook: `GET /dialog/oauth`, `/oauth/access_token`, and the Graph API's `GET /me?fields=…`, which requires an
 *   `appsecret_proof` (HMAC-SHA256 of the access token keyed by the app secret) and returns the requested fields only
 *   (`email` only with the `email` permission).
 *
 * Each vendor's client is registered with its secret and exact redirect URI. The "user" at the vendor is whoever the
 * test names in `authorize`; the code is bound to the client, the redirect URI, the scopes and a PKCE challenge if one
 * was sent. Every token request and API call is recorded for the tests to inspect.
 */
import { createHmac, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VendorUrls } from '../../src/methods/oidc/providers.ts';

export type Vendor = 'github' | 'discord' | 'facebook';

export interface VendorClient {
  client_id: string;
  client_secret: string;
  redirect_uri: string;
}

/** A GitHub user: the `/user` object's fields, and the addresses of `/user/emails`. */
export interface GitHubUser {
  id: number;
  login: string;
  name?: string | null;
  blog?: string;
  /** The public e-mail of the profile (null when private). */
  email?: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean; visibility?: 'public' | 'private' | null }>;
}

/** A Discord user (`/users/@me`). */
export interface DiscordUser {
  id: string;
  username: string;
  discriminator?: string;
  global_name?: string | null;
  avatar?: string | null;
  email?: string | null;
  verified?: boolean;
  locale?: string;
}

/** A Facebook user (Graph API `/me`). */
export interface FacebookUser {
  id: string;
  name: string;
  first_name?: string;
  last_name?: string;
  middle_name?: string;
  /** Facebook returns only a confirmed address, and only with the `email` permission. */
  email?: string;
  birthday?: string;
  gender?: string;
  picture_url?: string;
}

interface Grant {
  vendor: Vendor;
  clientId: string;
  redirectUri: string;
  login: string;
  scopes: string[];
  challenge?: string;
}

interface Token {
  vendor: Vendor;
  clientId: string;
  login: string;
  scopes: string[];
}

export interface RecordedCall {
  vendor: Vendor;
  method: string;
  path: string;
  query: Record<string, string>;
  /** The form body of a token request. */
  body?: Record<string, string>;
  authorization?: string;
}

export interface OAuth2VendorDouble {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** The vendor URLs of idflow's presets, pointed at this double (`RegistryOptions.oidcVendors`). */
  urls: Partial<VendorUrls>;
  register(vendor: Vendor, client: VendorClient): void;
  setGitHubUser(login: string, user: GitHubUser): void;
  setDiscordUser(login: string, user: DiscordUser): void;
  setFacebookUser(login: string, user: FacebookUser): void;
  /**
   * Plays the user at the vendor: opens the authorization URL (idflow's redirect), approves as `login` granting the
   * requested scopes (or `grant` instead), or denies; returns the redirect back to the relying party.
   */
  authorize(authorizationUrl: string, user: { login: string; grant?: string[] } | { deny: true }): Promise<URL>;
  /** Every request to a token endpoint or user API, in order. */
  calls: RecordedCall[];
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
};

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return Object.fromEntries(new URLSearchParams(text));
}

/** `client_secret_basic` (RFC 6749 2.3.1: form-urlencoded id and secret) or `client_secret_post`. */
function clientCredentials(req: IncomingMessage, body: Record<string, string>): { id?: string; secret?: string } {
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return { id: decodeURIComponent(id ?? ''), secret: decodeURIComponent(secret ?? '') };
  }
  return { id: body.client_id, secret: body.client_secret };
}

const bearer = (req: IncomingMessage, query: URLSearchParams): string | undefined => {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7);
  // GitHub's legacy `token` scheme; Facebook's `access_token` query parameter.
  if (header?.startsWith('token ')) return header.slice(6);
  return query.get('access_token') ?? undefined;
};

export async function startOAuth2Vendors(): Promise<OAuth2VendorDouble> {
  const clients = new Map<Vendor, VendorClient>();
  const github = new Map<string, GitHubUser>();
  const discord = new Map<string, DiscordUser>();
  const facebook = new Map<string, FacebookUser>();
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, Token>();
  const calls: RecordedCall[] = [];

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** The authorization endpoints: a client and redirect URI of its own, then the user's decision (header `x-test-user`). */
  function authorizeEndpoint(vendor: Vendor, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const q = url.searchParams;
    const client = clients.get(vendor);
    // A wrong client or redirect URI is shown to the user, never redirected (RFC 6749 4.1.2.1).
    if (!client || q.get('client_id') !== client.client_id) return json(res, 400, { error: 'invalid_client' });
    if (q.get('redirect_uri') !== client.redirect_uri) return json(res, 400, { error: 'redirect_uri_mismatch' });
    if (vendor !== 'github' && q.get('response_type') !== 'code') return json(res, 400, { error: 'unsupported_response_type' });
    const back = new URL(client.redirect_uri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const decision = JSON.parse(String(req.headers['x-test-user'] ?? '{}')) as { login?: string; grant?: string[]; deny?: boolean };
    if (decision.deny || !decision.login) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user has denied your application access.');
    } else {
      const requested = (q.get('scope') ?? '').split(vendor === 'facebook' ? /[ ,]/ : ' ').filter(Boolean);
      const code = randomBytes(10).toString('hex');
      codes.set(code, {
        vendor, clientId: client.client_id, redirectUri: client.redirect_uri, login: decision.login,
        scopes: decision.grant ?? requested, challenge: q.get('code_challenge') ?? undefined,
      });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  /** The token endpoints: the code once, for its client, its redirect URI and its PKCE verifier. */
  async function tokenEndpoint(vendor: Vendor, req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    const body = req.method === 'POST' ? await readForm(req) : Object.fromEntries(url.searchParams);
    calls.push({ vendor, method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorization: req.headers.authorization });
    const client = clients.get(vendor)!;
    const creds = clientCredentials(req, body);
    const fail = (status: number, error: string, description: string) => {
      if (vendor === 'github') return githubAnswer(req, res, { error, error_description: description, error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors' });
      if (vendor === 'facebook') return json(res, 400, { error: { message: description, type: 'OAuthException', code: 100 } });
      return json(res, status, { error, error_description: description });
    };
    if (creds.id !== client.client_id || creds.secret !== client.client_secret) return fail(401, 'incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
    const grant = codes.get(body.code ?? '');
    codes.delete(body.code ?? '');
    if (!grant || grant.vendor !== vendor || grant.clientId !== client.client_id) return fail(400, 'bad_verification_code', 'The code passed is incorrect or expired.');
    if (body.redirect_uri !== undefined && body.redirect_uri !== grant.redirectUri) return fail(400, 'redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
    if (grant.challenge) {
      const computed = createHash('sha256').update(body.code_verifier ?? '').digest('base64url');
      if (computed !== grant.challenge) return fail(400, 'invalid_grant', 'The code_verifier does not match the code_challenge.');
    }
    const accessToken = `${vendor}-${randomBytes(16).toString('hex')}`;
    tokens.set(accessToken, { vendor, clientId: client.client_id, login: grant.login, scopes: grant.scopes });
    if (vendor === 'github') return githubAnswer(req, res, { access_token: accessToken, token_type: 'bearer', scope: grant.scopes.join(',') });
    if (vendor === 'discord') {
      return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 604800, refresh_token: randomBytes(12).toString('hex'), scope: grant.scopes.join(' ') });
    }
    return json(res, 200, { access_token: accessToken, token_type: 'bearer', expires_in: 5183944 });
  }

  /** GitHub answers the token request in JSON only when asked (`Accept: application/json`), form-encoded otherwise. */
  function githubAnswer(req: IncomingMessage, res: ServerResponse, body: Record<string, string>): void {
    if ((req.headers.accept ?? '').includes('application/json')) return json(res, 200, body);
    res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    res.end(new URLSearchParams(body).toString());
  }

  function tokenFor(vendor: Vendor, req: IncomingMessage, url: URL): Token | undefined {
    const value = bearer(req, url.searchParams);
    const token = value ? tokens.get(value) : undefined;
    return token?.vendor === vendor ? token : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname;
    const record = (vendor: Vendor) => calls.push({ vendor, method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization });

    // GitHub.
    if (path === '/login/oauth/authorize' && req.method === 'GET') return authorizeEndpoint('github', url, req, res);
    if (path === '/login/oauth/access_token' && req.method === 'POST') return tokenEndpoint('github', req, url, res);
    if ((path === '/user' || path === '/user/emails') && req.method === 'GET') {
      record('github');
      const token = tokenFor('github', req, url);
      const user = token ? github.get(token.login) : undefined;
      if (!token || !user) return json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      const scopeHeaders = { 'x-oauth-scopes': token.scopes.join(', '), 'x-accepted-oauth-scopes': path === '/user/emails' ? 'user' : '' };
      if (path === '/user/emails') {
        // Without `user:email` (or `user`) the endpoint is not found for this token.
        if (!token.scopes.includes('user:email') && !token.scopes.includes('user')) {
          return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user', status: '404' }, scopeHeaders);
        }
        return json(res, 200, user.emails.map((e) => ({ email: e.email, primary: e.primary, verified: e.verified, visibility: e.visibility ?? (e.primary ? 'private' : null) })), scopeHeaders);
      }
      return json(res, 200, {
        login: user.login, id: user.id, node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
        avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`, gravatar_id: '', url: `https://api.github.com/users/${user.login}`,
        html_url: `https://github.com/${user.login}`, type: 'User', site_admin: false, name: user.name ?? null, company: null,
        blog: user.blog ?? '', location: null, email: user.email ?? null, hireable: null, bio: null, twitter_username: null,
        public_repos: 2, public_gists: 0, followers: 1, following: 0,
        created_at: '2015-03-04T10:20:30Z', updated_at: '2024-05-06T07:08:09Z',
      }, scopeHeaders);
    }

    // Discord.
    if (path === '/api/v9/oauth2/authorize' && req.method === 'GET') return authorizeEndpoint('discord', url, req, res);
    if (path === '/api/v9/oauth2/token' && req.method === 'POST') return tokenEndpoint('discord', req, url, res);
    if (path === '/api/v9/users/@me' && req.method === 'GET') {
      record('discord');
      const token = tokenFor('discord', req, url);
      const user = token ? discord.get(token.login) : undefined;
      if (!token || !user) return json(res, 401, { message: '401: Unauthorized', code: 0 });
      if (!token.scopes.includes('identify') && !token.scopes.includes('email')) return json(res, 403, { message: 'Missing Access', code: 50001 });
      const withEmail = token.scopes.includes('email');
      return json(res, 200, {
        id: user.id, username: user.username, avatar: user.avatar ?? null, discriminator: user.discriminator ?? '0',
        public_flags: 0, flags: 0, banner: null, accent_color: null, global_name: user.global_name ?? null,
        avatar_decoration_data: null, banner_color: null, mfa_enabled: false, locale: user.locale ?? 'en-US', premium_type: 0,
        ...(withEmail ? { email: user.email ?? null, verified: user.verified ?? false } : {}),
      });
    }

    // Facebook.
    if (path === '/dialog/oauth' && req.method === 'GET') return authorizeEndpoint('facebook', url, req, res);
    if (path === '/oauth/access_token') return tokenEndpoint('facebook', req, url, res);
    if (path === '/me' && req.method === 'GET') {
      record('facebook');
      const token = tokenFor('facebook', req, url);
      const user = token ? facebook.get(token.login) : undefined;
      if (!token || !user) return json(res, 400, { error: { message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 } });
      // "Require App Secret" (the app's setting Kratos's appsecret_proof is for): server calls must prove the secret.
      const proof = url.searchParams.get('appsecret_proof');
      if (!proof) return json(res, 400, { error: { message: 'API calls from the server require an appsecret_proof argument', type: 'GraphMethodException', code: 100 } });
      const expected = createHmac('sha256', clients.get('facebook')!.client_secret).update(bearer(req, url.searchParams)!).digest('hex');
      if (proof !== expected) return json(res, 400, { error: { message: 'Invalid appsecret_proof provided in the API argument', type: 'GraphMethodException', code: 100 } });
      const fields = (url.searchParams.get('fields') ?? 'id,name').split(',');
      const all: Record<string, unknown> = {
        id: user.id, name: user.name, first_name: user.first_name, last_name: user.last_name, middle_name: user.middle_name,
        email: token.scopes.includes('email') ? user.email : undefined,
        birthday: token.scopes.includes('user_birthday') ? user.birthday : undefined,
        gender: token.scopes.includes('user_gender') ? user.gender : undefined,
        picture: { data: { height: 50, is_silhouette: !user.picture_url, url: user.picture_url ?? 'https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=0', width: 50 } },
      };
      const out: Record<string, unknown> = {};
      for (const field of fields) if (all[field] !== undefined) out[field] = all[field];
      return json(res, 200, out);
    }
    json(res, 404, { message: 'Not Found' });
  }

  return {
    origin,
    urls: { github: origin, githubApi: origin, discordApi: `${origin}/api/v9`, facebook: origin, facebookGraph: origin },
    calls,
    register: (vendor, client) => void clients.set(vendor, client),
    setGitHubUser: (login, user) => void github.set(login, user),
    setDiscordUser: (login, user) => void discord.set(login, user),
    setFacebookUser: (login, user) => void facebook.set(login, user),
    async authorize(authorizationUrl, user) {
      const url = new URL(authorizationUrl);
      if (url.origin !== origin) throw new Error(`not this vendor double: ${authorizationUrl}`);
      const res = await fetch(url, { redirect: 'manual', headers: { 'x-test-user': JSON.stringify(user) } });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`the vendor answered ${res.status}: ${await res.text()}`);
      return new URL(location);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
