/**
 * The passkey method alone (Kratos `strategy/passkey`): node shapes per flow and flow type, registration with a
 * passkey, discoverable login found by the user handle, refresh, adding and removing passkeys in settings — answered
 * by the software authenticator and verified by @simplewebauthn/server.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { Method } from '../../../src/methods/method.ts';
import { createPasskeyMethod, passkeyDisplayNameFields, type PasskeyMethodDeps } from '../../../src/methods/webauthn/passkey.method.ts';
import { WEBAUTHN_JS_INTEGRITY } from '../../../src/methods/webauthn/script.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import { context, identityRecord, ids, registryOf, schemaDoc } from './helpers.ts';
import {
  attrs, commonDeps, countFirstFactors, credentialOfType, EMAIL, hexIdOf, keyConfigsOf, keysOf, node, ORIGIN, recordOf, SCRIPT_URL,
  settingsCtx, valueOf, with_, type CommonSetupOptions, type Json,
} from './webauthn-helpers.ts';

const RP = { id: 'localhost', name: 'idflow test', origins: [ORIGIN, 'http://localhost:19006'] };

interface SetupOptions extends CommonSetupOptions, Partial<Pick<PasskeyMethodDeps, 'authenticatorSelection' | 'attestation' | 'timeouts'>> {
  migration?: boolean;
}

function setup(options: SetupOptions = {}) {
  const { deps, store, lookups } = commonDeps(options);
  const identities: PasskeyMethodDeps['identities'] = {
    ...deps.identities,
    ...(options.migration
      ? { findByWebauthnUserHandle: async (handle: string) => store.find((i) => i.credentials.some((c) => c.type === 'webauthn' && c.config.user_handle === handle)) ?? null }
      : {}),
  };
  const method = createPasskeyMethod({
    ...deps, identities, rp: RP, authenticatorSelection: options.authenticatorSelection, attestation: options.attestation, timeouts: options.timeouts,
  });
  return { method, store, lookups };
}

const passkeyOf = (identity: IdentityRecord) => credentialOfType(identity, 'passkey');
const keyConfigs = (identity: IdentityRecord) => keyConfigsOf(identity, 'passkey');

/** Registers a new identity with a passkey through the registration flow. */
async function register(method: Method, authenticator: SoftAuthenticator, email = EMAIL, type: 'browser' | 'api' = 'browser') {
  const ctx = context({ kind: 'registration', type });
  const { nodes, internal } = await method.registration!.nodes(ctx);
  const createData = valueOf(nodes, 'passkey_create_data');
  // What webauthn.js does: name the user after the first filled display-name field.
  const publicKey = { ...createData.credentialOptions.publicKey, user: { ...createData.credentialOptions.publicKey.user, name: email, displayName: email } };
  const response = await authenticator.create(publicKey, ORIGIN);
  const out = await method.registration!.submit(with_(ctx, internal), { traits: { email }, passkey_register: JSON.stringify(response) }) as Json;
  return { out, internal: internal as Json, response };
}

/** A discoverable login attempt in a fresh login flow. */
async function loginAttempt(method: Method, authenticator: SoftAuthenticator, get: { origin?: string; overrides?: Json; type?: 'browser' | 'api' } = {}) {
  const ctx = context({ kind: 'login', type: get.type ?? 'browser' });
  const rendered = await method.login!.nodes(ctx);
  const challenge = valueOf(rendered.nodes, 'passkey_challenge');
  const assertion = await authenticator.get(challenge.publicKey, get.origin ?? ORIGIN, get.overrides);
  const ctxWith = with_(ctx, rendered.internal);
  const payload = { passkey_login: JSON.stringify(assertion) };
  return { out: await method.login!.submit(ctxWith, payload) as Json, ctx: ctxWith, payload, rendered };
}

