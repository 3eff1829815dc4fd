import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createActor, fromPromise, waitFor } from 'xstate';
import { loginMachine } from '../../../machines/login.machine.ts';
import { createMetrics } from '../../../observability/metrics.ts';
import { createFlowInspector } from '../../../observability/flow-inspector.ts';

describe('flow inspection hook', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  afterAll(() => {
    context.disable();
  });

  it('records each transition on the active span and in the counter, without event payloads', async () => {
    const metrics = createMetrics();
    const tracer = provider.getTracer('test');
    await tracer.startActiveSpan('request', async (span: { end(): void }) => {
      const machine = loginMachine.provide({
        actors: {
          authenticate: fromPromise(async () => ({ kind: 'authenticated', identityId: 'i', method: 'password', aal: 'aal1' })),
          issueSession: fromPromise(async () => ({ sessionId: 's' })),
        },
      } as never);
      const actor = createActor(machine, { input: { flowId: 'f', flowType: 'api' }, inspect: createFlowInspector(metrics, 'login', { flowId: 'f', flowType: 'api' }) });
      actor.start();
      actor.send({ type: 'method.submit', method: 'password', payload: { identifier: 'someone@example.com', password: 'hunter2-secret' } });
      await waitFor(actor, (s) => s.status === 'done');
      span.end();
    });
    const [span] = exporter.getFinishedSpans();
    const events = span.events.filter((e: { name: string }) => e.name === 'flow.transition').map((e: { attributes?: unknown }) => e.attributes);
    expect(events).toEqual([
      expect.objectContaining({ 'idflow.flow.from': '(start)', 'idflow.flow.to': 'choose_method.awaiting_input', 'idflow.flow.event': 'xstate.init' }),
      expect.objectContaining({ 'idflow.flow': 'login', 'idflow.flow.from': 'choose_method.awaiting_input', 'idflow.flow.to': 'choose_method.authenticating', 'idflow.flow.event': 'method.submit', 'idflow.flow.id': 'f', 'idflow.flow.type': 'api' }),
      expect.objectContaining({ 'idflow.flow.from': 'choose_method.authenticating', 'idflow.flow.to': 'choose_method.issuing_session' }),
      expect.objectContaining({ 'idflow.flow.from': 'choose_method.issuing_session', 'idflow.flow.to': 'passed_challenge' }),
    ]);
    expect(JSON.stringify({ attributes: span.attributes, events: span.events, name: span.name })).not.toMatch(/hunter2|someone@example/);
    const counted = await metrics.flowTransitions.get();
    expect(counted.values.reduce((sum, v) => sum + v.value, 0)).toBe(4);
  });
});
