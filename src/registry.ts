import type { Config } from '../config/types.ts';
import type { Logger } from '../observability/logger.ts';
import { openStore } from './persistence/open-store.ts';
import type { Store } from './persistence/store.ts';
import { createPasswordHasher, type PasswordHasher } from './hash/index.ts';
import { loadIdentitySchemas, type IdentitySchemaRegistry } from './identity/schema/index.ts';
import { IdentityService } from './identity/identity-service.ts';
import { toIdentityJson } from './identity/identity-json.ts';
import { PageTokenSealer, Sealer } from './x/page-token.ts';
import { csrfCookieName } from './x/csrf-token.ts';
import { createReturnToValidator, type ReturnToValidator } from './x/return-to.ts';
import { systemClock, type Clock } from './x/clock.ts';
import { SecretHmac } from './x/hmac.ts';
import { parseDuration } from './x/duration.ts';
import { prefixedCookieName, SessionService, SessionTokenizer } from './session/index.ts';
import { FlowRuntime } from './flows/flow-runtime.ts';
import { FLOW_MACHINES } from './flows/flow-machines.ts';
import { FlowService } from './flows/flow-service.ts';
import { FlowUrls } from './flows/flow-urls.ts';
import { InternalSealer } from './flows/flow-internal.ts';
import type { Method } from './methods/method.ts';
import { createPasswordMethod } from './methods/password/password.method.ts';
import { createPasswordPolicy } from './methods/password/policy.ts';
import { createProfileMethod } from './methods/profile/profile.method.ts';
import { createTotpMethod, parseTotpUrl, sealTotpUrl, totpAccountName } from './methods/totp/totp.method.ts';
import { createLookupSecretMethod, lookupSecretConfig } from './methods/lookup-secret/lookup-secret.method.ts';
import { CredentialCipher } from './x/credential-cipher.ts';
import {
  createPasskeyMethod, createWebauthnMethod, firstFactorKeys, relyingParty, WEBAUTHN_SCRIPT_PATH,
} from './methods/webauthn/webauthn.method.ts';
import type { IdentityRecord } from './identity/identity.ts';
import type { SecondFactorImport } from './identity/identity-service.ts';
import { secondFactorKinds } from './session/aal.ts';
import { createIdentifierFirstMethod } from './methods/identifier-first/identifier-first.method.ts';
import { createSignInCode } from './methods/code/sign-in-code.method.ts';
import { createChallengeIssuer, createChallengeMethod, type ChallengeMethodDeps } from './methods/code/challenge.method.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { Courier } from './courier/courier.ts';
import { createStatelyInspector } from '../observability/stately-inspector.ts';
import { instrumentHasher } from '../observability/hasher-metrics.ts';
import { WebHooks } from './hooks/web-hooks.ts';
import { evaluateJsonnet, loadJsonnetSource } from './hooks/jsonnet.ts';
import type { StatePayload } from './methods/oidc/oidc.method.ts';
import { AbuseGuard } from './ratelimit/abuse-guard.ts';
import { openCounters, type Counters } from './ratelimit/counters.ts';
import { openRateLimitPool } from './persistence/rate-limit-pool.ts';
import { OidcConfigError, resolveProviders, VENDOR_URLS, type ResolvedProvider, type VendorUrls } from './methods/oidc/providers.ts';

export interface Urls {
  public: string;
  admin: string;
}

/** The composition root: every service is built here once and handed out as narrow slices. */
export interface Registry {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: Store;
  hasher: PasswordHasher;
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  pageTokens: PageTokenSealer;
  sessions: SessionService;
  /** `GET /sessions/whoami?tokenize_as=`: the session as a JWT per `session.whoami.tokenizer.templates`. */
  tokenizer: SessionTokenizer;
  /** Every self-service flow: create, read, submit (transport-neutral). */
  flowService: FlowService;
  /** The enabled methods, in display order (their routes are mounted by the public API). */
  methods: readonly Method[];
  /** Credential kinds that count as second factors here (a code only with `mfa_enabled`). */
  secondFactors: ReadonlySet<string>;
  metrics: Metrics;
  returnTo: ReturnToValidator;
  /** Message queue: `enqueue` inside a transaction; the sender runs inside `serve` (started by startServer). */
  courier: Courier;
  /** `web_hook` hooks of the self-service flows. */
  webHooks: WebHooks;
  /** Rate limits and the per-identifier lockout (`rate_limit`). */
  guard: AbuseGuard;
  /** `csrf_token_<sha256(public base URL)>`; recomputed when the base URL is learnt at listen time. */
  csrfCookieName: string;
  /** Base URLs with a trailing slash; set from config, or from the bound address when not configured. */
  urls: Urls;
  schemaUrl(schemaId: string): string;
  close(): Promise<void>;
}