describe('passkey method: registration', () => {
  it('browser nodes: script, trigger, hidden result, create data with the display-name fields', async () => {
    const { method } = setup();
    const { nodes, internal } = await method.registration!.nodes(context({ kind: 'registration', type: 'browser' })) as Json;
    expect(keysOf(nodes)).toEqual(['webauthn_script', 'passkey_register_trigger', 'passkey_register', 'passkey_create_data']);
    expect(nodes[0]).toMatchObject({ type: 'script', group: 'webauthn', attributes: { src: SCRIPT_URL, integrity: WEBAUTHN_JS_INTEGRITY } });
    expect(nodes[1]).toEqual({
      type: 'input', group: 'passkey',
      attributes: { name: 'passkey_register_trigger', type: 'button', disabled: false, onclick: 'window.oryPasskeyRegistration()', onclickTrigger: 'oryPasskeyRegistration', node_type: 'input' },
      messages: [], meta: { label: { id: 1040007, text: 'Sign up with passkey', type: 'info' } },
    });
    expect(attrs(nodes[2])).toEqual({ name: 'passkey_register', type: 'hidden', disabled: false, node_type: 'input' });
    const createData = valueOf(nodes, 'passkey_create_data');
    expect(Object.keys(createData)).toEqual(['credentialOptions', 'displayNameFieldName', 'displayNameFieldNames']);
    expect(createData.displayNameFieldName).toBe('traits.email');
    expect(createData.displayNameFieldNames).toEqual(['traits.email']);
    const publicKey = createData.credentialOptions.publicKey;
    expect(Object.keys(publicKey)).toEqual(['rp', 'user', 'challenge', 'pubKeyCredParams', 'timeout', 'authenticatorSelection', 'attestation']);
    expect(publicKey.user.name).toBe('idflow test');
    const handle = Buffer.from(publicKey.user.id, 'base64url').toString('latin1');
    expect(handle).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(publicKey.timeout).toBe(300000);
    expect(publicKey.authenticatorSelection).toEqual({ requireResidentKey: true, residentKey: 'required', userVerification: 'preferred' });
    expect(publicKey.attestation).toBe('none');
    expect(internal.session_data).toMatchObject({ challenge: publicKey.challenge, rpId: 'localhost', user_id: Buffer.from(handle).toString('base64'), userVerification: 'preferred' });
  });

  it('API nodes: no script and no onclick (the trigger enum stays)', async () => {
    const { method } = setup();
    const { nodes } = await method.registration!.nodes(context({ kind: 'registration', type: 'api' })) as Json;
    expect(keysOf(nodes)).toEqual(['passkey_register_trigger', 'passkey_register', 'passkey_create_data']);
    expect(attrs(nodes[0]).onclick).toBeUndefined();
    expect(attrs(nodes[0]).onclickTrigger).toBe('oryPasskeyRegistration');
  });

  it('configured selection, attestation and timeouts shape the options', async () => {
    const { method } = setup({
      authenticatorSelection: { attachment: 'cross-platform', resident_key: 'preferred', user_verification: 'discouraged' },
      attestation: { preference: 'direct' },
      timeouts: { registration: '45s', login: '1m' },
    });
    const { nodes } = await method.registration!.nodes(context({ kind: 'registration', type: 'browser' })) as Json;
    const publicKey = valueOf(nodes, 'passkey_create_data').credentialOptions.publicKey;
    expect(publicKey.authenticatorSelection).toEqual({ authenticatorAttachment: 'cross-platform', requireResidentKey: false, residentKey: 'preferred', userVerification: 'discouraged' });
    expect(publicKey.attestation).toBe('direct');
    expect(publicKey.timeout).toBe(45000);
    const login = await method.login!.nodes(context({ kind: 'login', type: 'browser' }));
    expect(valueOf(login.nodes, 'passkey_challenge').publicKey.timeout).toBe(60000);
  });

  it('display-name fields: flagged traits sorted, else the first untitled trait, else no passkey registration', async () => {
    const flagged = registryOf(schemaDoc({
      username: { type: 'string', 'ory.sh/kratos': { credentials: { passkey: { display_name: true } } } },
      email: { type: 'string', format: 'email', 'ory.sh/kratos': { credentials: { webauthn: { identifier: true } } } },
    }));
    expect(passkeyDisplayNameFields(flagged.require('default'))).toEqual(['traits.email', 'traits.username']);
    const untitled = registryOf(schemaDoc({ zeta: { type: 'string' }, alpha: { type: 'string', title: 'Alpha' }, beta: { type: 'string' } }));
    expect(passkeyDisplayNameFields(untitled.require('default'))).toEqual(['traits.beta']);
    const none = registryOf(schemaDoc({ alpha: { type: 'string', title: 'Alpha' } }));
    expect(passkeyDisplayNameFields(none.require('default'))).toEqual([]);
    expect(await setup({ schemas: none }).method.registration!.nodes(context({ kind: 'registration', type: 'browser' }))).toEqual({ nodes: [] });
  });

  it('registers the identity: passkey credential at version 1, the handle as identifier, aaguid name', async () => {
    const { method } = setup();
    const aaguid = Buffer.from('fbfc3007154e4ecc8c0b6e020557d7bd', 'hex');
    const authenticator = new SoftAuthenticator({ aaguid, backupEligible: true });
    const { out, internal } = await register(method, authenticator);
    expect(out).toMatchObject({ kind: 'registered', method: 'passkey', internal: null });
    const record = recordOf(out);
    expect(out.identityId).toBe(record.id);
    const credential = passkeyOf(record)!;
    const handle = Buffer.from(internal.session_data.user_id, 'base64').toString('latin1');
    expect(credential).toMatchObject({ type: 'passkey', identifiers: [handle], version: 1 });
    expect(credential.config.user_handle).toBe(internal.session_data.user_id);
    expect(keyConfigs(record)).toEqual([{
      id: Buffer.from(authenticator.credentials[0].id, 'base64url').toString('base64'),
      public_key: Buffer.from(authenticator.credentials[0].publicKeyCose).toString('base64'),
      attestation_type: 'none',
      authenticator: { aaguid: aaguid.toString('base64'), sign_count: 0, clone_warning: false },
      display_name: 'iCloud Keychain',
      added_at: '2030-01-01T12:00:00Z',
      is_passwordless: true,
      flags: { user_present: true, user_verified: true, backup_eligible: true, backup_state: true },
      transport: ['usb'],
    }]);
    expect(record.traits).toEqual({ email: EMAIL });
    expect(countFirstFactors(record)).toBe(1);
  });

  it('also in API flows', async () => {
    const { out } = await register(setup().method, new SoftAuthenticator(), EMAIL, 'api');
    expect(out.kind).toBe('registered');
  });

  it('"true" (the React SDK) and an empty value are no passkey registration', async () => {
    const { method } = setup();
    expect(method.registration!.claims!({ passkey_register: 'true' })).toBe(false);
    expect(method.registration!.claims!({ passkey_register: '' })).toBe(false);
    expect(method.registration!.claims!({ passkey_register: '{"id":"x"}' })).toBe(true);
    const out = await method.registration!.submit(context({ kind: 'registration', type: 'browser' }), { traits: { email: EMAIL }, passkey_register: 'true' }) as Json;
    expect(ids(out.messages)).toEqual([4010003]);
  });

  it('user verification required: a key that does not verify the user is refused, nothing stored', async () => {
    const { method } = setup({ authenticatorSelection: { user_verification: 'required' } });
    const { out } = await register(method, new SoftAuthenticator({ userVerification: false }));
    expect(out.kind).toBe('rejected');
    expect(out.messages[0].id).toBe(4000001);
    expect(out.messages[0].text).toMatch(/^Unable to create WebAuthn credential: User verification/);
    expect(out.changes).toBeUndefined();
    expect(out.values).toEqual({ traits: { email: EMAIL } });
  });

  it('trait problems, a taken identifier, a missing challenge', async () => {
    const { method } = setup();
    const ctx = context({ kind: 'registration', type: 'browser' });
    const { internal } = await method.registration!.nodes(ctx);
    const traitProblem = await method.registration!.submit(with_(ctx, internal), { traits: {}, passkey_register: '{}' }) as Json;
    expect(ids(traitProblem.fieldMessages['traits.email'])).toEqual([4000002]);
    const taken = await register(setup({ conflicts: true }).method, new SoftAuthenticator());
    expect(ids(taken.out.messages)).toEqual([4000007]);
    const missing = await method.registration!.submit(ctx, { traits: { email: EMAIL }, passkey_register: '{}' }) as Json;
    expect(missing.messages.map((m: Json) => m.text)).toEqual(['Expected WebAuthN in internal context to be an object.']);
  });
});

