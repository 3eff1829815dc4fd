/**
 * The WebAuthn method alone (Kratos `strategy/webauthn`): node shapes per flow, security keys added and removed in
 * settings, second-factor and passwordless login, registration with a security key — every ceremony answered by the
 * software authenticator (test/support/soft-authenticator.ts), and verified for real by @simplewebauthn/server.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { Method } from '../../../src/methods/method.ts';
import { createWebauthnMethod, resolveOrigins, webauthnSecondFactor } from '../../../src/methods/webauthn/webauthn.method.ts';
import { WEBAUTHN_JS, WEBAUTHN_JS_INTEGRITY } from '../../../src/methods/webauthn/script.ts';
import { payloadSchemaJson } from '../../../src/x/body-validator.ts';
import { decodeBody } from '../../../src/x/decode-body.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import { context, identityRecord, ids, NOW, registryOf, schemaDoc } from './helpers.ts';
import {
  attrs, commonDeps, countFirstFactors, credentialOfType, EMAIL, hexIdOf, keyConfigsOf, keysOf, node, ORIGIN, recordOf, SCRIPT_URL,
  settingsCtx, valueOf as optionsOf, with_, type CommonSetupOptions, type Json,
} from './webauthn-helpers.ts';

const RP = { id: 'localhost', name: 'idflow test', origins: [ORIGIN] };

function setup(options: CommonSetupOptions & { passwordless?: boolean } = {}) {
  const { deps, store, lookups } = commonDeps(options);
  return { method: createWebauthnMethod({ ...deps, rp: RP, passwordless: options.passwordless ?? false }), store, lookups };
}

const webauthnOf = (identity: IdentityRecord) => credentialOfType(identity, 'webauthn');
const keyConfigs = (identity: IdentityRecord) => keyConfigsOf(identity, 'webauthn');

const owner = () => identityRecord(EMAIL, { hash: 'fake$x' });
const aal2Ctx = (identity: IdentityRecord, o: Parameters<typeof context>[0] = {}) =>
  context({ kind: 'login', type: 'browser', requestedAal: 'aal2', identity, ...o });

/** Adds a key through the settings flow; returns the updated identity. */
async function addKey(method: Method, identity: IdentityRecord, authenticator: SoftAuthenticator, name = 'My key'): Promise<IdentityRecord> {
  const ctx = settingsCtx(identity);
  const { nodes, internal } = await method.settings!.nodes(ctx);
  const response = await authenticator.create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
  const out = await method.settings!.submit(with_(ctx, internal), { webauthn_register: JSON.stringify(response), webauthn_register_displayname: name });
  expect(out.kind).toBe('updated');
  return recordOf(out);
}

/** The (second-factor) method and an identity holding one key of `authenticator`, added through settings. */
async function withKey(o: { authenticator?: SoftAuthenticator; identity?: IdentityRecord } = {}) {
  const { method } = setup();
  const authenticator = o.authenticator ?? new SoftAuthenticator();
  return { method, authenticator, identity: await addKey(method, o.identity ?? owner(), authenticator) };
}

/** Registers an identity (EMAIL) through the registration flow with a key of `authenticator`; `fields` go with it. */
async function register(method: Method, authenticator: SoftAuthenticator, fields: Record<string, unknown> = {}) {
  const ctx = context({ kind: 'registration', type: 'browser' });
  const { nodes, internal } = await method.registration!.nodes(ctx) as Json;
  const response = await authenticator.create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
  const out = await method.registration!.submit(with_(ctx, internal), { traits: { email: EMAIL }, webauthn_register: JSON.stringify(response), ...fields }) as Json;
  return { out, internal };
}

/** Passwordless login as EMAIL: the identifier, then the assertion (`get`: its overrides) on the method's screen. */
async function passwordlessLogin(method: Method, authenticator: SoftAuthenticator, get?: Json) {
  const step1 = await method.login!.submit(context({ kind: 'login', type: 'browser' }), { method: 'webauthn', identifier: EMAIL }) as Json;
  const assertion = await authenticator.get(step1.internal.options.publicKey, ORIGIN, get);
  return method.login!.submit(context({ kind: 'login', type: 'browser', screen: 'webauthn', values: step1.values, internal: step1.internal }), {
    identifier: EMAIL, webauthn_login: JSON.stringify(assertion),
  });
}

/** Renders an aal2 login and answers its challenge. */
async function mfaAttempt(method: Method, identity: IdentityRecord, authenticator: SoftAuthenticator, get: { origin?: string; overrides?: Json } = {}) {
  const ctx = aal2Ctx(identity);
  const rendered = await method.login!.nodes(ctx);
  const options = optionsOf(rendered.nodes, 'webauthn_login_trigger');
  const assertion = await authenticator.get(options.publicKey, get.origin ?? ORIGIN, get.overrides);
  const payload = { identifier: attrs(node(rendered.nodes, 'identifier')).value, webauthn_login: JSON.stringify(assertion) };
  const ctxWith = with_(ctx, rendered.internal);
  return { out: await method.login!.submit(ctxWith, payload) as Json, ctx: ctxWith, payload, rendered };
}

/**
 * Runs webauthn.js in a fake browser: `elements` by name (querySelector reads the name out of the selector), these
 * `navigator.credentials`; events, alerts and console errors go to `calls`.
 */
function load(elements: Record<string, Json>, credentials: Json) {
  const calls: string[] = [];
  const window: Json = { PublicKeyCredential: { isConditionalMediationAvailable: async () => false }, dispatchEvent: (e: Json) => calls.push(`event:${e.type}`) };
  const document = {
    querySelector: (sel: string) => elements[/name="([^"]+)"/.exec(sel)![1]],
    getElementsByName: (name: string) => (elements[name] ? [elements[name]] : []),
  };
  class CustomEvent { readonly type: string; constructor(type: string) { this.type = type; } }
  const log = { log: () => undefined, error: (...a: unknown[]) => calls.push(`error:${a[0]}`), debug: () => undefined, trace: () => undefined };
  new Function('window', 'document', 'navigator', 'CustomEvent', 'atob', 'btoa', 'alert', 'console', 'DOMException', WEBAUTHN_JS)(
    window, document, { credentials }, CustomEvent, (x: string) => Buffer.from(x, 'base64').toString('latin1'), (x: string) => Buffer.from(x, 'latin1').toString('base64'),
    (e: unknown) => calls.push(`alert:${e}`), log, DOMException,
  );
  return { window, calls };
}
const bytes = (...b: number[]) => new Uint8Array(b).buffer;
const form = (submits: string[]) => ({ submit: () => submits.push('submit') });

