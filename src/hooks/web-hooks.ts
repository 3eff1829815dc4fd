/**
 * Kratos's `web_hook` hooks. Each configured hook sends one HTTP request built from the flow's context. The request
 * runs in the incoming request's trace context, so the instrumented HTTP client carries `traceparent` to the receiver.
 * `clients.http.disallow_private_ip_ranges` is enforced on the address connected to (src/x/outbound-guard.ts).
 *
 * - Body: the hook's jsonnet template (`file://` or `base64://`) called with `ctx` as a top-level argument, as
 *   Kratos does (`function(ctx) { ... }`); `ctx` = {flow, identity, session?, request_headers (allow-listed),
 *   request_method, request_url, request_cookies}. Without a template the request has no body.
 * - When (Kratos selfservice/hook/web_hook.go and the flows' hook executors):
 *   - login: every after-hook runs before the session is saved — a failing one leaves no session;
 *   - registration and settings: hooks with `response.parse` or `can_interrupt` run before the identity is saved
 *     (pre-persist), the others after it was saved (post-persist);
 *   - recovery and verification after-hooks run once the flow's changes are saved;
 *   - `before` hooks run when a flow is created, before it is stored: ctx without identity; a failure means no flow.
 * - Answers: a status >= 400 or no answer fails the request with Kratos's 502 (504 on timeout). With `can_interrupt`
 *   or `response.parse`, a 4xx/5xx answer in Kratos's shape (`{"messages":[{"instance_ptr","messages":[...]}]}`)
 *   interrupts the flow instead: its messages are shown on the nodes the pointers name, nothing is saved. With
 *   `response.parse`, a 200 answer's `identity` (traits, metadata_public, metadata_admin, state, external_id)
 *   replaces those of the identity about to be saved (the caller validates it against the schema); 204 changes nothing.
 * - `response.ignore: true`: sent in the background, retried with the courier's back-off (`clients.web_hook.retry`,
 *   bounded attempts); failures are logged (secrets redacted), the flow is not affected.
 * - Refused at start-up rather than skipped: `ignore` together with `parse`/`can_interrupt` (Kratos refuses it too),
 *   `parse`/`can_interrupt` where idflow has no step to apply them (before-hooks, recovery and verification), and
 *   templates fetched over HTTP.
 */
import type { Config, HookConfig } from '../../config/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { KratosError } from '../errors/kratos-error.ts';
import { backoffDelay, type RetryPolicy } from '../courier/backoff.ts';
import { parseDuration } from '../x/duration.ts';
import { Redactor } from '../courier/redact.ts';
import { outboundSecrets, requestAuth, type RequestAuthConfig } from '../x/request-auth.ts';
import { createOutboundGuard, type OutboundGuard } from '../x/outbound-guard.ts';
import { sendRequest } from '../x/outbound-request.ts';
import { evaluateJsonnet, loadJsonnetSource } from './jsonnet.ts';

export type HookFlow = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';
const HOOK_FLOWS: HookFlow[] = ['login', 'registration', 'settings', 'recovery', 'verification'];

export interface WebHookConfig {
  id?: string;
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  auth?: RequestAuthConfig;
  response?: { ignore?: boolean; parse?: boolean };
  can_interrupt?: boolean;
  emit_analytics_event?: boolean;
}

export class WebHookConfigError extends Error {}

/** What a hook's template sees as `ctx` (Kratos's names). */
export interface WebHookContext {
  flow: unknown;
  identity?: unknown;
  session?: unknown;
  request_headers: Record<string, string[]>;
  request_method: string;
  request_url: string;
  request_cookies: Record<string, string>;
}

/** The incoming request, as much of it as a hook may see. */
export interface IncomingRequestInfo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The request part of ctx. Only the headers of `clients.web_hook.header_allowlist` (Kratos's list by default, in
 * canonical form; never Authorization, Cookie or X-Session-Token unless an operator lists them) are forwarded.
 */