describe('passkey method: login', () => {
  it('browser nodes: a discoverable challenge issued with the flow, autocomplete on load', async () => {
    const { method } = setup();
    const { nodes, internal } = await method.login!.nodes(context({ kind: 'login', type: 'browser' })) as Json;
    expect(method.login!.aal).toBe('aal1');
    expect(keysOf(nodes)).toEqual(['identifier', 'webauthn_script', 'passkey_login_trigger', 'passkey_login', 'passkey_challenge']);
    expect(nodes[0]).toEqual({
      type: 'input', group: 'default',
      attributes: { name: 'identifier', type: 'text', value: '', required: true, autocomplete: 'username webauthn', disabled: false, node_type: 'input' },
      messages: [], meta: { label: { id: 1070002, text: 'E-Mail', type: 'info', context: { title: 'E-Mail', name: 'traits.email' } } },
    });
    expect(nodes[2]).toEqual({
      type: 'input', group: 'passkey',
      attributes: { name: 'passkey_login_trigger', type: 'button', value: '', disabled: false, onclick: 'window.oryPasskeyLogin()', onclickTrigger: 'oryPasskeyLogin', node_type: 'input' },
      messages: [], meta: { label: { id: 1010021, text: 'Sign in with passkey', type: 'info' } },
    });
    expect(attrs(nodes[3])).toEqual({
      name: 'passkey_login', type: 'hidden', disabled: false, onload: 'window.oryPasskeyLoginAutocompleteInit()', onloadTrigger: 'oryPasskeyLoginAutocompleteInit', node_type: 'input',
    });
    const challenge = valueOf(nodes, 'passkey_challenge');
    expect(challenge).toEqual({ publicKey: { challenge: internal.session_data.challenge, timeout: 300000, rpId: 'localhost', userVerification: 'preferred' } });
    expect(internal.session_data).toEqual({ challenge: challenge.publicKey.challenge, rpId: 'localhost', user_id: null, expires: '0001-01-01T00:00:00Z', userVerification: 'preferred' });
  });

  it('renders the same form again from its internal state (challenge and script nonce included)', async () => {
    const { method } = setup();
    const ctx = context({ kind: 'login', type: 'browser' });
    const first = await method.login!.nodes(ctx);
    const again = await method.login!.nodes(with_(ctx, first.internal));
    expect(again).toEqual({ nodes: first.nodes });
  });

  it('API nodes: no script, no onclick, no onload; the trigger names stay', async () => {
    const { method } = setup();
    const { nodes } = await method.login!.nodes(context({ kind: 'login', type: 'api' })) as Json;
    expect(keysOf(nodes)).toEqual(['identifier', 'passkey_login_trigger', 'passkey_login', 'passkey_challenge']);
    expect(attrs(nodes[1])).toEqual({ name: 'passkey_login_trigger', type: 'button', value: '', disabled: false, onclickTrigger: 'oryPasskeyLogin', node_type: 'input' });
    expect(attrs(nodes[2])).toEqual({ name: 'passkey_login', type: 'hidden', disabled: false, onloadTrigger: 'oryPasskeyLoginAutocompleteInit', node_type: 'input' });
  });

  it('nothing at aal2', async () => {
    const { method } = setup();
    expect(await method.login!.nodes(context({ kind: 'login', type: 'browser', requestedAal: 'aal2' }))).toEqual({ nodes: [] });
  });

  it('a registered passkey signs in: the user handle names the identity; counter recorded; challenge dropped', async () => {
    const { method, store, lookups } = setup();
    const authenticator = new SoftAuthenticator();
    const { out: registered } = await register(method, authenticator);
    const identity = recordOf(registered);
    store.push(identity);
    const { out } = await loginAttempt(method, authenticator);
    expect(out).toMatchObject({ kind: 'authenticated', identityId: identity.id, method: 'passkey', aal: 'aal1', internal: null });
    expect(lookups).toEqual([['passkey', passkeyOf(identity)!.identifiers[0]]]);
    expect(keyConfigs(recordOf(out))[0].authenticator).toMatchObject({ sign_count: 1, clone_warning: false });
    const api = await loginAttempt(method, authenticator, { type: 'api' });
    expect(api.out.kind).toBe('authenticated');
  });

  it('a replayed assertion finds no challenge: refused', async () => {
    const { method, store } = setup();
    const authenticator = new SoftAuthenticator();
    store.push(recordOf((await register(method, authenticator)).out));
    const { out, ctx, payload } = await loginAttempt(method, authenticator);
    expect(out.kind).toBe('authenticated');
    const replay = await method.login!.submit(with_(ctx, out.internal), payload) as Json;
    expect(replay.kind).toBe('rejected');
    expect(replay.messages.map((m: Json) => [m.id, m.text])).toEqual([[4000001, 'Expected WebAuthN in internal context to be an object but got: unexpected end of JSON input']]);
  });

  it('user verification required: an assertion without UV is refused (4000043)', async () => {
    const { method, store } = setup({ authenticatorSelection: { user_verification: 'required' } });
    const authenticator = new SoftAuthenticator();
    store.push(recordOf((await register(method, authenticator)).out));
    const { out } = await loginAttempt(method, authenticator, { overrides: { userVerified: false } });
    expect(ids(out.messages)).toEqual([4000043]);
    expect(out.changes).toBeUndefined();
    // With UV "preferred" (the default) the same assertion passes.
    const lenient = setup();
    const other = new SoftAuthenticator({ userVerification: false });
    lenient.store.push(recordOf((await register(lenient.method, other)).out));
    expect((await loginAttempt(lenient.method, other)).out.kind).toBe('authenticated');
  });

  it('a counter regression logs in with a clone warning', async () => {
    const { method, store } = setup();
    const authenticator = new SoftAuthenticator();
    store.push(recordOf((await register(method, authenticator)).out));
    const first = await loginAttempt(method, authenticator, { overrides: { counter: 7 } });
    store[0] = recordOf(first.out);
    const second = await loginAttempt(method, authenticator, { overrides: { counter: 7 } });
    expect(second.out.kind).toBe('authenticated');
    expect(keyConfigs(recordOf(second.out))[0].authenticator).toMatchObject({ sign_count: 7, clone_warning: true });
  });

  it('4000043 for wrong origin and RP ID; 4000015 for an unknown or missing user handle', async () => {
    const { method, store } = setup();
    const authenticator = new SoftAuthenticator();
    store.push(recordOf((await register(method, authenticator)).out));
    expect(ids((await loginAttempt(method, authenticator, { origin: 'https://evil.example.com' })).out.messages)).toEqual([4000043]);
    expect(ids((await loginAttempt(method, authenticator, { overrides: { rpId: 'evil.example.com' } })).out.messages)).toEqual([4000043]);
    // Second allowed origin is fine.
    expect((await loginAttempt(method, authenticator, { origin: 'http://localhost:19006' })).out.kind).toBe('authenticated');
    const unknown = await loginAttempt(method, authenticator, { overrides: { userHandle: Buffer.from('x'.repeat(64)).toString('base64url') } });
    expect(unknown.out).toEqual({ kind: 'rejected', messages: [{ id: 4000015, text: 'This account does not exist or has no security key set up.', type: 'error' }] });
    expect(ids((await loginAttempt(method, authenticator, { overrides: { userHandle: null } })).out.messages)).toEqual([4000015]);
  });

  it('a passkey of another identity presenting this identity\'s handle: 4000043', async () => {
    const { method, store } = setup();
    const mine = new SoftAuthenticator();
    const theirs = new SoftAuthenticator();
    const me = recordOf((await register(method, mine)).out);
    const them = recordOf((await register(method, theirs, 'them@example.com')).out);
    store.push(me, them);
    const myHandle = mine.credentials[0].userHandle;
    const { out } = await loginAttempt(method, theirs, { overrides: { userHandle: myHandle } });
    expect(ids(out.messages)).toEqual([4000043]);
  });

  it('method=passkey without an assertion sends the client back to the form; other submits are not passkey\'s', async () => {
    const { method } = setup();
    expect(await method.login!.submit(context({ kind: 'login', type: 'browser' }), { method: 'passkey' })).toEqual({ kind: 'next_screen' });
    expect(ids((await method.login!.submit(context({ kind: 'login', type: 'browser' }), { method: 'password' }) as Json).messages)).toEqual([4010002]);
    expect(method.login!.claims!({ passkey_login: '{}' })).toBe(true);
    expect(method.login!.claims!({ passkey_login: '' })).toBe(false);
    const unparsable = await method.login!.submit(context({ kind: 'login', type: 'browser' }), { passkey_login: 'garbage' }) as Json;
    expect(unparsable.messages.map((m: Json) => m.text)).toEqual(['Unable to parse WebAuthn response.']);
  });

  it('refresh: the session identity\'s passkeys, non-discoverable, identifier shows the display name', async () => {
    const { method, store } = setup();
    const authenticator = new SoftAuthenticator();
    const identity = recordOf((await register(method, authenticator)).out);
    store.push(identity);
    const ctx = context({ kind: 'login', type: 'browser', refresh: true, identity });
    const { nodes, internal } = await method.login!.nodes(ctx) as Json;
    expect(keysOf(nodes)).toEqual(['identifier', 'webauthn_script', 'passkey_login_trigger', 'passkey_login', 'passkey_challenge']);
    expect(attrs(nodes[0])).toEqual({ name: 'identifier', type: 'hidden', value: EMAIL, disabled: false, node_type: 'input' });
    expect(attrs(nodes[3])).toEqual({ name: 'passkey_login', type: 'hidden', disabled: false, node_type: 'input' });
    const challenge = valueOf(nodes, 'passkey_challenge');
    expect(challenge.publicKey.allowCredentials).toEqual([{ type: 'public-key', id: authenticator.credentials[0].id, transports: ['usb'] }]);
    expect(internal.session_data.user_id).toBe(passkeyOf(identity)!.config.user_handle);
    const assertion = await authenticator.get(challenge.publicKey, ORIGIN);
    const out = await method.login!.submit(with_(ctx, internal), { passkey_login: JSON.stringify(assertion) });
    expect(out).toMatchObject({ kind: 'authenticated', identityId: identity.id });
    expect(await method.login!.nodes(context({ kind: 'login', type: 'browser', refresh: true, identity: identityRecord(EMAIL, { hash: 'fake$x' }) }))).toEqual({ nodes: [] });
  });

  it('the migration path: a passwordless webauthn key found by its user handle signs in as passkey', async () => {
    const { method, store } = setup({ migration: true });
    const authenticator = new SoftAuthenticator();
    // Registered as a passkey, then stored as a webauthn credential (what an older Kratos wrote).
    const registered = recordOf((await register(method, authenticator)).out);
    const passkey = passkeyOf(registered)!;
    const legacy = { ...registered, credentials: [{ ...passkey, type: 'webauthn' as const, identifiers: [EMAIL] }] };
    store.push(legacy);
    const { out } = await loginAttempt(method, authenticator);
    expect(out).toMatchObject({ kind: 'authenticated', identityId: legacy.id, method: 'passkey', aal: 'aal1' });
    expect(recordOf(out).credentials[0].type).toBe('webauthn');
    expect((recordOf(out).credentials[0].config.credentials as Json[])[0].authenticator.sign_count).toBe(1);
  });
});

