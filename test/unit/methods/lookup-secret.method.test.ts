/**
 * The lookup-secret method alone (Kratos `strategy/lookup`): its settings screens (none, reveal/disable, new codes to
 * confirm, revealed codes), what each settings button does, and the aal2 login with a backup code. A real credential
 * cipher with test secrets; nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import {
  createLookupSecretMethod, LOOKUP_CODE_ALPHABET, lookupSecretConfig, type LookupCodeInput, type LookupSecretConfig,
} from '../../../src/methods/lookup-secret/lookup-secret.method.ts';
import type { Json as MethodJson, Method } from '../../../src/methods/method.ts';
import { payloadSchemaJson } from '../../../src/x/body-validator.ts';
import { CredentialCipher } from '../../../src/x/credential-cipher.ts';
import { decodeBody } from '../../../src/x/decode-body.ts';
import { context, identityRecord, ids, NOW } from './helpers.ts';

// Nodes and outcomes are compared field by field.
type Json = any;

const SECRET = 'lookup-secret-test-secret-0123456';
const OLD_SECRET = 'an-older-lookup-secret-abcdefghij';
const cipher = new CredentialCipher([SECRET]);
const method = createLookupSecretMethod({ cipher });
const settings = (m: Method = method) => m.settings!;
const login = (m: Method = method) => m.login!;
const attrs = (node: unknown): Json => (node as Json)?.attributes;
const keys = (nodes: Json[]) => nodes.map((n) => attrs(n).name ?? attrs(n).id);

const CODES = ['aaaa1111', 'bbbb2222', 'cccc3333', 'dddd4444', 'eeee5555', 'ffff6666', 'gggg7777', 'hhhh8888', 'iiii9999', 'jjjj0000', 'kkkk1111', 'llll2222'];

async function withCodes(identity: IdentityRecord, codes: LookupCodeInput[], c: CredentialCipher = cipher): Promise<IdentityRecord> {
  const config = await lookupSecretConfig(c, identity.id, codes);
  return {
    ...identity,
    credentials: [...identity.credentials, { id: crypto.randomUUID(), type: 'lookup_secret', identifiers: [identity.id], config, version: 0, createdAt: NOW, updatedAt: NOW }],
  };
}
const lookupConfig = (identity: IdentityRecord): LookupSecretConfig => identity.credentials.find((c) => c.type === 'lookup_secret')!.config as LookupSecretConfig;
const owner = () => identityRecord('user@example.com', { hash: 'fake$x' });
const settingsCtx = (o: Parameters<typeof context>[0] = {}) => context({ kind: 'settings', state: 'show_form', privileged: true, ...o });
const loginCtx = (o: Parameters<typeof context>[0] = {}) => context({ kind: 'login', requestedAal: 'aal2', ...o });

function flagNodeShape(name: string, label: { id: number; text: string }) {
  return {
    type: 'input', group: 'lookup_secret', messages: [],
    attributes: { name, type: 'submit', value: 'true', disabled: false, node_type: 'input' },
    meta: { label: { ...label, type: 'info' } },
  };
}
const REGENERATE = flagNodeShape('lookup_secret_regenerate', { id: 1050008, text: 'Generate new backup recovery codes' });
const REVEAL = flagNodeShape('lookup_secret_reveal', { id: 1050007, text: 'Reveal backup recovery codes' });
const DISABLE = flagNodeShape('lookup_secret_disable', { id: 1050016, text: 'Disable this method' });
const CONFIRM = flagNodeShape('lookup_secret_confirm', { id: 1050011, text: 'Confirm backup recovery codes' });

describe('lookup_secret method: identity', () => {
  it('is Kratos\'s lookup_secret strategy: group lookup_secret, an aal2 login and settings', () => {
    expect(method.id).toBe('lookup_secret');
    expect(method.group).toBe('lookup_secret');
    expect(method.login?.aal).toBe('aal2');
    expect(method.settings).toBeDefined();
    expect(method.registration).toBeUndefined();
    expect(login().payloadSchema).toBe('methods/lookup-secret/login.json');
    expect(settings().payloadSchema).toBe('methods/lookup-secret/settings.json');
  });

  it('payload schemas carry their $id; a form\'s "true" decodes to a boolean', () => {
    const schema = payloadSchemaJson('methods/lookup-secret/settings.json') as Json;
    expect(schema.$id).toBe('https://idflow.dev/schemas/methods/lookup-secret/settings.json');
    expect((payloadSchemaJson('methods/lookup-secret/login.json') as Json).$id).toBe('https://idflow.dev/schemas/methods/lookup-secret/login.json');
    const decoded = decodeBody({ lookup_secret_reveal: 'true', lookup_secret_disable: 'false', lookup_secret_confirm: '', csrf_token: 't', other: 'x' }, { source: 'form', schema });
    expect(decoded).toEqual({ lookup_secret_reveal: true, lookup_secret_disable: false, csrf_token: 't', transient_payload: {} });
  });
});

describe('lookup_secret method: settings nodes', () => {
  it('no codes: only "Generate new backup recovery codes"', async () => {
    const { nodes } = await settings().nodes(settingsCtx({ identity: owner() }));
    expect(nodes).toEqual([REGENERATE]);
  });

  it('a credential without codes counts as none', async () => {
    const identity = owner();
    identity.credentials.push({ id: crypto.randomUUID(), type: 'lookup_secret', identifiers: [identity.id], config: { recovery_codes: [] }, version: 0, createdAt: NOW, updatedAt: NOW });
    expect((await settings().nodes(settingsCtx({ identity }))).nodes).toEqual([REGENERATE]);
  });

  it('has codes: reveal, then disable; used codes still count', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code, used_at: '2029-12-31T10:00:00Z' })));
    const { nodes } = await settings().nodes(settingsCtx({ identity }));
    expect(nodes).toEqual([REVEAL, DISABLE]);
  });

  it('after regenerate: the pending codes (1050015 of 1050009 each, labelled 1050010), then confirm', async () => {
    const identity = await withCodes(owner(), [{ code: 'oldcode1' }]);
    const { nodes } = await settings().nodes(settingsCtx({ identity, internal: { regenerated: CODES } }));
    expect(keys(nodes)).toEqual(['lookup_secret_codes', 'lookup_secret_confirm']);
    expect(nodes[0]).toEqual({
      type: 'text', group: 'lookup_secret', messages: [],
      attributes: {
        id: 'lookup_secret_codes', node_type: 'text',
        text: { id: 1050015, text: CODES.join(', '), type: 'info', context: { secrets: CODES.map((c) => ({ id: 1050009, text: c, type: 'info', context: { secret: c } })) } },
      },
      meta: { label: { id: 1050010, text: 'These are your back up recovery codes. Please keep them in a safe place!', type: 'info' } },
    });
    expect(nodes[1]).toEqual(CONFIRM);
    expect(JSON.stringify(nodes)).not.toContain('oldcode1');
  });

  it('after reveal: the stored codes (used ones as 1050014 and "used"), then disable, then regenerate', async () => {
    const identity = await withCodes(owner(), CODES.map((code, i) => ({ code, used_at: i === 1 ? '2021-08-17T11:32:39Z' : null })));
    const { nodes } = await settings().nodes(settingsCtx({ identity, internal: { revealed: true } }));
    expect(keys(nodes)).toEqual(['lookup_secret_codes', 'lookup_secret_disable', 'lookup_secret_regenerate']);
    expect(nodes.slice(1)).toEqual([DISABLE, REGENERATE]);
    const text = attrs(nodes[0]).text;
    expect(text.id).toBe(1050015);
    expect(text.text).toBe([CODES[0], 'used', ...CODES.slice(2)].join(', '));
    expect(text.text.split(', ')).toHaveLength(12);
    expect(text.context.secrets[0]).toEqual({ id: 1050009, text: CODES[0], type: 'info', context: { secret: CODES[0] } });
    expect(text.context.secrets[1]).toEqual({
      id: 1050014, text: 'Secret was used at 2021-08-17 11:32:39 +0000 UTC', type: 'info',
      context: { used_at: '2021-08-17T11:32:39Z', used_at_unix: 1629199959 },
    });
    expect(nodes[0].meta.label?.id).toBe(1050010);
  });

  it('revealed but the codes are gone: the no-codes screen', async () => {
    const { nodes } = await settings().nodes(settingsCtx({ identity: owner(), internal: { revealed: true } }));
    expect(nodes).toEqual([REGENERATE]);
  });

  it('revealed but the sealed list no longer opens (retired secret): reveal and disable', async () => {
    const identity = await withCodes(owner(), [{ code: 'abcdefgh' }], new CredentialCipher([OLD_SECRET]));
    const { nodes } = await settings().nodes(settingsCtx({ identity, internal: { revealed: true } }));
    expect(nodes).toEqual([REVEAL, DISABLE]);
  });

  it('is deterministic given the internal state: nodes never generate codes', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    for (const internal of [undefined, { revealed: true }, { regenerated: CODES }] as MethodJson[]) {
      const a = await settings().nodes(settingsCtx({ identity, internal }));
      const b = await settings().nodes(settingsCtx({ identity, internal }));
      expect(a).toEqual(b);
      expect(a.internal).toBeUndefined();
    }
    const fresh = await settings().nodes(settingsCtx({ identity: owner() }));
    expect(fresh.internal).toBeUndefined();
  });
});

describe('lookup_secret method: settings submit', () => {
  const submit = (ctx: ReturnType<typeof settingsCtx>, payload: Record<string, unknown>) => settings().submit(ctx, payload);

  it('a stale session must re-authenticate before any button does anything', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    for (const flag of ['lookup_secret_reveal', 'lookup_secret_regenerate', 'lookup_secret_confirm', 'lookup_secret_disable']) {
      const outcome = await submit(settingsCtx({ identity, privileged: false, internal: { regenerated: CODES } }), { [flag]: true });
      expect(outcome).toEqual({ kind: 'needs_refresh' });
    }
  });

  it('no flag set: not this method\'s submit (4010004)', async () => {
    for (const payload of [{}, { method: 'lookup_secret' }, { method: 'lookup_secret', lookup_secret_reveal: false }]) {
      const outcome = await submit(settingsCtx({ identity: owner() }), payload);
      expect(outcome.kind).toBe('rejected');
      expect(ids((outcome as Json).messages)).toEqual([4010004]);
    }
  });

  it('a flag that is not a boolean is a type error on its node', async () => {
    const outcome = await submit(settingsCtx({ identity: owner() }), { lookup_secret_reveal: 'yes' }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.fieldMessages.lookup_secret_reveal)).toEqual([4000026]);
  });

  it('regenerate: 12 fresh distinct codes of 8 [a-z0-9], kept in the flow; nothing saved', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    const seen = new Set<string>();
    for (const payload of [{ lookup_secret_regenerate: true }, { method: 'lookup_secret', lookup_secret_regenerate: true }]) {
      const outcome = await submit(settingsCtx({ identity }), payload) as Json;
      expect(Object.keys(outcome).sort()).toEqual(['internal', 'kind']);
      expect(outcome.kind).toBe('next_screen');
      const codes: string[] = outcome.internal.regenerated;
      expect(Object.keys(outcome.internal)).toEqual(['regenerated']);
      expect(codes).toHaveLength(12);
      expect(new Set(codes).size).toBe(12);
      for (const code of codes) {
        expect(code).toMatch(/^[a-z0-9]{8}$/);
        expect([...code].every((ch) => LOOKUP_CODE_ALPHABET.includes(ch))).toBe(true);
        seen.add(code);
      }
    }
    expect(seen.size).toBe(24);
  });

  it('reveal without codes: 4000001 "Can not reveal lookup codes because you have none."', async () => {
    const outcome = await submit(settingsCtx({ identity: owner() }), { lookup_secret_reveal: true }) as Json;
    expect(outcome).toEqual({
      kind: 'rejected',
      messages: [{ id: 4000001, text: 'Can not reveal lookup codes because you have none.', type: 'error', context: { reason: 'Can not reveal lookup codes because you have none.' } }],
    });
  });

  it('reveal: the next screen shows the stored codes; nothing saved', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    const outcome = await submit(settingsCtx({ identity, internal: { regenerated: CODES } }), { lookup_secret_reveal: true });
    expect(outcome).toEqual({ kind: 'next_screen', internal: { revealed: true } });
  });

  it('reveal of codes sealed under a retired secret: 4000001', async () => {
    const identity = await withCodes(owner(), [{ code: 'abcdefgh' }], new CredentialCipher([OLD_SECRET]));
    const outcome = await submit(settingsCtx({ identity }), { lookup_secret_reveal: true }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.messages)).toEqual([4000001]);
  });

  it('confirm without (exactly 12) pending codes: 4000001 "You must (re-)generate ..."', async () => {
    const reason = 'You must (re-)generate recovery backup codes before you can save them.';
    for (const internal of [undefined, {}, { revealed: true }, { regenerated: CODES.slice(0, 11) }] as MethodJson[]) {
      const outcome = await submit(settingsCtx({ identity: owner(), internal }), { lookup_secret_confirm: true });
      expect(outcome).toEqual({ kind: 'rejected', messages: [{ id: 4000001, text: reason, type: 'error', context: { reason } }] });
    }
  });

  it('confirm: replaces the credential with MACs and the sealed list, proves aal2, clears the flow state', async () => {
    const before = await withCodes(owner(), [{ code: 'oldcode1' }]);
    const oldId = before.credentials.find((c) => c.type === 'lookup_secret')!.id;
    const later = new Date(NOW.getTime() + 5000);
    const outcome = await submit(settingsCtx({ identity: before, internal: { regenerated: CODES }, now: later }), { lookup_secret_confirm: true }) as Json;
    expect(outcome.kind).toBe('updated');
    expect(outcome.method).toBe('lookup_secret');
    expect(outcome.internal).toBeNull();
    expect(outcome.changes.sessionMethod).toEqual({ method: 'lookup_secret', aal: 'aal2' });
    expect(outcome.changes.identity.isNew).toBe(false);
    const record: IdentityRecord = outcome.changes.identity.record;
    expect(record.updatedAt).toEqual(later);
    expect(record.credentials.map((c) => c.type)).toEqual(['password', 'lookup_secret']);
    const credential = record.credentials.find((c) => c.type === 'lookup_secret')!;
    expect(credential.id).not.toBe(oldId);
    expect(credential).toMatchObject({ identifiers: [record.id], version: 0, createdAt: later, updatedAt: later });
    const config = credential.config as LookupSecretConfig;
    expect(Object.keys(config).sort()).toEqual(['codes_sealed', 'recovery_codes']);
    expect(config.recovery_codes).toHaveLength(12);
    for (const [i, entry] of config.recovery_codes.entries()) {
      expect(entry).toEqual({ mac: await cipher.mac(record.id, 'lookup_secret', CODES[i]), used_at: null });
    }
    const text = JSON.stringify(config);
    for (const code of [...CODES, 'oldcode1']) expect(text).not.toContain(code);
    expect(JSON.parse((await cipher.open(record.id, 'lookup_secret_codes', config.codes_sealed))!)).toEqual(CODES);

    // The rebuilt screen: reveal + disable; revealing shows the new codes.
    expect((await settings().nodes(settingsCtx({ identity: record }))).nodes).toEqual([REVEAL, DISABLE]);
    const revealed = await settings().nodes(settingsCtx({ identity: record, internal: { revealed: true } }));
    expect(attrs(revealed.nodes[0]).text.text).toBe(CODES.join(', '));
    // The old code no longer logs in; a new one does.
    expect(ids((await login().submit(loginCtx({ identity: record }), { method: 'lookup_secret', lookup_secret: 'oldcode1' }) as Json).messages)).toEqual([4000016]);
    expect((await login().submit(loginCtx({ identity: record }), { method: 'lookup_secret', lookup_secret: CODES[3] })).kind).toBe('authenticated');
  });

  it('disable: deletes the credential, no session change, clears the flow state', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    for (const payload of [{ lookup_secret_disable: true }, { method: 'lookup_secret', lookup_secret_disable: true }]) {
      const outcome = await submit(settingsCtx({ identity, internal: { revealed: true } }), payload) as Json;
      expect(outcome.kind).toBe('updated');
      expect(outcome.method).toBe('lookup_secret');
      expect(outcome.internal).toBeNull();
      expect(outcome.changes.sessionMethod).toBeUndefined();
      const record: IdentityRecord = outcome.changes.identity.record;
      expect(record.credentials.map((c) => c.type)).toEqual(['password']);
      expect((await settings().nodes(settingsCtx({ identity: record }))).nodes).toEqual([REGENERATE]);
    }
  });

  it('precedence: confirm > reveal > disable > regenerate', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    const all = { lookup_secret_confirm: true, lookup_secret_reveal: true, lookup_secret_disable: true, lookup_secret_regenerate: true };
    const ctx = () => settingsCtx({ identity, internal: { regenerated: [...CODES].reverse() } });
    const confirm = await submit(ctx(), all) as Json;
    expect(confirm.kind).toBe('updated');
    expect(confirm.changes.sessionMethod).toBeDefined();
    const reveal = await submit(ctx(), { ...all, lookup_secret_confirm: false });
    expect(reveal).toEqual({ kind: 'next_screen', internal: { revealed: true } });
    const disable = await submit(ctx(), { lookup_secret_disable: true, lookup_secret_regenerate: true }) as Json;
    expect(disable.kind).toBe('updated');
    expect(disable.changes.sessionMethod).toBeUndefined();
    expect(disable.changes.identity.record.credentials.some((c: Json) => c.type === 'lookup_secret')).toBe(false);
    const regenerate = await submit(ctx(), { lookup_secret_regenerate: true }) as Json;
    expect(regenerate.kind).toBe('next_screen');
  });
});

describe('lookup_secret method: login nodes', () => {
  it('aal2 with codes: the code field and "Use backup recovery code"', async () => {
    const identity = await withCodes(owner(), [{ code: 'abcdefgh' }]);
    const { nodes } = await login().nodes(loginCtx({ identity }));
    expect(nodes).toEqual([
      {
        type: 'input', group: 'lookup_secret', messages: [],
        attributes: { name: 'lookup_secret', type: 'text', value: '', required: true, disabled: false, node_type: 'input' },
        meta: { label: { id: 1010007, text: 'Backup recovery code', type: 'info' } },
      },
      {
        type: 'input', group: 'lookup_secret', messages: [],
        attributes: { name: 'method', type: 'submit', value: 'lookup_secret', disabled: false, node_type: 'input' },
        meta: { label: { id: 1010010, text: 'Use backup recovery code', type: 'info' } },
      },
    ]);
  });

  it('also when every code is used (the credential is what counts)', async () => {
    const identity = await withCodes(owner(), [{ code: 'abcdefgh', used_at: '2029-01-01T00:00:00Z' }]);
    expect(await login().nodes(loginCtx({ identity }))).toMatchObject({ nodes: [{}, {}] });
  });

  it('nothing at aal1, nothing without codes, nothing without an identity', async () => {
    const identity = await withCodes(owner(), [{ code: 'abcdefgh' }]);
    expect((await login().nodes(loginCtx({ identity, requestedAal: 'aal1' }))).nodes).toEqual([]);
    expect((await login().nodes(loginCtx({ identity: owner() }))).nodes).toEqual([]);
    expect((await login().nodes(loginCtx())).nodes).toEqual([]);
    expect((await login().nodes(loginCtx({ identity, refresh: true }))).nodes).toHaveLength(2);
  });
});

describe('lookup_secret method: login submit', () => {
  const submit = (ctx: ReturnType<typeof loginCtx>, code?: string) =>
    login().submit(ctx, code === undefined ? { method: 'lookup_secret' } : { method: 'lookup_secret', lookup_secret: code }) as Promise<Json>;

  it('in an aal1 flow: 4010002 (no strategy)', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    const outcome = await submit(loginCtx({ identity, requestedAal: 'aal1' }), CODES[0]);
    expect(outcome).toEqual({ kind: 'rejected', values: {}, messages: [expect.objectContaining({ id: 4010002, type: 'error' })] });
  });

  it('a missing code: 4000002 "Property lookup_secret is missing." on the node', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    for (const code of [undefined, '']) {
      const outcome = await submit(loginCtx({ identity }), code);
      expect(outcome.kind).toBe('rejected');
      expect(outcome.fieldMessages.lookup_secret).toEqual([{ id: 4000002, text: 'Property lookup_secret is missing.', type: 'error', context: { property: 'lookup_secret' } }]);
      expect(outcome.messages).toEqual([]);
    }
  });

  it('no codes set up: 4000014', async () => {
    const outcome = await submit(loginCtx({ identity: owner() }), 'abcdefgh');
    expect(outcome).toEqual({ kind: 'rejected', values: {}, messages: [{ id: 4000014, text: 'You have no backup recovery codes set up.', type: 'error' }] });
  });

  it('a wrong code: 4000016, and the code is not echoed', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })));
    for (const code of ['zzzzzzzz', CODES[0].toUpperCase(), ` ${CODES[0]}`, CODES[0].slice(0, 7)]) {
      const outcome = await submit(loginCtx({ identity }), code);
      expect(outcome).toEqual({ kind: 'rejected', values: {}, messages: [{ id: 4000016, text: 'The backup recovery code is not valid.', type: 'error' }] });
      expect(JSON.stringify(outcome)).not.toContain(code.trim());
    }
  });

  it('a code of another identity does not match (MACs are bound to the identity)', async () => {
    const other = await withCodes(owner(), [{ code: 'sharedcd' }]);
    const identity = await withCodes(owner(), [{ code: 'mine0001' }]);
    const config = lookupConfig(other);
    const stolen: IdentityRecord = { ...identity, credentials: identity.credentials.map((c) => (c.type === 'lookup_secret' ? { ...c, config } : c)) };
    expect(ids((await submit(loginCtx({ identity: stolen }), 'sharedcd')).messages)).toEqual([4000016]);
  });

  it('a valid code: aal2 for the identity; that code marked used (rounded to the second); the config read is consumed', async () => {
    const identity = await withCodes(owner(), CODES.map((code, i) => ({ code, used_at: i === 0 ? '2029-06-01T00:00:00Z' : null })));
    const read = identity.credentials.find((c) => c.type === 'lookup_secret')!.config;
    const readCopy = structuredClone(read);
    const now = new Date('2030-01-01T12:00:00.600Z');
    const outcome = await submit(loginCtx({ identity, now }), CODES[5]);
    expect(outcome.kind).toBe('authenticated');
    expect(outcome).toMatchObject({ identityId: identity.id, method: 'lookup_secret', aal: 'aal2' });
    expect(outcome.values).toBeUndefined();
    expect(outcome.changes.consumes).toEqual({ identityId: identity.id, type: 'lookup_secret', config: readCopy });
    expect(read).toEqual(readCopy); // the identity given is not mutated
    expect(outcome.changes.identity.isNew).toBe(false);
    const record: IdentityRecord = outcome.changes.identity.record;
    expect(record.updatedAt).toEqual(now);
    const credential = record.credentials.find((c) => c.type === 'lookup_secret')!;
    expect(credential.updatedAt).toEqual(now);
    const config = credential.config as LookupSecretConfig;
    expect(config.codes_sealed).toBe((readCopy as LookupSecretConfig).codes_sealed);
    expect(config.recovery_codes.map((e) => e.used_at)).toEqual(CODES.map((_, i) => (i === 0 ? '2029-06-01T00:00:00Z' : i === 5 ? '2030-01-01T12:00:01Z' : null)));
    expect(config.recovery_codes.map((e) => e.mac)).toEqual((readCopy as LookupSecretConfig).recovery_codes.map((e) => e.mac));
    expect(JSON.stringify(outcome)).not.toContain(CODES[5]);

    // The same code again: used. Revealed: "used" in its place.
    expect(await submit(loginCtx({ identity: record }), CODES[5])).toEqual({
      kind: 'rejected', values: {}, messages: [{ id: 4000012, text: 'This backup recovery code has already been used.', type: 'error' }],
    });
    const revealed = await settings().nodes(settingsCtx({ identity: record, internal: { revealed: true } }));
    const text = attrs(revealed.nodes[0]).text;
    expect(text.text.split(', ')[5]).toBe('used');
    expect(text.context.secrets[5]).toEqual({
      id: 1050014, text: 'Secret was used at 2030-01-01 12:00:01 +0000 UTC', type: 'info',
      context: { used_at: '2030-01-01T12:00:01Z', used_at_unix: 1893499201 },
    });
  });

  it('an already used code: 4000012', async () => {
    const identity = await withCodes(owner(), [{ code: 'usedcode', used_at: '2029-06-01T00:00:00Z' }, { code: 'freecode' }]);
    expect(ids((await submit(loginCtx({ identity }), 'usedcode')).messages)).toEqual([4000012]);
    expect((await submit(loginCtx({ identity }), 'freecode')).kind).toBe('authenticated');
  });

  it('codes stored under a rotated-out (second) secret still match and still reveal', async () => {
    const identity = await withCodes(owner(), CODES.map((code) => ({ code })), new CredentialCipher([OLD_SECRET]));
    const rotated = createLookupSecretMethod({ cipher: new CredentialCipher([SECRET, OLD_SECRET]) });
    expect((await login(rotated).submit(loginCtx({ identity }), { method: 'lookup_secret', lookup_secret: CODES[2] })).kind).toBe('authenticated');
    const revealed = await settings(rotated).nodes(settingsCtx({ identity, internal: { revealed: true } }));
    expect(attrs(revealed.nodes[0]).text.text).toBe(CODES.join(', '));
    // Without the old secret nothing matches.
    expect(ids((await login().submit(loginCtx({ identity }), { method: 'lookup_secret', lookup_secret: CODES[2] }) as Json).messages)).toEqual([4000016]);
  });
});

describe('lookupSecretConfig (admin import)', () => {
  it('builds MACs and a sealed list; never the plaintext codes', async () => {
    const id = crypto.randomUUID();
    const config = await lookupSecretConfig(cipher, id, [{ code: 'import01' }, { code: 'import02', used_at: '2021-08-17T11:32:39.000Z' }]);
    expect(config.recovery_codes).toEqual([
      { mac: await cipher.mac(id, 'lookup_secret', 'import01'), used_at: null },
      { mac: await cipher.mac(id, 'lookup_secret', 'import02'), used_at: '2021-08-17T11:32:39Z' },
    ]);
    expect(JSON.stringify(config)).not.toContain('import0');
    expect(JSON.parse((await cipher.open(id, 'lookup_secret_codes', config.codes_sealed))!)).toEqual(['import01', 'import02']);
  });

  it('appends to the existing codes, keeping their use', async () => {
    const identity = await withCodes(owner(), [{ code: 'existing', used_at: '2029-01-01T00:00:00Z' }, { code: 'exists02' }]);
    const existing = lookupConfig(identity);
    const merged = await lookupSecretConfig(cipher, identity.id, [{ code: 'imported' }], existing);
    expect(merged.recovery_codes).toEqual([...existing.recovery_codes, { mac: await cipher.mac(identity.id, 'lookup_secret', 'imported'), used_at: null }]);
    expect(JSON.parse((await cipher.open(identity.id, 'lookup_secret_codes', merged.codes_sealed))!)).toEqual(['existing', 'exists02', 'imported']);
    const record: IdentityRecord = { ...identity, credentials: identity.credentials.map((c) => (c.type === 'lookup_secret' ? { ...c, config: merged } : c)) };
    const ctx = loginCtx({ identity: record });
    expect((await login().submit(ctx, { method: 'lookup_secret', lookup_secret: 'imported' })).kind).toBe('authenticated');
    expect((await login().submit(ctx, { method: 'lookup_secret', lookup_secret: 'exists02' })).kind).toBe('authenticated');
    expect(ids(((await login().submit(ctx, { method: 'lookup_secret', lookup_secret: 'existing' })) as Json).messages)).toEqual([4000012]);
  });

  it('leaves out existing codes that no longer open (they could not match either)', async () => {
    const identity = await withCodes(owner(), [{ code: 'deadcode' }], new CredentialCipher([OLD_SECRET]));
    const merged = await lookupSecretConfig(cipher, identity.id, [{ code: 'imported' }], lookupConfig(identity));
    expect(merged.recovery_codes).toHaveLength(1);
    expect(JSON.parse((await cipher.open(identity.id, 'lookup_secret_codes', merged.codes_sealed))!)).toEqual(['imported']);
  });

  it('refuses a used_at that is not a time', async () => {
    await expect(lookupSecretConfig(cipher, 'id', [{ code: 'x', used_at: 'yesterday' }])).rejects.toThrow(RangeError);
  });
});