describe('webauthn method: the script', () => {
  it('is served by a route and pinned by the script node (sha512 of exactly the served bytes)', async () => {
    const { method } = setup();
    expect(method.routes!.map((r) => [r.method, r.path])).toEqual([['GET', '/.well-known/ory/webauthn.js']]);
    const answer = await method.routes![0].handle({ path: '/.well-known/ory/webauthn.js', params: {}, query: {}, body: {} });
    expect(answer).toEqual({ kind: 'content', status: 200, contentType: 'text/javascript; charset=UTF-8', body: WEBAUTHN_JS, shareable: true });
    expect(setup({ passwordless: true }).method.routes).toEqual(method.routes);
    expect(WEBAUTHN_JS_INTEGRITY).toBe(`sha512-${createHash('sha512').update(Buffer.from(WEBAUTHN_JS, 'utf8')).digest('base64')}`);
    for (const name of ['WebAuthnLogin', 'WebAuthnRegistration', 'PasskeyLogin', 'PasskeyLoginAutocompleteInit', 'PasskeyRegistration', 'PasskeySettingsRegistration']) {
      expect(WEBAUTHN_JS).toContain(`${name}: ory${name},`);
    }
    expect(WEBAUTHN_JS).toContain('window["__ory" + name]');
    expect(WEBAUTHN_JS).toContain('window["ory" + name]');
    expect(WEBAUTHN_JS).toContain('new CustomEvent("oryWebAuthnInitialized")');
    expect(WEBAUTHN_JS).toContain('window.__oryWebAuthnInitialized = true');
  });

  it('the script runs in a fake browser: registration writes the credential JSON into the hidden input and submits', async () => {
    const submits: string[] = [];
    const elements: Json = {
      webauthn_register_trigger: {
        value: JSON.stringify({ publicKey: { challenge: 'AAEC', user: { id: 'AQID' }, excludeCredentials: [{ type: 'public-key', id: 'BAUG' }] } }),
        closest: () => form(submits),
      },
      webauthn_register: { value: '' },
    };
    let seen: Json;
    const { window, calls } = load(elements, {
      create: async (opt: Json) => {
        seen = opt;
        return { id: 'q83v', rawId: bytes(0xab, 0xcd, 0xef), type: 'public-key', response: { attestationObject: bytes(1, 2), clientDataJSON: bytes(0xfb, 0xff) } };
      },
    });
    expect(calls).toEqual(['event:oryWebAuthnInitialized']);
    expect(window.__oryWebAuthnInitialized).toBe(true);
    expect(window.oryWebAuthnRegistration).toBe(window.__oryWebAuthnRegistration);
    window.oryWebAuthnRegistration();
    await new Promise((r) => setTimeout(r, 0));
    expect([...seen.publicKey.challenge]).toEqual([0, 1, 2]);
    expect([...seen.publicKey.user.id]).toEqual([1, 2, 3]);
    expect([...seen.publicKey.excludeCredentials[0].id]).toEqual([4, 5, 6]);
    expect(JSON.parse(elements.webauthn_register.value)).toEqual({ id: 'q83v', rawId: 'q83v', type: 'public-key', response: { attestationObject: 'AQI', clientDataJSON: '-_8' } });
    expect(submits).toEqual(['submit']);
    expect(calls).toEqual(['event:oryWebAuthnInitialized']);
  });
});

describe('webauthn method: the script in a fake browser, login and passkeys', () => {
  it('oryWebAuthnLogin reads the trigger, writes the assertion (a missing user handle as "") and submits', async () => {
    const submits: string[] = [];
    const elements: Json = {
      webauthn_login_trigger: { value: JSON.stringify({ publicKey: { challenge: 'AAEC', allowCredentials: [{ type: 'public-key', id: 'BAUG' }] } }), closest: () => form(submits) },
      webauthn_login: { value: '' },
    };
    let seen: Json;
    const { window } = load(elements, {
      get: async (opt: Json) => {
        seen = opt;
        return { id: 'q83v', rawId: bytes(0xab, 0xcd, 0xef), type: 'public-key', response: { authenticatorData: bytes(1), clientDataJSON: bytes(2), signature: bytes(3), userHandle: null } };
      },
    });
    window.oryWebAuthnLogin();
    await new Promise((r) => setTimeout(r, 0));
    expect([...seen.publicKey.allowCredentials[0].id]).toEqual([4, 5, 6]);
    expect(JSON.parse(elements.webauthn_login.value)).toEqual({
      id: 'q83v', rawId: 'q83v', type: 'public-key', response: { authenticatorData: 'AQ', clientDataJSON: 'Ag', signature: 'Aw', userHandle: '' },
    });
    expect(submits).toEqual(['submit']);
  });

  it('oryPasskeyRegistration names the user after the first filled display-name field', async () => {
    const submits: string[] = [];
    const fields: Json = { 'traits.email': { value: '' }, 'traits.username': { value: 'ann' } };
    const theForm = { ...form(submits), querySelector: (sel: string) => fields[/name='([^']+)'/.exec(sel)![1]] };
    const createData = {
      credentialOptions: { publicKey: { challenge: 'AAEC', user: { id: 'AQID', name: 'rp', displayName: 'rp' } } },
      displayNameFieldName: 'traits.email', displayNameFieldNames: ['traits.email', 'traits.username'],
    };
    const elements: Json = {
      passkey_create_data: { value: JSON.stringify(createData), closest: () => theForm },
      passkey_register: { value: '', closest: () => theForm },
    };
    let seen: Json;
    const { window } = load(elements, {
      create: async (opt: Json) => {
        seen = opt;
        return { id: 'AQ', rawId: bytes(1), type: 'public-key', response: { attestationObject: bytes(2), clientDataJSON: bytes(3) } };
      },
    });
    window.__oryPasskeyRegistration();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen.publicKey.user.name).toBe('ann');
    expect(seen.publicKey.user.displayName).toBe('ann');
    expect(JSON.parse(elements.passkey_register.value).response).toEqual({ attestationObject: 'Ag', clientDataJSON: 'Aw' });
    expect(submits).toEqual(['submit']);
  });

  it('oryPasskeyLogin works without allowCredentials and submits the passkey_login form', async () => {
    const submits: string[] = [];
    const elements: Json = {
      passkey_challenge: { value: JSON.stringify({ publicKey: { challenge: 'AAEC', rpId: 'localhost' } }) },
      passkey_login: { value: '', closest: () => form(submits) },
    };
    const { window } = load(elements, {
      get: async () => ({ id: 'AQ', rawId: bytes(1), type: 'public-key', response: { authenticatorData: bytes(1), clientDataJSON: bytes(2), signature: bytes(3), userHandle: bytes(0x61) } }),
    });
    await window.oryPasskeyLogin();
    expect(JSON.parse(elements.passkey_login.value).response.userHandle).toBe('YQ');
    expect(submits).toEqual(['submit']);
  });
});