describe('passkey method: settings', () => {
  const owner = () => identityRecord(EMAIL, { hash: 'fake$x' });

  it('nodes (browser): script, remove buttons, trigger, hidden result, bare create data named after the identity', async () => {
    const { method } = setup();
    const identity = owner();
    const { nodes, internal } = await method.settings!.nodes(settingsCtx(identity)) as Json;
    expect(keysOf(nodes)).toEqual(['webauthn_script', 'passkey_register_trigger', 'passkey_settings_register', 'passkey_create_data']);
    expect(nodes[1]).toEqual({
      type: 'input', group: 'passkey',
      attributes: { name: 'passkey_register_trigger', type: 'button', value: '', disabled: false, onclick: 'window.oryPasskeySettingsRegistration()', onclickTrigger: 'oryPasskeySettingsRegistration', node_type: 'input' },
      messages: [], meta: { label: { id: 1050019, text: 'Add passkey', type: 'info' } },
    });
    expect(attrs(nodes[2])).toEqual({ name: 'passkey_settings_register', type: 'hidden', disabled: false, node_type: 'input' });
    const data = valueOf(nodes, 'passkey_create_data');
    expect(Object.keys(data)).toEqual(['publicKey']);
    expect(data.publicKey.user.name).toBe(EMAIL);
    expect(data.publicKey.user.displayName).toBe(EMAIL);
    expect(Buffer.from(data.publicKey.user.id, 'base64url').toString('latin1')).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(internal.session_data.challenge).toBe(data.publicKey.challenge);
    const api = await method.settings!.nodes(settingsCtx(identity, { type: 'api' })) as Json;
    expect(keysOf(api.nodes)).toEqual(['passkey_register_trigger', 'passkey_settings_register', 'passkey_create_data']);
    expect(attrs(api.nodes[0]).onclick).toBeUndefined();
  });

  it('no display name for the identity: no registration nodes', async () => {
    const schemas = registryOf(schemaDoc({ nick: { type: 'string' } }));
    const { method } = setup({ schemas });
    const identity = identityRecord(EMAIL, { hash: 'fake$x', traits: { nick: 'x' }, schemas });
    expect(await method.settings!.nodes(settingsCtx(identity))).toEqual({ nodes: [] });
  });

  it('adds a passkey: another handle, appended to the identifiers; aal1 method on the session', async () => {
    const { method } = setup();
    const identity = owner();
    const ctx = settingsCtx(identity);
    const { nodes, internal } = await method.settings!.nodes(ctx) as Json;
    const authenticator = new SoftAuthenticator();
    const response = await authenticator.create(valueOf(nodes, 'passkey_create_data').publicKey, ORIGIN);
    const out = await method.settings!.submit(with_(ctx, internal), { passkey_settings_register: JSON.stringify(response) }) as Json;
    expect(out).toMatchObject({ kind: 'updated', method: 'passkey', internal: null });
    expect(out.changes.sessionMethod).toEqual({ method: 'passkey', aal: 'aal1' });
    const record = recordOf(out);
    const handle = Buffer.from(internal.session_data.user_id, 'base64').toString('latin1');
    expect(passkeyOf(record)).toMatchObject({ identifiers: [handle], version: 1, config: { user_handle: internal.session_data.user_id } });
    expect(keyConfigs(record)[0]).toMatchObject({ is_passwordless: true, display_name: '' });

    // A second passkey: both handles are identifiers, the config keeps the newest; the first is excluded.
    const next = await method.settings!.nodes(settingsCtx(record)) as Json;
    expect(keysOf(next.nodes)).toEqual(['webauthn_script', 'passkey_remove', 'passkey_register_trigger', 'passkey_settings_register', 'passkey_create_data']);
    expect(valueOf(next.nodes, 'passkey_create_data').publicKey.excludeCredentials).toEqual([{ type: 'public-key', id: authenticator.credentials[0].id, transports: ['usb'] }]);
    const other = new SoftAuthenticator();
    const second = await method.settings!.submit(with_(settingsCtx(record), next.internal), {
      passkey_settings_register: JSON.stringify(await other.create(valueOf(next.nodes, 'passkey_create_data').publicKey, ORIGIN)),
    }) as Json;
    const secondHandle = Buffer.from(next.internal.session_data.user_id, 'base64').toString('latin1');
    expect(passkeyOf(recordOf(second))!.identifiers).toEqual([handle, secondHandle]);
    expect(passkeyOf(recordOf(second))!.config.user_handle).toBe(next.internal.session_data.user_id);
    expect(keyConfigs(recordOf(second))).toHaveLength(2);
  });

  it('refuses a non-privileged session (after decoding), a duplicate key, a wrong origin — nothing stored', async () => {
    const { method } = setup();
    const ctx = settingsCtx(owner());
    const { nodes, internal } = await method.settings!.nodes(ctx) as Json;
    const publicKey = valueOf(nodes, 'passkey_create_data').publicKey;
    const response = JSON.stringify(await new SoftAuthenticator().create(publicKey, ORIGIN));
    expect(await method.settings!.submit(with_({ ...ctx, privileged: false }, internal), { passkey_settings_register: response })).toEqual({ kind: 'needs_refresh' });
    expect(ids((await method.settings!.submit(with_(ctx, internal), {}) as Json).messages)).toEqual([4010004]);
    const wrongOrigin = await method.settings!.submit(with_(ctx, internal), { passkey_settings_register: JSON.stringify(await new SoftAuthenticator().create(publicKey, 'https://evil.example.com')) }) as Json;
    expect(wrongOrigin.messages.map((m: Json) => m.text)).toEqual(['Unable to create WebAuthn credential: Error validating origin']);
    expect(wrongOrigin.changes).toBeUndefined();
    const first = await method.settings!.submit(with_(ctx, internal), { passkey_settings_register: response }) as Json;
    const dup = await method.settings!.submit(with_(settingsCtx(recordOf(first)), internal), { passkey_settings_register: response }) as Json;
    expect(dup).toEqual({
      kind: 'rejected', messages: [],
      fieldMessages: { passkey_settings_register: [{ id: 4000001, text: 'this security key or passkey is already registered with your account', type: 'error', context: { reason: 'this security key or passkey is already registered with your account' } }] },
    });
  });

  it('removes a passkey while another first factor remains; the last one is refused (disabled, message at webauthn_remove)', async () => {
    const { method } = setup();
    const authenticator = new SoftAuthenticator();
    const identity = recordOf((await register(method, authenticator)).out);
    const hexId = hexIdOf(authenticator);
    const { nodes } = await method.settings!.nodes(settingsCtx(identity)) as Json;
    const remove = node(nodes, 'passkey_remove');
    expect(remove).toEqual({
      type: 'input', group: 'passkey',
      attributes: { name: 'passkey_remove', type: 'submit', value: hexId, disabled: true, node_type: 'input' },
      messages: [], meta: { label: { id: 1050020, text: 'Remove passkey "unnamed"', type: 'info', context: { display_name: 'unnamed', added_at: '2030-01-01T12:00:00Z', added_at_unix: 1893499200 } } },
    });
    const refused = await method.settings!.submit(settingsCtx(identity), { passkey_remove: hexId }) as Json;
    expect(refused).toEqual({
      kind: 'rejected', messages: [],
      fieldMessages: { webauthn_remove: [{ id: 4000001, text: 'unable to remove this security key because it would lock you out of your account', type: 'error', context: { reason: 'unable to remove this security key because it would lock you out of your account' } }] },
    });
    const withPassword: IdentityRecord = { ...identity, credentials: [...identity.credentials, ...identityRecord(EMAIL, { hash: 'fake$x' }).credentials] };
    expect(attrs(node((await method.settings!.nodes(settingsCtx(withPassword))).nodes, 'passkey_remove')).disabled).toBe(false);
    const out = await method.settings!.submit(settingsCtx(withPassword), { passkey_remove: hexId }) as Json;
    expect(out.kind).toBe('updated');
    expect(passkeyOf(recordOf(out))).toBeUndefined();
    // (the code credential is the identity service's, derived from the e-mail trait)
    expect(recordOf(out).credentials.map((c) => c.type).sort()).toEqual(['code', 'password']);
    const unknown = await method.settings!.submit(settingsCtx(withPassword), { passkey_remove: 'abcd' }) as Json;
    expect(unknown.messages.map((m: Json) => m.text)).toEqual(['You tried to remove a passkey which does not exist.']);
    const none = await method.settings!.submit(settingsCtx(owner()), { passkey_remove: 'abcd' }) as Json;
    expect(none.messages.map((m: Json) => m.text)).toEqual(['You tried to remove a WebAuthn but you have no WebAuthn set up.']);
  });

  it('a removal wins over a new passkey when both are sent', async () => {
    const { method } = setup();
    const authenticator = new SoftAuthenticator();
    const registered = recordOf((await register(method, authenticator)).out);
    const identity: IdentityRecord = { ...registered, credentials: [...registered.credentials, ...identityRecord(EMAIL, { hash: 'fake$x' }).credentials] };
    const hexId = hexIdOf(authenticator);
    const out = await method.settings!.submit(settingsCtx(identity), { passkey_remove: hexId, passkey_settings_register: '{}' }) as Json;
    expect(out.kind).toBe('updated');
    expect(passkeyOf(recordOf(out))).toBeUndefined();
    expect(method.settings!.claims!({ passkey_remove: hexId })).toBe(true);
    expect(method.settings!.claims!({ passkey_settings_register: '{}' })).toBe(true);
    expect(method.settings!.claims!({ passkey_create_data: '{}' })).toBe(false);
  });
});