export function requestContext(request: IncomingRequestInfo, headerAllowlist: readonly string[]): Pick<WebHookContext, 'request_headers' | 'request_method' | 'request_url' | 'request_cookies'> {
  const headers: Record<string, string[]> = {};
  for (const name of headerAllowlist) {
    const value = request.headers[name.toLowerCase()];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value : [value];
  }
  const cookies: Record<string, string> = {};
  const cookieHeader = request.headers.cookie;
  for (const part of (Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return { request_headers: headers, request_method: request.method, request_url: request.url, request_cookies: cookies };
}

interface PreparedHook {
  name: string;
  url: URL;
  method: string;
  headers: Record<string, string>;
  template?: string;
  ignore: boolean;
  /** `can_interrupt`: an answer in Kratos's message shape stops the flow. */
  interrupt: boolean;
  /** `response.parse`: a 200 answer's identity is applied before saving (an error answer interrupts, as above). */
  parse: boolean;
  redactor: Redactor;
}

/** One message of an interrupting answer (Kratos's `detailedMessage`). */
export interface HookMessage {
  id: number;
  text: string;
  type: 'error' | 'info';
  context?: Record<string, unknown>;
}

/** An interrupting answer's messages for one JSON pointer (`#/traits/email`; `#/` or empty: the whole form). */
export interface HookMessageGroup {
  instancePtr: string;
  messages: HookMessage[];
}

/** What a parsing hook changes in the identity about to be saved (only the fields it answered). */
export interface IdentityPatch {
  traits?: Record<string, unknown>;
  metadata_public?: Record<string, unknown>;
  metadata_admin?: Record<string, unknown>;
  state?: 'active' | 'inactive';
  external_id?: string | null;
}

/** The result of the hooks that run before a flow's changes are saved. */
export type PrePersistVerdict =
  | { kind: 'passed'; identity?: IdentityPatch }
  | { kind: 'interrupted'; messages: HookMessageGroup[] };

class HookInterrupt extends Error {
  readonly messages: HookMessageGroup[];

  constructor(messages: HookMessageGroup[]) {
    super('the web hook interrupted the flow');
    this.messages = messages;
  }
}


export interface WebHooksOptions {
  logger: Logger;
  metrics?: Pick<Metrics, 'webHookRequests'>;
  /** Per request (Kratos: about 30 s). */
  timeoutMs?: number;
  /** Where `file://./relative` templates are resolved (the working directory by default). */
  baseDir?: string;
  /** Waits between background retries (tests); setTimeout by default. */
  schedule?: (run: () => void, ms: number) => void;
}

/** Retries of `response.ignore` hooks: at most `attempts` sends, waiting as the courier does between them. */
export interface IgnoredHookRetry {
  attempts: number;
  policy: RetryPolicy;
}

export function ignoredHookRetry(config: Config): IgnoredHookRetry {
  const retry = config.clients.web_hook.retry ?? { attempts: 5, initial_backoff: '1s', max_backoff: '1m' };
  return {
    attempts: Math.max(1, retry.attempts),
    policy: { initialMs: parseDuration(retry.initial_backoff), maxMs: parseDuration(retry.max_backoff), retries: retry.attempts - 1, minAgeMs: 0 },
  };
}

export class WebHooks {
  readonly #after = new Map<string, PreparedHook[]>();
  readonly #before = new Map<HookFlow, PreparedHook[]>();
  readonly #logger: Logger;
  readonly #metrics: WebHooksOptions['metrics'];
  readonly #timeoutMs: number;
  readonly #guard: OutboundGuard;
  readonly #retry: IgnoredHookRetry;
  readonly #schedule: (run: () => void, ms: number) => void;
  /** Background sends still running or waiting for a retry (see idle()). */
  readonly #background = new Set<Promise<void>>();
  /** `clients.web_hook.header_allowlist`: the request headers a template may read. */
  readonly headerAllowlist: readonly string[];

  /** Validates every configured web hook and loads its template; throws WebHookConfigError on what idflow can't honour. */
  constructor(config: Config, options: WebHooksOptions) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#guard = createOutboundGuard(config.clients.http);
    this.#retry = ignoredHookRetry(config);
    this.#schedule = options.schedule ?? ((run, ms) => void setTimeout(run, ms).unref());
    this.headerAllowlist = config.clients.web_hook.header_allowlist;
    const baseDir = options.baseDir ?? process.cwd();
    const webHooksIn = (hooks: HookConfig[] | undefined, where: string, changesFlow: boolean) => (hooks ?? []).flatMap((hook, index) =>
      (hook.hook === 'web_hook' ? [prepare(hook.config as unknown as WebHookConfig, `${where}[${index}]`, baseDir, changesFlow)] : []));
    for (const flow of HOOK_FLOWS) {
      const block = config.selfservice.flows[flow] as { before?: { hooks?: HookConfig[] }; after?: Record<string, unknown> } | undefined;
      this.#before.set(flow, webHooksIn(block?.before?.hooks, `selfservice.flows.${flow}.before.hooks`, false));
      const after = block?.after ?? {};
      // Only login, registration and settings have a step where a hook may stop or change the flow before saving.
      const changesFlow = flow === 'login' || flow === 'registration' || flow === 'settings';
      this.#after.set(`${flow}:*`, webHooksIn((after as { hooks?: HookConfig[] }).hooks, `selfservice.flows.${flow}.after.hooks`, changesFlow));
      for (const [method, value] of Object.entries(after)) {
        // A method's own list, even one without web hooks, replaces the flow's list for that method.
        if (method !== 'hooks' && value && typeof value === 'object' && (value as { hooks?: unknown }).hooks !== undefined) {
          this.#after.set(`${flow}:${method}`, webHooksIn((value as { hooks?: HookConfig[] }).hooks, `selfservice.flows.${flow}.after.${method}.hooks`, changesFlow));
        }
      }
    }
  }

  /** The web hooks to run after `flow` succeeded with `method` (a method's list replaces the flow's, as in Kratos). */
  #hooksFor(flow: HookFlow, method: string | undefined): PreparedHook[] {
    return (method !== undefined ? this.#after.get(`${flow}:${method}`) : undefined) ?? this.#after.get(`${flow}:*`) ?? [];
  }

  /** Hooks that run before the flow's changes are saved: every login hook (Kratos saves the session after them), and parsing or interrupting ones elsewhere. */
  #prePersist(flow: HookFlow, method: string | undefined): PreparedHook[] {
    const hooks = this.#hooksFor(flow, method);
    return flow === 'login' ? hooks : hooks.filter((h) => h.parse || h.interrupt);
  }

  #postPersist(flow: HookFlow, method: string | undefined): PreparedHook[] {
    const hooks = this.#hooksFor(flow, method);
    return flow === 'login' ? [] : hooks.filter((h) => !h.parse && !h.interrupt);
  }

  /** Whether `flow` completed with `method` runs hooks before its changes are saved (the machines' pre-persist step). */
  hasPrePersist(flow: HookFlow, method: string | undefined): boolean {
    return this.#prePersist(flow, method).length > 0;
  }

  /** Whether hooks run once `flow` completed with `method` and its changes are saved. */
  has(flow: HookFlow, method: string | undefined): boolean {
    return this.#postPersist(flow, method).length > 0;
  }

  hasBefore(flow: HookFlow): boolean {
    return (this.#before.get(flow)?.length ?? 0) > 0;
  }

  /**
   * Runs the hooks of a completed flow that come before saving, in order. A hook answering in Kratos's message shape
   * (can_interrupt / parse) interrupts; a parsing hook's identity changes are merged and the next hook sees them;
   * any other failure throws Kratos's 502/504 error.
   */
  async runPrePersist(flow: HookFlow, method: string | undefined, ctx: WebHookContext): Promise<PrePersistVerdict> {
    let patch: IdentityPatch | undefined;
    let current = ctx;
    for (const hook of this.#prePersist(flow, method)) {
      try {
        const changed = await this.#runOne(hook, flow, current);
        if (changed) {
          patch = { ...patch, ...changed };
          current = { ...current, identity: { ...(current.identity as object), ...changed } };
        }
      } catch (err) {
        if (err instanceof HookInterrupt) return { kind: 'interrupted', messages: err.messages };
        throw err;
      }
    }
    return patch ? { kind: 'passed', identity: patch } : { kind: 'passed' };
  }

  /** Runs the hooks of a completed flow that come after saving, in order; a failing blocking hook throws Kratos's 502/504 error. */
  async runAfter(flow: HookFlow, method: string | undefined, ctx: WebHookContext): Promise<void> {
    for (const hook of this.#postPersist(flow, method)) await this.#runOne(hook, flow, ctx);
  }

  /** Runs the web hooks of a new flow before it is stored (ctx without identity); a failure means no flow. */
  async runBefore(flow: HookFlow, ctx: WebHookContext): Promise<void> {
    for (const hook of this.#before.get(flow) ?? []) await this.#runOne(hook, flow, ctx);
  }

  /** Resolves once no background hook is sending or waiting for a retry (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  async #runOne(hook: PreparedHook, flow: HookFlow, ctx: WebHookContext): Promise<IdentityPatch | undefined> {
    if (hook.ignore) {
      this.#inBackground(hook, flow, ctx);
      return undefined;
    }
    try {
      return await this.#call(hook, flow, ctx);
    } catch (err) {
      if (err instanceof HookInterrupt) throw err;
      const reason = hook.redactor.redact((err as Error).message);
      this.#logger.warn('web hook failed', { hook: hook.name, flow, reason });
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new KratosError(timedOut ? 504 : 502, undefined, {
        reason: timedOut ? 'A web hook did not answer in time.' : 'A web hook failed.',
      });
    }
  }

  /**
   * `response.ignore`: sent without waiting; a failure (no answer, >= 400) is retried after the courier's back-off,
   * up to `clients.web_hook.retry.attempts` sends in all. The body is rendered once: every attempt sends the same.
   */
  #inBackground(hook: PreparedHook, flow: HookFlow, ctx: WebHookContext): void {
    const done = new Promise<void>((resolve) => {
      const attempt = (n: number, body: Promise<string | undefined>) => {
        void this.#call(hook, flow, ctx, body).then(() => resolve(), (err: unknown) => {
          const reason = hook.redactor.redact((err as Error).message);
          if (n >= this.#retry.attempts || (err as Error).name === 'PrivateAddressError' || (err as Error).message.startsWith('the body template failed')) {
            this.#logger.warn('web hook failed (response ignored), giving up', { hook: hook.name, flow, attempts: n, reason });
            resolve();
            return;
          }
          const delay = backoffDelay(this.#retry.policy, n);
          this.#logger.warn('web hook failed (response ignored), retrying', { hook: hook.name, flow, attempt: n, retry_in_ms: delay, reason });
          this.#schedule(() => attempt(n + 1, body), delay);
        });
      };
      const body = this.#body(hook, ctx);
      body.catch(() => {});
      attempt(1, body);
    });
    this.#background.add(done);
    void done.finally(() => this.#background.delete(done));
  }

  #body(hook: PreparedHook, ctx: WebHookContext): Promise<string | undefined> {
    return hook.template !== undefined && !['GET', 'HEAD', 'DELETE'].includes(hook.method) ? this.#render(hook, ctx) : Promise.resolve(undefined);
  }

  async #call(hook: PreparedHook, flow: HookFlow, ctx: WebHookContext, rendered?: Promise<string | undefined>): Promise<IdentityPatch | undefined> {
    let result = 'ok';
    try {
      result = 'template';
      const body = await (rendered ?? this.#body(hook, ctx));
      result = 'failed';
      const reads = hook.parse || hook.interrupt;
      const { status, text } = await this.#send(hook, body, reads ? MAX_ANSWER_BYTES : 0);
      if (status >= 400) {
        if (reads) {
          const messages = interruptMessages(text);
          if (messages) {
            result = 'interrupted';
            throw new HookInterrupt(messages);
          }
        }
        throw new Error(`answered HTTP ${status}`);
      }
      const patch = hook.parse && status === 200 ? identityPatch(text) : undefined;
      result = 'ok';
      return patch;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError') result = 'timeout';
      else if (name === 'PrivateAddressError') result = 'refused';
      throw err;
    } finally {
      this.#metrics?.webHookRequests.inc({ flow, result });
    }
  }

  #send(hook: PreparedHook, body: string | undefined, maxBodyBytes: number) {
    const headers = body !== undefined ? { ...hook.headers, 'content-type': 'application/json' } : hook.headers;
    return sendRequest(hook.url, { method: hook.method, headers, body, timeoutMs: this.#timeoutMs, guard: this.#guard, maxBodyBytes })
      .catch((err: NodeJS.ErrnoException) => {
        throw err.name === 'TimeoutError' || err.name === 'PrivateAddressError' ? err : new Error(`request failed: ${err.code ?? err.message}`);
      });
  }

  async #render(hook: PreparedHook, ctx: WebHookContext): Promise<string> {
    try {
      return JSON.stringify(await evaluateJsonnet(hook.template!, `${hook.name}.jsonnet`, { tla: { ctx } }));
    } catch (err) {
      // The template's error may quote ctx values: evaluateJsonnet keeps only its first line's location.
      throw new Error(`the body template failed: ${(err as Error).message}`);
    }
  }
}