describe('webauthn method: configuration helpers', () => {
  it('resolves origins as Kratos does', () => {
    expect(resolveOrigins({ rp: { id: 'example.com', origins: ['https://a.example.com', 'https://b.example.com'], origin: 'https://c.example.com' } }, 'https://auth.example.com/')).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(resolveOrigins({ rp: { id: 'example.com', origin: 'https://c.example.com' } }, 'https://auth.example.com/')).toEqual(['https://c.example.com']);
    expect(resolveOrigins({ rp: { id: 'localhost' } }, 'http://localhost:4433/')).toEqual(['http://localhost']);
  });

  it('tells whether a webauthn config holds a second factor', () => {
    const key = (is_passwordless?: boolean) => ({ id: 'AQID', public_key: 'AQID', ...(is_passwordless === undefined ? {} : { is_passwordless }) });
    expect(webauthnSecondFactor({ credentials: [key(true)] })).toBe(false);
    expect(webauthnSecondFactor({ credentials: [key(true), key(false)] })).toBe(true);
    expect(webauthnSecondFactor({ credentials: [key()] })).toBe(true); // Kratos v0 keys are second factors
    expect(webauthnSecondFactor({})).toBe(false);
    expect(webauthnSecondFactor(undefined)).toBe(false);
  });
});

describe('webauthn method: settings nodes', () => {
  it('browser flows: name, hidden result, trigger with the creation options, script; a fresh challenge in internal state', async () => {
    const { method } = setup();
    const identity = owner();
    const { nodes, internal } = await method.settings!.nodes(settingsCtx(identity)) as Json;
    expect(keysOf(nodes)).toEqual(['webauthn_register_displayname', 'webauthn_register', 'webauthn_register_trigger', 'webauthn_script']);
    expect(nodes.every((n: Json) => n.group === 'webauthn')).toBe(true);
    expect(node(nodes, 'webauthn_register_displayname')).toEqual({
      type: 'input', group: 'webauthn', attributes: { name: 'webauthn_register_displayname', type: 'text', value: '', disabled: false, node_type: 'input' },
      messages: [], meta: { label: { id: 1050013, text: 'Name of the security key', type: 'info' } },
    });
    expect(attrs(node(nodes, 'webauthn_register'))).toEqual({ name: 'webauthn_register', type: 'hidden', value: '', disabled: false, node_type: 'input' });
    const trigger = node(nodes, 'webauthn_register_trigger');
    expect(trigger.meta.label).toEqual({ id: 1050012, text: 'Add security key', type: 'info' });
    expect(attrs(trigger).onclick).toBe(`window.oryWebAuthnRegistration(${attrs(trigger).value})`);
    expect(attrs(trigger).onclickTrigger).toBe('oryWebAuthnRegistration');
    const options = JSON.parse(attrs(trigger).value);
    expect(Object.keys(options.publicKey)).toEqual(['rp', 'user', 'challenge', 'pubKeyCredParams', 'timeout', 'authenticatorSelection']);
    expect(options.publicKey.rp).toEqual({ name: 'idflow test', id: 'localhost' });
    expect(options.publicKey.user).toEqual({ name: 'idflow test', displayName: 'idflow test', id: Buffer.from(identity.id.replace(/-/g, ''), 'hex').toString('base64url') });
    expect(options.publicKey.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.publicKey.pubKeyCredParams.map((p: Json) => p.alg)).toEqual([-7, -35, -36, -257, -258, -259, -37, -38, -39, -8]);
    expect(options.publicKey.timeout).toBe(120000);
    expect(options.publicKey.authenticatorSelection).toEqual({ userVerification: 'discouraged' });
    expect(internal.session_data).toEqual({
      challenge: options.publicKey.challenge, rpId: 'localhost', user_id: Buffer.from(identity.id.replace(/-/g, ''), 'hex').toString('base64'),
      expires: '0001-01-01T00:00:00Z', userVerification: 'discouraged',
    });
    const script = node(nodes, 'webauthn_script');
    expect(script.type).toBe('script');
    expect(script.attributes).toMatchObject({
      id: 'webauthn_script', src: SCRIPT_URL, async: true, referrerpolicy: 'no-referrer', crossorigin: 'anonymous', type: 'text/javascript',
      integrity: WEBAUTHN_JS_INTEGRITY, node_type: 'script',
    });
    expect(script.attributes.nonce).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps the challenge it issued (the one shown is the one checked)', async () => {
    const { method } = setup();
    const identity = owner();
    const first = await method.settings!.nodes(settingsCtx(identity));
    const again = await method.settings!.nodes(settingsCtx(identity, { internal: first.internal }));
    expect(again.internal).toBeUndefined();
    expect(again.nodes).toEqual(first.nodes);
    expect(optionsOf(again.nodes, 'webauthn_register_trigger')).toEqual(optionsOf(first.nodes, 'webauthn_register_trigger'));
  });

  it('API flows get nothing, and a submit there finds no strategy (4010004)', async () => {
    const { method } = setup();
    expect(await method.settings!.nodes(settingsCtx(owner(), { type: 'api' }))).toEqual({ nodes: [] });
    const out = await method.settings!.submit(settingsCtx(owner(), { type: 'api' }), { webauthn_remove: 'ab' }) as Json;
    expect(ids(out.messages)).toEqual([4010004]);
  });

  it('lists stored keys as remove buttons (hex ids, sorted), excluded from the new registration', async () => {
    const { method } = setup();
    const first = new SoftAuthenticator();
    const second = new SoftAuthenticator();
    let identity = await addKey(method, owner(), first, 'First');
    identity = await addKey(method, identity, second, 'Second');
    // A key registered without a name (passwordless registration allows it) is labelled "unnamed".
    (keyConfigs(identity)[1] as Json).display_name = '';
    const { nodes } = await method.settings!.nodes(settingsCtx(identity)) as Json;
    const authenticator = { credentials: [...first.credentials, ...second.credentials] };
    expect(keysOf(nodes)).toEqual(['webauthn_remove', 'webauthn_remove', 'webauthn_register_displayname', 'webauthn_register', 'webauthn_register_trigger', 'webauthn_script']);
    const hexes = authenticator.credentials.map((c) => Buffer.from(c.id, 'base64url').toString('hex'));
    const removes = nodes.filter((n: Json) => attrs(n).name === 'webauthn_remove');
    expect(removes.map((n: Json) => attrs(n).value)).toEqual([...hexes].sort());
    for (const remove of removes) {
      const named = attrs(remove).value === hexes[0] ? 'First' : 'unnamed';
      expect(attrs(remove)).toEqual({ name: 'webauthn_remove', type: 'submit', value: attrs(remove).value, disabled: false, node_type: 'input' });
      expect(remove.meta.label).toEqual({
        id: 1050018, text: `Remove security key "${named}"`, type: 'info', context: { display_name: named, added_at: '2030-01-01T12:00:00Z', added_at_unix: 1893499200 },
      });
    }
    expect(optionsOf(nodes, 'webauthn_register_trigger').publicKey.excludeCredentials).toEqual(authenticator.credentials.map((c) => ({ type: 'public-key', id: c.id, transports: ['usb'] })));
    // The browser refuses to register a stored key again.
    await expect(first.create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN)).rejects.toThrow(/excluded/);
  });
});

