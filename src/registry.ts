import type { Config } from '../config/types.ts';
import type { Logger } from '../observability/logger.ts';
import { openOrm, type Orm } from './persistence/orm.ts';
import { assertMigrated, migrateUp } from './persistence/migrate.ts';
import { parseDsn, redactDsn } from './persistence/dsn.ts';
import { createPasswordHasher, type PasswordHasher } from './hash/index.ts';
import { loadIdentitySchemas, type IdentitySchemaRegistry } from './identity/schema/index.ts';
import { IdentityService } from './identity/identity-service.ts';
import { PageTokenSealer } from './x/page-token.ts';
import { csrfCookieName } from './x/csrf-token.ts';
import { createReturnToValidator, type ReturnToValidator } from './x/return-to.ts';
import { SessionService } from './session/index.ts';
import { FlowRuntime } from './flows/flow-runtime.ts';
import { FLOW_MACHINES, type MachineFlowKind } from './flows/flow-machines.ts';
import type { FlowJsonDeps } from './flows/flow-json.ts';
import type { Method } from './methods/method.ts';
import { createPasswordMethod } from './methods/password/password.method.ts';
import { createPasswordPolicy } from './methods/password/policy.ts';
import { createProfileMethod } from './methods/profile/profile.method.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { toIdentityJson } from './identity/identity-json.ts';
import { Courier } from './courier/courier.ts';
import { createChallengeMethod, type ChallengeMethod } from './methods/code/code-challenge.method.ts';
import type { ChallengeFlowKind } from './flows/flow-machines.ts';
import { SecretHmac } from './x/hmac.ts';
import { parseDuration } from './x/duration.ts';
import { uiText } from './ui/messages.ts';
import { createFlowInspector } from '../observability/flow-inspector.ts';
import { createStatelyInspector } from '../observability/stately-inspector.ts';
import { instrumentHasher } from '../observability/hasher-metrics.ts';
import { WebHooks } from './hooks/web-hooks.ts';

/** A recovery/verification flow created with its secret already issued (out of band). */
export interface IssuedFlowInput {
  purpose: ChallengeFlowKind;
  flowType: 'api' | 'browser';
  address: string;
  csrfToken?: string;
  returnTo?: string;
  expiresAt?: Date;
}

export interface Urls {
  public: string;
  admin: string;
}

