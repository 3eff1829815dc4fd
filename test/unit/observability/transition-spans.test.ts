import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createActor, fromPromise, waitFor } from 'xstate';
import { loginMachine } from '../../../machines/login.machine.ts';
import { createMetrics } from '../../../observability/metrics.ts';
import { createFlowInspector } from '../../../observability/flow-inspector.ts';

describe('flow transition spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });

  it('creates one span per transition, child of the active span, with flow id, type, from, to and event', async () => {
    const metrics = createMetrics();
    const tracer = trace.getTracer('test');
    let requestSpanId = '';
    let traceId = '';
    await tracer.startActiveSpan('request', async (span) => {
      requestSpanId = span.spanContext().spanId;
      traceId = span.spanContext().traceId;
      const machine = loginMachine.provide({
        actors: {
          // An invoked actor finishing later still reports its transition under the request span.
          authenticate: fromPromise(async () => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            return { kind: 'authenticated', identityId: 'i', method: 'password', aal: 'aal1' };
          }),
          issueSession: fromPromise(async () => ({ sessionId: 's' })),
        },
      } as never);
      const actor = createActor(machine, { input: { flowId: 'f-1', flowType: 'browser' }, inspect: createFlowInspector(metrics, 'login', { flowId: 'f-1', flowType: 'browser' }) });
      actor.start();
      actor.send({ type: 'method.submit', method: 'password', payload: { identifier: 'someone@example.com', password: 'hunter2-secret' } });
      await waitFor(actor, (s) => s.status === 'done');
      span.end();
    });
    const spans = exporter.getFinishedSpans();
    const transitions = spans.filter((s) => s.name === 'flow.transition login');
    expect(transitions.map((s) => s.attributes)).toEqual([
      { 'idflow.flow': 'login', 'idflow.flow.id': 'f-1', 'idflow.flow.type': 'browser', 'idflow.flow.from': '(start)', 'idflow.flow.to': 'choose_method.awaiting_input', 'idflow.flow.event': 'xstate.init' },
      { 'idflow.flow': 'login', 'idflow.flow.id': 'f-1', 'idflow.flow.type': 'browser', 'idflow.flow.from': 'choose_method.awaiting_input', 'idflow.flow.to': 'choose_method.authenticating', 'idflow.flow.event': 'method.submit' },
      { 'idflow.flow': 'login', 'idflow.flow.id': 'f-1', 'idflow.flow.type': 'browser', 'idflow.flow.from': 'choose_method.authenticating', 'idflow.flow.to': 'choose_method.issuing_session', 'idflow.flow.event': 'xstate.done.actor.authenticate' },
      { 'idflow.flow': 'login', 'idflow.flow.id': 'f-1', 'idflow.flow.type': 'browser', 'idflow.flow.from': 'choose_method.issuing_session', 'idflow.flow.to': 'passed_challenge', 'idflow.flow.event': 'xstate.done.actor.issueSession' },
    ]);
    for (const span of transitions) {
      expect(span.parentSpanContext?.spanId).toBe(requestSpanId);
      expect(span.spanContext().traceId).toBe(traceId);
    }
    // The span events on the request span and the counter still work.
    const request = spans.find((s) => s.name === 'request')!;
    expect(request.events.filter((e) => e.name === 'flow.transition')).toHaveLength(4);
    expect((await metrics.flowTransitions.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(4);
    expect(JSON.stringify(spans.map((s) => ({ a: s.attributes, e: s.events, n: s.name })))).not.toMatch(/hunter2|someone@example/);
  });

  it('creates a root span when there is no active span', () => {
    exporter.reset();
    const metrics = createMetrics();
    const inspect = createFlowInspector(metrics, 'settings', { flowId: 'f-2', flowType: 'api', fromState: 'a' });
    inspect({ type: '@xstate.snapshot', rootId: 'x', actorRef: { sessionId: 'x' }, snapshot: { value: 'b' }, event: { type: 'go' } } as never);
    const [span] = exporter.getFinishedSpans();
    expect(span.name).toBe('flow.transition settings');
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes).toMatchObject({ 'idflow.flow.from': 'a', 'idflow.flow.to': 'b', 'idflow.flow.event': 'go' });
  });
});
