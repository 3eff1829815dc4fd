import type { Config } from '../../config/types.ts';

type HookFlow = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';

/**
 * The after-hooks configured for a flow and method (Kratos: a method's list under
 * `selfservice.flows.<flow>.after.<method>.hooks` replaces the flow-level `after.hooks`).
 */
export function afterHooks(config: Config, flow: HookFlow, method: string): string[] {
  const after = config.selfservice.flows[flow]?.after as Record<string, unknown> | undefined;
  const names = (block: unknown) => ((block as { hooks?: Array<{ hook: string }> } | undefined)?.hooks ?? []).map((h) => h.hook);
  const perMethod = after?.[method] as { hooks?: unknown } | undefined;
  return perMethod?.hooks !== undefined ? names(perMethod) : names(after);
}
