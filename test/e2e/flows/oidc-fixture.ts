/**
 * What the OpenID Connect end-to-end tests share: the identity schema and claims mapper (Kratos's Cypress profile in
 * short), a server configured with two providers at one test OP, and the helpers to go through the provider.
 */
import { expect } from 'vitest';
import type { TestDatabase } from '../../support/databases.ts';
import type { VendorUrls } from '../../../src/methods/oidc/providers.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { startOpenIdProvider, type TestOpenIdProvider } from '../../support/oidc-provider.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';
import { Browser, bodyOf, csrfOf } from '../browser/browser-client.ts';

type Json = any;

export const PASSWORD = 'a long oidc-test passphrase 4711';
export const WEBSITE = 'https://www.example.org/home';

export const SCHEMA = personSchema('oidc', {
  email: {
    credentials: { password: { identifier: true } },
    verification: { via: 'email' },
    recovery: { via: 'email' },
  },
  traits: { website: { type: 'string', format: 'uri', minLength: 10, title: 'Website' } },
  required: ['email', 'website'],
});

/** Kratos's Cypress mapper, in short: e-mail and website from the claims; a verified e-mail stays verified. */
export const MAPPER = `
local claims = std.extVar('claims');
{
  identity: {
    traits: {
      [if std.objectHas(claims, 'email') then 'email' else null]: claims.email,
      [if std.objectHas(claims, 'website') then 'website' else null]: claims.website,
    },
    verified_addresses: if std.objectHas(claims, 'email_verified') && claims.email_verified then [{ via: 'email', value: claims.email }] else [],
    metadata_public: { provider_subject: claims.sub },
  },
}`;
export const mapperUrl = `base64://${Buffer.from(MAPPER).toString('base64')}`;

export const node = (flow: Json, name: string, value?: string): Json =>
  (flow.ui.nodes ?? []).find((n: Json) => n.attributes.name === name && (value === undefined || n.attributes.value === value));
export const flowIdOf = (location: string) => new URL(location).searchParams.get('flow')!;

let counter = 0;
export const unique = (name: string) => `${name}-${Date.now().toString(36)}-${counter++}`;

export interface OidcFixture {
  srv: TestServer;
  op: TestOpenIdProvider;
  pub(): string;
  admin(): string;
  browser(): Browser;
  identities(): Promise<Json[]>;
  identityWithCredentials(id: string): Promise<Json>;
  /** Starts a browser flow (SPA read) and submits the provider as an HTML form: 303 to the provider. */
  goToProvider(b: Browser, kind: 'login' | 'registration', provider?: string): Promise<{ flow: Json; authorization: URL }>;
  /** Opens the provider's redirect back to idflow in the browser. */
  callback(b: Browser, url: URL): Promise<Response>;
  /** Signs up through op1 as `sub` and returns the session's identity. */
  signUp(b: Browser, sub: string): Promise<Json>;
  close(): Promise<void>;
}

/**
 * A server with providers `op1` (label "Test OP", PKCE auto) and `op2` (PKCE never) at one test OP; `extra` is merged
 * into the config (a deep merge of plain objects), `providers` replace or add providers by id, `vendors` stand the test
 * OP in for a preset's vendor (the internal seam `RegistryOptions.oidcVendors`).
 */
export async function startOidcFixture(db: TestDatabase, options: {
  extra?: Record<string, unknown>; providers?: (issuer: string) => Json[]; vendors?: (issuer: string) => Partial<VendorUrls>;
} = {}): Promise<OidcFixture> {
  const op = await startOpenIdProvider();
  const more = options.providers?.(op.issuer) ?? [];
  const created = await db.create();
  const base: Json[] = [
    { id: 'op1', provider: 'generic', label: 'Test OP', client_id: 'client-1', client_secret: 'secret-one-0123456789', issuer_url: op.issuer, mapper_url: mapperUrl, scope: ['email', 'profile'] },
    { id: 'op2', provider: 'generic', client_id: 'client-2', client_secret: 'secret-two-0123456789', issuer_url: op.issuer, mapper_url: mapperUrl, scope: ['email', 'profile'], pkce: 'never' },
  ];
  const providers = [...base.filter((p) => !more.some((o) => o.id === p.id)), ...more];
  const srv = await startTestServer(created.dsn, merge({
    identity: { default_schema_id: 'oidc', schemas: [{ id: 'oidc', url: schemaUrl(SCHEMA) }] },
    selfservice: {
      methods: {
        password: { config: { haveibeenpwned_enabled: false } },
        oidc: { enabled: true, config: { providers } },
      },
      flows: { registration: { style: 'unified', after: { oidc: { hooks: [{ hook: 'session' }] } } } },
    },
  }, options.extra ?? {}), { oidcVendors: options.vendors?.(op.issuer) });
  const pub = () => srv.publicUrl.replace(/\/?$/, '/');
  const admin = () => srv.adminUrl.replace(/\/?$/, '/');
  await op.start(providers.map((p) => ({
    client_id: p.client_id, client_secret: p.client_secret, redirect_uris: [`${pub()}self-service/methods/oidc/callback/${p.id}`],
  })));

  const fixture: OidcFixture = {
    srv, op, pub, admin,
    browser: () => new Browser(pub().replace(/\/$/, '')),
    async identities() {
      const res = await fetch(`${admin()}admin/identities?page_size=500`);
      const body = await bodyOf(res);
      expectResponse('listIdentities', res.status, body);
      return body;
    },
    async identityWithCredentials(id) {
      const res = await fetch(`${admin()}admin/identities/${id}?include_credential=oidc`);
      const body = await bodyOf(res);
      expectResponse('getIdentity', res.status, body);
      return body;
    },
    async goToProvider(b, kind, provider = 'op1') {
      const flow = await b.startJson(kind);
      const res = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'oidc', provider });
      expect(res.status, await res.clone().text()).toBe(303);
      const authorization = new URL(res.headers.get('location')!);
      expect(authorization.origin).toBe(op.issuer);
      return { flow, authorization };
    },
    async callback(b, url) {
      expect(url.toString().startsWith(pub())).toBe(true);
      return b.navigate(url.toString());
    },
    async signUp(b, sub) {
      op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
      const { authorization } = await fixture.goToProvider(b, 'registration');
      const res = await fixture.callback(b, await op.authorize(b.jar, authorization.toString(), { login: sub }));
      expect(res.status).toBe(303);
      const { status, body } = await b.whoami();
      expect(status).toBe(200);
      return body.identity;
    },
    async close() {
      await srv.close();
      await op.close();
      await created.drop();
    },
  };
  return fixture;
}

function merge(a: Json, b: Json): Json {
  if (!b || typeof b !== 'object' || Array.isArray(b) || !a || typeof a !== 'object' || Array.isArray(a)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : v;
  return out;
}