export interface RegistryOptions {
  logger: Logger;
  /** `auto` applies pending migrations (embedded default, `memory`); `require` refuses a non-migrated database. */
  migrations: 'auto' | 'require';
  /** Stream every flow actor to the Stately inspector at this WebSocket URL (`serve --inspect`). */
  inspectUrl?: string;
  /** Where "now" comes from (tests pass a controllable clock). */
  clock?: Clock;
  /** A store to use instead of opening `config.dsn` (unit tests pass an in-memory one). */
  store?: Store;
  /** Methods to offer beside the configured ones (a method under development, a test's own). */
  extraMethods?: Method[];
  /** Loopback stand-ins for the vendor URLs the oidc presets hard-code (tests only; not a config key, as in Kratos). */
  oidcVendors?: Partial<VendorUrls>;
}

export function configuredBaseUrl(config: Config, which: 'public' | 'admin'): string | undefined {
  const base = config.serve[which].base_url;
  if (!base) return undefined;
  return base.endsWith('/') ? base : base + '/';
}

export function defaultBaseUrl(config: Config, which: 'public' | 'admin', port: number): string {
  const host = config.serve[which].host;
  const shown = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${config.dev ? 'http' : 'https'}://${shown}:${port}/`;
}

function returnToValidator(config: Config, publicBaseUrl: string): ReturnToValidator {
  return createReturnToValidator({
    publicBaseUrl,
    allowedReturnUrls: config.selfservice.allowed_return_urls ?? [],
    defaultUrl: config.selfservice.default_browser_return_url,
  });
}

/** Kratos's CSRF cookie name, `__Host-` prefixed when the cookie qualifies (see prefixedCookieName). */
async function csrfName(config: Config, publicUrl: string): Promise<string> {
  const { cookies, dev } = config;
  return prefixedCookieName(await csrfCookieName(publicUrl), { secure: cookies.secure ?? !dev, domain: cookies.domain, path: cookies.path || '/' }, config);
}

/** Sets the base URLs (known only after binding when ports are ephemeral) and what derives from them. */
export async function applyBaseUrls(registry: Registry, urls: Urls): Promise<void> {
  registry.urls.public = urls.public;
  registry.urls.admin = urls.admin;
  registry.csrfCookieName = await csrfName(registry.config, urls.public);
  registry.returnTo = returnToValidator(registry.config, urls.public);
}

