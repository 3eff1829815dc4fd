/**
 * A real OpenID Provider for tests: panva's `oidc-provider` (v9) on 127.0.0.1, port 0, with its development
 * login/consent pages driven over HTTP. The socket is bound first (so idflow can be configured with the issuer), the
 * provider is attached once the clients' redirect URIs are known (they contain idflow's ephemeral port).
 *
 * Accounts: whatever login is typed is the subject; its claims are what the test set with `setClaims` (e-mail and
 * profile claims go into the id_token). Discovery advertises PKCE S256, so `pkce: auto` uses it.
 *
 * Options let the provider stand in for a vendor's OpenID Connect service: the vendor's endpoint paths (`routes`), an
 * issuer with a path (Microsoft's `/<tenant id>/v2.0`), more id_token claims (`tid`, `oid`), a check of token requests
 * before the provider sees them (Apple's client secret JWT), and API routes beside it (Microsoft Graph's `/v1.0/me`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import type { CookieJar } from './cookie-jar.ts';

export interface TestClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface TestOpenIdProvider {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  issuer: string;
  /** Attaches the provider with these clients (call once, after idflow is listening). */
  start(clients: TestClient[]): Promise<void>;
  /** The claims the provider releases for `sub` (besides `sub`); `userinfoOnly` go to the userinfo endpoint only. */
  setClaims(sub: string, claims: Record<string, unknown>, userinfoOnly?: Record<string, unknown>): void;
  /**
   * Plays the user at the provider: opens `authorizationUrl` in `jar`, logs in as `login` and consents, or aborts
   * (`deny`), and returns where the provider finally sends the browser (the relying party's callback URL).
   */
  authorize(jar: CookieJar, authorizationUrl: string, user: { login: string } | { deny: true }): Promise<URL & { formPost?: Record<string, string> }>;
  /**
   * What a native app's SDK gets: the authorization code flow run for `client` as `login` (with `nonce`), the code
   * exchanged at the token endpoint; returns the id_token the provider signed.
   */
  issueIdToken(jar: CookieJar, client: TestClient, user: { login: string; nonce?: string }): Promise<string>;
  /** A JWT signed with the provider's own key (for tokens the provider would never issue: another audience or issuer). */
  sign(claims: Record<string, unknown>): Promise<string>;
  /** Signs the browser out at the provider (drops its cookies), so the next authorization asks who logs in. */
  forget(jar: CookieJar): void;
  close(): Promise<void>;
}

export interface OpenIdProviderOptions {
  /** The issuer's path after the origin, e.g. `/<tenant id>/v2.0` (requests under it reach the provider). */
  issuerPath?: string;
  /** oidc-provider `routes` (the vendor's paths: `{ authorization: '/oauth/authorize', ... }`). */
  routes?: Record<string, string>;
  /** Claims of the `openid` scope besides `sub` (they go into the id_token). */
  openidClaims?: string[];
  /**
   * Sees each token request's form first: returns the form to pass on (it may replace the client authentication), or
   * an error answer to send instead.
   */
  tokenRequest?(form: Record<string, string>): Promise<Record<string, string> | { status: number; body: unknown }>;
  /** A route beside the provider; `userinfo(token)` asks the provider whom an access token belongs to. */
  extraRoute?(req: IncomingMessage, res: ServerResponse, tools: { userinfo(token: string): Promise<Record<string, unknown> | undefined> }): Promise<boolean>;
}

