/**
 * A real OpenID Provider for tests: panva's `oidc-provider` (v9) on 127.0.0.1, port 0, with its development
 * login/consent pages driven over HTTP. The socket is bound first (so idflow can be configured with the issuer), the
 * provider is attached once the clients' redirect URIs are known (they contain idflow's ephemeral port).
 *
 * Accounts: whatever login is typed is the subject; its claims are what the test set with `setClaims` (e-mail and
 * profile claims go into the id_token). Discovery advertises PKCE S256, so `pkce: auto` uses it.
 */
import { createServer, type Server } from 'node:http';
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
  /** The claims the provider releases for `sub` (besides `sub`). */
  setClaims(sub: string, claims: Record<string, unknown>): void;
  /**
   * Plays the user at the provider: opens `authorizationUrl` in `jar`, logs in as `login` and consents, or aborts
   * (`deny`), and returns where the provider finally sends the browser (the relying party's callback URL).
   */
  authorize(jar: CookieJar, authorizationUrl: string, user: { login: string } | { deny: true }): Promise<URL>;
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

export async function startOpenIdProvider(): Promise<TestOpenIdProvider> {
  const server: Server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end('not started');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, Record<string, unknown>>();
  // The provider signs with this key (published at its jwks_uri), so tests can sign tokens it would not issue.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...await exportJWK(privateKey), kid: 'test-op-key', alg: 'RS256', use: 'sig' };
  let registered: TestClient[] = [];

  const op: TestOpenIdProvider = {
    issuer,
    setClaims(sub, claims) {
      accounts.set(sub, claims);
    },
    async start(clients) {
      registered = clients;
      const provider = new Provider(issuer, {
        jwks: { keys: [signingJwk] },
        clients: clients.map((c) => ({
          ...c, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post',
        })),
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'website'] },
        // The relying party reads the claims from the id_token (Kratos's default claims source).
        conformIdTokenClaims: false,
        cookies: { keys: ['test-op-cookie-key-0123456789abcdef'] },
        features: { devInteractions: { enabled: true } },
        pkce: { required: () => false },
        async findAccount(_ctx: unknown, sub: string) {
          return { accountId: sub, claims: async () => ({ sub, ...(accounts.get(sub) ?? {}) }) };
        },
      });
      // Quiet: the development keys and interactions warn once on the console otherwise.
      provider.on('server_error', () => {});
      server.removeAllListeners('request');
      server.on('request', provider.callback());
    },
    async authorize(jar, authorizationUrl, user) {
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 12; hop++) {
        if (url.origin !== issuer) return url;
        let res = await jar.fetch(url.toString());
        const interaction = /^\/interaction\/([^/]+)$/.exec(url.pathname);
        if (interaction && res.status === 200) {
          const html = await res.text();
          const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? 'login';
          if ('deny' in user) {
            res = await jar.fetch(`${issuer}/interaction/${interaction[1]}/abort`);
          } else {
            const fields: Record<string, string> = prompt === 'login' ? { prompt, login: user.login, password: 'any' } : { prompt };
            res = await jar.fetch(url.toString(), {
              method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
            });
          }
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
      const auth = new URL(`${issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: known.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'openid email profile', state: 'native-app-state',
        ...(user.nonce ? { nonce: user.nonce } : {}),
      }).toString();
      const back = await op.authorize(jar, auth.toString(), { login: user.login });
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`the provider returned no code: ${back.toString()}`);
      const res = await fetch(`${issuer}/token`, {
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