describe('webauthn method: adding a key in settings', () => {
  it('stores the key (Kratos storage shape), proves the factor to the session at aal2 and drops the challenge', async () => {
    const { method } = setup();
    const identity = owner();
    const authenticator = new SoftAuthenticator({ userVerification: false });
    const ctx = settingsCtx(identity);
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const response = await authenticator.create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
    const out = await method.settings!.submit(with_(ctx, internal), { webauthn_register: JSON.stringify(response), webauthn_register_displayname: 'YubiKey' }) as Json;
    expect(out.kind).toBe('updated');
    expect(out.method).toBe('webauthn');
    expect(out.internal).toBeNull();
    expect(out.changes.sessionMethod).toEqual({ method: 'webauthn', aal: 'aal2' });
    expect(out.changes.identity.isNew).toBe(false);
    const record = recordOf(out);
    const credential = webauthnOf(record)!;
    expect(credential).toMatchObject({ type: 'webauthn', identifiers: [EMAIL], version: 1, createdAt: NOW, updatedAt: NOW });
    const soft = authenticator.credentials[0];
    expect(credential.config).toEqual({
      credentials: [{
        id: Buffer.from(soft.id, 'base64url').toString('base64'),
        public_key: Buffer.from(soft.publicKeyCose).toString('base64'),
        attestation_type: 'none',
        authenticator: { aaguid: 'AAAAAAAAAAAAAAAAAAAAAA==', sign_count: 0, clone_warning: false },
        display_name: 'YubiKey',
        added_at: '2030-01-01T12:00:00Z',
        is_passwordless: false,
        flags: { user_present: true, user_verified: false, backup_eligible: false, backup_state: false },
        transport: ['usb'],
      }],
      user_handle: Buffer.from(identity.id.replace(/-/g, ''), 'hex').toString('base64'),
    });
    expect(Object.keys((credential.config.credentials as Json[])[0])).toEqual(['id', 'public_key', 'attestation_type', 'authenticator', 'display_name', 'added_at', 'is_passwordless', 'flags', 'transport']);
    expect(record.credentials.find((c) => c.type === 'password')).toEqual(identity.credentials[0]);
  });

  it('with passwordless on, the key is passwordless and proves aal1', async () => {
    const { method } = setup({ passwordless: true });
    const ctx = settingsCtx(owner());
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const response = await new SoftAuthenticator().create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
    const out = await method.settings!.submit(with_(ctx, internal), { webauthn_register: JSON.stringify(response), webauthn_register_displayname: 'Key' }) as Json;
    expect(out.changes.sessionMethod).toEqual({ method: 'webauthn', aal: 'aal1' });
    expect(keyConfigs(recordOf(out))[0].is_passwordless).toBe(true);
  });

  it('a missing display name: 4000002 on webauthn_register_displayname, nothing stored', async () => {
    const { method } = setup();
    const ctx = settingsCtx(owner());
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const response = await new SoftAuthenticator().create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
    // A form drops the empty name (decoderx), a JSON client may send "".
    for (const payload of [{ webauthn_register: JSON.stringify(response) }, { webauthn_register: JSON.stringify(response), webauthn_register_displayname: '' }]) {
      const out = await method.settings!.submit(with_(ctx, internal), payload) as Json;
      expect(out).toEqual({
        kind: 'rejected', messages: [],
        fieldMessages: { webauthn_register_displayname: [{ id: 4000002, text: 'Property webauthn_register_displayname is missing.', type: 'error', context: { property: 'webauthn_register_displayname' } }] },
      });
    }
  });

  it('validates before the session age: a non-privileged session needs a refresh only for a valid change', async () => {
    const { method } = setup();
    const ctx = settingsCtx(owner(), { privileged: false });
    const { internal } = await method.settings!.nodes(ctx);
    expect((await method.settings!.submit(with_(ctx, internal), { webauthn_register: '{}' }) as Json).kind).toBe('rejected');
    expect(await method.settings!.submit(with_(ctx, internal), { webauthn_register: '{}', webauthn_register_displayname: 'x' })).toEqual({ kind: 'needs_refresh' });
    expect(await method.settings!.submit(with_(ctx, internal), { webauthn_remove: 'abcd' })).toEqual({ kind: 'needs_refresh' });
    expect(ids((await method.settings!.submit(with_(ctx, internal), { method: 'webauthn' }) as Json).messages)).toEqual([4010004]);
  });

  it('refuses an unparsable response, a wrong origin, a wrong RP ID, a foreign challenge and a missing challenge — nothing stored', async () => {
    const { method } = setup();
    const ctx = settingsCtx(owner());
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const publicKey = optionsOf(nodes, 'webauthn_register_trigger').publicKey;
    const attempt = async (response: unknown, state: unknown = internal) => {
      const out = await method.settings!.submit(with_(ctx, state), { webauthn_register: typeof response === 'string' ? response : JSON.stringify(response), webauthn_register_displayname: 'k' }) as Json;
      expect(out.kind).toBe('rejected');
      expect(out.changes).toBeUndefined();
      expect(out.internal).toBeUndefined();
      return out.messages.map((m: Json) => m.text);
    };
    expect(await attempt('not json')).toEqual(['Unable to parse WebAuthn response: Parse error for Registration']);
    expect(await attempt({ id: 'AQID', type: 'public-key' })).toEqual(['Unable to parse WebAuthn response: Parse error for Registration']);
    const soft = new SoftAuthenticator();
    expect((await attempt(await soft.create(publicKey, 'https://evil.example.com')))[0]).toBe('Unable to create WebAuthn credential: Error validating origin');
    expect((await attempt(await soft.create(publicKey, ORIGIN, { rpId: 'evil.example.com' })))[0]).toMatch(/^Unable to create WebAuthn credential: .*RP ID/);
    expect((await attempt(await soft.create(publicKey, ORIGIN, { challenge: 'AAAA' })))[0]).toMatch(/^Unable to create WebAuthn credential: .*challenge/);
    expect((await attempt(await soft.create(publicKey, ORIGIN, { userPresent: false })))[0]).toMatch(/^Unable to create WebAuthn credential: .*present/);
    expect(await attempt(await soft.create(publicKey, ORIGIN), null)).toEqual(['Expected WebAuthN in internal context to be an object.']);
  });

  it('origins compare case-insensitively', async () => {
    const { method } = setup();
    const ctx = settingsCtx(owner());
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const response = await new SoftAuthenticator().create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, 'HTTP://LocalHost:4455');
    const out = await method.settings!.submit(with_(ctx, internal), { webauthn_register: JSON.stringify(response), webauthn_register_displayname: 'k' }) as Json;
    expect(out.kind).toBe('updated');
  });

  it('the same key twice (a client ignoring excludeCredentials): 4000001 on webauthn_register', async () => {
    const { method } = setup();
    const ctx = settingsCtx(owner());
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const response = await new SoftAuthenticator().create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
    const payload = { webauthn_register: JSON.stringify(response), webauthn_register_displayname: 'again' };
    const first = await method.settings!.submit(with_(ctx, internal), payload) as Json;
    expect(first.kind).toBe('updated');
    const again = await method.settings!.submit(with_(settingsCtx(recordOf(first)), internal), payload) as Json;
    expect(again).toEqual({
      kind: 'rejected', messages: [],
      fieldMessages: { webauthn_register: [{ id: 4000001, text: 'this security key or passkey is already registered with your account', type: 'error', context: { reason: 'this security key or passkey is already registered with your account' } }] },
    });
  });

  it('no WebAuthn identifier in the schema: 4000009', async () => {
    const schemas = registryOf(schemaDoc({ email: { type: 'string', format: 'email', 'ory.sh/kratos': { credentials: { password: { identifier: true } } } } }));
    const { method } = setup({ schemas });
    const ctx = settingsCtx(identityRecord(EMAIL, { hash: 'fake$x', schemas }));
    const { nodes, internal } = await method.settings!.nodes(ctx);
    const response = await new SoftAuthenticator().create(optionsOf(nodes, 'webauthn_register_trigger').publicKey, ORIGIN);
    const out = await method.settings!.submit(with_(ctx, internal), { webauthn_register: JSON.stringify(response), webauthn_register_displayname: 'k' }) as Json;
    expect(ids(out.messages)).toEqual([4000009]);
    expect(out.changes).toBeUndefined();
  });
});

