/**
 * Security keys (`selfservice.methods.webauthn`) and passkeys (`selfservice.methods.passkey`) over real HTTP, with the
 * software authenticator of test/support/soft-authenticator.ts standing in for `navigator.credentials`. The browser
 * half is done as Kratos's `webauthn.js` does it (test/support/webauthn-forms.ts): options read from the trigger's
 * `value`, `passkey_challenge` or `passkey_create_data`, the credential JSON written into the hidden result field and
 * the form submitted without a `method` field (form-encoded with the CSRF token in browser flows).
 *
 * Spec: Kratos's strategy/webauthn, strategy/passkey, x/webauthnx and go-webauthn v0.11.2 as summarised in
 * /tmp/helpers/kratos-webauthn.md (cited as §n), AAL semantics in kratos-mfa.md §5-7.
 *
 * Two servers per database: `mfa` (webauthn `passwordless: false` — security keys are second factors — plus passkeys
 * with Kratos's defaults) and `pwl` (webauthn `passwordless: true` plus passkeys that require user verification).
 */
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse, expectSchema } from '../../support/openapi.ts';
import { b64url, SoftAuthenticator, type SoftCreateOverrides, type SoftCredential, type SoftGetOverrides } from '../../support/soft-authenticator.ts';
import {
  assertionJson, attestationJson, formFields, passkeyChallenge, passkeyRegistrationOptions, passkeySettingsOptions, triggerOptions,
} from '../../support/webauthn-forms.ts';
import { Browser, bodyOf } from '../browser/browser-client.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';

type Json = any;

/** What clientDataJSON carries: the relying party's configured origin. */
const ORIGIN = 'http://localhost:4455';
const RP_NAME = 'idflow test';
/** The (never contacted) self-service UI and app. */
const UI = 'https://ui.example';
const APP = 'https://app.example/home';
const PASSWORD = 'a long webauthn test passphrase 4711';
/** go-webauthn's default pubKeyCredParams, in its order (§1.3). */
const ALGORITHMS = [-7, -35, -36, -257, -258, -259, -37, -38, -39, -8];

const MSG = {
  saved: 1050001,
  required: 4000002,
  generic: 4000001,
  invalidAssertion: 4000043,
  noSuchUser: 4000015,
  secondFactor: 1010004,
  refresh: 1010003,
  hardwareKey: 1010008,
  prepareDevice: 1010012,
  continue: 1010013,
  passkeyLogin: 1010021,
};
const WOULD_LOCK_OUT = 'unable to remove this security key because it would lock you out of your account';

const SCHEMA = personSchema('webauthn', {
  email: { credentials: { password: { identifier: true }, webauthn: { identifier: true }, passkey: { display_name: true } } },
  emailTitle: 'E-mail',
});
const SCHEMA_URL = schemaUrl(SCHEMA);

function overlay(variant: 'mfa' | 'pwl') {
  const rp = { id: 'localhost', display_name: RP_NAME, origins: [ORIGIN] };
  const session = { hooks: [{ hook: 'session' }] };
  return {
    // Hashing is not under test here.
    hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: SCHEMA_URL }] },
    selfservice: {
      default_browser_return_url: APP,
      allowed_return_urls: ['https://app.example'],
      methods: {
        password: { config: { haveibeenpwned_enabled: false } },
        webauthn: { enabled: true, config: { passwordless: variant === 'pwl', rp } },
        passkey: {
          enabled: true,
          config: { rp, ...(variant === 'pwl' ? { authenticator_selection: { user_verification: 'required' } } : {}) },
        },
      },
      flows: {
        error: { ui_url: `${UI}/error` },
        login: { ui_url: `${UI}/login` },
        // One step (traits and credential together); Kratos's default is profile_first.
        registration: { ui_url: `${UI}/registration`, style: 'unified', after: { password: session, webauthn: session, passkey: session } },
        settings: { ui_url: `${UI}/settings`, privileged_session_max_age: '15m' },
      },
    },
  };
}

const nodesOf = (flow: Json): Json[] => flow.ui.nodes ?? [];
const nodeKey = (n: Json): string => (n.attributes.name === 'method' ? `method=${n.attributes.value}` : n.attributes.name ?? n.attributes.id);
/** The first node with this input name (or, for script/text nodes, this id). */
const node = (flow: Json, name: string): Json => nodesOf(flow).find((n) => nodeKey(n) === name);
const allNodes = (flow: Json, name: string): Json[] => nodesOf(flow).filter((n) => nodeKey(n) === name);
const groupKeys = (flow: Json, group: string): string[] => nodesOf(flow).filter((n) => n.group === group).map(nodeKey);
const uiIds = (flow: Json): number[] => (flow.ui.messages ?? []).map((m: Json) => m.id);
const nodeIds = (flow: Json, name: string): number[] => (node(flow, name)?.messages ?? []).map((m: Json) => m.id);
/** Every message of the flow, global and on nodes. */
const everyMessage = (flow: Json): Json[] => [...(flow.ui.messages ?? []), ...nodesOf(flow).flatMap((n) => n.messages ?? [])];
const amr = (session: Json): string[][] => session.authentication_methods.map((m: Json) => [m.method, m.aal]);
const uuidB64url = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url');
const uuidB64std = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64');
const b64urlToHex = (text: string) => Buffer.from(text, 'base64url').toString('hex');
const b64urlToStd = (text: string) => Buffer.from(text, 'base64url').toString('base64');
const randomChallenge = () => b64url.encode(crypto.getRandomValues(new Uint8Array(32)));