export async function createRegistry(config: Config, options: RegistryOptions): Promise<Registry> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const schemas = await loadIdentitySchemas(config.identity.schemas, config.identity.default_schema_id);
  const metrics = createMetrics({ defaultMetrics: true });
  const webHooks = new WebHooks(config, { logger, metrics });
  // Keys and mappers are read here, before the database is opened: a bad template stops the start, naming its key.
  const tokenizer = await SessionTokenizer.create({
    templates: config.session.whoami.tokenizer?.templates ?? {},
    clock,
    issuer: () => urls.public,
    baseDir: process.cwd(),
    loadJsonnet: loadJsonnetSource,
    evaluateJsonnet,
  });
  let store = options.store;
  if (!store) {
    const opened = await openStore(config.dsn, { migrations: options.migrations });
    store = opened.store;
    if (opened.applied.length > 0) logger.info('applied database migrations', { migrations: opened.applied });
  }
  const hasher = instrumentHasher(createPasswordHasher(config.hashers), metrics);
  const secrets = config.secrets.pagination ?? config.secrets.default ?? config.secrets.cookie ?? [];
  const urls: Urls = {
    public: configuredBaseUrl(config, 'public') ?? defaultBaseUrl(config, 'public', config.serve.public.port),
    admin: configuredBaseUrl(config, 'admin') ?? defaultBaseUrl(config, 'admin', config.serve.admin.port),
  };
  let courier: Courier;
  let counters: Counters;
  try {
    courier = new Courier(config.courier, { queue: store.courier, clock, logger, metrics, clientsHttp: config.clients.http });
    counters = await openRateLimitCounters(config, logger, options.store !== undefined);
  } catch (err) {
    await store.close();
    throw err;
  }
  const guard = new AbuseGuard({ config: config.rate_limit, counters, clock, metrics });
  const credentialCipher = new CredentialCipher(config.secrets.cipher ?? []);
  const identities = new IdentityService({ store, schemas, hasher, clock, secondFactors: secondFactorImport(credentialCipher) });
  const schemaUrl = (schemaId: string) => schemas.schemaUrl(urls.public, schemaId);
  const sessions = new SessionService({ store, config, schemaUrl, clock });
  // The oidc method's module (with openid-client and jose) is loaded only when the method is on.
  const oidcModule = config.selfservice.methods.oidc.enabled ? await import('./methods/oidc/oidc.method.ts') : undefined;
  const methods = buildMethods(config, { store, schemas, identities, hasher, logger, urls, schemaUrl, credentialCipher, oidcVendors: options.oidcVendors, oidcModule });
  const allMethods = [...methods.all, ...(options.extraMethods ?? [])];
  const stately = options.inspectUrl ? await createStatelyInspector(options.inspectUrl) : undefined;
  if (stately) logger.warn('streaming flow machines to the Stately inspector (development only)', { url: options.inspectUrl });
  const secondFactors = secondFactorKinds({ codeMfa: config.selfservice.methods.code.mfa_enabled === true });
  const registry: Registry = {
    config,
    logger,
    clock,
    store,
    hasher,
    schemas,
    identities,
    pageTokens: new PageTokenSealer(secrets),
    sessions,
    tokenizer,
    flowService: undefined as unknown as FlowService,
    methods: allMethods,
    secondFactors,
    metrics,
    returnTo: returnToValidator(config, urls.public),
    courier,
    webHooks,
    guard,
    csrfCookieName: await csrfName(config, urls.public),
    urls,
    schemaUrl,
    async close() {
      stately?.stop();
      await courier.stop();
      await hasher.close();
      await counters.close();
      await store.close();
    },
  };
  registry.flowService = new FlowService({
    config, store, clock, metrics, schemas, identities, sessions, courier, webHooks, schemaUrl, secondFactors, guard,
    runtime: new FlowRuntime(FLOW_MACHINES, stately ? [stately.inspect] : []),
    methods: allMethods,
    challengeIssuer: methods.issuer,
    urls: new FlowUrls(config, () => urls.public),
    returnTo: () => registry.returnTo,
    internal: new InternalSealer(new Sealer(config.secrets.cipher ?? [], 'idflow-flow-internal')),
  });
  return registry;
}

/**
 * Where rate-limit counters live: Redis when `rate_limit.redis_url` is set; else the PostgreSQL database, so every
 * replica shares them; else (SQLite, a store handed in by a test, or limits turned off) the process.
 */
async function openRateLimitCounters(config: Config, logger: Logger, storeGiven: boolean): Promise<Counters> {
  const limits = config.rate_limit;
  if (!limits.enabled) return openCounters({ backend: 'memory' });
  if (limits.redis_url) return openCounters({ backend: 'redis', url: limits.redis_url, keyPrefix: limits.redis_key_prefix });
  const pool = storeGiven ? undefined : openRateLimitPool(config.dsn, (err) => logger.warn('rate-limit database connection failed', { reason: err.message }));
  return openCounters(pool ? { backend: 'postgresql', pool } : { backend: 'memory' });
}