describe('webauthn method: removing a key in settings', () => {
  it('a second-factor key can always be removed; the last one takes the credential with it', async () => {
    const { method, authenticator, identity } = await withKey();
    const hexId = hexIdOf(authenticator);
    const { nodes } = await method.settings!.nodes(settingsCtx(identity));
    expect(attrs(node(nodes, 'webauthn_remove')).disabled).toBe(false);
    const out = await method.settings!.submit(settingsCtx(identity), { webauthn_remove: hexId }) as Json;
    expect(out.kind).toBe('updated');
    expect(out.changes.sessionMethod).toBeUndefined();
    expect(webauthnOf(recordOf(out))).toBeUndefined();
    expect(recordOf(out).credentials.map((c) => c.type)).toEqual(['password']);
  });

  it('a second-factor key is removable even without any first factor counted', async () => {
    const { method, authenticator, identity } = await withKey({ identity: identityRecord(EMAIL) });
    expect(countFirstFactors(identity)).toBe(0);
    const hexId = hexIdOf(authenticator);
    expect((await method.settings!.submit(settingsCtx(identity), { webauthn_remove: hexId }) as Json).kind).toBe('updated');
  });

  it('the last passwordless key of an identity without another first factor stays (disabled, and refused)', async () => {
    const { method } = setup({ passwordless: true });
    const authenticator = new SoftAuthenticator();
    const identity = await addKey(method, identityRecord(EMAIL), authenticator);
    expect(countFirstFactors(identity)).toBe(1);
    const hexId = hexIdOf(authenticator);
    const { nodes } = await method.settings!.nodes(settingsCtx(identity));
    expect(attrs(node(nodes, 'webauthn_remove')).disabled).toBe(true);
    const out = await method.settings!.submit(settingsCtx(identity), { webauthn_remove: hexId }) as Json;
    expect(out).toEqual({
      kind: 'rejected', messages: [],
      fieldMessages: { webauthn_remove: [{ id: 4000001, text: 'unable to remove this security key because it would lock you out of your account', type: 'error', context: { reason: 'unable to remove this security key because it would lock you out of your account' } }] },
    });
    // With a password as well, it may go.
    const withPassword = { ...identity, credentials: [...identity.credentials, ...owner().credentials] };
    expect((await method.settings!.submit(settingsCtx(withPassword), { webauthn_remove: hexId }) as Json).kind).toBe('updated');
  });

  it('unknown ids and identities without keys are refused with Kratos\'s reasons', async () => {
    const { method } = setup();
    const none = await method.settings!.submit(settingsCtx(owner()), { webauthn_remove: 'abcd' }) as Json;
    expect(none.messages.map((m: Json) => m.text)).toEqual(['You tried to remove a WebAuthn but you have no WebAuthn set up.']);
    const identity = await addKey(method, owner(), new SoftAuthenticator());
    const unknown = await method.settings!.submit(settingsCtx(identity), { webauthn_remove: 'abcd' }) as Json;
    expect(unknown.messages.map((m: Json) => m.text)).toEqual(['You tried to remove a WebAuthn credential which does not exist.']);
    expect(unknown.changes).toBeUndefined();
  });
});

