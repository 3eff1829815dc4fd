import type { Config } from '../../config/types.ts';
import type { FlowKind, FlowType } from '../persistence/store.ts';

/** The URLs a flow answer points at: UIs, self-service endpoints and after-flow destinations (Kratos's config keys). */
export class FlowUrls {
  readonly #config: Config;
  readonly #publicBase: () => string;

  constructor(config: Config, publicBase: () => string) {
    this.#config = config;
    this.#publicBase = publicBase;
  }

  get publicBase(): string {
    return this.#publicBase();
  }

  /** `selfservice.flows.<kind>.ui_url` (default: `<kind>` next to the default return URL). */
  ui(kind: FlowKind | 'error'): string {
    const { selfservice } = this.#config;
    return selfservice.flows[kind]?.ui_url ?? new URL(kind, selfservice.default_browser_return_url).toString();
  }

  /** The UI showing one flow: `<ui_url>?flow=<id>`. */
  uiFor(kind: FlowKind, flowId: string): string {
    const url = new URL(this.ui(kind));
    url.searchParams.set('flow', flowId);
    return url.toString();
  }

  /** A public self-service endpoint, e.g. `self-service/login/browser`, with query parameters. */
  endpoint(path: string, query: Record<string, string | undefined> = {}): string {
    const url = new URL(path, this.#publicBase());
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    return url.toString();
  }

  /** Where a flow's form posts (`ui.action`). */
  action(kind: FlowKind, flowId: string): string {
    return this.endpoint(`self-service/${kind}`, { flow: flowId });
  }

  /** Where a flow of this kind and type is initialised. */
  init(kind: FlowKind, type: FlowType): string {
    return this.endpoint(`self-service/${kind}/${type}`);
  }

  /** `selfservice.flows.<kind>.after[.<method>].default_browser_return_url`, else the global default. */
  after(kind: FlowKind, method?: string): string {
    return this.afterConfigured(kind, method) ?? this.#config.selfservice.default_browser_return_url;
  }

  /** `selfservice.flows.<kind>.after[.<method>].default_browser_return_url` when configured. */
  afterConfigured(kind: FlowKind, method?: string): string | undefined {
    const after = this.#config.selfservice.flows[kind]?.after as Record<string, unknown> | undefined;
    const perMethod = method ? (after?.[method] as { default_browser_return_url?: string } | undefined)?.default_browser_return_url : undefined;
    return perMethod ?? (after?.default_browser_return_url as string | undefined);
  }
}