export async function startOpenIdProvider(options: OpenIdProviderOptions = {}): Promise<TestOpenIdProvider> {
  const server: Server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end('not started');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const prefix = options.issuerPath?.replace(/\/$/, '') ?? '';
  const issuer = `${origin}${prefix}`;
  const accounts = new Map<string, Record<string, unknown>>();
  const userinfoClaims = new Map<string, Record<string, unknown>>();
  // The provider signs with this key (published at its jwks_uri), so tests can sign tokens it would not issue.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...await exportJWK(privateKey), kid: 'test-op-key', alg: 'RS256', use: 'sig' };
  let registered: TestClient[] = [];

  const op: TestOpenIdProvider = {
    issuer,
    setClaims(sub, claims, userinfoOnly) {
      accounts.set(sub, claims);
      userinfoClaims.set(sub, userinfoOnly ?? {});
    },
    async start(clients) {
      registered = clients;
      const provider = new Provider(issuer, {
        jwks: { keys: [signingJwk] },
        clients: clients.map((c) => ({
          ...c, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post',
        })),
        claims: { openid: ['sub', ...(options.openidClaims ?? [])], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'website', 'updated_at'] },
        ...(options.routes ? { routes: options.routes } : {}),
        // The relying party reads the claims from the id_token (Kratos's default claims source).
        conformIdTokenClaims: false,
        cookies: { keys: ['test-op-cookie-key-0123456789abcdef'] },
        features: { devInteractions: { enabled: true } },
        pkce: { required: () => false },
        async findAccount(_ctx: unknown, sub: string) {
          return {
            accountId: sub,
            claims: async (use: string) => ({ sub, ...(accounts.get(sub) ?? {}), ...(use === 'userinfo' ? userinfoClaims.get(sub) : {}) }),
          };
        },
      });
      // Quiet: the development keys and interactions warn once on the console otherwise.
      provider.on('server_error', () => {});
      const handler = provider.callback();
      const tokenPath = `${prefix}${options.routes?.token ?? '/token'}`;
      const userinfoUrl = `${issuer}${options.routes?.userinfo ?? '/me'}`;
      const tools = {
        async userinfo(token: string) {
          const res = await fetch(userinfoUrl, { headers: { authorization: `Bearer ${token}` } });
          return res.ok ? await res.json() as Record<string, unknown> : undefined;
        },
      };
      server.removeAllListeners('request');
      server.on('request', (req: IncomingMessage & { originalUrl?: string; body?: unknown }, res: ServerResponse) => {
        void (async () => {
          if (options.extraRoute && await options.extraRoute(req, res, tools)) return;
          const path = (req.url ?? '/').split('?')[0];
          if (options.tokenRequest && req.method === 'POST' && path === tokenPath) {
            const chunks: Buffer[] = [];
            for await (const chunk of req) chunks.push(chunk as Buffer);
            const verdict = await options.tokenRequest(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
            if ('status' in verdict && typeof verdict.status === 'number') {
              res.writeHead(verdict.status, { 'content-type': 'application/json' });
              res.end(JSON.stringify(verdict.body));
              return;
            }
            // oidc-provider reads `req.body` when the stream was consumed before it.
            req.body = verdict;
          }
          // An issuer with a path: the provider is mounted there (its interaction pages stay at the origin's root).
          if (prefix && req.url?.startsWith(`${prefix}/`)) {
            req.originalUrl = req.url;
            req.url = req.url.slice(prefix.length);
          }
          handler(req, res);
        })().catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      });
    },
    async authorize(jar, authorizationUrl, user) {
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 12; hop++) {
        if (url.origin !== origin) return url;
        let res = await jar.fetch(url.toString());
        const interaction = /\/interaction\/([^/]+)$/.exec(url.pathname);
        if (interaction && res.status === 200) {
          const html = await res.text();
          const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? 'login';
          if ('deny' in user) {
            res = await jar.fetch(`${url.origin}${url.pathname}/abort`);
          } else {
            const fields: Record<string, string> = prompt === 'login' ? { prompt, login: user.login, password: 'any' } : { prompt };
            res = await jar.fetch(url.toString(), {
              method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
            });
          }
        } else if (res.status === 200 && (res.headers.get('content-type') ?? '').includes('html')) {
          // response_mode=form_post: the page posts the answer to the relying party; returned as `formPost`.
          const html = await res.text();
          const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
          if (!action) throw new Error(`the provider answered a page without a form at ${url.pathname}`);
          const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], unescapeHtml(m[2])]));
          return Object.assign(new URL(unescapeHtml(action)), { formPost: fields });
        } else {
          await res.arrayBuffer();
        }
        const location = res.headers.get('location');
        if (!location) throw new Error(`the provider answered ${res.status} at ${url.pathname} without a redirect: ${(await res.text()).slice(0, 500)}`);
        url = new URL(location, url);
      }
      throw new Error('too many redirects at the provider');
    },
    async issueIdToken(jar, client, user) {
      const known = registered.find((c) => c.client_id === client.client_id) ?? client;
      const redirectUri = known.redirect_uris[0];
      const auth = new URL(`${issuer}${options.routes?.authorization ?? '/auth'}`);
      auth.search = new URLSearchParams({
        client_id: known.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'openid email profile', state: 'native-app-state',
        ...(user.nonce ? { nonce: user.nonce } : {}),
      }).toString();
      const back = await op.authorize(jar, auth.toString(), { login: user.login });
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`the provider returned no code: ${back.toString()}`);
      const res = await fetch(`${issuer}${options.routes?.token ?? '/token'}`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: known.client_id, client_secret: known.client_secret }).toString(),
      });
      const body = await res.json() as { id_token?: string };
      if (!body.id_token) throw new Error(`the provider issued no id_token: ${res.status} ${JSON.stringify(body)}`);
      return body.id_token;
    },
    sign(claims) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iat: now, exp: now + 600, ...claims }).setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid }).sign(privateKey);
    },
    forget(jar) {
      // oidc-provider's cookies: _session, _interaction, _interaction_resume and their .sig / .legacy variants.
      for (const name of jar.names()) if (/^_(session|interaction)/.test(name)) jar.delete(name);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return op;
}

function unescapeHtml(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