describe('webauthn method: second-factor login (aal2)', () => {
  it('nodes: hidden identifier, hidden result, script, trigger with the assertion options for the MFA keys only', async () => {
    const { method, authenticator: mfa, identity } = await withKey();
    const { nodes, internal } = await method.login!.nodes(aal2Ctx(identity)) as Json;
    expect(keysOf(nodes)).toEqual(['identifier', 'webauthn_login', 'webauthn_script', 'webauthn_login_trigger']);
    expect(nodes[0]).toEqual({ type: 'input', group: 'default', attributes: { name: 'identifier', type: 'hidden', value: EMAIL, disabled: false, node_type: 'input' }, messages: [], meta: {} });
    expect(attrs(nodes[1])).toEqual({ name: 'webauthn_login', type: 'hidden', value: '', disabled: false, node_type: 'input' });
    const trigger = nodes[3];
    expect(trigger.group).toBe('webauthn');
    expect(trigger.meta.label).toEqual({ id: 1010008, text: 'Sign in with a hardware key', type: 'info' });
    expect(attrs(trigger).onclick).toBe(`window.oryWebAuthnLogin(${attrs(trigger).value})`);
    expect(attrs(trigger).onclickTrigger).toBe('oryWebAuthnLogin');
    const options = JSON.parse(attrs(trigger).value);
    expect(options).toEqual({
      publicKey: { challenge: internal.session_data.challenge, timeout: 120000, rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: mfa.credentials[0].id, transports: ['usb'] }], userVerification: 'discouraged' },
    });
    expect(Object.keys(internal.session_data)).toEqual(['challenge', 'rpId', 'user_id', 'allowed_credentials', 'expires', 'userVerification']);
    expect(internal.session_data.allowed_credentials).toEqual([Buffer.from(mfa.credentials[0].id, 'base64url').toString('base64')]);
  });

  it('nothing for API flows, identities without MFA keys, or aal1 flows', async () => {
    const { method, identity } = await withKey();
    expect(await method.login!.nodes(aal2Ctx(identity, { type: 'api' }))).toEqual({ nodes: [] });
    expect(await method.login!.nodes(aal2Ctx(owner()))).toEqual({ nodes: [] });
    expect(await method.login!.nodes(context({ kind: 'login', type: 'browser', identity }))).toEqual({ nodes: [] });
    expect(method.login!.aal).toBe('aal2');
    const api = await method.login!.submit(aal2Ctx(identity, { type: 'api' }), { webauthn_login: '{}', identifier: EMAIL }) as Json;
    expect(ids(api.messages)).toEqual([4010002]);
  });

  it('a valid assertion authenticates at aal2, records the counter and drops the challenge', async () => {
    const { method, authenticator, identity } = await withKey();
    const { out } = await mfaAttempt(method, identity, authenticator);
    expect(out).toMatchObject({ kind: 'authenticated', identityId: identity.id, method: 'webauthn', aal: 'aal2', internal: null });
    const key = keyConfigs(recordOf(out))[0];
    expect(key.authenticator).toEqual({ aaguid: 'AAAAAAAAAAAAAAAAAAAAAA==', sign_count: 1, clone_warning: false });
    expect(out.changes.identity.isNew).toBe(false);
  });

  it('a replayed assertion finds no challenge (it was used): refused', async () => {
    const { method, authenticator, identity } = await withKey();
    const { out, ctx, payload } = await mfaAttempt(method, identity, authenticator);
    expect(out.kind).toBe('authenticated');
    const replay = await method.login!.submit(with_(ctx, out.internal), payload) as Json;
    expect(replay.kind).toBe('rejected');
    expect(replay.messages).toEqual([{
      id: 4000001, type: 'error', text: 'Expected WebAuthN in internal context to be an object but got: unexpected end of JSON input',
      context: { reason: 'Expected WebAuthN in internal context to be an object but got: unexpected end of JSON input' },
    }]);
    expect(replay.changes).toBeUndefined();
  });

  it('a counter that does not advance still logs in, with a clone warning; the stored count stays', async () => {
    const { method } = setup();
    const authenticator = new SoftAuthenticator();
    let identity = await addKey(method, owner(), authenticator);
    const first = await mfaAttempt(method, identity, authenticator, { overrides: { counter: 5 } });
    identity = recordOf(first.out);
    expect(keyConfigs(identity)[0].authenticator).toMatchObject({ sign_count: 5, clone_warning: false });
    const second = await mfaAttempt(method, identity, authenticator, { overrides: { counter: 3 } });
    expect(second.out.kind).toBe('authenticated');
    expect(keyConfigs(recordOf(second.out))[0].authenticator).toMatchObject({ sign_count: 5, clone_warning: true });
    // The warning sticks.
    const third = await mfaAttempt(method, recordOf(second.out), authenticator, { overrides: { counter: 9 } });
    expect(keyConfigs(recordOf(third.out))[0].authenticator).toMatchObject({ sign_count: 9, clone_warning: true });
  });

  it('a counter of 0 on a key that never counted is fine', async () => {
    const { method, authenticator, identity } = await withKey();
    const { out } = await mfaAttempt(method, identity, authenticator, { overrides: { counter: 0 } });
    expect(keyConfigs(recordOf(out))[0].authenticator).toMatchObject({ sign_count: 0, clone_warning: false });
  });

  it('4000043 for a wrong origin, a wrong RP ID, a forged signature, a wrong challenge, no user presence, a foreign key or user handle — the challenge stays, nothing stored', async () => {
    const { method } = setup();
    const authenticator = new SoftAuthenticator();
    const other = new SoftAuthenticator();
    const identity = await addKey(method, owner(), authenticator);
    const stranger = await addKey(method, identityRecord('other@example.com', { hash: 'fake$y' }), other);
    expect(stranger.id).not.toBe(identity.id);
    const cases: Array<{ origin?: string; overrides?: Json }> = [
      { origin: 'https://evil.example.com' },
      { origin: 'http://localhost:4456' },
      { overrides: { rpId: 'evil.example.com' } },
      { overrides: { challenge: 'AAAAAAAA' } },
      { overrides: { type: 'webauthn.create' } },
      { overrides: { userPresent: false } },
      { overrides: { signWith: other.credentials[0] } },
      { overrides: { userHandle: Buffer.from('someone else').toString('base64url') } },
    ];
    for (const c of cases) {
      const { out } = await mfaAttempt(method, identity, authenticator, c);
      expect(out, JSON.stringify(c.origin ?? Object.keys(c.overrides))).toEqual({
        kind: 'rejected', values: { identifier: EMAIL }, messages: [{ id: 4000043, text: 'The provided web authn login is invalid, please try again.', type: 'error' }],
      });
    }
    // The other identity's key answering this identity's challenge.
    const { out } = await mfaAttempt(method, identity, other, { overrides: { credentialId: other.credentials[0].id } });
    expect(ids(out.messages)).toEqual([4000043]);
    expect(out.changes).toBeUndefined();
  });

  it('backup eligibility must match the stored flag (4000043); a key stored without flags (legacy) passes', async () => {
    const { method, authenticator, identity } = await withKey({ authenticator: new SoftAuthenticator({ backupEligible: true }) });
    expect(keyConfigs(identity)[0].flags).toMatchObject({ backup_eligible: true, backup_state: true });
    (keyConfigs(identity)[0] as Json).flags.backup_eligible = false;
    expect(ids((await mfaAttempt(method, identity, authenticator)).out.messages)).toEqual([4000043]);
    delete (keyConfigs(identity)[0] as Json).flags;
    const { out } = await mfaAttempt(method, identity, authenticator);
    expect(out.kind).toBe('authenticated');
    expect(keyConfigs(recordOf(out))[0].flags).toBeUndefined();
  });

  it('an unparsable assertion: 4000001 "Unable to parse WebAuthn response."', async () => {
    const { method, identity } = await withKey();
    const ctx = aal2Ctx(identity);
    const { internal } = await method.login!.nodes(ctx);
    for (const bad of ['nope', '{}', JSON.stringify({ id: 'AQID', rawId: 'AQID', type: 'public-key', response: {} })]) {
      const out = await method.login!.submit(with_(ctx, internal), { identifier: EMAIL, webauthn_login: bad }) as Json;
      expect(out.messages.map((m: Json) => m.text)).toEqual(['Unable to parse WebAuthn response.']);
    }
  });

  it('requires the identifier (4000002), as Kratos\'s schema does', async () => {
    const { method, identity } = await withKey();
    const out = await method.login!.submit(aal2Ctx(identity), { webauthn_login: '{}' }) as Json;
    expect(out.fieldMessages).toEqual({ identifier: [{ id: 4000002, text: 'Property identifier is missing.', type: 'error', context: { property: 'identifier' } }] });
  });

  it('an aal2 refresh shows the MFA keys and accepts any of the identity\'s keys', async () => {
    const { method, authenticator, identity } = await withKey();
    const ctx = aal2Ctx(identity, { refresh: true });
    const { nodes, internal } = await method.login!.nodes(ctx);
    const assertion = await authenticator.get(optionsOf(nodes, 'webauthn_login_trigger').publicKey, ORIGIN);
    const out = await method.login!.submit(with_(ctx, internal), { identifier: EMAIL, webauthn_login: JSON.stringify(assertion) }) as Json;
    expect(out).toMatchObject({ kind: 'authenticated', aal: 'aal2' });
  });
});

