/**
 * Kratos's `web_hook` hooks. After-hooks: once a flow succeeded (its changes are committed), each configured hook sends
 * one HTTP request built from the flow's context. The request runs in the incoming request's trace context, so the
 * instrumented HTTP client carries `traceparent` to the receiver. `clients.http.disallow_private_ip_ranges` is
 * enforced on the address connected to (src/x/outbound-guard.ts).
 *
 * - Body: the hook's jsonnet template (`file://` or `base64://`) called with `ctx` as a top-level argument, as
 *   Kratos does (`function(ctx) { ... }`); `ctx` = {flow, identity, session?, request_headers (allow-listed),
 *   request_method, request_url, request_cookies}. Without a template the request has no body.
 * - `response.ignore: true`: sent in the background; failures are logged, the flow is not affected.
 *   Otherwise the answer is awaited: a status >= 400 or no answer fails the request with Kratos's 502 (504 on
 *   timeout). The flow's changes stay committed, as they do in Kratos for hooks that run after persisting.
 * - `before` hooks run when a flow is created, before it is stored: ctx without identity; a failure means no flow.
 * - Not supported yet, refused at start-up rather than silently skipped: `response.parse` / `can_interrupt`
 *   (hooks that modify or veto a flow before it is saved) and templates fetched over HTTP.
 */
import type { Config, HookConfig } from '../../config/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { KratosError } from '../errors/kratos-error.ts';
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
  redactor: Redactor;
}


export interface WebHooksOptions {
  logger: Logger;
  metrics?: Pick<Metrics, 'webHookRequests'>;
  /** Per request (Kratos: about 30 s). */
  timeoutMs?: number;
  /** Where `file://./relative` templates are resolved (the working directory by default). */
  baseDir?: string;
}

export class WebHooks {
  readonly #after = new Map<string, PreparedHook[]>();
  readonly #before = new Map<HookFlow, PreparedHook[]>();
  readonly #logger: Logger;
  readonly #metrics: WebHooksOptions['metrics'];
  readonly #timeoutMs: number;
  readonly #guard: OutboundGuard;
  /** `clients.web_hook.header_allowlist`: the request headers a template may read. */
  readonly headerAllowlist: readonly string[];

  /** Validates every configured web hook and loads its template; throws WebHookConfigError on what idflow can't honour. */
  constructor(config: Config, options: WebHooksOptions) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#guard = createOutboundGuard(config.clients.http);
    this.headerAllowlist = config.clients.web_hook.header_allowlist;
    const baseDir = options.baseDir ?? process.cwd();
    const webHooksIn = (hooks: HookConfig[] | undefined, where: string) => (hooks ?? []).flatMap((hook, index) =>
      (hook.hook === 'web_hook' ? [prepare(hook.config as unknown as WebHookConfig, `${where}[${index}]`, baseDir)] : []));
    for (const flow of HOOK_FLOWS) {
      const block = config.selfservice.flows[flow] as { before?: { hooks?: HookConfig[] }; after?: Record<string, unknown> } | undefined;
      this.#before.set(flow, webHooksIn(block?.before?.hooks, `selfservice.flows.${flow}.before.hooks`));
      const after = block?.after ?? {};
      this.#after.set(`${flow}:*`, webHooksIn((after as { hooks?: HookConfig[] }).hooks, `selfservice.flows.${flow}.after.hooks`));
      for (const [method, value] of Object.entries(after)) {
        // A method's own list, even one without web hooks, replaces the flow's list for that method.
        if (method !== 'hooks' && value && typeof value === 'object' && (value as { hooks?: unknown }).hooks !== undefined) {
          this.#after.set(`${flow}:${method}`, webHooksIn((value as { hooks?: HookConfig[] }).hooks, `selfservice.flows.${flow}.after.${method}.hooks`));
        }
      }
    }
  }

  /** The web hooks to run after `flow` succeeded with `method` (a method's list replaces the flow's, as in Kratos). */
  #hooksFor(flow: HookFlow, method: string | undefined): PreparedHook[] {
    return (method !== undefined ? this.#after.get(`${flow}:${method}`) : undefined) ?? this.#after.get(`${flow}:*`) ?? [];
  }

  has(flow: HookFlow, method: string | undefined): boolean {
    return this.#hooksFor(flow, method).length > 0;
  }

  hasBefore(flow: HookFlow): boolean {
    return (this.#before.get(flow)?.length ?? 0) > 0;
  }

  /** Runs the flow's after web hooks in order; a failing blocking hook throws Kratos's 502/504 error. */
  runAfter(flow: HookFlow, method: string | undefined, ctx: WebHookContext): Promise<void> {
    return this.#run(this.#hooksFor(flow, method), flow, ctx);
  }

  /** Runs the web hooks of a new flow before it is stored (ctx without identity); a failure means no flow. */
  runBefore(flow: HookFlow, ctx: WebHookContext): Promise<void> {
    return this.#run(this.#before.get(flow) ?? [], flow, ctx);
  }

  async #run(hooks: PreparedHook[], flow: HookFlow, ctx: WebHookContext): Promise<void> {
    for (const hook of hooks) {
      if (hook.ignore) {
        void this.#call(hook, flow, ctx).catch((err: unknown) => {
          this.#logger.warn('web hook failed (response ignored)', { hook: hook.name, flow, reason: hook.redactor.redact((err as Error).message) });
        });
        continue;
      }
      try {
        await this.#call(hook, flow, ctx);
      } catch (err) {
        const reason = hook.redactor.redact((err as Error).message);
        this.#logger.warn('web hook failed', { hook: hook.name, flow, reason });
        const timedOut = (err as Error).name === 'TimeoutError';
        throw new KratosError(timedOut ? 504 : 502, undefined, {
          reason: timedOut ? 'A web hook did not answer in time.' : 'A web hook failed.',
        });
      }
    }
  }

  async #call(hook: PreparedHook, flow: HookFlow, ctx: WebHookContext): Promise<void> {
    let result = 'ok';
    try {
      let body: string | undefined;
      if (hook.template !== undefined && !['GET', 'HEAD', 'DELETE'].includes(hook.method)) {
        result = 'template';
        body = await this.#render(hook, ctx);
      }
      result = 'failed';
      const { status } = await this.#send(hook, body);
      if (status >= 400) throw new Error(`answered HTTP ${status}`);
      result = 'ok';
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError') result = 'timeout';
      else if (name === 'PrivateAddressError') result = 'refused';
      throw err;
    } finally {
      this.#metrics?.webHookRequests.inc({ flow, result });
    }
  }

  #send(hook: PreparedHook, body: string | undefined) {
    const headers = body !== undefined ? { ...hook.headers, 'content-type': 'application/json' } : hook.headers;
    return sendRequest(hook.url, { method: hook.method, headers, body, timeoutMs: this.#timeoutMs, guard: this.#guard })
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

function prepare(config: WebHookConfig | undefined, where: string, baseDir: string): PreparedHook {
  if (!config?.url || !config.method) throw new WebHookConfigError(`${where}: a web_hook needs config.url and config.method`);
  if (config.response?.parse || config.can_interrupt) {
    throw new WebHookConfigError(`${where}: response.parse / can_interrupt (hooks that change or stop a flow before it is saved) are not supported by idflow yet`);
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