/** Kratos reads at most 5 MB of a hook's answer. */
const MAX_ANSWER_BYTES = 5 << 20;

/** Kratos's interrupt shape, or undefined when the answer is not one (then the hook simply failed). */
export function interruptMessages(text: string): HookMessageGroup[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const groups = (parsed as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(groups) || groups.length === 0) return undefined;
  const out: HookMessageGroup[] = [];
  for (const group of groups) {
    const g = group as { instance_ptr?: unknown; messages?: unknown };
    if (!g || typeof g !== 'object' || !Array.isArray(g.messages)) return undefined;
    const messages: HookMessage[] = [];
    for (const m of g.messages as Array<Record<string, unknown>>) {
      if (!m || typeof m !== 'object' || typeof m.id !== 'number' || !Number.isInteger(m.id) || typeof m.text !== 'string') return undefined;
      const context = m.context && typeof m.context === 'object' && !Array.isArray(m.context) ? m.context as Record<string, unknown> : undefined;
      // Kratos: type "error" is an error, anything else info.
      messages.push({ id: m.id, text: m.text, type: m.type === 'error' ? 'error' : 'info', ...(context ? { context } : {}) });
    }
    out.push({ instancePtr: typeof g.instance_ptr === 'string' ? g.instance_ptr : '', messages });
  }
  return out;
}