describe('webauthn method: passwordless login', () => {
  async function passwordlessIdentity(method: Method) {
    const authenticator = new SoftAuthenticator();
    const identity = await addKey(method, identityRecord(EMAIL), authenticator);
    return { authenticator, identity };
  }

  it('step 0: the identifier and a plain "Sign in with a hardware key" submit, no challenge', async () => {
    const { method } = setup({ passwordless: true });
    expect(method.login!.aal).toBe('aal1');
    const result = await method.login!.nodes(context({ kind: 'login', type: 'browser' })) as Json;
    expect(result.internal).toBeUndefined();
    expect(result.nodes).toEqual([
      {
        type: 'input', group: 'default',
        attributes: { name: 'identifier', type: 'text', value: '', required: true, autocomplete: 'username webauthn', disabled: false, node_type: 'input' },
        messages: [], meta: { label: { id: 1070002, text: 'E-Mail', type: 'info', context: { title: 'E-Mail', name: 'traits.email' } } },
      },
      {
        type: 'input', group: 'webauthn', attributes: { name: 'method', type: 'submit', value: 'webauthn', disabled: false, node_type: 'input' },
        messages: [], meta: { label: { id: 1010008, text: 'Sign in with a hardware key', type: 'info' } },
      },
    ]);
    expect(await method.login!.nodes(context({ kind: 'login', type: 'api' }))).toEqual({ nodes: [] });
  });

  it('identifier → own screen with the challenge → assertion → aal1 session', async () => {
    const { method, store, lookups } = setup({ passwordless: true });
    const { authenticator, identity } = await passwordlessIdentity(method);
    store.push(identity);
    const ctx = context({ kind: 'login', type: 'browser' });
    const step1 = await method.login!.submit(ctx, { method: 'webauthn', identifier: ' User@Example.com' }) as Json;
    expect(lookups).toEqual([['webauthn', EMAIL]]);
    expect(step1).toMatchObject({
      kind: 'next_screen', screen: 'webauthn', values: { identifier: ' User@Example.com' },
      messages: [{ id: 1010012, text: 'Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.', type: 'info' }],
    });
    expect(step1.internal.session_data.allowed_credentials).toEqual([Buffer.from(authenticator.credentials[0].id, 'base64url').toString('base64')]);

    const screenCtx = context({ kind: 'login', type: 'browser', screen: 'webauthn', values: step1.values, internal: step1.internal });
    const screen = await method.login!.nodes(screenCtx) as Json;
    expect(screen.internal).toBeUndefined();
    expect(keysOf(screen.nodes)).toEqual(['identifier', 'webauthn_script', 'webauthn_login_trigger', 'webauthn_login']);
    expect(attrs(screen.nodes[0])).toEqual({ name: 'identifier', type: 'hidden', value: ' User@Example.com', required: true, disabled: false, node_type: 'input' });
    expect(screen.nodes[2].meta.label).toEqual({ id: 1010013, text: 'Continue', type: 'info' });
    const options = optionsOf(screen.nodes, 'webauthn_login_trigger');
    expect(options).toEqual(step1.internal.options);

    const assertion = await authenticator.get(options.publicKey, ORIGIN);
    const out = await method.login!.submit(screenCtx, { identifier: ' User@Example.com', webauthn_login: JSON.stringify(assertion) }) as Json;
    expect(out).toMatchObject({ kind: 'authenticated', identityId: identity.id, method: 'webauthn', aal: 'aal1', internal: null });
  });

  it('unknown identifiers and identities with only MFA keys: 4000015', async () => {
    const { method, store } = setup({ passwordless: true });
    const unknown = await method.login!.submit(context({ kind: 'login', type: 'browser' }), { method: 'webauthn', identifier: 'nobody@example.com' }) as Json;
    expect(unknown).toEqual({ kind: 'rejected', values: { identifier: 'nobody@example.com' }, messages: [{ id: 4000015, text: 'This account does not exist or has no security key set up.', type: 'error' }] });
    const mfaOnly = await addKey(setup().method, owner(), new SoftAuthenticator());
    store.push(mfaOnly);
    const out = await method.login!.submit(context({ kind: 'login', type: 'browser' }), { method: 'webauthn', identifier: EMAIL }) as Json;
    expect(ids(out.messages)).toEqual([4000015]);
    expect(out.internal).toBeUndefined();
  });

  it('an MFA key can not sign in passwordless, a passwordless key not as second factor', async () => {
    const { method, store } = setup({ passwordless: true });
    const both = new SoftAuthenticator();
    const second = new SoftAuthenticator();
    let identity = await addKey(setup().method, owner(), both); // MFA key
    identity = await addKey(method, identity, second); // passwordless key
    both.credentials.push(...second.credentials); // one authenticator holding both
    store.push(identity);
    const step1 = await method.login!.submit(context({ kind: 'login', type: 'browser' }), { method: 'webauthn', identifier: EMAIL }) as Json;
    const ctx = context({ kind: 'login', type: 'browser', screen: 'webauthn', values: step1.values, internal: step1.internal });
    const publicKey = step1.internal.options.publicKey;
    const withMfaKey = await both.get(publicKey, ORIGIN, { credentialId: both.credentials[0].id });
    expect(ids((await method.login!.submit(ctx, { identifier: EMAIL, webauthn_login: JSON.stringify(withMfaKey) }) as Json).messages)).toEqual([4000043]);

    const mfaMethod = setup().method;
    const mfaCtx = aal2Ctx(identity);
    const rendered = await mfaMethod.login!.nodes(mfaCtx);
    const withPasswordlessKey = await both.get(optionsOf(rendered.nodes, 'webauthn_login_trigger').publicKey, ORIGIN, { credentialId: both.credentials[1].id });
    expect(ids((await mfaMethod.login!.submit(with_(mfaCtx, rendered.internal), { identifier: EMAIL, webauthn_login: JSON.stringify(withPasswordlessKey) }) as Json).messages)).toEqual([4000043]);
  });

  it('refresh: the session identity\'s passwordless keys right away (hidden identifier, "Sign in with a hardware key")', async () => {
    const { method } = setup({ passwordless: true });
    const { authenticator, identity } = await passwordlessIdentity(method);
    const ctx = context({ kind: 'login', type: 'browser', refresh: true, identity });
    const { nodes, internal } = await method.login!.nodes(ctx) as Json;
    expect(keysOf(nodes)).toEqual(['identifier', 'webauthn_login', 'webauthn_script', 'webauthn_login_trigger']);
    expect(nodes[3].meta.label.id).toBe(1010008);
    const assertion = await authenticator.get(optionsOf(nodes, 'webauthn_login_trigger').publicKey, ORIGIN);
    const out = await method.login!.submit(with_(ctx, internal), { identifier: EMAIL, webauthn_login: JSON.stringify(assertion) }) as Json;
    expect(out).toMatchObject({ kind: 'authenticated', identityId: identity.id, aal: 'aal1' });
  });

  it('claims a form post that carries only the assertion; the decoder keeps its fields', () => {
    const { method } = setup({ passwordless: true });
    expect(method.login!.claims!({ webauthn_login: '{"id":"x"}', identifier: EMAIL, csrf_token: 't' })).toBe(true);
    expect(method.login!.claims!({ webauthn_login: '', identifier: EMAIL })).toBe(false);
    expect(method.settings!.claims!({ webauthn_remove: 'ab' })).toBe(true);
    expect(method.settings!.claims!({ webauthn_register: 'x', webauthn_register_displayname: 'k' })).toBe(true);
    expect(method.settings!.claims!({ webauthn_register_displayname: 'k' })).toBe(false);
    expect(method.registration!.claims!({ webauthn_register: 'x' })).toBe(true);
    const decoded = decodeBody({ webauthn_login: '{"id":"x"}', identifier: EMAIL, csrf_token: 't', other: 'y' }, { source: 'form', schema: payloadSchemaJson('methods/webauthn/login.json') });
    expect(decoded).toEqual({ webauthn_login: '{"id":"x"}', identifier: EMAIL, csrf_token: 't', transient_payload: {} });
  });
});

