/**
 * Linking and unlinking OpenID Connect providers in settings against a real OP, checked against Kratos's answers
 * (strategy_settings.go, strategy_settings_test.go, Cypress profiles/oidc/settings): `link` buttons for the providers not
 * linked yet (1050002), `unlink` buttons for linked ones while another first factor remains (1050003), the provider's
 * callback adding the link, and the refusals — a provider linked already, a subject another identity signs in with
 * (4000007), the last first factor, an unknown connection, a session too old (re-authentication first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { expectResponse } from '../../support/openapi.ts';
import { type Browser, bodyOf, csrfOf, messageIds } from '../browser/browser-client.ts';
import { flowIdOf, node, PASSWORD, startOidcFixture, unique, type OidcFixture } from './oidc-fixture.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

type Json = any;

const LAST = 'can not unlink OpenID Connect connection because it is the last remaining first factor credential';
const EXISTS = 'can not link unknown or already existing OpenID Connect connection';
const UNKNOWN = 'can not unlink non-existing OpenID Connect connection';
const PRIVILEGED_MS = 10 * 60 * 1000;

for (const db of testDatabases()) {
  describe.skipIf(jsonnetMissing)(`OpenID Connect link and unlink in settings (${db.name})`, () => {
    let f: OidcFixture;

    beforeAll(async () => {
      f = await startOidcFixture(db, { extra: { selfservice: { flows: { settings: { privileged_session_max_age: '10m' } } } } });
    });
    afterAll(async () => {
      await f?.close();
    });

    const oidcButtons = (flow: Json) => flow.ui.nodes
      .filter((n: Json) => n.group === 'oidc')
      .map((n: Json) => [n.attributes.name, n.attributes.value, n.meta.label.id, n.meta.label.text]);

    async function submitSettings(b: Browser, fields: Record<string, string>): Promise<{ res: Response; body: Json; flow: Json }> {
      const flow = await b.startJson('settings');
      const res = await b.submitJson(flow.ui.action, { csrf_token: csrfOf(flow), ...fields });
      const body = await bodyOf(res);
      expectResponse('updateSettingsFlow', res.status, body);
      return { res, body, flow };
    }

    async function setPassword(b: Browser): Promise<void> {
      const { res } = await submitSettings(b, { method: 'password', password: PASSWORD });
      expect(res.status).toBe(200);
    }

    /** Submits `link` as an HTML form and plays the user at the provider as `sub`; returns idflow's answer to the callback. */
    async function link(b: Browser, provider: string, sub: string, claims: Record<string, unknown> = {}): Promise<{ res: Response; flowId: string }> {
      f.op.setClaims(sub, { email: `${sub}@example.org`, ...claims });
      f.op.forget(b.jar);
      const flow = await b.startJson('settings');
      const go = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), link: provider });
      expect(go.status, await go.clone().text()).toBe(303);
      const authorization = new URL(go.headers.get('location')!);
      expect(authorization.origin).toBe(f.op.issuer);
      expect(authorization.searchParams.get('redirect_uri')).toBe(`${f.pub()}self-service/methods/oidc/callback/${provider}`);
      const res = await f.callback(b, await f.op.authorize(b.jar, authorization.toString(), { login: sub }));
      return { res, flowId: flow.id };
    }

    const linkedIds = async (id: string) => (await f.identityWithCredentials(id)).credentials.oidc?.identifiers ?? [];

    it('shows Link for providers not linked yet and no Unlink while the provider is the only first factor', async () => {
      const b = f.browser();
      await f.signUp(b, unique('sam'));
      const flow = await b.startJson('settings');
      expect(oidcButtons(flow)).toEqual([['link', 'op2', 1050002, 'Link op2']]);
      await setPassword(b);
      expect(oidcButtons(await b.startJson('settings'))).toEqual([['link', 'op2', 1050002, 'Link op2'], ['unlink', 'op1', 1050003, 'Unlink Test OP']]);
    });

    it('links a second provider through the OP; it signs in to the same identity and shows Unlink', async () => {
      const b = f.browser();
      const identity = await f.signUp(b, unique('tara'));
      const sub2 = unique('tara-at-op2');
      const { res, flowId } = await link(b, 'op2', sub2);
      expect(res.status).toBe(303);
      expect(flowIdOf(res.headers.get('location')!)).toBe(flowId);
      const flow = await b.readFlow('settings', flowId);
      expect(flow.state).toBe('success');
      expect(messageIds(flow.ui.messages)).toEqual([1050001]);
      expect(await linkedIds(identity.id)).toEqual([expect.stringMatching(/^op1:/), `op2:${sub2}`]);
      // Two links are two first factors: both may go now.
      expect(oidcButtons(await b.startJson('settings'))).toEqual([['unlink', 'op1', 1050003, 'Unlink Test OP'], ['unlink', 'op2', 1050003, 'Unlink op2']]);
      // Kratos SessionAddAuthenticationMethods: the session records the provider's proof.
      expect((await b.whoami()).body.authentication_methods.map((m: Json) => m.method)).toEqual(['oidc', 'oidc']);

      const other = f.browser();
      const { authorization } = await f.goToProvider(other, 'login', 'op2');
      expect((await f.callback(other, await f.op.authorize(other.jar, authorization.toString(), { login: sub2 }))).status).toBe(303);
      expect((await other.whoami()).body.identity.id).toBe(identity.id);
      // No secret in the logs.
      expect(f.srv.logs.join('\n')).not.toContain('secret-two-0123456789');
    });

    it('unlinks a provider while another first factor remains; the provider no longer signs in to that identity', async () => {
      const b = f.browser();
      const sub = unique('uma');
      const identity = await f.signUp(b, sub);
      await setPassword(b);
      const { res, body } = await submitSettings(b, { unlink: 'op1' });
      expect(res.status).toBe(200);
      expect(body.state).toBe('success');
      expect((await f.identityWithCredentials(identity.id)).credentials.oidc).toBeUndefined();
      expect(oidcButtons(await b.startJson('settings'))).toEqual([['link', 'op1', 1050002, 'Link Test OP'], ['link', 'op2', 1050002, 'Link op2']]);
      // Signing in with that subject now is a sign-up, which clashes with the e-mail: Kratos's account linking (1010016).
      const other = f.browser();
      const { authorization } = await f.goToProvider(other, 'login');
      const again = await f.callback(other, await f.op.authorize(other.jar, authorization.toString(), { login: sub }));
      expect(again.headers.get('location')).toContain('/login?flow=');
      expect(messageIds((await other.readFlow('login', flowIdOf(again.headers.get('location')!))).ui.messages)).toEqual([1010016]);
      expect(other.sessionCookie()).toBeUndefined();
    });

    it('refuses to unlink the last first factor, an unknown connection, and linking a linked provider (Kratos 4000001)', async () => {
      const b = f.browser();
      const identity = await f.signUp(b, unique('vic'));
      for (const [fields, reason] of [
        [{ unlink: 'op1' }, LAST],
        [{ unlink: 'op2' }, LAST],
        [{ link: 'op1' }, EXISTS],
        [{ link: 'no-such-provider' }, EXISTS],
      ] as const) {
        const { res, body } = await submitSettings(b, fields);
        expect(res.status, JSON.stringify(fields)).toBe(400);
        expect(messageIds(body.ui.messages)).toEqual([4000001]);
        expect(body.ui.messages[0].text).toBe(reason);
      }
      await setPassword(b);
      const { res, body } = await submitSettings(b, { unlink: 'op2' });
      expect(res.status).toBe(400);
      expect(body.ui.messages[0].text).toBe(UNKNOWN);
      const both = await submitSettings(b, { link: 'op2', unlink: 'op1' });
      expect(both.body.ui.messages[0].text).toBe('it is not possible to link and unlink providers in the same request');
      expect(await linkedIds(identity.id)).toHaveLength(1);
    });

    it('refuses to link a subject another identity signs in with (Kratos 4000007); nothing changes', async () => {
      const taken = unique('wendy-at-op2');
      const b = f.browser();
      const owner = await f.signUp(b, unique('wendy'));
      expect((await link(b, 'op2', taken)).res.status).toBe(303);
      expect(await linkedIds(owner.id)).toEqual([expect.stringMatching(/^op1:/), `op2:${taken}`]);
      // Another identity links op2 with the same subject.
      const c = f.browser();
      const other = await f.signUp(c, unique('xavier'));
      const { res, flowId } = await link(c, 'op2', taken);
      expect(res.status).toBe(303);
      expect(flowIdOf(res.headers.get('location')!)).toBe(flowId);
      const flow = await c.readFlow('settings', flowId);
      expect(messageIds(flow.ui.messages)).toEqual([4000007]);
      expect(flow.ui.messages[0].text).toBe('An account with the same identifier (email, phone, username, ...) exists already.');
      expect(await linkedIds(other.id)).toEqual([expect.stringMatching(/^op1:/)]);
      expect(await linkedIds(owner.id)).toEqual([expect.stringMatching(/^op1:/), `op2:${taken}`]);
    });

    it('a session older than privileged_session_max_age re-authenticates first (only linked providers offered), then links', async () => {
      const b = f.browser();
      const identity = await f.signUp(b, unique('zoe'));
      await setPassword(b);
      f.srv.clock.advance(PRIVILEGED_MS + 60_000);
      const flow = await b.startJson('settings');
      const refused = await b.submitJson(flow.ui.action, { csrf_token: csrfOf(flow), link: 'op2' });
      const error = await bodyOf(refused);
      expect(refused.status).toBe(403);
      expect(error.error.id).toBe('session_refresh_required');
      const go = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), link: 'op2' });
      expect(go.status).toBe(303);
      const loginUrl = new URL(go.headers.get('location')!, f.pub());
      expect(loginUrl.pathname).toBe('/self-service/login/browser');
      expect(loginUrl.searchParams.get('refresh')).toBe('true');
      const refresh = await b.startJson('login', loginUrl.search);
      // Re-authentication offers the identity's own provider, not the one about to be linked.
      expect(node(refresh, 'provider', 'op1')).toBeDefined();
      expect(node(refresh, 'provider', 'op2')).toBeUndefined();
      const relogin = await b.submitForm(refresh.ui.action, { csrf_token: csrfOf(refresh), method: 'password', identifier: identity.traits.email, password: PASSWORD });
      expect(relogin.status).toBe(303);
      // Back at the settings flow, the waiting link goes on to the provider.
      const resumed = await b.navigate(relogin.headers.get('location')!);
      expect(resumed.status).toBe(303);
      const authorization = new URL(resumed.headers.get('location')!);
      expect(authorization.origin).toBe(f.op.issuer);
      const sub2 = unique('zoe-at-op2');
      f.op.setClaims(sub2, {});
      f.op.forget(b.jar);
      const done = await f.callback(b, await f.op.authorize(b.jar, authorization.toString(), { login: sub2 }));
      expect(done.status).toBe(303);
      expect(await linkedIds(identity.id)).toContain(`op2:${sub2}`);
    });

    it('a session that aged while the user was at the provider links nothing; the link resumes after re-authentication', async () => {
      const b = f.browser();
      const identity = await f.signUp(b, unique('abel'));
      await setPassword(b);
      const flow = await b.startJson('settings');
      const go = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), link: 'op2' });
      expect(go.status).toBe(303);
      const sub2 = unique('abel-at-op2');
      f.op.setClaims(sub2, {});
      f.op.forget(b.jar);
      const callbackUrl = await f.op.authorize(b.jar, go.headers.get('location')!, { login: sub2 });
      f.srv.clock.advance(PRIVILEGED_MS + 60_000);
      const res = await f.callback(b, callbackUrl);
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get('location')!, f.pub()).searchParams.get('refresh')).toBe('true');
      expect(await linkedIds(identity.id)).toEqual([expect.stringMatching(/^op1:/)]);
      // Applying the waiting change goes to the provider again (Kratos keeps `link`, not the callback).
      await b.loginJson(identity.traits.email, PASSWORD, '?refresh=true');
      const resumed = await b.navigate(`/self-service/settings?flow=${flow.id}`);
      expect(resumed.status).toBe(303);
      expect(new URL(resumed.headers.get('location')!).origin).toBe(f.op.issuer);
      // The first callback was used up: replaying it links nothing.
      const replay = await f.callback(b, callbackUrl);
      expect([302, 303]).toContain(replay.status);
      expect(await linkedIds(identity.id)).toEqual([expect.stringMatching(/^op1:/)]);
    });
  });
}