/** `selfservice.methods.passkey.config` as the passkey method reads it. */
type PasskeyMethodConfig = Parameters<typeof relyingParty>[0] & {
  authenticator_selection?: Parameters<typeof createPasskeyMethod>[0]['authenticatorSelection'];
  attestation?: Parameters<typeof createPasskeyMethod>[0]['attestation'];
  timeouts?: Parameters<typeof createPasskeyMethod>[0]['timeouts'];
};

/** How many first factors one credential holds: a password with a hash, OpenID Connect / SAML links, passwordless keys. */
function firstFactorsIn(credential: IdentityRecord['credentials'][number]): number {
  if (credential.type === 'password') return typeof credential.config.hashed_password === 'string' && credential.config.hashed_password !== '' ? 1 : 0;
  if (credential.type === 'oidc' || credential.type === 'saml') return credential.identifiers.length;
  return firstFactorKeys(credential);
}

/**
 * Kratos `CountActiveFirstFactorCredentials`, over every credential type whether or not its method is enabled: a
 * password, OpenID Connect / SAML links, passwordless security keys and passkeys.
 */
function firstFactorCount(identity: IdentityRecord): number {
  return identity.credentials.reduce((sum, credential) => sum + firstFactorsIn(credential), 0);
}

/** Whether a schema has a trait whose one-time codes go by SMS (`ory.sh/kratos.credentials.code.via: sms`). */
function codeViaSms(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(codeViaSms);
  if (node === null || typeof node !== 'object') return false;
  const extension = (node as Record<string, { credentials?: { code?: { via?: unknown } } }>)['ory.sh/kratos'];
  if (extension?.credentials?.code?.via === 'sms') return true;
  return Object.values(node).some(codeViaSms);
}

/**
 * The first-factor login methods an identity can use (Kratos's strategies' `CountActiveFirstFactorCredentials` per
 * method): a password with a hash, a code address (Kratos offers code to any identity, then refuses one without),
 * passwordless keys, passkeys.
 */
function loginMethodsOf(identity: IdentityRecord): string[] {
  const methods = new Set<string>();
  for (const credential of identity.credentials) {
    if (credential.type === 'code' ? credential.identifiers.length > 0 : firstFactorsIn(credential) > 0) methods.add(credential.type);
  }
  return [...methods];
}

/** Imported second factors in the methods' stored formats (sealed with secrets.cipher). */
function secondFactorImport(cipher: CredentialCipher): SecondFactorImport {
  return {
    totp: async (identityId, url) => (parseTotpUrl(url) ? sealTotpUrl(cipher, identityId, url) : undefined),
    lookupSecret: (identityId, codes, existing) => lookupSecretConfig(cipher, identityId, codes, existing),
  };
}

/**
 * The methods of this configuration, in display order (Kratos: profile, password, ..., code/link). Each is built from
 * narrow dependencies: reads from the store, domain services, settings.
 */