/** A parsing hook's 200 answer: `{"identity": {...}}`; fields it leaves out stay as they are. Malformed → the hook failed. */
export function identityPatch(text: string): IdentityPatch | undefined {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the answer is not JSON');
  }
  const identity = (parsed as { identity?: unknown } | null)?.identity;
  if (identity === undefined || identity === null) return undefined;
  if (typeof identity !== 'object' || Array.isArray(identity)) throw new Error('the answer\'s identity is not an object');
  const given = identity as Record<string, unknown>;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const patch: IdentityPatch = {};
  // Kratos replaces a field only when the answer has a non-empty one (external_id: whenever present).
  if (isObject(given.traits) && Object.keys(given.traits).length > 0) patch.traits = given.traits;
  if (isObject(given.metadata_public) && Object.keys(given.metadata_public).length > 0) patch.metadata_public = given.metadata_public;
  if (isObject(given.metadata_admin) && Object.keys(given.metadata_admin).length > 0) patch.metadata_admin = given.metadata_admin;
  if (given.state !== undefined && given.state !== '') {
    if (given.state !== 'active' && given.state !== 'inactive') throw new Error('the answer\'s identity.state is not active or inactive');
    patch.state = given.state;
  }
  if ('external_id' in given) {
    if (given.external_id !== null && typeof given.external_id !== 'string') throw new Error('the answer\'s identity.external_id is not a string');
    patch.external_id = given.external_id === '' ? null : given.external_id;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function prepare(config: WebHookConfig | undefined, where: string, baseDir: string, changesFlow: boolean): PreparedHook {
  if (!config?.url || !config.method) throw new WebHookConfigError(`${where}: a web_hook needs config.url and config.method`);
  const changing = config.response?.parse === true || config.can_interrupt === true;
  if (changing && config.response?.ignore) {
    throw new WebHookConfigError(`${where}: a web hook cannot ignore its response and also parse it (response.ignore with response.parse / can_interrupt), as in Kratos`);
  }
  if (changing && !changesFlow) {
    throw new WebHookConfigError(`${where}: response.parse / can_interrupt apply to the after-hooks of login, registration and settings only in idflow`);
  }
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new WebHookConfigError(`${where}: config.url is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebHookConfigError(`${where}: config.url must be http:// or https://`);
  let auth: ReturnType<typeof requestAuth>;
  try {
    auth = requestAuth(config.auth, `${where}.config.auth`);
  } catch (err) {
    throw new WebHookConfigError((err as Error).message);
  }
  return {
    name: config.id ?? where,
    url,
    method: config.method.toUpperCase(),
    headers: { ...(config.headers ?? {}), ...auth.headers },
    template: config.body ? loadTemplate(config.body, `${where}.config.body`, baseDir) : undefined,
    ignore: config.response?.ignore === true,
    interrupt: config.can_interrupt === true,
    parse: config.response?.parse === true,
    redactor: new Redactor(outboundSecrets(url, auth.secrets, config.headers)),
  };
}

function loadTemplate(uri: string, where: string, baseDir: string): string {
  const loaded = loadJsonnetSource(uri, baseDir);
  if ('problem' in loaded) {
    throw new WebHookConfigError(`${where}: ${loaded.problem.replace('Jsonnet source (sources', 'template (templates')}`);
  }
  return loaded.source;
}
