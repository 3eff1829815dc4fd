/**
 * Kratos's dry-run OpenID Connect test login (selfservice/flow/login/test_handler.go, strategy/oidc
 * strategy_test_login.go) against a REAL OpenID Provider: an administrator creates a test login flow for one provider
 * (`POST /admin/test-login-flows`), a browser submits its single button with the flow's own CSRF bearer, goes through
 * the provider, and the callback records what the provider sent (claims, the mapper's input and output, schema errors,
 * or the failed step) in the flow's `test_context` instead of signing in: no identity, no session, no credential change.
 * The capturing browser's CSRF cookie is rotated and the flow pinned to it, so only that browser may read or delete the
 * captured payload (`DELETE /self-service/login/test`). Every JSON answer is checked against Kratos's OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { expectResponse } from '../../support/openapi.ts';
import { Browser, bodyOf } from '../browser/browser-client.ts';
import { node, startOidcFixture, unique, WEBSITE, type OidcFixture } from './oidc-fixture.ts';

type Json = any;

const FAILING_MAPPER = `base64://${Buffer.from("error 'the mapper refuses'").toString('base64')}`;

for (const db of testDatabases()) {
  describe(`OpenID Connect test login flows (${db.name})`, () => {
    let fx: OidcFixture;

    beforeAll(async () => {
      fx = await startOidcFixture(db, {
        providers: (issuer) => [
          { id: 'broken', provider: 'generic', client_id: 'client-broken', client_secret: 'secret-broken-0123456789', issuer_url: issuer, mapper_url: FAILING_MAPPER, scope: ['email'] },
        ],
      });
    });
    afterAll(async () => {
      await fx?.close();
    });

    async function createTestFlow(body: unknown, status = 201): Promise<Json> {
      const res = await fetch(`${fx.admin()}admin/test-login-flows`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const json = await bodyOf(res);
      expectResponse('createTestLoginFlow', res.status, json);
      expect(res.status, JSON.stringify(json)).toBe(status);
      if (status === 201) expect(res.headers.get('cache-control')).toContain('no-store');
      return json;
    }

    async function readFlow(b: Browser | undefined, id: string, status = 200): Promise<Json> {
      const url = `${fx.pub()}self-service/login/flows?id=${id}`;
      const res = b ? await b.getJson(url) : await fetch(url, { headers: { accept: 'application/json' } });
      const json = await bodyOf(res);
      expectResponse('getLoginFlow', res.status, json);
      expect(res.status, JSON.stringify(json)).toBe(status);
      return json;
    }

    async function deleteFlow(b: Browser | undefined, id: string, status: number): Promise<Json> {
      const url = `${fx.pub()}self-service/login/test?id=${encodeURIComponent(id)}`;
      const res = b ? await b.jar.fetch(url, { method: 'DELETE' }) : await fetch(url, { method: 'DELETE' });
      const json = await bodyOf(res);
      expectResponse('deleteTestLoginFlow', res.status, json);
      expect(res.status, JSON.stringify(json)).toBe(status);
      return json;
    }

    /** A browser without any cookie submits the test flow's button (HTML form): 303 to the provider. */
    async function toProvider(b: Browser, flow: Json, provider = flow.test_context.provider_id): Promise<URL> {
      const res = await b.submitForm(flow.ui.action, { csrf_token: node(flow, 'csrf_token').attributes.value, provider });
      expect(res.status, await res.clone().text()).toBe(303);
      const authorization = new URL(res.headers.get('location')!);
      expect(authorization.origin).toBe(fx.op.issuer);
      return authorization;
    }

    /** The whole round trip as `sub`; returns the callback's answer and the browser. */
    async function capture(flow: Json, user: { login: string } | { deny: true }, b = fx.browser()): Promise<{ b: Browser; res: Response; callbackUrl: URL }> {
      const authorization = await toProvider(b, flow);
      const callbackUrl = await fx.op.authorize(b.jar, authorization.toString(), user);
      return { b, res: await fx.callback(b, callbackUrl), callbackUrl };
    }

    async function sessionTotal(): Promise<number> {
      let total = 0;
      for (const identity of await fx.identities()) total += (await bodyOf(await fetch(`${fx.admin()}admin/identities/${identity.id}/sessions`))).length;
      return total;
    }

    it('creates a test login flow: 201 login flow with the one provider, the flow\'s own CSRF bearer and test_context', async () => {
      const flow = await createTestFlow({ provider_id: 'op1' });
      expect(flow).toMatchObject({ type: 'browser', state: 'choose_method', refresh: true, requested_aal: 'aal1', test_context: { provider_id: 'op1' } });
      expect(flow.test_context.debug_payload).toBeUndefined();
      expect(flow.ui.action).toBe(`${fx.pub()}self-service/login?flow=${flow.id}`);
      expect(flow.ui.nodes.map((n: Json) => [n.group, n.attributes.name, n.attributes.value])).toEqual([
        ['default', 'csrf_token', flow.ui.nodes[0].attributes.value],
        ['oidc', 'provider', 'op1'],
      ]);
      // Kratos mints a random UUID as the bearer: no browser cookie is behind it.
      expect(node(flow, 'csrf_token').attributes.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(node(flow, 'provider', 'op1').meta.label).toMatchObject({ id: 1010002, text: 'Sign in with Test OP' });
      // Not captured yet: anyone with the id reads it (Kratos: no PII in it yet).
      const read = await readFlow(undefined, flow.id);
      expect(read.test_context).toEqual({ provider_id: 'op1' });
      expect(node(read, 'csrf_token').attributes.value).toBe(node(flow, 'csrf_token').attributes.value);
      // An ordinary login flow has no test_context.
      expect((await fx.browser().startJson('login')).test_context).toBeUndefined();
    });

    it('refuses bad bodies (400) and a provider that is not configured (404), as Kratos words them', async () => {
      expect((await createTestFlow({}, 400)).error).toMatchObject({ code: 400, reason: 'provider_id is required' });
      expect((await createTestFlow({ provider_id: '' }, 400)).error.reason).toBe('provider_id is required');
      expect((await createTestFlow({ provider_id: 'x'.repeat(256) }, 400)).error.reason).toBe('provider_id must be at most 255 characters');
      expect((await createTestFlow({ provider_id: 42 }, 400)).error.reason).toBe('could not parse request body');
      expect((await createTestFlow([], 400)).error.reason).toBe('could not parse request body');
      expect((await createTestFlow({ provider_id: 'nope' }, 404)).error).toMatchObject({ code: 404, reason: 'OpenID Connect provider "nope" is not configured' });
    });

    it('records the provider\'s answer instead of signing in: 303 to /session/test-oidc, CSRF rotated, nothing stored for anyone', async () => {
      const sub = unique('tester');
      fx.op.setClaims(sub, { email: `${sub}@example.org`, email_verified: true, website: WEBSITE });
      const identitiesBefore = (await fx.identities()).length;
      const sessionsBefore = await sessionTotal();
      const flow = await createTestFlow({ provider_id: 'op1' });
      const b = fx.browser();
      const authorization = await toProvider(b, flow);
      // Kratos marks the flow refresh: the provider is asked to log in again.
      expect(authorization.searchParams.get('prompt')).toBe('login');
      const cookieName = fx.srv.registry.csrfCookieName;
      const csrfBefore = b.jar.get(cookieName);
      expect(csrfBefore, 'the submitting browser got a CSRF cookie').toBeTruthy();
      const callbackUrl = await fx.op.authorize(b.jar, authorization.toString(), { login: sub });
      const res = await fx.callback(b, callbackUrl);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`${new URL(fx.pub()).origin}/session/test-oidc?flow=${flow.id}`);
      expect(b.jar.get(cookieName), 'CSRF cookie rotated').not.toBe(csrfBefore);
      expect(b.sessionCookie()).toBeUndefined();

      const captured = await readFlow(b, flow.id);
      expect(captured.state).toBe('passed_challenge');
      const debug = captured.test_context.debug_payload;
      expect(captured.test_context.provider_id).toBe('op1');
      expect(debug.error).toBeUndefined();
      expect(debug.schema_validation_errors).toBeUndefined();
      expect(debug.id_token_claims).toMatchObject({ sub, email: `${sub}@example.org`, website: WEBSITE });
      expect(debug.jsonnet_input).toMatchObject({ sub });
      expect(debug.jsonnet_mapper_url).toMatch(/^base64:\/\//);
      expect(debug.jsonnet_output.identity).toMatchObject({ traits: { email: `${sub}@example.org`, website: WEBSITE }, metadata_public: { provider_subject: sub } });
      // No upstream token is recorded.
      expect(JSON.stringify(captured)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
      // Nobody signed in, no identity was created.
      expect((await fx.identities()).length).toBe(identitiesBefore);
      expect(await sessionTotal()).toBe(sessionsBefore);
      // The flow's history records the transition to passed_challenge (no session step).
      const history = await (await fetch(`${fx.admin()}admin/flows/${flow.id}/history`)).json();
      expect(history.transitions.map((t: Json) => t.to)).toContain('passed_challenge');
      expect(history.transitions.map((t: Json) => t.to)).not.toContain('choose_method.issuing_session');

      // The captured payload is for the capturing browser only (Kratos: 403 missing or invalid CSRF token).
      expect((await readFlow(undefined, flow.id, 403)).error).toMatchObject({ code: 403, reason: 'missing or invalid CSRF token' });
      expect((await readFlow(fx.browser(), flow.id, 403)).error.reason).toBe('missing or invalid CSRF token');
      // The callback again: back to the results, nothing changes.
      const again = await fx.callback(b, callbackUrl);
      expect(again.status).toBe(303);
      expect(again.headers.get('location')).toBe(`${new URL(fx.pub()).origin}/session/test-oidc?flow=${flow.id}`);
      expect((await readFlow(b, flow.id)).test_context).toEqual(captured.test_context);

      // Deleting: another browser is refused, the capturing one deletes it; then it is gone.
      expect((await deleteFlow(fx.browser(), flow.id, 403)).error.reason).toBe('missing or invalid CSRF token');
      await deleteFlow(b, flow.id, 204);
      await readFlow(b, flow.id, 404);
      await deleteFlow(b, flow.id, 404);
    });

    it('signs in nobody even for a subject that has an account: the account and its sessions stay as they were', async () => {
      const sub = unique('known');
      const identity = await fx.signUp(fx.browser(), sub);
      const stored = await fx.identityWithCredentials(identity.id);
      const sessionsBefore = await sessionTotal();
      // The administrator's own browser holds a session: the test still goes through the provider (Kratos: refresh).
      const admin = fx.browser();
      await fx.signUp(admin, unique('admin'));
      const adminSession = admin.sessionCookie();
      const flow = await createTestFlow({ provider_id: 'op1' });
      fx.op.forget(admin.jar);
      const { res } = await capture(flow, { login: sub }, admin);
      expect(res.status).toBe(303);
      expect(admin.sessionCookie()).toBe(adminSession);
      const { body: whoami } = await admin.whoami();
      expect(whoami.identity.id).not.toBe(identity.id);
      const captured = await readFlow(admin, flow.id);
      expect(captured.test_context.debug_payload.id_token_claims.sub).toBe(sub);
      expect(await fx.identityWithCredentials(identity.id)).toEqual(stored);
      expect(await sessionTotal()).toBe(sessionsBefore + 1);
    });

    it('records schema errors, mapper failures and the provider\'s refusal with their step', async () => {
      // Claims without the required website: the traits fail the identity schema.
      const sub = unique('partial');
      fx.op.setClaims(sub, { email: `${sub}@example.org` });
      const partial = await createTestFlow({ provider_id: 'op1' });
      const first = await capture(partial, { login: sub });
      expect(first.res.status).toBe(303);
      const schemaDebug = (await readFlow(first.b, partial.id)).test_context.debug_payload;
      expect(schemaDebug.error).toMatchObject({ step: 'schema_validate', reason: 'traits_invalid' });
      expect(schemaDebug.schema_validation_errors).toEqual([{ path: '/traits/website', message: expect.stringContaining('website') }]);
      expect(schemaDebug.jsonnet_output.identity.traits).toEqual({ email: `${sub}@example.org` });

      // A mapper that fails.
      const broken = await createTestFlow({ provider_id: 'broken' });
      const second = await capture(broken, { login: unique('broken') });
      expect(second.res.status).toBe(303);
      const mapperDebug = (await readFlow(second.b, broken.id)).test_context.debug_payload;
      expect(mapperDebug.error).toMatchObject({ step: 'jsonnet_run', reason: 'evaluation_failed' });
      expect(mapperDebug.error.message).toContain('the mapper refuses');
      expect(mapperDebug.id_token_claims.sub).toBeTruthy();
      expect(mapperDebug.jsonnet_output).toBeUndefined();

      // The user refuses at the provider.
      const denied = await createTestFlow({ provider_id: 'op1' });
      const third = await capture(denied, { deny: true });
      expect(third.res.status).toBe(303);
      const deniedFlow = await readFlow(third.b, denied.id);
      expect(deniedFlow.state).toBe('passed_challenge');
      expect(deniedFlow.test_context.debug_payload).toEqual({
        error: { step: 'provider_denied', reason: 'access_denied', message: expect.stringContaining('returned error "access_denied"') },
      });
    });

    it('the submit needs the flow\'s own bearer; a callback in another browser captures nothing', async () => {
      const flow = await createTestFlow({ provider_id: 'op1' });
      const b = fx.browser();
      const wrong = await b.submitJson(flow.ui.action, { csrf_token: crypto.randomUUID(), provider: 'op1' });
      const body = await bodyOf(wrong);
      expectResponse('updateLoginFlow', wrong.status, body);
      expect(wrong.status).toBe(403);
      expect(body.error.id).toBe('security_csrf_violation');
      // An id_token would sign in without the round trip under test: refused on the flow.
      const idToken = await b.submitJson(flow.ui.action, { csrf_token: node(flow, 'csrf_token').attributes.value, provider: 'op1', id_token: 'eyJhbGciOiJub25lIn0.e30.' });
      const refused = await bodyOf(idToken);
      expectResponse('updateLoginFlow', idToken.status, refused);
      expect(idToken.status).toBe(400);
      expect(refused.ui.messages[0].text).toContain('takes no id_token');
      // Another method can not take the test flow over (it would sign in).
      const password = await b.submitJson(flow.ui.action, { csrf_token: node(flow, 'csrf_token').attributes.value, method: 'password', identifier: 'someone@example.org', password: 'a long oidc-test passphrase 4711' });
      const passwordBody = await bodyOf(password);
      expectResponse('updateLoginFlow', password.status, passwordBody);
      expect(password.status).toBe(400);
      expect(passwordBody.ui.messages.map((m: Json) => m.id)).toEqual([4010002]);
      expect(b.sessionCookie()).toBeUndefined();

      // The state leaks to another browser: the callback there is refused and the flow stays uncaptured.
      const sub = unique('leak');
      fx.op.setClaims(sub, { email: `${sub}@example.org`, website: WEBSITE });
      const authorization = await toProvider(b, flow);
      const callbackUrl = await fx.op.authorize(b.jar, authorization.toString(), { login: sub });
      const elsewhere = await fx.callback(fx.browser(), callbackUrl);
      expect(elsewhere.status).toBe(303);
      expect(elsewhere.headers.get('location')).not.toContain('/session/test-oidc');
      const stillOpen = await readFlow(undefined, flow.id);
      expect(stillOpen.state).toBe('choose_method');
      expect(stillOpen.test_context).toEqual({ provider_id: 'op1' });
      // ... and the right browser still can.
      expect((await fx.callback(b, callbackUrl)).headers.get('location')).toContain('/session/test-oidc');
    });

    it('DELETE: a flow not yet captured by its id alone; not a test flow or an unknown id is 404; a malformed id 400', async () => {
      const flow = await createTestFlow({ provider_id: 'op2' });
      await deleteFlow(undefined, flow.id, 204);
      await readFlow(undefined, flow.id, 404);
      const ordinary = await fx.browser().startJson('login');
      await deleteFlow(undefined, ordinary.id, 404);
      await deleteFlow(undefined, crypto.randomUUID(), 404);
      expect((await deleteFlow(undefined, 'not-a-uuid', 400)).error.reason).toBe('invalid flow id');
    });
  });
}
