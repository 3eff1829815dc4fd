import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { passwordSuite } from '../../support/password-suite.ts';
import type { TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { Flow as FlowEntity, Identity as IdentityEntity, Session as SessionEntity } from '../../../entities/index.ts';
import { failure } from '../../support/sdk.ts';

type Json = any;

function node(flow: Json, name: string): Json {
  return flow.ui.nodes.find((n: Json) => n.attributes.name === name);
}

for (const db of testDatabases()) {
  describe(`native self-service flows through the Ory SDK (${db.name})`, () => {
    const suite = passwordSuite(db);
    let server: TestServer;
    const count = (entity: typeof IdentityEntity | typeof SessionEntity) => server.orm.em.fork().count(entity as never, {});
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.publicUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

    beforeAll(() => {
      server = suite.server;
    });

    it('registers, checks the session, logs out, logs in, changes the password and logs in with it', async () => {
      const api = server.frontendApi;
      const regRaw = await api.createNativeRegistrationFlowRaw({});
      const regFlow = await regRaw.raw.json();
      expectResponse('createNativeRegistrationFlow', 200, regFlow);
      expect(regFlow.state).toBe('choose_method');
      expect(node(regFlow, 'csrf_token').attributes.value).toBeUndefined();
      expect(node(regFlow, 'traits.email').attributes).toMatchObject({ type: 'email', required: true, node_type: 'input' });

      const registered = await api.updateRegistrationFlowRaw({
        flow: regFlow.id,
        updateRegistrationFlowBody: { method: 'password', traits: { email: 'native@example.com', name: { first: 'Nat' } }, password: 'a long and unguessable passphrase' },
      });
      const regBody = await registered.raw.json();
      expectResponse('updateRegistrationFlow', 200, regBody);
      expect(regBody.identity.traits.email).toBe('native@example.com');
      expect(regBody.session_token).toMatch(/^ory_st_[A-Za-z0-9]{48}$/);
      expect(regBody.continue_with).toEqual([{ action: 'set_ory_session_token', ory_session_token: regBody.session_token }]);

      const whoami = await api.toSessionRaw({ xSessionToken: regBody.session_token });
      const sessionBody = await whoami.raw.json();
      expectResponse('toSession', 200, sessionBody);
      expect(whoami.raw.headers.get('x-kratos-authenticated-identity-id')).toBe(regBody.identity.id);
      expect(sessionBody.authentication_methods.map((m: Json) => m.method)).toEqual(['password']);
      expect(sessionBody.authenticator_assurance_level).toBe('aal1');

      await api.performNativeLogout({ performNativeLogoutBody: { session_token: regBody.session_token } });
      const afterLogout = await failure(api.toSession({ xSessionToken: regBody.session_token }));
      expect(afterLogout.status).toBe(401);
      expectResponse('toSession', 401, afterLogout.body);
      expect(afterLogout.body.error.id).toBeUndefined();

      const loginFlow = await api.createNativeLoginFlow();
      const loggedIn = await api.updateLoginFlowRaw({
        flow: loginFlow.id,
        updateLoginFlowBody: { method: 'password', identifier: ' Native@Example.com', password: 'a long and unguessable passphrase' },
      });
      const loginBody = await loggedIn.raw.json();
      expectResponse('updateLoginFlow', 200, loginBody);
      const token = loginBody.session_token as string;
      expect(token).not.toBe(regBody.session_token);

      const settingsRaw = await api.createNativeSettingsFlowRaw({ xSessionToken: token });
      const settingsFlow = await settingsRaw.raw.json();
      expectResponse('createNativeSettingsFlow', 200, settingsFlow);
      expect(settingsFlow.identity.id).toBe(regBody.identity.id);
      expect(node(settingsFlow, 'traits.email').attributes.value).toBe('native@example.com');
      const changed = await api.updateSettingsFlowRaw({
        flow: settingsFlow.id, xSessionToken: token,
        updateSettingsFlowBody: { method: 'password', password: 'an entirely different passphrase' },
      });
      const changedBody = await changed.raw.json();
      expectResponse('updateSettingsFlow', 200, changedBody);
      expect(changedBody.state).toBe('success');
      expect(changedBody.ui.messages).toEqual([expect.objectContaining({ id: 1050001, type: 'success' })]);

      const oldPassword = await failure(api.updateLoginFlow({
        flow: (await api.createNativeLoginFlow()).id,
        updateLoginFlowBody: { method: 'password', identifier: 'native@example.com', password: 'a long and unguessable passphrase' },
      }));
      expect(oldPassword.status).toBe(400);
      expectResponse('updateLoginFlow', 400, oldPassword.body);
      expect(oldPassword.body.ui.messages).toEqual([expect.objectContaining({ id: 4000006, type: 'error' })]);
      expect(node(oldPassword.body, 'identifier').attributes.value).toBe('native@example.com');
      expect(node(oldPassword.body, 'password').attributes.value).toBeUndefined();

      const newPassword = await api.updateLoginFlow({
        flow: (await api.createNativeLoginFlow()).id,
        updateLoginFlowBody: { method: 'password', identifier: 'native@example.com', password: 'an entirely different passphrase' },
      });
      expect(newPassword.session_token).toMatch(/^ory_st_/);
    });

    it('gives unknown and wrong-password logins the same answer', async () => {
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'same@example.com' }, credentials: { password: { config: { password: 'the right passphrase!' } } } } });
      const attempt = async (identifier: string) => failure(server.frontendApi.updateLoginFlow({
        flow: (await server.frontendApi.createNativeLoginFlow()).id,
        updateLoginFlowBody: { method: 'password', identifier, password: 'the wrong passphrase!' },
      }));
      const known = await attempt('same@example.com');
      const unknown = await attempt('nobody@example.com');
      expect(known.status).toBe(unknown.status);
      expect(known.body.ui.messages).toEqual(unknown.body.ui.messages);
      expect(known.body.ui.messages[0].id).toBe(4000006);
    });

    it('answers bad input with Kratos errors and message ids, and writes nothing', async () => {
      const identitiesBefore = await count(IdentityEntity);
      const flow = await server.frontendApi.createNativeRegistrationFlow();

      const unknownFlow = await post(`/self-service/registration?flow=${crypto.randomUUID()}`, { method: 'password' });
      expect(unknownFlow.status).toBe(404);
      expectResponse('updateRegistrationFlow', 404, await unknownFlow.json());
      expect((await post('/self-service/registration', { method: 'password' })).status).toBe(404);

      const malformed = await post(`/self-service/registration?flow=${flow.id}`, '{"method":');
      expect(malformed.status).toBe(400);
      expect((await malformed.json()).error.code).toBe(400);

      const wrongType = await fetch(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'method=password' });
      expect(wrongType.status).toBe(415);

      const unknownMethod = await post(`/self-service/registration?flow=${flow.id}`, { method: 'carrier-pigeon', traits: { email: 'x@example.com' } });
      expect(unknownMethod.status).toBe(400);
      const unknownBody = await unknownMethod.json();
      expectResponse('updateRegistrationFlow', 400, unknownBody);
      expect(unknownBody.ui.messages.map((m: Json) => m.id)).toEqual([4010003]);

      const missingTraits = await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: {}, password: 'a fine long passphrase' });
      const missingBody = await missingTraits.json();
      expect(missingTraits.status).toBe(400);
      expect(node(missingBody, 'traits.email').messages.map((m: Json) => m.id)).toEqual([4000002]);

      const longPassword = await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: 'long@example.com' }, password: 'x'.repeat(1025) });
      expect(node(await longPassword.json(), 'password').messages.map((m: Json) => m.id)).toEqual([4000033]);

      const shortPassword = await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: 'short@example.com' }, password: 'abc' });
      expect(node(await shortPassword.json(), 'password').messages.map((m: Json) => m.id)).toEqual([4000032]);

      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'taken-flow@example.com' } } });
      const taken = await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: 'Taken-Flow@example.com' }, password: 'a fine long passphrase' });
      const takenBody = await taken.json();
      // Account enumeration is mitigated by default: answered as a sign-up, without a session (Kratos: 4000007).
      expect(taken.status).toBe(200);
      expectResponse('updateRegistrationFlow', 200, takenBody);
      expect(takenBody.session_token).toBeUndefined();
      expect(await count(IdentityEntity)).toBe(identitiesBefore + 1);
    });

    it('answers a submit of an expired flow with 410 and a fresh flow to use', async () => {
      const flow = await server.frontendApi.createNativeLoginFlow();
      await server.orm.em.fork().nativeUpdate(FlowEntity, { id: flow.id }, { expiresAt: new Date(Date.now() - 60_000) });
      const res = await post(`/self-service/login?flow=${flow.id}`, { method: 'password', identifier: 'a@example.com', password: 'whatever it is' });
      expect(res.status).toBe(410);
      const body = await res.json();
      expectResponse('updateLoginFlow', 410, body);
      expect(body.error.id).toBe('self_service_flow_expired');
      const fresh = await server.frontendApi.getLoginFlow({ id: body.use_flow_id });
      expect(fresh.ui.messages?.map((m) => m.id)).toEqual([4010001]);
    });

    it('lets exactly one of 20 parallel submits of one registration flow create the identity', async () => {
      const before = await count(IdentityEntity);
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      const results = await Promise.all(Array.from({ length: 20 }, () =>
        post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: 'parallel@example.com' }, password: 'parallel passphrase 123' })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.every((s) => s === 200 || s === 400 || s === 409)).toBe(true);
      expect(await count(IdentityEntity)).toBe(before + 1);
      const sessions = await server.orm.em.fork().count(SessionEntity, {});
      const owners = await server.identityApi.listIdentities({ credentialsIdentifier: 'parallel@example.com' });
      expect(owners).toHaveLength(1);
      const ownerSessions = await server.identityApi.listIdentitySessions({ id: owners[0].id });
      expect(ownerSessions).toHaveLength(1);
      expect(sessions).toBeGreaterThan(0);
    });

    it('answers aal2 login requests with Kratos errors until second factors exist', async () => {
      const noSession = await failure(server.frontendApi.createNativeLoginFlow({ aal: 'aal2' }));
      expect(noSession.status).toBe(401);
      expect(noSession.body.error.id).toBe('session_aal1_required');
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'aal@example.com' }, credentials: { password: { config: { password: 'aal passphrase 12345' } } } } });
      const login = await server.frontendApi.updateLoginFlow({ flow: (await server.frontendApi.createNativeLoginFlow()).id, updateLoginFlowBody: { method: 'password', identifier: 'aal@example.com', password: 'aal passphrase 12345' } });
      // Kratos: an identity without a second factor gets the 2FA screen with nothing to use, not an error.
      const withSession = await server.frontendApi.createNativeLoginFlow({ aal: 'aal2', xSessionToken: login.session_token });
      expect(withSession.requested_aal).toBe('aal2');
      expect(withSession.ui.messages?.map((m) => m.id)).toEqual([1010004]);
      expect(withSession.ui.nodes.filter((n) => n.group !== 'default')).toEqual([]);
      const refresh = await server.frontendApi.createNativeLoginFlow({ refresh: true, xSessionToken: login.session_token });
      expect(refresh.refresh).toBe(true);
      expect(refresh.ui.messages?.map((m) => m.id)).toEqual([1010003]);
    });

    it('refuses a session already present and browser cookies on API flows', async () => {
      const identity = await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'has-session@example.com' }, credentials: { password: { config: { password: 'has session passphrase' } } } } });
      const login = await server.frontendApi.updateLoginFlow({
        flow: (await server.frontendApi.createNativeLoginFlow()).id,
        updateLoginFlowBody: { method: 'password', identifier: 'has-session@example.com', password: 'has session passphrase' },
      });
      const again = await failure(server.frontendApi.createNativeLoginFlow({ xSessionToken: login.session_token }));
      expect(again.status).toBe(400);
      expect(again.body.error.id).toBe('session_already_available');
      const registration = await failure(server.frontendApi.createNativeRegistrationFlow({}, { headers: { 'X-Session-Token': login.session_token! } }));
      expect(registration.body.error.id).toBe('session_already_available');

      const flow = await server.frontendApi.createNativeLoginFlow();
      const withCookie = await post(`/self-service/login?flow=${flow.id}`, { method: 'password', identifier: 'has-session@example.com', password: 'has session passphrase' }, { cookie: 'ory_kratos_session=abc' });
      expect(withCookie.status).toBe(400);
      expect(identity.id).toBeDefined();
    });
  });
}
