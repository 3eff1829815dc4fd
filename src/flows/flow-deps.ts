/** What the flow service is built from, and the options of its calls. */
import type { Config } from '../../config/types.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Courier } from '../courier/courier.ts';
import type { WebHooks } from '../hooks/web-hooks.ts';
import type { IdentityService } from '../identity/identity-service.ts';
import type { IdentitySchemaRegistry } from '../identity/schema/index.ts';
import type { ChallengeIssuer } from '../methods/code/challenge.method.ts';
import type { Method } from '../methods/method.ts';
import type { AbuseGuard } from '../ratelimit/abuse-guard.ts';
import type { Store } from '../persistence/store.ts';
import type { SessionService } from '../session/session-service.ts';
import type { Clock } from '../x/clock.ts';
import type { ReturnToValidator } from '../x/return-to.ts';
import type { InternalSealer } from './flow-internal.ts';
import type { FlowRuntime } from './flow-runtime.ts';
import type { FlowUrls } from './flow-urls.ts';

export interface FlowServiceDeps {
  config: Config;
  store: Store;
  clock: Clock;
  runtime: FlowRuntime;
  /** Enabled methods in display order (recovery/verification: the configured `use` method). */
  methods: Method[];
  challengeIssuer: ChallengeIssuer;
  sessions: SessionService;
  identities: IdentityService;
  courier: Pick<Courier, 'enqueue'>;
  webHooks: WebHooks;
  schemas: IdentitySchemaRegistry;
  metrics: Metrics;
  urls: FlowUrls;
  returnTo: () => ReturnToValidator;
  internal: InternalSealer;
  schemaUrl: (schemaId: string) => string;
  /** Credential kinds that count as second factors in this configuration (see session/aal.ts). */
  secondFactors: ReadonlySet<string>;
  /** Rate limits and the per-identifier lockout, asked before a method runs. */
  guard: Pick<AbuseGuard, 'begin'>;
}

export interface CreateOptions {
  returnTo?: string;
  /** API login and registration: Kratos's `return_session_token_exchange_code=true` (a native app signs in in a browser). */
  returnSessionTokenExchangeCode?: boolean;
  refresh?: boolean;
  aal?: string;
}

export interface SubmitInput {
  /** The body as parsed (JSON object, or the form/query as key → value(s)). */
  body: Record<string, unknown>;
  source: 'json' | 'form' | 'query';
  /** A link from a mail or an API answer opened with GET (recovery/verification/settings resume). */
  viaLink?: boolean;
  /**
   * A submission a method's own route made (an OIDC callback): the payload is the method's, already typed; the method
   * binds it to the browser itself (e.g. a state parameter), so no CSRF token is asked for.
   */
  callback?: boolean;
}