function buildMethods(config: Config, deps: {
  store: Store; schemas: IdentitySchemaRegistry; identities: IdentityService; hasher: PasswordHasher; logger: Logger;
  urls: Urls; schemaUrl: (id: string) => string; credentialCipher: CredentialCipher; oidcVendors?: Partial<VendorUrls>;
  /** Loaded when `selfservice.methods.oidc.enabled`. */
  oidcModule?: OidcModule;
}) {
  const { store, identities } = deps;
  const hasConflicts = (record: Parameters<IdentityService['assertNoConflicts']>[0]) =>
    identities.assertNoConflicts(record).then(() => false, (err: unknown) => {
      if ((err as { status?: number }).status === 409) return true;
      throw err;
    });
  const all: Method[] = [];
  const selfservice = config.selfservice;
  // Login hints ask to name the account a sign-up clashes with; otherwise a clash is answered as a new sign-up.
  const mitigateSignUp = config.security.account_enumeration.mitigate !== false && selfservice.flows.registration.login_hints !== true;
  if (selfservice.methods.profile.enabled !== false) {
    all.push(createProfileMethod({
      schemas: deps.schemas,
      registrationStyle: selfservice.flows.registration.style ?? 'profile_first',
      identities: { buildReplacement: (current, input, prepared) => identities.buildReplacement(current, input, prepared), hasConflicts },
    }));
  }
  if (selfservice.flows.login.style === 'identifier_first') {
    // Kratos lists its strategy last; its identifier comes first in the form, so it is first here.
    all.push(createIdentifierFirstMethod({
      schemas: deps.schemas,
      mitigate: config.security.account_enumeration.mitigate !== false,
      async findByIdentifier(identifier) {
        for (const type of ['password', 'code', 'webauthn'] as const) {
          const found = await store.identities.findByCredentialIdentifier(type, identifier);
          if (found) return found;
        }
        return null;
      },
      loginMethodsOf: (identity) => loginMethodsOf(identity),
    }));
  }
  if (selfservice.methods.password.enabled) {
    const policy = createPasswordPolicy(selfservice.methods.password.config!, {
      maxLengthBytes: config.hashers.algorithm === 'bcrypt' ? 72 : undefined,
      onHibpError: (err, { failOpen }) => deps.logger.warn('breached-password check failed', { reason: err.message, fail_open: failOpen }),
    });
    all.push(createPasswordMethod({
      hasher: deps.hasher, policy, schemas: deps.schemas, mitigate: mitigateSignUp,
      identities: {
        async passwordCredential(identifier) {
          const found = await store.identities.findCredentialByIdentifier('password', identifier);
          if (!found) return null;
          const hashed = found.config.hashed_password;
          return { identityId: found.identityId, hashedPassword: typeof hashed === 'string' && hashed !== '' ? hashed : undefined };
        },
        get: (id) => store.identities.get(id),
        buildNew: (input, prepared) => identities.buildNew(input, prepared),
        hasConflicts,
        duplicateHints: selfservice.flows.registration.login_hints === true
          ? (record) => identities.duplicateAccountHints(record, { codeLogin: false })
          : undefined,
      },
    }));
  }
  // Second factors (Kratos's settings/login order: password, totp, lookup_secret).
  if (selfservice.methods.totp.enabled) {
    const issuer = selfservice.methods.totp.config?.issuer || new URL(deps.urls.public).hostname;
    all.push(createTotpMethod({
      cipher: deps.credentialCipher,
      issuer,
      accountName: (identity) => totpAccountName(deps.schemas.require(identity.schemaId).raw, identity.traits, identity.id),
    }));
  }
  // Kratos's order: ... totp, passkey, webauthn, lookup_secret.
  const webauthnIdentities = {
    findByCredentialIdentifier: (type: string, identifier: string) => store.identities.findByCredentialIdentifier(type, identifier),
    buildNew: (input: Parameters<IdentityService['buildNew']>[0], prepared: Parameters<IdentityService['buildNew']>[1]) => identities.buildNew(input, prepared),
    hasConflicts,
    duplicateHints: selfservice.flows.registration.login_hints === true
      ? (record: Parameters<IdentityService['duplicateAccountHints']>[0]) => identities.duplicateAccountHints(record, { codeLogin: false })
      : undefined,
    mitigateSignUp,
  };
  // Read when a node is built: the public URL is final only once the server is bound (port 0 in tests).
  const scriptUrl = () => new URL(WEBAUTHN_SCRIPT_PATH.replace(/^\//, ''), deps.urls.public).toString();
  if (selfservice.methods.passkey.enabled) {
    const cfg = selfservice.methods.passkey.config as PasskeyMethodConfig | undefined;
    all.push(createPasskeyMethod({
      rp: relyingParty(cfg, deps.urls.public), authenticatorSelection: cfg?.authenticator_selection, attestation: cfg?.attestation,
      timeouts: cfg?.timeouts, scriptUrl, schemas: deps.schemas, identities: webauthnIdentities, firstFactorCount,
    }));
  }
  if (selfservice.methods.webauthn.enabled) {
    const cfg = selfservice.methods.webauthn.config as (Parameters<typeof relyingParty>[0] & { passwordless?: boolean }) | undefined;
    all.push(createWebauthnMethod({
      rp: relyingParty(cfg, deps.urls.public), passwordless: cfg?.passwordless === true, scriptUrl, schemas: deps.schemas,
      identities: webauthnIdentities, firstFactorCount,
    }));
  }
  if (selfservice.methods.lookup_secret.enabled) all.push(createLookupSecretMethod({ cipher: deps.credentialCipher }));
  if (deps.oidcModule) all.push(buildOidcMethod(config, deps, deps.oidcModule));
  const codeSecret = (config.secrets.default ?? config.secrets.cookie ?? [])[0] ?? crypto.randomUUID();
  const lifespanOf = (kind: 'code' | 'link') => parseDuration(selfservice.methods[kind].config?.lifespan ?? '15m');
  const challengeDeps = (kind: 'code' | 'link'): ChallengeMethodDeps => ({
    settings: {
      lifespanMs: lifespanOf(kind),
      maxAttempts: selfservice.methods.code.config?.max_submissions ?? 5,
      notifyUnknown: { recovery: selfservice.flows.recovery.notify_unknown_recipients === true, verification: selfservice.flows.verification.notify_unknown_recipients === true },
      linkBase: () => (kind === 'link' ? selfservice.methods.link.config?.base_url : undefined) ?? deps.urls.public,
    },
    codes: store.codes,
    identities: {
      get: (id) => store.identities.get(id),
      async findActiveByAddress(purpose, address) {
        const id = await store.identities.findIdByAddress(purpose === 'recovery' ? 'recovery' : 'verifiable', 'email', address);
        // An unknown address reads as much as a known one: the same identity load, of an id nobody has (timing).
        const identity = await store.identities.get(id ?? crypto.randomUUID());
        // A disabled identity is treated like an unknown one: no mail that would let it back in.
        return identity && identity.state === 'active' ? identity : null;
      },
    },
    identityForTemplate: (identity) => toIdentityJson(identity, { schemaUrl: deps.schemaUrl, admin: false, credentials: false }) as unknown as Record<string, unknown>,
    hmac: { recovery: new SecretHmac(codeSecret, 'idflow-recovery-code'), verification: new SecretHmac(codeSecret, 'idflow-verification-code') },
  });
  const issuers = { code: createChallengeIssuer(challengeDeps('code')), link: createChallengeIssuer(challengeDeps('link')) };
  // Recovery and verification each offer the method they `use`; one object serves both when they agree. The code
  // method also signs in and up when `passwordless_enabled` or `mfa_enabled` is on (one method, one `method=code`).
  const used = new Set([selfservice.flows.recovery.use ?? 'code', selfservice.flows.verification.use ?? 'code']);
  const code = selfservice.methods.code;
  const signIn = code.passwordless_enabled === true || code.mfa_enabled === true
    ? createSignInCode({
      settings: {
        lifespanMs: lifespanOf('code'), maxSubmissions: code.config?.max_submissions ?? 5, passwordless: code.passwordless_enabled === true,
        mfa: code.mfa_enabled === true, mitigate: config.security.account_enumeration.mitigate !== false,
      },
      codes: store.codes,
      schemas: deps.schemas,
      identities: {
        get: (id) => store.identities.get(id),
        findByCodeIdentifier: (identifier) => store.identities.findByCredentialIdentifier('code', identifier),
        buildNew: (input, prepared) => identities.buildNew(input, prepared),
        hasConflicts,
        duplicateHints: selfservice.flows.registration.login_hints === true
          ? (record) => identities.duplicateAccountHints(record, { codeLogin: code.passwordless_enabled === true })
          : undefined,
      },
      identityForTemplate: (identity) => toIdentityJson(identity, { schemaUrl: deps.schemaUrl, admin: false, credentials: false }) as unknown as Record<string, unknown>,
      hmac: { login: new SecretHmac(codeSecret, 'idflow-login-code'), registration: new SecretHmac(codeSecret, 'idflow-registration-code') },
    })
    : {};
  if ((signIn.login || signIn.registration) && !config.courier.channels?.some((c) => c.id === 'sms') && deps.schemas.all().some((schema) => codeViaSms(schema.raw))) {
    deps.logger.warn('an identity schema sends one-time codes by SMS (code.via: sms) but courier.channels has no sms channel: those codes cannot be delivered', {});
  }
  for (const kind of ['code', 'link'] as const) {
    if (!used.has(kind) && !(kind === 'code' && (signIn.login || signIn.registration))) continue;
    const method = createChallengeMethod(kind, challengeDeps(kind), issuers[kind]);
    all.push({
      ...method,
      ...(kind === 'code' ? signIn : {}),
      recovery: (selfservice.flows.recovery.use ?? 'code') === kind ? method.recovery : undefined,
      verification: (selfservice.flows.verification.use ?? 'code') === kind ? method.verification : undefined,
    });
  }
  const issuer = {
    issue: (input: Parameters<typeof issuers.code.issue>[0]) => issuers[input.kind].issue(input),
    secretUrl: (...args: Parameters<typeof issuers.code.secretUrl>) => issuers[args[1]].secretUrl(...args),
  };
  return { all, issuer };
}

type OidcModule = typeof import('./methods/oidc/oidc.method.ts');

/**
 * The `oidc` method: providers resolved and their mappers loaded at start (a bad one stops the start, naming the key);
 * the state sealed with secrets.cipher; upstream tokens sealed per identity like other credential secrets.
 */
function buildOidcMethod(config: Config, deps: {
  store: Store; schemas: IdentitySchemaRegistry; identities: IdentityService; urls: Urls; credentialCipher: CredentialCipher;
  oidcVendors?: Partial<VendorUrls>;
}, { createOidcMethod, CALLBACK_PATH }: OidcModule): Method {
  const methodConfig = config.selfservice.methods.oidc.config as { base_redirect_uri?: string } | undefined;
  const providers = resolveProviders(config.selfservice.methods.oidc.config, { ...VENDOR_URLS, ...deps.oidcVendors });
  const mappers = new Map<string, string>();
  providers.forEach((p, i) => {
    const loaded = loadJsonnetSource(p.mapperUrl, process.cwd());
    if ('problem' in loaded) throw new OidcConfigError(`selfservice.methods.oidc.config.providers[${i}].mapper_url: ${loaded.problem}`);
    mappers.set(p.id, loaded.source);
  });
  const cipherSecrets = config.secrets.cipher ?? [];
  if (cipherSecrets.length === 0) throw new OidcConfigError('selfservice.methods.oidc: set secrets.cipher (the state parameter and upstream tokens are sealed with it)');
  const sealer = new Sealer(cipherSecrets, 'idflow-oidc-state');
  const { store } = deps;
  return createOidcMethod({
    providers,
    // Read per request: the public URL is final only once the server is bound (port 0 in tests).
    redirectUri: (p: ResolvedProvider) => {
      const base = methodConfig?.base_redirect_uri ?? deps.urls.public;
      const path = p.pkce === 'force' ? CALLBACK_PATH : `${CALLBACK_PATH}/${p.id}`;
      return new URL(path.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`).toString();
    },
    state: {
      seal: (payload: StatePayload) => sealer.seal('oidc-state', payload),
      open: (value: string) => sealer.open<StatePayload>('oidc-state', value),
    },
    sealToken: (identityId, purpose, value) => deps.credentialCipher.seal(identityId, purpose, value),
    mapClaims: (p, claims) => evaluateJsonnet(mappers.get(p.id)!, `${p.id}.mapper.jsonnet`, {
      ext: { claims, identity: { traits: {}, metadata_public: {}, metadata_admin: {} } },
    }),
    schemas: deps.schemas,
    firstFactorCount,
    registrationEnabled: () => config.selfservice.flows.registration.enabled !== false,
    identities: {
      findByCredentialIdentifier: (type, identifier) => store.identities.findByCredentialIdentifier(type, identifier),
      buildNew: (input, prepared, id) => deps.identities.buildNew(input, prepared, id),
      async conflictingIdentity(record) {
        const identifiers = record.credentials.flatMap((c) => c.identifiers.map((identifier) => ({ type: c.type, identifier })));
        const owners = [
          ...await store.identities.identifierOwners(identifiers, record.id),
          ...await store.identities.addressOwners([...record.verifiableAddresses, ...record.recoveryAddresses], record.id),
        ];
        return owners.length > 0 ? store.identities.get(owners[0]) : null;
      },
    },
  });
}