for (const db of testDatabases()) {
  describe(`WebAuthn security keys and passkeys over HTTP (${db.name})`, () => {
    let mfa: TestServer;
    let pwl: TestServer;
    const drops: Array<() => Promise<void>> = [];
    /** Every challenge handed out and every public key registered: none may reach the logs. */
    const secrets = new Set<string>();
    let counter = 0;

    beforeAll(async () => {
      const a = await db.create();
      const b = await db.create();
      drops.push(a.drop, b.drop);
      [mfa, pwl] = await Promise.all([startTestServer(a.dsn, overlay('mfa')), startTestServer(b.dsn, overlay('pwl'))]);
    });
    afterAll(async () => {
      await mfa?.close();
      await pwl?.close();
      for (const drop of drops) await drop();
    });

    // -----------------------------------------------------------------------------------------------------------------
    // helpers

    const email = (label: string) => `${label}-${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const remember = <T extends { challenge?: string }>(publicKey: T): T => {
      if (typeof publicKey.challenge === 'string') secrets.add(publicKey.challenge);
      return publicKey;
    };
    const rememberKey = (credential: SoftCredential) => {
      secrets.add(b64url.encode(credential.publicKeyCose));
      secrets.add(Buffer.from(credential.publicKeyCose).toString('base64'));
    };

    async function passwordUser(srv: TestServer) {
      const address = email('pw');
      const identity = await srv.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: address }, credentials: { password: { config: { password: PASSWORD } } } } });
      return { id: identity.id, email: address };
    }

    /** The identity's credential of `type` with its config (admin API, `include_credential`), or undefined. */
    async function stored(srv: TestServer, identityId: string, type: 'webauthn' | 'passkey'): Promise<Json> {
      const res = await fetch(`${srv.adminUrl}/admin/identities/${identityId}?include_credential=${type}`);
      const body = await res.json();
      expectResponse('getIdentity', res.status, body);
      expect(res.status).toBe(200);
      return body.credentials?.[type];
    }

    async function identitiesWith(srv: TestServer, identifier: string): Promise<Json[]> {
      const res = await fetch(`${srv.adminUrl}/admin/identities?credentials_identifier=${encodeURIComponent(identifier)}`);
      const body = await res.json();
      expectResponse('listIdentities', res.status, body);
      return body;
    }

    async function sessionsOf(srv: TestServer, identityId: string): Promise<Json[]> {
      const res = await fetch(`${srv.adminUrl}/admin/identities/${identityId}/sessions`);
      const body = await res.json();
      expectResponse('listIdentitySessions', res.status, body);
      expect(res.status).toBe(200);
      return body;
    }

    /** A redirect (303 unless told) to `location`. */
    function expectRedirect(res: Response, location: string | RegExp, status = 303): string {
      expect(res.status, `expected a ${status}, got ${res.status} to ${res.headers.get('location')}`).toBe(status);
      const actual = res.headers.get('location') ?? '';
      if (typeof location === 'string') expect(actual).toBe(location);
      else expect(actual).toMatch(location);
      return actual;
    }

    /** An HTML password login; returns the answer (303). */
    async function htmlPasswordLogin(b: Browser, user: { email: string }): Promise<Response> {
      const { id } = await b.startHtml('login');
      const flow = await b.readFlow('login', id);
      return b.submitForm(flow.ui.action, { csrf_token: node(flow, 'csrf_token').attributes.value, identifier: user.email, password: PASSWORD, method: 'password' });
    }

    /** A browser logged in with its password (the identity has no second factor yet: no step-up). */
    async function loggedIn(srv: TestServer, user: { email: string }): Promise<Browser> {
      const b = new Browser(srv.publicUrl);
      expectRedirect(await htmlPasswordLogin(b, user), APP);
      return b;
    }

    /** A new HTML settings flow, read as the UI would. */
    async function settings(b: Browser): Promise<Json> {
      const { id } = await b.startHtml('settings');
      return b.readFlow('settings', id);
    }

    /**
     * Posts a browser form and follows Kratos's redirect back to the UI: the flow as re-rendered. (Kratos answers a
     * registration form error with 302 Found, login and settings with 303: selfservice/flow/registration/error.go:162.)
     */
    async function postAndReread(b: Browser, kind: 'login' | 'registration' | 'settings', flow: Json, fields: Record<string, string>): Promise<Json> {
      const res = await b.submitForm(flow.ui.action, fields);
      expectRedirect(res, `${UI}/${kind}?flow=${flow.id}`, kind === 'registration' ? 302 : 303);
      return b.readFlow(kind, flow.id);
    }

    /** Adds a security key in a new settings flow as webauthn.js does; returns the key and the flow after success. */
    async function addSecurityKey(b: Browser, auth: SoftAuthenticator, displayName: string): Promise<{ key: SoftCredential; flow: Json }> {
      const flow = await settings(b);
      const created = await auth.create(remember(triggerOptions(flow, 'webauthn_register_trigger')), ORIGIN);
      const after = await postAndReread(b, 'settings', flow, formFields(flow, ['default', 'webauthn'], {
        webauthn_register_displayname: displayName, webauthn_register: attestationJson(created),
      }));
      expect(after.state, JSON.stringify(after.ui)).toBe('success');
      expect(uiIds(after)).toEqual([MSG.saved]);
      const key = auth.credentials.find((c) => c.id === created.id)!;
      rememberKey(key);
      return { key, flow: after };
    }

    /**
     * A native (API) call, its JSON answer checked against `operation`. Spec quirk handled as in mfa.test.ts: Kratos
     * answers the aal1 login of an identity with a second factor with `session.identity: null`, which its OpenAPI
     * document does not allow; that field is left out of the check.
     */
    async function apiJson(srv: TestServer, operation: string, method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<{ status: number; body: Json }> {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers['x-session-token'] = token;
      const res = await fetch(`${srv.publicUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
      const answer = { status: res.status, body: await bodyOf(res) };
      if (answer.body?.session?.identity === null) {
        const { identity: _identity, ...session } = answer.body.session;
        expectResponse(operation, answer.status, { ...answer.body, session });
      } else {
        expectResponse(operation, answer.status, answer.body);
      }
      return answer;
    }

    /** Registers a passkey identity through an API registration flow; returns the token, identity and handle. */
    async function passkeyApiRegistration(srv: TestServer, auth: SoftAuthenticator, address: string, overrides: SoftCreateOverrides = {}) {
      const flow = await apiJson(srv, 'createNativeRegistrationFlow', 'GET', '/self-service/registration/api');
      expect(flow.status).toBe(200);
      const publicKey = remember(passkeyRegistrationOptions(flow.body, { 'traits.email': address }));
      const created = await auth.create(publicKey, ORIGIN, overrides);
      const done = await apiJson(srv, 'updateRegistrationFlow', 'POST', `/self-service/registration?flow=${flow.body.id}`, { traits: { email: address }, passkey_register: attestationJson(created) });
      const key = auth.credentials.find((c) => c.id === created.id)!;
      rememberKey(key);
      return { flow: flow.body, publicKey, done, key, handle: Buffer.from(publicKey.user.id, 'base64url').toString('latin1') };
    }

    /** A discoverable passkey login through an API flow: the answer of the submit. */
    async function passkeyApiLogin(srv: TestServer, auth: SoftAuthenticator, overrides: SoftGetOverrides = {}, origin = ORIGIN) {
      const flow = await apiJson(srv, 'createNativeLoginFlow', 'GET', '/self-service/login/api');
      expect(flow.status).toBe(200);
      const assertion = await auth.get(remember(passkeyChallenge(flow.body)), origin, overrides);
      const done = await apiJson(srv, 'updateLoginFlow', 'POST', `/self-service/login?flow=${flow.body.id}`, { passkey_login: assertionJson(assertion) });
      return { flow: flow.body, done };
    }

    function expectAal2Required(answer: { status: number; body: Json }, srv: TestServer) {
      expect(answer.status).toBe(403);
      expect(answer.body.error).toMatchObject({ id: 'session_aal2_required', code: 403, status: 'Forbidden' });
      expect(answer.body.redirect_browser_to).toBe(`${srv.publicUrl}/self-service/login/browser?aal=aal2`);
    }

    // -----------------------------------------------------------------------------------------------------------------
    // 1. A security key as second factor

    it('adds a named security key in settings (aal2), steps a new aal1 session up with it, refuses replays, removes it', async () => {
      const user = await passwordUser(mfa);
      const auth = new SoftAuthenticator();
      const b = await loggedIn(mfa, user);

      // §3.2: settings nodes of an identity without keys; every option as go-webauthn serialises it.
      const flow = await settings(b);
      expect(groupKeys(flow, 'webauthn').filter((k) => k !== 'webauthn_script')).toEqual(['webauthn_register_displayname', 'webauthn_register', 'webauthn_register_trigger']);
      // Kratos upserts the script node (x/webauthnx NewWebAuthnScript, ui/node Nodes.Upsert): one, even with passkeys on.
      expect.soft(allNodes(flow, 'webauthn_script'), 'webauthn_script nodes in a settings flow with webauthn and passkey').toHaveLength(1);
      expect(node(flow, 'webauthn_register_displayname')).toMatchObject({
        type: 'input', attributes: { type: 'text', value: '', disabled: false }, meta: { label: { id: 1050013, text: 'Name of the security key' } },
      });
      expect(node(flow, 'webauthn_register').attributes).toMatchObject({ type: 'hidden', value: '' });
      const trigger = node(flow, 'webauthn_register_trigger');
      expect(trigger).toMatchObject({
        type: 'input', group: 'webauthn',
        attributes: { type: 'button', onclickTrigger: 'oryWebAuthnRegistration', disabled: false, node_type: 'input' },
        meta: { label: { id: 1050012, text: 'Add security key' } },
      });
      expect(trigger.attributes.onclick).toBe(`window.oryWebAuthnRegistration(${trigger.attributes.value})`);
      const options = remember(triggerOptions(flow, 'webauthn_register_trigger'));
      expect(options).toEqual({
        rp: { name: RP_NAME, id: 'localhost' },
        user: { name: RP_NAME, displayName: RP_NAME, id: uuidB64url(user.id) },
        challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        pubKeyCredParams: ALGORITHMS.map((alg) => ({ type: 'public-key', alg })),
        timeout: 120_000,
        authenticatorSelection: { userVerification: 'discouraged' },
      });

      // Empty display name (the script posts the form as it is): 4000002 on the name, nothing stored (§4.6).
      const unnamed = await auth.create(options, ORIGIN);
      const refused = await postAndReread(b, 'settings', flow, formFields(flow, ['default', 'webauthn'], { webauthn_register: attestationJson(unnamed) }));
      expect(refused.state).toBe('show_form');
      expect(node(refused, 'webauthn_register_displayname').messages).toEqual([
        expect.objectContaining({ id: MSG.required, type: 'error', text: 'Property webauthn_register_displayname is missing.' }),
      ]);
      expect(await stored(mfa, user.id, 'webauthn')).toBeUndefined();

      // With a name: saved, the remove button appears, the session becomes aal2 (§4.6 "Add").
      const named = await auth.create(remember(triggerOptions(refused, 'webauthn_register_trigger')), ORIGIN);
      const saved = await postAndReread(b, 'settings', refused, formFields(refused, ['default', 'webauthn'], {
        webauthn_register_displayname: 'Blue key', webauthn_register: attestationJson(named),
      }));
      expect(saved.state).toBe('success');
      expect(saved.ui.messages).toEqual([expect.objectContaining({ id: MSG.saved, type: 'success', text: 'Your changes have been saved!' })]);
      const key = auth.credentials.find((c) => c.id === named.id)!;
      rememberKey(key);
      const removes = allNodes(saved, 'webauthn_remove');
      expect(removes).toHaveLength(1);
      expect(removes[0]).toMatchObject({
        type: 'input', group: 'webauthn',
        attributes: { type: 'submit', value: b64urlToHex(key.id), disabled: false },
        meta: { label: { id: 1050018, text: 'Remove security key "Blue key"', context: { display_name: 'Blue key' } } },
      });
      // A fresh challenge for the next key; the new key is excluded.
      const next = triggerOptions(saved, 'webauthn_register_trigger');
      remember(next);
      expect(next.challenge).not.toBe(options.challenge);
      expect(next.excludeCredentials).toEqual([{ type: 'public-key', id: key.id }]);

      const upgraded = await b.whoami();
      expect(upgraded.status).toBe(200);
      expect(upgraded.body.authenticator_assurance_level).toBe('aal2');
      expect(amr(upgraded.body)).toEqual([['password', 'aal1'], ['webauthn', 'aal2']]);

      // §4.8: the stored key.
      const credential = await stored(mfa, user.id, 'webauthn');
      expect(credential.identifiers).toEqual([user.email]);
      expect(credential.config.user_handle).toBe(uuidB64std(user.id));
      expect(credential.config.credentials).toEqual([{
        id: b64urlToStd(key.id),
        public_key: Buffer.from(key.publicKeyCose).toString('base64'),
        attestation_type: 'none',
        authenticator: { aaguid: Buffer.alloc(16).toString('base64'), sign_count: 0, clone_warning: false },
        display_name: 'Blue key',
        added_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        is_passwordless: false,
        flags: { user_present: true, user_verified: true, backup_eligible: false, backup_state: false },
      }]);

      // A new password login: aal1, and whoami (highest_available) wants the key (kratos-mfa §7).
      const b2 = new Browser(mfa.publicUrl);
      expectRedirect(await htmlPasswordLogin(b2, user), `${mfa.publicUrl}/self-service/login/browser?aal=aal2`);
      expectAal2Required(await b2.whoami(), mfa);
      const aal1 = (await sessionsOf(mfa, user.id)).filter((s) => s.authenticator_assurance_level === 'aal1');
      expect(aal1).toHaveLength(1);

      // §3.4: the aal2 login form.
      const { id: loginId } = await b2.startHtml('login', '?aal=aal2');
      const login = await b2.readFlow('login', loginId);
      expect(login.requested_aal).toBe('aal2');
      expect(uiIds(login)).toEqual([MSG.secondFactor]);
      expect(nodesOf(login).map(nodeKey)).toEqual(['csrf_token', 'identifier', 'webauthn_login', 'webauthn_script', 'webauthn_login_trigger']);
      expect(node(login, 'identifier')).toMatchObject({ group: 'default', attributes: { type: 'hidden', value: user.email } });
      expect(node(login, 'webauthn_login').attributes).toMatchObject({ type: 'hidden', value: '' });
      expect(node(login, 'webauthn_login_trigger')).toMatchObject({
        group: 'webauthn', attributes: { type: 'button', onclickTrigger: 'oryWebAuthnLogin' }, meta: { label: { id: MSG.hardwareKey, text: 'Sign in with a hardware key' } },
      });
      const request = remember(triggerOptions(login, 'webauthn_login_trigger'));
      expect(request).toEqual({
        challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        timeout: 120_000,
        rpId: 'localhost',
        allowCredentials: [{ type: 'public-key', id: key.id }],
        userVerification: 'discouraged',
      });

      const assertion = assertionJson(await auth.get(request, ORIGIN));
      expectRedirect(await b2.submitForm(login.ui.action, formFields(login, ['default', 'webauthn'], { webauthn_login: assertion })), APP);
      const stepped = await b2.whoami();
      expect(stepped.status).toBe(200);
      expect(stepped.body.id).toBe(aal1[0].id);
      expect(stepped.body.authenticator_assurance_level).toBe('aal2');
      expect(amr(stepped.body)).toEqual([['password', 'aal1'], ['webauthn', 'aal2']]);

      // Replays in a refresh flow (a new challenge): the same assertion, then a fresh signature over the used challenge.
      const { id: refreshId } = await b2.startHtml('login', '?aal=aal2&refresh=true');
      const refresh = await b2.readFlow('login', refreshId);
      expect(uiIds(refresh)).toEqual([MSG.refresh]);
      const refreshRequest = remember(triggerOptions(refresh, 'webauthn_login_trigger'));
      expect(refreshRequest.challenge).not.toBe(request.challenge);
      const replayed = await postAndReread(b2, 'login', refresh, formFields(refresh, ['default', 'webauthn'], { webauthn_login: assertion }));
      expect(replayed.ui.messages).toEqual([expect.objectContaining({ id: MSG.invalidAssertion, type: 'error', text: 'The provided web authn login is invalid, please try again.' })]);
      const usedChallenge = assertionJson(await auth.get(refreshRequest, ORIGIN, { challenge: request.challenge }));
      const reused = await postAndReread(b2, 'login', replayed, formFields(replayed, ['default', 'webauthn'], { webauthn_login: usedChallenge }));
      expect(uiIds(reused)).toEqual([MSG.invalidAssertion]);
      expect(amr((await b2.whoami()).body)).toHaveLength(2);
      // The failures did not use the challenge up (§4.2 8.): the key still works in this flow.
      expect(triggerOptions(reused, 'webauthn_login_trigger').challenge).toBe(refreshRequest.challenge);
      const genuine = formFields(reused, ['default', 'webauthn'], { webauthn_login: assertionJson(await auth.get(refreshRequest, ORIGIN)) });
      expectRedirect(await b2.submitForm(reused.ui.action, genuine), APP);
      expect(amr((await b2.whoami()).body)).toEqual([['password', 'aal1'], ['webauthn', 'aal2'], ['webauthn', 'aal2']]);
      // The very same form post again, to the same (refresh) flow: its challenge is used up.
      expectRedirect(await b2.submitForm(reused.ui.action, genuine), `${UI}/login?flow=${reused.id}`);
      const againJson = await b2.submitJson(reused.ui.action, genuine);
      const againBody = await bodyOf(againJson);
      expectResponse('updateLoginFlow', againJson.status, againBody);
      expect(againJson.status).toBe(400);
      expect(uiIds(againBody)).toEqual([4010007]);
      expect(amr((await b2.whoami()).body)).toHaveLength(3);

      // Security keys are for browser flows only (§3.4, §4.2 1.): an API aal2 flow shows none and refuses an assertion.
      const native = await apiJson(mfa, 'updateLoginFlow', 'POST', `/self-service/login?flow=${(await apiJson(mfa, 'createNativeLoginFlow', 'GET', '/self-service/login/api')).body.id}`, { method: 'password', identifier: user.email, password: PASSWORD });
      expect(native.status).toBe(200);
      expect(native.body.session.authenticator_assurance_level).toBe('aal1');
      const apiAal2 = await apiJson(mfa, 'createNativeLoginFlow', 'GET', '/self-service/login/api?aal=aal2', undefined, native.body.session_token);
      expect(apiAal2.status).toBe(200);
      expect(groupKeys(apiAal2.body, 'webauthn')).toEqual([]);
      const apiRefused = await apiJson(mfa, 'updateLoginFlow', 'POST', `/self-service/login?flow=${apiAal2.body.id}`, { identifier: user.email, webauthn_login: assertion }, native.body.session_token);
      expect(apiRefused.status).toBe(400);
      expect(apiRefused.body.ui.messages).toEqual([expect.objectContaining({ id: 4010002, text: 'Could not find a strategy to log you in with. Did you fill out the form correctly?' })]);

      // Removing the only key of this identity: an MFA key can always go (§4.6 "Remove").
      const before = await settings(b);
      const remove = node(before, 'webauthn_remove');
      expect(remove.attributes.disabled).toBe(false);
      const removed = await postAndReread(b, 'settings', before, formFields(before, ['default', 'webauthn'], { webauthn_remove: remove.attributes.value }));
      expect(removed.state).toBe('success');
      expect(uiIds(removed)).toEqual([MSG.saved]);
      expect(allNodes(removed, 'webauthn_remove')).toEqual([]);
      expect(await stored(mfa, user.id, 'webauthn')).toBeUndefined();
      // No session downgrade.
      expect((await b.whoami()).body.authenticator_assurance_level).toBe('aal2');
      // And no trigger at the next aal2 refresh, only its message (e2e mfa/webauthn.spec.ts:315-325).
      const { id: afterId } = await b2.startHtml('login', '?aal=aal2&refresh=true');
      const afterRemoval = await b2.readFlow('login', afterId);
      expect(node(afterRemoval, 'webauthn_login_trigger')).toBeUndefined();
      expect(uiIds(afterRemoval)).toContain(MSG.refresh);
    });

    // -----------------------------------------------------------------------------------------------------------------
    // 2. Forged responses

    it('refuses forged security-key registrations (4000001) and assertions (4000043) and stores nothing; a counter regression only sets clone_warning', async () => {
      const alice = await passwordUser(mfa);
      const bob = await passwordUser(mfa);
      // One authenticator holds both users' keys, so it can answer with the other identity's credential.
      const auth = new SoftAuthenticator();
      const ba = await loggedIn(mfa, alice);

      // Registration (settings): every forgery is refused with Kratos's reason "Unable to create WebAuthn credential: …".
      // Kratos raises it as a 500 (webauthn/settings.go, registration.go: herodot.ErrInternalServerError, so the error
      // page); idflow keeps the flow and shows it as 4000001, which is what is asserted here and below.
      const forgedCreates: Array<[string, string, SoftCreateOverrides]> = [
        ['wrong origin', 'http://evil.example:4455', {}],
        ['wrong port', 'http://localhost:4456', {}],
        ['wrong RP id', ORIGIN, { rpId: 'evil.example' }],
        ['wrong challenge', ORIGIN, { challenge: randomChallenge() }],
        ['wrong type', ORIGIN, { type: 'webauthn.get' }],
        ['no user presence', ORIGIN, { userPresent: false }],
      ];
      let flow = await settings(ba);
      for (const [label, origin, overrides] of forgedCreates) {
        const forged = await auth.create(remember(triggerOptions(flow, 'webauthn_register_trigger')), origin, overrides);
        flow = await postAndReread(ba, 'settings', flow, formFields(flow, ['default', 'webauthn'], { webauthn_register_displayname: label, webauthn_register: attestationJson(forged) }));
        expect(flow.state, label).toBe('show_form');
        const errors = everyMessage(flow).filter((m) => m.type === 'error');
        expect(errors.map((m) => m.id), label).toEqual([MSG.generic]);
        expect(errors[0].context?.reason, label).toMatch(/^Unable to create WebAuthn credential: /);
        expect(await stored(mfa, alice.id, 'webauthn'), label).toBeUndefined();
      }
      expect(amr((await ba.whoami()).body)).toEqual([['password', 'aal1']]);

      const { key: aliceKey } = await addSecurityKey(ba, auth, 'Alice key');
      const { key: bobKey } = await addSecurityKey(await loggedIn(mfa, bob), auth, 'Bob key');
      // A key no identity registered.
      const other = new SoftAuthenticator();
      await other.create({ rp: { id: 'localhost', name: RP_NAME }, user: { id: b64url.encode(new Uint8Array(16)), name: 'x', displayName: 'x' }, challenge: randomChallenge() }, ORIGIN);
      const strayKey = other.credentials[0];

      // Login (aal2 step-up of a new aal1 session): every forgery → 4000043, the session stays aal1.
      const b2 = new Browser(mfa.publicUrl);
      expectRedirect(await htmlPasswordLogin(b2, alice), `${mfa.publicUrl}/self-service/login/browser?aal=aal2`);
      const { id: loginId } = await b2.startHtml('login', '?aal=aal2');
      let login = await b2.readFlow('login', loginId);
      const request = remember(triggerOptions(login, 'webauthn_login_trigger'));
      const forgedGets: Array<[string, string, SoftGetOverrides]> = [
        ['wrong origin', 'http://evil.example:4455', {}],
        ['wrong scheme', 'https://localhost:4455', {}],
        ['wrong RP id', ORIGIN, { rpId: 'evil.example' }],
        ['wrong challenge', ORIGIN, { challenge: randomChallenge() }],
        ['wrong type', ORIGIN, { type: 'webauthn.create' }],
        ['no user presence', ORIGIN, { userPresent: false }],
        ["another identity's credential", ORIGIN, { credentialId: bobKey.id }],
        ["another identity's user handle", ORIGIN, { userHandle: uuidB64url(bob.id) }],
        ['a signature by another key', ORIGIN, { signWith: strayKey }],
        ["a signature by the other identity's key", ORIGIN, { signWith: bobKey }],
      ];
      for (const [label, origin, overrides] of forgedGets) {
        const forged = await auth.get(triggerOptions(login, 'webauthn_login_trigger'), origin, overrides);
        login = await postAndReread(b2, 'login', login, formFields(login, ['default', 'webauthn'], { webauthn_login: assertionJson(forged) }));
        expect(uiIds(login), label).toEqual([MSG.invalidAssertion]);
        // The challenge stays (session data is kept on failure).
        expect(triggerOptions(login, 'webauthn_login_trigger').challenge, label).toBe(request.challenge);
        expect((await b2.whoami()).status, label).toBe(403);
      }
      const untouched = (await stored(mfa, alice.id, 'webauthn')).config.credentials[0].authenticator;
      expect(untouched).toEqual({ aaguid: Buffer.alloc(16).toString('base64'), sign_count: 0, clone_warning: false });

      // The genuine assertion in the same flow; security keys never require user verification (UV "discouraged").
      expectRedirect(await b2.submitForm(login.ui.action, formFields(login, ['default', 'webauthn'], {
        webauthn_login: assertionJson(await auth.get(request, ORIGIN, { userVerified: false })),
      })), APP);
      const stepped = await b2.whoami();
      expect(stepped.body.authenticator_assurance_level).toBe('aal2');
      const counted = (await stored(mfa, alice.id, 'webauthn')).config.credentials[0];
      expect(counted.authenticator).toMatchObject({ sign_count: aliceKey.counter, clone_warning: false });
      expect(aliceKey.counter).toBeGreaterThan(0);

      // A counter that does not grow (a cloned key): the login still succeeds, the key gets clone_warning (§4.0 6.).
      const { id: refreshId } = await b2.startHtml('login', '?aal=aal2&refresh=true');
      const refresh = await b2.readFlow('login', refreshId);
      const regress = await auth.get(remember(triggerOptions(refresh, 'webauthn_login_trigger')), ORIGIN, { counter: aliceKey.counter });
      expectRedirect(await b2.submitForm(refresh.ui.action, formFields(refresh, ['default', 'webauthn'], { webauthn_login: assertionJson(regress) })), APP);
      expect(amr((await b2.whoami()).body)).toEqual([['password', 'aal1'], ['webauthn', 'aal2'], ['webauthn', 'aal2']]);
      const warned = (await stored(mfa, alice.id, 'webauthn')).config.credentials[0];
      expect(warned.authenticator).toEqual({ aaguid: Buffer.alloc(16).toString('base64'), sign_count: aliceKey.counter, clone_warning: true });
      // Bob's key was not touched by the forgeries that named it.
      expect((await stored(mfa, bob.id, 'webauthn')).config.credentials[0].authenticator.sign_count).toBe(0);
    });

    // -----------------------------------------------------------------------------------------------------------------
    // 3. Passwordless security keys

    it('passwordless: signs up with a security key, logs in with identifier then key (303 / 422), refuses unknown users and removing the last key', async () => {
      const auth = new SoftAuthenticator();
      const address = email('pwl');
      const b = new Browser(pwl.publicUrl);

      // §3.7: registration nodes.
      const { id: regId } = await b.startHtml('registration');
      let reg = await b.readFlow('registration', regId);
      expect(groupKeys(reg, 'webauthn').filter((k) => k !== 'webauthn_script')).toEqual(['webauthn_register_displayname', 'webauthn_register', 'webauthn_register_trigger']);
      expect.soft(allNodes(reg, 'webauthn_script'), 'webauthn_script nodes in a registration flow with webauthn and passkey').toHaveLength(1);
      expect(node(reg, 'webauthn_register_trigger').meta.label).toMatchObject({ id: 1040004, text: 'Sign up with security key' });
      const options = remember(triggerOptions(reg, 'webauthn_register_trigger'));
      expect(options).toMatchObject({ rp: { name: RP_NAME, id: 'localhost' }, user: { name: RP_NAME, displayName: RP_NAME }, timeout: 120_000, authenticatorSelection: { userVerification: 'discouraged' } });
      expect(Buffer.from(options.user.id, 'base64url')).toHaveLength(16);

      // A forged registration creates nothing.
      const forged = await auth.create(options, 'http://evil.example:4455');
      reg = await postAndReread(b, 'registration', reg, formFields(reg, ['default', 'webauthn'], {
        'traits.email': address, webauthn_register_displayname: 'Forged', webauthn_register: attestationJson(forged),
      }));
      expect(everyMessage(reg).filter((m) => m.type === 'error').map((m) => m.id)).toEqual([MSG.generic]);
      expect(await identitiesWith(pwl, address)).toEqual([]);
      expect(b.sessionCookie()).toBeUndefined();

      const again = remember(triggerOptions(reg, 'webauthn_register_trigger'));
      const created = await auth.create(again, ORIGIN);
      const key = auth.credentials.find((c) => c.id === created.id)!;
      rememberKey(key);
      expectRedirect(await b.submitForm(reg.ui.action, formFields(reg, ['default', 'webauthn'], {
        'traits.email': address, webauthn_register_displayname: 'Passwordless key', webauthn_register: attestationJson(created),
      })), APP);
      const registered = await b.whoami();
      expect(registered.status).toBe(200);
      expect(registered.body.authenticator_assurance_level).toBe('aal1');
      expect(amr(registered.body)).toEqual([['webauthn', 'aal1']]);
      const identityId = registered.body.identity.id as string;
      const credential = await stored(pwl, identityId, 'webauthn');
      expect(credential.identifiers).toEqual([address]);
      expect(credential.config.user_handle).toBe(b64urlToStd(again.user.id));
      expect(credential.config.user_handle).not.toBe(uuidB64std(identityId));
      expect(credential.config.credentials).toEqual([expect.objectContaining({ id: b64urlToStd(key.id), display_name: 'Passwordless key', is_passwordless: true })]);

      // §3.5 step 0 and 1 (HTML): identifier + method=webauthn → 303 back to the UI with only the key's nodes.
      const b2 = new Browser(pwl.publicUrl);
      const { id: loginId } = await b2.startHtml('login');
      const step0 = await b2.readFlow('login', loginId);
      expect(node(step0, 'identifier').attributes).toMatchObject({ type: 'text', value: '', required: true, autocomplete: 'username webauthn' });
      expect(node(step0, 'method=webauthn')).toMatchObject({ group: 'webauthn', attributes: { type: 'submit', value: 'webauthn' }, meta: { label: { id: MSG.hardwareKey } } });
      expect(node(step0, 'webauthn_login_trigger')).toBeUndefined();
      const step1 = await postAndReread(b2, 'login', step0, { csrf_token: node(step0, 'csrf_token').attributes.value, identifier: address, method: 'webauthn' });
      expect(step1.ui.messages).toEqual([expect.objectContaining({
        id: MSG.prepareDevice, type: 'info', text: 'Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.',
      })]);
      // The nodes are replaced (§3.5): no password, no passkey. Kratos leaves them unsorted (identifier first); idflow
      // orders every form alike, csrf_token first (a deliberate, cosmetic deviation).
      expect(nodesOf(step1).map(nodeKey)).toEqual(['csrf_token', 'identifier', 'webauthn_script', 'webauthn_login_trigger', 'webauthn_login']);
      expect(node(step1, 'identifier').attributes).toMatchObject({ type: 'hidden', value: address, required: true });
      expect(node(step1, 'webauthn_login_trigger').meta.label).toMatchObject({ id: MSG.continue, text: 'Continue' });
      const request = remember(triggerOptions(step1, 'webauthn_login_trigger'));
      expect(request).toEqual({ challenge: expect.any(String), timeout: 120_000, rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: key.id }], userVerification: 'discouraged' });

      // Step 2: the script posts identifier, csrf_token and webauthn_login.
      expectRedirect(await b2.submitForm(step1.ui.action, formFields(step1, ['default', 'webauthn'], { webauthn_login: assertionJson(await auth.get(request, ORIGIN)) })), APP);
      const loggedInPwl = await b2.whoami();
      expect(loggedInPwl.body.identity.id).toBe(identityId);
      expect(loggedInPwl.body.authenticator_assurance_level).toBe('aal1');
      expect(amr(loggedInPwl.body)).toEqual([['webauthn', 'aal1']]);

      // A refresh asks the session identity's passwordless keys right away (§3.4 "Refresh").
      const { id: refreshId } = await b2.startHtml('login', '?refresh=true');
      const refresh = await b2.readFlow('login', refreshId);
      expect(uiIds(refresh)).toEqual([MSG.refresh]);
      expect(node(refresh, 'identifier').attributes).toMatchObject({ type: 'hidden', value: address });
      expect(node(refresh, 'password')).toBeUndefined();
      expect(node(refresh, 'webauthn_login_trigger').meta.label).toMatchObject({ id: MSG.hardwareKey });
      const refreshRequest = remember(triggerOptions(refresh, 'webauthn_login_trigger'));
      expect(refreshRequest.allowCredentials).toEqual([{ type: 'public-key', id: key.id }]);
      expectRedirect(await b2.submitForm(refresh.ui.action, formFields(refresh, ['default', 'webauthn'], { webauthn_login: assertionJson(await auth.get(refreshRequest, ORIGIN)) })), APP);
      expect(amr((await b2.whoami()).body)).toEqual([['webauthn', 'aal1'], ['webauthn', 'aal1']]);

      // The same with an SPA: step 1 answers 422 browser_location_change_required, step 2 the session.
      const spa = new Browser(pwl.publicUrl);
      const spaFlow = await spa.startJson('login');
      const first = await spa.submitJson(spaFlow.ui.action, { identifier: address, method: 'webauthn', csrf_token: node(spaFlow, 'csrf_token').attributes.value });
      const firstBody = await bodyOf(first);
      expect(first.status).toBe(422);
      // Spec quirk: errorBrowserLocationChangeRequired.error refers to errorGeneric (which nests another `error`), but
      // Kratos (selfservice/flow/error.go:179-191) sends the genericError itself there; so that part is checked apart.
      expectSchema('genericError', firstBody.error);
      expectSchema('errorBrowserLocationChangeRequired', { redirect_browser_to: firstBody.redirect_browser_to });
      const target = `${UI}/login?flow=${spaFlow.id}`;
      expect(firstBody).toEqual({
        error: {
          id: 'browser_location_change_required', code: 422, status: 'Unprocessable Entity',
          reason: `In order to complete this flow please redirect the browser to: ${target}`, message: 'browser location change required',
        },
        redirect_browser_to: target,
      });
      const spaStep1 = await spa.readFlow('login', spaFlow.id);
      expect(uiIds(spaStep1)).toEqual([MSG.prepareDevice]);
      const second = await spa.submitJson(spaStep1.ui.action, {
        ...formFields(spaStep1, ['default', 'webauthn']), webauthn_login: assertionJson(await auth.get(remember(triggerOptions(spaStep1, 'webauthn_login_trigger')), ORIGIN)),
      });
      const secondBody = await bodyOf(second);
      expectResponse('updateLoginFlow', second.status, secondBody);
      expect(second.status, JSON.stringify(secondBody)).toBe(200);
      expect(amr(secondBody.session)).toEqual([['webauthn', 'aal1']]);

      // An unknown identifier: 4000015 (§3.5).
      const b3 = new Browser(pwl.publicUrl);
      const { id: unknownId } = await b3.startHtml('login');
      const unknownFlow = await b3.readFlow('login', unknownId);
      const unknown = await postAndReread(b3, 'login', unknownFlow, { csrf_token: node(unknownFlow, 'csrf_token').attributes.value, identifier: email('nobody'), method: 'webauthn' });
      expect(unknown.ui.messages).toEqual([expect.objectContaining({ id: MSG.noSuchUser, type: 'error', text: 'This account does not exist or has no security key set up.' })]);
      expect(b3.sessionCookie()).toBeUndefined();

      // Settings: the only passwordless key of an identity without another first factor can not go (§4.6 "Remove").
      const s = await settings(b);
      const remove = node(s, 'webauthn_remove');
      expect(remove.attributes).toMatchObject({ type: 'submit', value: b64urlToHex(key.id), disabled: true });
      const refused = await postAndReread(b, 'settings', s, formFields(s, ['default', 'webauthn'], { webauthn_remove: remove.attributes.value }));
      expect(refused.state).toBe('show_form');
      expect(node(refused, 'webauthn_remove').attributes.disabled).toBe(true);
      expect(node(refused, 'webauthn_remove').messages).toEqual([expect.objectContaining({ id: MSG.generic, type: 'error', text: WOULD_LOCK_OUT, context: { reason: WOULD_LOCK_OUT } })]);
      expect((await stored(pwl, identityId, 'webauthn')).config.credentials).toHaveLength(1);
    });

    // -----------------------------------------------------------------------------------------------------------------
    // 4. Passkeys

    it('passkeys: registers through API and browser flows, logs in discoverably, refuses unknown handles and forgeries, adds one in settings, keeps the last', async () => {
      // API registration (§3.8, §4.5).
      const authApi = new SoftAuthenticator();
      const apiAddress = email('passkey-api');
      const api = await passkeyApiRegistration(mfa, authApi, apiAddress);
      expect(groupKeys(api.flow, 'passkey')).toEqual(['passkey_register_trigger', 'passkey_register', 'passkey_create_data']);
      expect(node(api.flow, 'webauthn_script')).toBeUndefined();
      expect(node(api.flow, 'passkey_register_trigger')).toMatchObject({ attributes: { type: 'button', onclickTrigger: 'oryPasskeyRegistration' }, meta: { label: { id: 1040007, text: 'Sign up with passkey' } } });
      expect(node(api.flow, 'passkey_register_trigger').attributes.onclick).toBeUndefined();
      const createData = JSON.parse(node(api.flow, 'passkey_create_data').attributes.value);
      expect(createData.displayNameFieldName).toBe('traits.email');
      expect(createData.displayNameFieldNames).toEqual(['traits.email']);
      expect(createData.credentialOptions.publicKey).toMatchObject({
        rp: { name: RP_NAME, id: 'localhost' }, user: { name: RP_NAME, displayName: RP_NAME }, timeout: 300_000, attestation: 'none',
        authenticatorSelection: { requireResidentKey: true, residentKey: 'required', userVerification: 'preferred' },
      });
      expect(api.handle).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(api.done.status, JSON.stringify(api.done.body)).toBe(200);
      expect(api.done.body.session_token).toMatch(/^ory_st_/);
      expect(api.done.body.session.authenticator_assurance_level).toBe('aal1');
      expect(amr(api.done.body.session)).toEqual([['passkey', 'aal1']]);
      const apiId = api.done.body.identity.id as string;
      const apiCredential = await stored(mfa, apiId, 'passkey');
      expect(apiCredential.identifiers).toEqual([api.handle]);
      expect(apiCredential.config.user_handle).toBe(Buffer.from(api.handle).toString('base64'));
      expect(apiCredential.config.credentials).toEqual([expect.objectContaining({ id: b64urlToStd(api.key.id), is_passwordless: true, display_name: '' })]);

      // Browser registration.
      const auth = new SoftAuthenticator();
      const address = email('passkey');
      const b = new Browser(mfa.publicUrl);
      const { id: regId } = await b.startHtml('registration');
      const reg = await b.readFlow('registration', regId);
      expect(groupKeys(reg, 'passkey')).toEqual(['passkey_register_trigger', 'passkey_register', 'passkey_create_data']);
      expect(node(reg, 'passkey_register_trigger').attributes.onclick).toBe('window.oryPasskeyRegistration()');
      expect(node(reg, 'webauthn_script')).toMatchObject({ type: 'script', group: 'webauthn' });
      const regOptions = remember(passkeyRegistrationOptions(reg, { 'traits.email': address }));
      const created = await auth.create(regOptions, ORIGIN);
      const key = auth.credentials.find((c) => c.id === created.id)!;
      rememberKey(key);
      expectRedirect(await b.submitForm(reg.ui.action, formFields(reg, ['default', 'passkey'], { 'traits.email': address, passkey_register: attestationJson(created) })), APP);
      const registered = await b.whoami();
      expect(registered.status).toBe(200);
      expect(amr(registered.body)).toEqual([['passkey', 'aal1']]);
      const identityId = registered.body.identity.id as string;
      const handle = Buffer.from(regOptions.user.id, 'base64url').toString('latin1');
      expect((await stored(mfa, identityId, 'passkey')).identifiers).toEqual([handle]);

      // §3.6: discoverable login in a new browser flow.
      const b2 = new Browser(mfa.publicUrl);
      const { id: loginId } = await b2.startHtml('login');
      const login = await b2.readFlow('login', loginId);
      expect(groupKeys(login, 'passkey')).toEqual(['passkey_login_trigger', 'passkey_login', 'passkey_challenge']);
      expect(node(login, 'passkey_login_trigger')).toMatchObject({ attributes: { type: 'button', onclick: 'window.oryPasskeyLogin()', onclickTrigger: 'oryPasskeyLogin' }, meta: { label: { id: MSG.passkeyLogin, text: 'Sign in with passkey' } } });
      expect(node(login, 'passkey_login').attributes).toMatchObject({ type: 'hidden', onload: 'window.oryPasskeyLoginAutocompleteInit()', onloadTrigger: 'oryPasskeyLoginAutocompleteInit' });
      const challenge = remember(passkeyChallenge(login));
      expect(challenge).toEqual({ challenge: expect.any(String), timeout: 300_000, rpId: 'localhost', userVerification: 'preferred' });
      expectRedirect(await b2.submitForm(login.ui.action, formFields(login, ['default', 'passkey'], { passkey_login: assertionJson(await auth.get(challenge, ORIGIN)) })), APP);
      const viaPasskey = await b2.whoami();
      expect(viaPasskey.body.identity.id).toBe(identityId);
      expect(viaPasskey.body.authenticator_assurance_level).toBe('aal1');
      expect(amr(viaPasskey.body)).toEqual([['passkey', 'aal1']]);

      // A refresh names the session identity's passkeys (§3.6 "Refresh"): identifier hidden (the display name).
      const { id: refreshId } = await b2.startHtml('login', '?refresh=true');
      const refresh = await b2.readFlow('login', refreshId);
      expect(uiIds(refresh)).toEqual([MSG.refresh]);
      expect(node(refresh, 'identifier').attributes).toMatchObject({ type: 'hidden', value: address });
      expect(node(refresh, 'password')).toBeUndefined();
      expect(node(refresh, 'passkey_login').attributes.onload).toBeUndefined();
      const refreshChallenge = remember(passkeyChallenge(refresh));
      expect(refreshChallenge.allowCredentials).toEqual([{ type: 'public-key', id: key.id }]);
      expectRedirect(await b2.submitForm(refresh.ui.action, formFields(refresh, ['default', 'passkey'], { passkey_login: assertionJson(await auth.get(refreshChallenge, ORIGIN)) })), APP);
      expect(amr((await b2.whoami()).body)).toEqual([['passkey', 'aal1'], ['passkey', 'aal1']]);

      // API login with the API-registered passkey.
      const apiLogin = await passkeyApiLogin(mfa, authApi);
      expect(apiLogin.done.status, JSON.stringify(apiLogin.done.body)).toBe(200);
      expect(apiLogin.done.body.session.identity.id).toBe(apiId);

      // Refusals: an unknown user handle (4000015); forgeries (4000043).
      const unknown = await passkeyApiLogin(mfa, auth, { userHandle: b64url.encode(new TextEncoder().encode('Z'.repeat(64))) });
      expect(unknown.done.status).toBe(400);
      expect(unknown.done.body.ui.messages).toEqual([expect.objectContaining({ id: MSG.noSuchUser, text: 'This account does not exist or has no security key set up.' })]);
      const forgedGets: Array<[string, SoftAuthenticator, SoftGetOverrides, string?]> = [
        ['wrong origin', auth, {}, 'http://evil.example:4455'],
        ['wrong RP id', auth, { rpId: 'evil.example' }],
        ['wrong challenge', auth, { challenge: randomChallenge() }],
        ['wrong type', auth, { type: 'webauthn.create' }],
        ["another identity's credential under this user handle", authApi, { userHandle: b64url.encode(new TextEncoder().encode(handle)) }],
        ['a signature by another key', auth, { signWith: api.key }],
      ];
      for (const [label, who, overrides, origin] of forgedGets) {
        const { done } = await passkeyApiLogin(mfa, who, overrides, origin);
        expect(done.status, label).toBe(400);
        expect(uiIds(done.body), label).toEqual([MSG.invalidAssertion]);
      }
      // No user handle names no account: Kratos looks up the passkey identifier "" (passkey_login.go:241-249).
      const blank = await passkeyApiLogin(mfa, auth, { userHandle: null });
      expect(blank.done.status).toBe(400);
      expect(uiIds(blank.done.body)).toEqual([MSG.noSuchUser]);
      const unchanged = (await stored(mfa, identityId, 'passkey')).config.credentials[0].authenticator;
      expect(unchanged.clone_warning).toBe(false);

      // A forged passkey registration stores nothing.
      const forgedAddress = email('forged');
      const forgedReg = await passkeyApiRegistration(mfa, new SoftAuthenticator(), forgedAddress, { challenge: randomChallenge() });
      expect(forgedReg.done.status).toBe(400);
      expect(everyMessage(forgedReg.done.body).filter((m) => m.type === 'error').map((m) => m.id)).toEqual([MSG.generic]);
      expect(everyMessage(forgedReg.done.body).find((m) => m.type === 'error').context.reason).toMatch(/^Unable to create WebAuthn credential: /);
      expect(await identitiesWith(mfa, forgedAddress)).toEqual([]);

      // Settings (§3.3, §4.7): the only passkey of an identity without another first factor can not go.
      const s = await settings(b);
      expect(groupKeys(s, 'passkey')).toEqual(['passkey_remove', 'passkey_register_trigger', 'passkey_settings_register', 'passkey_create_data']);
      const remove = node(s, 'passkey_remove');
      expect(remove).toMatchObject({ attributes: { type: 'submit', value: b64urlToHex(key.id), disabled: true }, meta: { label: { id: 1050020, text: 'Remove passkey "unnamed"' } } });
      expect(node(s, 'passkey_register_trigger').attributes).toMatchObject({ type: 'button', value: '', onclick: 'window.oryPasskeySettingsRegistration()', onclickTrigger: 'oryPasskeySettingsRegistration' });
      const refused = await postAndReread(b, 'settings', s, formFields(s, ['default', 'passkey'], { passkey_remove: remove.attributes.value }));
      expect(refused.state).toBe('show_form');
      const lockOut = everyMessage(refused).filter((m) => m.type === 'error');
      expect(lockOut).toEqual([expect.objectContaining({ id: MSG.generic, text: WOULD_LOCK_OUT })]);
      // Kratos points it at #/webauthn_remove (x/webauthnx/errors.go ErrNotEnoughCredentials), which in a passkey form
      // makes Container.AddMessage append a stray text input `webauthn_remove` to carry it; idflow says it on the flow
      // (ui.messages), where every UI shows it (a deliberate deviation). Nothing on passkey_remove either way.
      expect(node(refused, 'webauthn_remove')).toBeUndefined();
      expect(uiIds(refused)).toEqual([MSG.generic]);
      expect(node(refused, 'passkey_remove').messages).toEqual([]);
      expect((await stored(mfa, identityId, 'passkey')).config.credentials).toHaveLength(1);

      // Adding a second passkey (another authenticator: the first is excluded).
      const settingsOptions = remember(passkeySettingsOptions(refused));
      expect(settingsOptions.user).toMatchObject({ name: address, displayName: address });
      expect(settingsOptions.excludeCredentials).toEqual([{ type: 'public-key', id: key.id }]);
      await expect(auth.create(settingsOptions, ORIGIN)).rejects.toThrow(/excluded/);
      const auth2 = new SoftAuthenticator();
      const added = await auth2.create(settingsOptions, ORIGIN);
      rememberKey(auth2.credentials[0]);
      const saved = await postAndReread(b, 'settings', refused, formFields(refused, ['default', 'passkey'], { passkey_settings_register: attestationJson(added) }));
      expect(saved.state).toBe('success');
      expect(uiIds(saved)).toEqual([MSG.saved]);
      expect(allNodes(saved, 'passkey_remove').map((n) => n.attributes.disabled)).toEqual([false, false]);
      expect(amr((await b.whoami()).body)).toEqual([['passkey', 'aal1'], ['passkey', 'aal1']]);
      const both = await stored(mfa, identityId, 'passkey');
      const secondHandle = Buffer.from(settingsOptions.user.id, 'base64url').toString('latin1');
      expect(secondHandle).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(both.identifiers).toEqual([handle, secondHandle]);
      expect(both.config.credentials.map((c: Json) => c.id)).toEqual([b64urlToStd(key.id), b64urlToStd(added.id)]);
      // Passkeys in API settings flows too (§3.3): no script, no onclick, the same bare create data.
      const token = api.done.body.session_token as string;
      const apiSettings = await apiJson(mfa, 'createNativeSettingsFlow', 'GET', '/self-service/settings/api', undefined, token);
      expect(apiSettings.status).toBe(200);
      expect(groupKeys(apiSettings.body, 'webauthn')).toEqual([]);
      expect(node(apiSettings.body, 'passkey_register_trigger').attributes.onclick).toBeUndefined();
      const authApi2 = new SoftAuthenticator();
      const apiAdded = await authApi2.create(remember(passkeySettingsOptions(apiSettings.body)), ORIGIN);
      rememberKey(authApi2.credentials[0]);
      const apiSaved = await apiJson(mfa, 'updateSettingsFlow', 'POST', `/self-service/settings?flow=${apiSettings.body.id}`, { passkey_settings_register: attestationJson(apiAdded) }, token);
      expect(apiSaved.status, JSON.stringify(apiSaved.body)).toBe(200);
      expect(apiSaved.body.state).toBe('success');
      expect((await stored(mfa, apiId, 'passkey')).config.credentials).toHaveLength(2);

      // The new passkey signs in on its own.
      const withSecond = await passkeyApiLogin(mfa, auth2);
      expect(withSecond.done.status, JSON.stringify(withSecond.done.body)).toBe(200);
      expect(withSecond.done.body.session.identity.id).toBe(identityId);
    });

    it('passkeys with user_verification "required": refuses a registration and a login without UV', async () => {
      const auth = new SoftAuthenticator();
      const address = email('uv');
      const noUv = await passkeyApiRegistration(pwl, auth, address, { userVerified: false });
      expect(noUv.publicKey.authenticatorSelection).toMatchObject({ userVerification: 'required' });
      expect(noUv.done.status).toBe(400);
      const errors = everyMessage(noUv.done.body).filter((m) => m.type === 'error');
      expect(errors.map((m) => m.id)).toEqual([MSG.generic]);
      expect(errors[0].context.reason).toMatch(/^Unable to create WebAuthn credential: /);
      expect(await identitiesWith(pwl, address)).toEqual([]);

      const ok = await passkeyApiRegistration(pwl, auth, address);
      expect(ok.done.status, JSON.stringify(ok.done.body)).toBe(200);
      const refused = await passkeyApiLogin(pwl, auth, { userVerified: false });
      expect(refused.done.status).toBe(400);
      expect(uiIds(refused.done.body)).toEqual([MSG.invalidAssertion]);
      const accepted = await passkeyApiLogin(pwl, auth);
      expect(accepted.done.status, JSON.stringify(accepted.done.body)).toBe(200);
      expect(amr(accepted.done.body.session)).toEqual([['passkey', 'aal1']]);
    });

    // -----------------------------------------------------------------------------------------------------------------
    // 5. webauthn.js

    it('serves /.well-known/ory/webauthn.js with the integrity the script node announces', async () => {
      const res = await fetch(`${mfa.publicUrl}/.well-known/ory/webauthn.js`);
      expect(res.status).toBe(200);
      // Kratos x/webauthnx/handler.go; asserted verbatim by passkey/passkey_login_test.go:79-83.
      expect.soft(res.headers.get('content-type')).toBe('text/javascript; charset=UTF-8');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const body = Buffer.from(await res.arrayBuffer());
      const integrity = `sha512-${createHash('sha512').update(body).digest('base64')}`;

      const b = new Browser(mfa.publicUrl);
      const { id } = await b.startHtml('login');
      const flow = await b.readFlow('login', id);
      remember(passkeyChallenge(flow));
      const script = node(flow, 'webauthn_script');
      expect(script).toMatchObject({
        type: 'script', group: 'webauthn', messages: [], meta: {},
        attributes: { id: 'webauthn_script', async: true, referrerpolicy: 'no-referrer', crossorigin: 'anonymous', type: 'text/javascript', node_type: 'script', integrity },
      });
      // §0: the public base URL (the one ui.action uses, with the port the server was bound to) + the path.
      expect(script.attributes.src).toBe(`${mfa.publicUrl}/.well-known/ory/webauthn.js`);
      expect(script.attributes.src).not.toContain(':0/');
      expect(flow.ui.action.startsWith(mfa.registry.urls.public)).toBe(true);
      expect(script.attributes.nonce).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      const text = body.toString('utf8');
      const names = ['oryWebAuthnLogin', 'oryWebAuthnRegistration', 'oryPasskeyLogin', 'oryPasskeyLoginAutocompleteInit', 'oryPasskeyRegistration', 'oryPasskeySettingsRegistration'];
      for (const name of names) expect(text, name).toContain(name);
      // Evaluated with a WebAuthn-capable window: every function under both names, then the init event.
      const events: string[] = [];
      const window: Record<string, unknown> = { PublicKeyCredential: function PublicKeyCredential() {}, dispatchEvent: (e: { type: string }) => events.push(e.type) };
      runInNewContext(text, { window, console, CustomEvent: class { type: string; constructor(type: string) { this.type = type; } } });
      for (const name of names) {
        expect(typeof window[name], name).toBe('function');
        expect(window[`__${name}`], name).toBe(window[name]);
      }
      expect(window.__oryWebAuthnInitialized).toBe(true);
      expect(events).toEqual(['oryWebAuthnInitialized']);
    });

    // -----------------------------------------------------------------------------------------------------------------
    // 6. Logs

    it('writes no challenge and no public key to the logs', () => {
      expect(secrets.size).toBeGreaterThan(20);
      const logs = [...mfa.logs, ...pwl.logs].join('\n');
      expect(logs.length).toBeGreaterThan(0);
      for (const secret of secrets) expect(logs.includes(secret), `logged: ${secret}`).toBe(false);
    });
  });
}