/** The composition root: every service is built here once and handed out as narrow slices. */
export interface Registry {
  config: Config;
  logger: Logger;
  orm: Orm;
  hasher: PasswordHasher;
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  pageTokens: PageTokenSealer;
  sessions: SessionService;
  flows: FlowRuntime;
  flowJson: FlowJsonDeps;
  metrics: Metrics;
  returnTo: ReturnToValidator;
  /** Message queue: `enqueue` inside a unit of work; the sender runs inside `serve` (started by startServer). */
  courier: Courier;
  /** `web_hook` after-hooks of the self-service flows. */
  webHooks: WebHooks;
  /** Enabled methods that can handle a submit of this flow kind. */
  methodsFor(kind: MachineFlowKind): Method[];
  /** The recovery / verification method in use (`selfservice.flows.<flow>.use`). */
  challengeMethod(kind: ChallengeFlowKind): ChallengeMethod;
  /** Creates a recovery/verification flow already in `sent_email` (persist only); returns its id. */
  startIssuedFlow(em: import('@mikro-orm/core').EntityManager, input: IssuedFlowInput): Promise<string>;
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

/** Sets the base URLs (known only after binding when ports are ephemeral) and what derives from them. */
export async function applyBaseUrls(registry: Registry, urls: Urls): Promise<void> {
  registry.urls.public = urls.public;
  registry.urls.admin = urls.admin;
  registry.csrfCookieName = await csrfCookieName(urls.public);
  registry.returnTo = returnToValidator(registry.config, urls.public);
}

export async function createRegistry(config: Config, options: RegistryOptions): Promise<Registry> {
  const { logger } = options;
  const dsn = parseDsn(config.dsn);
  const schemas = await loadIdentitySchemas(config.identity.schemas, config.identity.default_schema_id);
  const metrics = createMetrics({ defaultMetrics: true });
  const webHooks = new WebHooks(config, { logger, metrics });
  const orm = await openOrm(dsn);
  try {
    if (options.migrations === 'auto' || (dsn.dialect === 'sqlite' && dsn.memory)) {
      const applied = await migrateUp(orm);
      if (applied.length > 0) logger.info('applied database migrations', { migrations: applied });
    } else {
      await assertMigrated(orm, redactDsn(config.dsn));
    }
  } catch (err) {
    await orm.close(true);
    throw err;
  }
  const hasher = instrumentHasher(createPasswordHasher(config.hashers), metrics);
  const secrets = config.secrets.pagination ?? config.secrets.default ?? config.secrets.cookie ?? [];
  const urls: Urls = {
    public: configuredBaseUrl(config, 'public') ?? defaultBaseUrl(config, 'public', config.serve.public.port),
    admin: configuredBaseUrl(config, 'admin') ?? defaultBaseUrl(config, 'admin', config.serve.admin.port),
  };
  let courier: Courier;
  try {
    courier = new Courier(config.courier, { orm, dialect: dsn.dialect, logger, metrics, clientsHttp: config.clients.http });
  } catch (err) {
    await orm.close(true);
    throw err;
  }
  const identities = new IdentityService({ schemas, hasher });
  const schemaUrl = (schemaId: string) => schemas.schemaUrl(urls.public, schemaId);
  const sessions = new SessionService({ orm, config, schemaUrl });
  const passwordConfig = config.selfservice.methods.password.config!;
  const policy = createPasswordPolicy(passwordConfig, {
    maxLengthBytes: config.hashers.algorithm === 'bcrypt' ? 72 : undefined,
    onHibpError: (err, { failOpen }) => logger.warn('breached-password check failed', { reason: err.message, fail_open: failOpen }),
  });
  const methods = config.selfservice.methods;
  const password = methods.password.enabled
    ? createPasswordMethod({
      config, hasher, policy, schemas, identities,
      revokeOtherSessions: async (em, identityId, exceptSessionId) => {
        await sessions.revokeAllForIdentity(em, identityId, { exceptSessionId });
      },
    })
    : undefined;
  const profile = createProfileMethod({ schemas, identities });
  const enabled = (list: Array<Method | undefined>) => list.filter((m): m is Method => m !== undefined);
  const methodsFor = (kind: MachineFlowKind): Method[] => {
    if (kind === 'login') return enabled([password]);
    if (kind === 'registration') return enabled([profile, password]);
    return enabled([methods.profile.enabled ? profile : undefined, password]);
  };
  const stately = options.inspectUrl ? createStatelyInspector(options.inspectUrl) : undefined;
  if (stately) logger.warn('streaming flow machines to the Stately inspector (development only)', { url: options.inspectUrl });
  const flows = new FlowRuntime(orm, FLOW_MACHINES, stately ? [stately.inspect] : []);
  const codeSecret = (config.secrets.default ?? config.secrets.cookie ?? [])[0] ?? crypto.randomUUID();
  const startSettingsFlow = async (em: import('@mikro-orm/core').EntityManager, identityId: string, flowType: 'api' | 'browser', csrfToken?: string) => {
    const now = new Date();
    const id = crypto.randomUUID();
    const privilegedUntil = new Date(now.getTime() + parseDuration(config.selfservice.flows.settings.privileged_session_max_age));
    const recovered = uiText(1060001, { privileged_session_expires_at: privilegedUntil.toISOString(), privileged_session_expires_at_unix: Math.floor(privilegedUntil.getTime() / 1000) });
    await flows.create(em, {
      id, kind: 'settings', type: flowType, requestUrl: new URL(`self-service/settings/${flowType}`, urls.public).toString(),
      csrfToken, identityId, issuedAt: now, expiresAt: new Date(now.getTime() + parseDuration(config.selfservice.flows.settings.lifespan)),
    }, { flowId: id, flowType, identityId, messages: [{ id: recovered.id, text: recovered.text, type: 'success', context: recovered.context }] },
    { inspect: createFlowInspector(metrics, 'settings', { flowId: id, flowType }) }, { flush: false });
    metrics.flowsStarted.inc({ flow: 'settings', type: flowType });
    return id;
  };
  const startIssuedFlow = async (em: import('@mikro-orm/core').EntityManager, input: IssuedFlowInput) => {
    const now = new Date();
    const id = crypto.randomUUID();
    await flows.create(em, {
      id, kind: input.purpose, type: input.flowType, requestUrl: new URL(`self-service/${input.purpose}/${input.flowType}`, urls.public).toString(),
      csrfToken: input.csrfToken, returnTo: input.returnTo, issuedAt: now,
      expiresAt: input.expiresAt ?? new Date(now.getTime() + parseDuration(config.selfservice.flows[input.purpose].lifespan)),
    }, { flowId: id, flowType: input.flowType }, { inspect: createFlowInspector(metrics, input.purpose, { flowId: id, flowType: input.flowType }) }, {
      flush: false,
      events: [{ type: 'challenge.issued', values: { email: input.address } }],
    });
    metrics.flowsStarted.inc({ flow: input.purpose, type: input.flowType });
    return id;
  };
  const challengeMethods = Object.fromEntries((['recovery', 'verification'] as const).map((kind) => [kind, createChallengeMethod(kind, config.selfservice.flows[kind].use ?? 'code', {
    config, courier, sessions, startSettingsFlow, startIssuedFlow,
    hmac: new SecretHmac(codeSecret, `idflow-${kind}-code`),
    publicBaseUrl: () => urls.public,
  })])) as Record<ChallengeFlowKind, ChallengeMethod>;
  const registrationStyle = config.selfservice.flows.registration.style ?? 'profile_first';
  const flowJson: FlowJsonDeps = {
    publicBaseUrl: () => urls.public,
    challengeNodes: (kind, state, context, continueUrl) => challengeMethods[kind].nodes({ state, values: context.values, fieldMessages: context.fieldMessages, continueUrl }),
    identityJson: (record) => toIdentityJson(record, { schemaUrl, admin: false, credentials: false }),
    methodsFor: (kind, context) => {
      if (kind !== 'registration') return methodsFor(kind as MachineFlowKind);
      if (registrationStyle === 'unified') {
        const traitsOnly: Method = { id: 'profile', registration: { nodes: (ctx) => profile.registration!.nodes({ ...ctx, screen: 'unified' }), submit: profile.registration!.submit } };
        return enabled([traitsOnly, password]);
      }
      // After a password submit the password field stays visible so its messages can be shown.
      return context.screen === 'credential-selection' || context.active === 'password' ? enabled([profile, password]) : [profile];
    },
  };
  const registry: Registry = {
    config,
    logger,
    orm,
    hasher,
    schemas,
    identities,
    pageTokens: new PageTokenSealer(secrets),
    sessions,
    flows,
    flowJson,
    metrics,
    returnTo: returnToValidator(config, urls.public),
    courier,
    webHooks,
    methodsFor,
    challengeMethod: (kind) => challengeMethods[kind],
    startIssuedFlow,
    csrfCookieName: await csrfCookieName(urls.public),
    urls,
    schemaUrl,
    async close() {
      stately?.stop();
      await courier.stop();
      await hasher.close();
      sessions.close();
      await orm.close(true);
    },
  };
  return registry;
}
