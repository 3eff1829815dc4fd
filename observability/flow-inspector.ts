import { context, trace } from '@opentelemetry/api';
import type { InspectionEvent } from 'xstate';
import type { Metrics } from './metrics.ts';

/** A state value as a dotted path: `{ choose_method: 'authenticating' }` → `choose_method.authenticating`. */
export function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, inner] = Object.entries(value)[0] ?? [];
    if (key === undefined) return '';
    const rest = statePath(inner);
    return rest ? `${key}.${rest}` : key;
  }
  return '';
}

export interface TransitionRecord {
  flow: string;
  flowId?: string;
  flowType?: string;
  from: string;
  to: string;
  event: string;
}

/** The tracer transition spans are created with (the global provider's; a no-op one unless tracing is on). */
export const TRACER_NAME = 'idflow.flows';

/**
 * The one inspection hook every flow actor runs with: each snapshot change of the root machine is counted in
 * `idflow_flow_transitions_total{flow,from,to,event}`, recorded as an event on the active OpenTelemetry span,
 * and traced as a span of its own (`flow.transition <flow>`, child of the active span — the request span when the
 * HTTP instrumentation runs) with attributes flow id, flow type, from, to and event type. Event payloads (which
 * carry passwords) are never looked at beyond their type.
 */
export function createFlowInspector(
  metrics: Pick<Metrics, 'flowTransitions'>,
  flow: string,
  attrs: { flowId?: string; flowType?: string; fromState?: string } = {},
  listener?: (t: TransitionRecord) => void,
) {
  let previous: string | undefined = attrs.fromState;
  return (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    if (event.actorRef.sessionId !== event.rootId) return;
    const snapshot = event.snapshot as { value?: unknown };
    if (snapshot.value === undefined) return;
    const to = statePath(snapshot.value);
    const from = previous ?? '(start)';
    previous = to;
    const eventType = (event.event as { type?: string } | undefined)?.type ?? 'unknown';
    if (from === to && eventType === 'xstate.init') return;
    metrics.flowTransitions.inc({ flow, from, to, event: eventType });
    const record: TransitionRecord = { flow, flowId: attrs.flowId, flowType: attrs.flowType, from, to, event: eventType };
    const attributes = {
      'idflow.flow': flow, 'idflow.flow.from': from, 'idflow.flow.to': to, 'idflow.flow.event': eventType,
      ...(attrs.flowId ? { 'idflow.flow.id': attrs.flowId } : {}),
      ...(attrs.flowType ? { 'idflow.flow.type': attrs.flowType } : {}),
    };
    trace.getActiveSpan()?.addEvent('flow.transition', attributes);
    trace.getTracer(TRACER_NAME).startSpan(`flow.transition ${flow}`, { attributes }, context.active()).end();
    listener?.(record);
  };
}