describe('webauthn method: registration with a security key', () => {
  it('only with passwordless on, and only for browser flows', async () => {
    expect(setup().method.registration).toBeUndefined();
    const { method } = setup({ passwordless: true });
    expect(await method.registration!.nodes(context({ kind: 'registration', type: 'api' }))).toEqual({ nodes: [] });
    const out = await method.registration!.submit(context({ kind: 'registration', type: 'api' }), { webauthn_register: '{}', traits: { email: EMAIL } }) as Json;
    expect(ids(out.messages)).toEqual([4010003]);
  });

  it('nodes: name, hidden result, "Sign up with security key" with a random user handle, script', async () => {
    const { method } = setup({ passwordless: true });
    const { nodes, internal } = await method.registration!.nodes(context({ kind: 'registration', type: 'browser' })) as Json;
    expect(keysOf(nodes)).toEqual(['webauthn_register_displayname', 'webauthn_register', 'webauthn_register_trigger', 'webauthn_script']);
    expect(nodes[2].meta.label).toEqual({ id: 1040004, text: 'Sign up with security key', type: 'info' });
    const options = optionsOf(nodes, 'webauthn_register_trigger');
    expect(Buffer.from(options.publicKey.user.id, 'base64url')).toHaveLength(16);
    expect(internal.session_data.user_id).toBe(Buffer.from(options.publicKey.user.id, 'base64url').toString('base64'));
    expect(options.publicKey.excludeCredentials).toBeUndefined();
  });

  it('registers the identity with a passwordless key that then signs in', async () => {
    const { method, store } = setup({ passwordless: true });
    const authenticator = new SoftAuthenticator();
    const { out, internal } = await register(method, authenticator, { webauthn_register_displayname: 'Laptop' });
    expect(out).toMatchObject({ kind: 'registered', method: 'webauthn', internal: null });
    const record = recordOf(out);
    expect(out.identityId).toBe(record.id);
    expect(out.changes.identity.isNew).toBe(true);
    const credential = webauthnOf(record)!;
    expect(credential).toMatchObject({ identifiers: [EMAIL], version: 1 });
    expect(credential.config.user_handle).toBe(internal.session_data.user_id);
    expect(keyConfigs(record)[0]).toMatchObject({ display_name: 'Laptop', is_passwordless: true });
    expect(countFirstFactors(record)).toBe(1);

    store.push(record);
    expect(await passwordlessLogin(method, authenticator)).toMatchObject({ kind: 'authenticated', identityId: record.id, aal: 'aal1' });
  });

  it('a key added later in settings shares the registered user handle, so the first key (returning its handle) still signs in', async () => {
    const { method, store } = setup({ passwordless: true });
    const first = new SoftAuthenticator();
    const registered = recordOf((await register(method, first)).out);
    const handle = webauthnOf(registered)!.config.user_handle;
    const settingsNodes = await method.settings!.nodes(settingsCtx(registered));
    expect(Buffer.from(optionsOf(settingsNodes.nodes, 'webauthn_register_trigger').publicKey.user.id, 'base64url').toString('base64')).toBe(handle);
    const identity = await addKey(method, registered, new SoftAuthenticator());
    expect(webauthnOf(identity)!.config.user_handle).toBe(handle);
    store.push(identity);
    expect(await passwordlessLogin(method, first, { includeUserHandle: true })).toMatchObject({ kind: 'authenticated', identityId: registered.id });
  });

  it('trait problems come first (4000002 on traits.email), values kept; nothing stored', async () => {
    const { method } = setup({ passwordless: true });
    const ctx = context({ kind: 'registration', type: 'browser' });
    const { internal } = await method.registration!.nodes(ctx);
    const out = await method.registration!.submit(with_(ctx, internal), { traits: { name: { first: 'Ann' } }, webauthn_register: '{}' }) as Json;
    expect(out.kind).toBe('rejected');
    expect(out.values).toEqual({ traits: { name: { first: 'Ann' } } });
    expect(ids(out.fieldMessages['traits.email'])).toEqual([4000002]);
    expect(out.changes).toBeUndefined();
  });

  it('a taken identifier: 4000007', async () => {
    const { out } = await register(setup({ passwordless: true, conflicts: true }).method, new SoftAuthenticator());
    expect(ids(out.messages)).toEqual([4000007]);
    expect(out.changes).toBeUndefined();
  });

  it('no WebAuthn identifier in the traits: 4000009', async () => {
    const schemas = registryOf(schemaDoc({ email: { type: 'string', format: 'email' } }));
    const { out } = await register(setup({ passwordless: true, schemas }).method, new SoftAuthenticator());
    expect(ids(out.messages)).toEqual([4000009]);
  });
});
