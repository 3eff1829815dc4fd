/**
 * Carries a request's trace into the courier's deliveries. A message is sent later than the request that queued
 * it, possibly by another process (`courier watch`), so the W3C trace context is stored with the message and the
 * delivery continues that trace: a `courier.deliver` span, child of the request's span, around the transport; the
 * HTTP transport's request (instrumented fetch) is its child and carries `traceparent` to the receiver.
 * With tracing off the global propagator is a no-op: nothing is stored and no span is recorded.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/** The active trace context as `traceparent` (+ `tracestate`) headers, or null when no trace is active. */
export function captureTraceContext(): Record<string, string> | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return typeof carrier.traceparent === 'string' ? carrier : null;
}

/** Runs `deliver` in a `courier.deliver` span continuing `stored` (a new trace when null). */
export function withDeliverySpan<T>(stored: Record<string, string> | null, attributes: Attributes, deliver: () => Promise<T>): Promise<T> {
  const parent = stored ? propagation.extract(ROOT_CONTEXT, stored) : ROOT_CONTEXT;
  return trace.getTracer('idflow-courier').startActiveSpan('courier.deliver', { kind: SpanKind.PRODUCER, attributes }, parent, async (span) => {
    try {
      return await deliver();
    } catch (err) {
      // The transports' errors are redacted (no credentials, no message content); only the class of failure is kept.
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.name ?? 'Error' });
      throw err;
    } finally {
      span.end();
    }
  });
}
