import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('flow transition inspection', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('memory', { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });
  });
  afterAll(async () => server?.close());

  async function transitions(flow: string) {
    const metric = await server.registry.metrics.flowTransitions.get();
    return metric.values.filter((v) => v.labels.flow === flow).map((v) => ({ ...v.labels, count: v.value }));
  }

  it('counts every machine transition by flow, from, to and event, with no user data in labels', async () => {
    const api = server.frontendApi;
    const registration = await api.createNativeRegistrationFlow();
    await api.updateRegistrationFlow({ flow: registration.id, updateRegistrationFlowBody: { method: 'password', traits: { email: 'metrics@example.com' }, password: 'metrics passphrase 123' } });
    const login = await api.createNativeLoginFlow();
    await api.updateLoginFlow({ flow: login.id, updateLoginFlowBody: { method: 'password', identifier: 'metrics@example.com', password: 'wrong passphrase here' } }).catch(() => undefined);
    await api.updateLoginFlow({ flow: login.id, updateLoginFlowBody: { method: 'password', identifier: 'metrics@example.com', password: 'metrics passphrase 123' } });

    expect(await transitions('registration')).toEqual(expect.arrayContaining([
      { flow: 'registration', from: 'choose_method.awaiting_input', to: 'choose_method.registering', event: 'method.submit', count: 1 },
      { flow: 'registration', from: 'choose_method.registering', to: 'choose_method.issuing_session', event: 'xstate.done.actor.register', count: 1 },
      { flow: 'registration', from: 'choose_method.issuing_session', to: 'passed_challenge', event: 'xstate.done.actor.issueSession', count: 1 },
    ]));
    expect(await transitions('login')).toEqual(expect.arrayContaining([
      { flow: 'login', from: 'choose_method.awaiting_input', to: 'choose_method.authenticating', event: 'method.submit', count: 2 },
      { flow: 'login', from: 'choose_method.authenticating', to: 'choose_method.awaiting_input', event: 'xstate.done.actor.authenticate', count: 1 },
      { flow: 'login', from: 'choose_method.authenticating', to: 'choose_method.issuing_session', event: 'xstate.done.actor.authenticate', count: 1 },
      { flow: 'login', from: 'choose_method.issuing_session', to: 'passed_challenge', event: 'xstate.done.actor.issueSession', count: 1 },
    ]));
    const exposition = await server.registry.metrics.registry.metrics();
    expect(exposition).toContain('idflow_flow_transitions_total{flow="login"');
    expect(exposition).not.toContain('metrics@example.com');
    expect(exposition).not.toContain('passphrase');
    const started = await server.registry.metrics.flowsStarted.get();
    expect(started.values.find((v) => v.labels.flow === 'login')?.value).toBe(1);
  });
});
