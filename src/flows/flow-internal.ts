import type { Json } from '../methods/method.ts';
import type { Sealer } from '../x/page-token.ts';

/**
 * A flow's internal state: each method's slice by method id, plus the flow service's own keys (prefixed `$`). Sealed
 * with the cipher secret and bound to the flow id, because it holds challenges and pending changes (a settings
 * change waiting for re-authentication carries the new password).
 */
export type InternalState = Record<string, Json>;

export class InternalSealer {
  readonly #sealer: Sealer;

  constructor(sealer: Sealer) {
    this.#sealer = sealer;
  }

  async open(flowId: string, sealed: string | null): Promise<InternalState> {
    if (!sealed) return {};
    return (await this.#sealer.open<InternalState>(`flow-internal:${flowId}`, sealed)) ?? {};
  }

  async seal(flowId: string, state: InternalState): Promise<string | null> {
    return Object.keys(state).length === 0 ? null : this.#sealer.seal(`flow-internal:${flowId}`, state);
  }
}
