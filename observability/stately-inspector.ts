import type { InspectionEvent } from 'xstate';

/**
 * Streams every flow actor's inspection events to the Stately inspector over a WebSocket (`idflow serve
 * --inspect ws://localhost:8080`, e.g. `@statelyai/inspect/server`). Submit payloads carry passwords and codes,
 * so events are forwarded without them: only their type and method.
 */
export interface StatelyInspector {
  inspect(event: InspectionEvent): void;
  stop(): void;
}

/** Submit payloads (in events and in the inputs of invoked effects) are dropped wherever they appear. */
function withoutPayloads(value: unknown, depth = 0): unknown {
  if (depth > 8 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutPayloads(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'payload') continue;
    out[key] = withoutPayloads(inner, depth + 1);
  }
  return out;
}

export function redactInspectionEvent<T>(event: T): T {
  return withoutPayloads(event) as T;
}

/** `@statelyai/inspect` (and its WebSocket client) is loaded here, so only `serve --inspect` holds it. */
export async function createStatelyInspector(url: string): Promise<StatelyInspector> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url, serialize: redactInspectionEvent });
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}
