/**
 * The TOTP method alone (Kratos `strategy/totp`): the settings screens (new key with QR code and secret, or only
 * "unlink"), enrolment and unlinking, and the aal2 login with a code, including idflow's replay blocking. A real
 * credential cipher with a test secret; codes are computed with otplib at the fixed clock.
 */
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { Method, MethodContext, Outcome } from '../../../src/methods/method.ts';
import {
  createTotpMethod, parseTotpUrl, sealTotpUrl, totpAccountName, TOTP_URL_PURPOSE,
} from '../../../src/methods/totp/totp.method.ts';
import { totpUrl, verifyTotp } from '../../../src/methods/totp/otp.ts';
import { qrDataUrl } from '../../../src/methods/totp/qr.ts';
import { payloadSchemaJson } from '../../../src/x/body-validator.ts';
import { CredentialCipher } from '../../../src/x/credential-cipher.ts';
import { decodeBody } from '../../../src/x/decode-body.ts';
import { context, DEFAULT_SCHEMA, identityRecord, ids, NOW, schemaDoc } from './helpers.ts';

// Nodes and outcomes are compared field by field.
type Json = any;

const SECRET = 'totp-method-test-secret-01234567';
const cipher = new CredentialCipher([SECRET]);
const ISSUER = 'idflow.example.com';
const method = createTotpMethod({ cipher, issuer: ISSUER, accountName: (i) => totpAccountName(DEFAULT_SCHEMA, i.traits, i.id) });
const settings = (m: Method = method) => m.settings!;
const login = (m: Method = method) => m.login!;
const attrs = (node: unknown): Json => (node as Json)?.attributes;
const keys = (nodes: Json[]) => nodes.map((n) => attrs(n).name ?? attrs(n).id);

/** A fixed key (20 bytes) for the tests that need to know the secret. */
const KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const URL_OF_KEY = totpUrl({ issuer: ISSUER, account: 'user@example.com', secret: KEY });
const EPOCH = Math.floor(NOW.getTime() / 1000);
const STEP = Math.floor(EPOCH / 30);
/** The key's code `offset` steps away from NOW. */
const codeAt = (offset: number, secret = KEY) => generate({ secret, epoch: EPOCH + offset * 30 });

const owner = () => identityRecord('user@example.com', { hash: 'fake$x' });
async function withTotp(identity: IdentityRecord, options: { url?: string; lastUsedStep?: number; sealFor?: string } = {}): Promise<IdentityRecord> {
  const config: Record<string, unknown> = { ...(await sealTotpUrl(cipher, options.sealFor ?? identity.id, options.url ?? URL_OF_KEY)) };
  if (options.lastUsedStep !== undefined) config.last_used_step = options.lastUsedStep;
  return {
    ...identity,
    credentials: [...identity.credentials, { id: crypto.randomUUID(), type: 'totp', identifiers: [identity.id], config, version: 0, createdAt: NOW, updatedAt: NOW }],
  };
}
const totpOf = (identity: IdentityRecord) => identity.credentials.find((c) => c.type === 'totp');
const settingsCtx = (o: Parameters<typeof context>[0] = {}): MethodContext => context({ kind: 'settings', state: 'show_form', privileged: true, ...o });
const aal2Ctx = (o: Parameters<typeof context>[0] = {}): MethodContext => context({ kind: 'login', requestedAal: 'aal2', ...o });
const recordOf = (o: Outcome): IdentityRecord => o.changes!.identity!.record;

function pngSize(dataUrl: string): { width: number; height: number } {
  const bytes = Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64');
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('totp method: settings nodes without TOTP', () => {
  it('QR code, secret, code input and Save, in that order, and the new key in internal state', async () => {
    const identity = owner();
    const { nodes, internal } = await settings().nodes(settingsCtx({ identity }));
    expect(nodes.map((n) => [n.type, n.group, attrs(n).name ?? attrs(n).id])).toEqual([
      ['img', 'totp', 'totp_qr'], ['text', 'totp', 'totp_secret_key'], ['input', 'totp', 'totp_code'], ['input', 'totp', 'method'],
    ]);
    const [qr, secret, code, submit] = nodes as Json[];

    expect(qr.attributes).toMatchObject({ node_type: 'img', width: 256, height: 256 });
    expect(qr.attributes.src).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    expect(pngSize(qr.attributes.src)).toEqual({ width: 256, height: 256 });
    expect(qr.meta.label).toEqual({ id: 1050005, text: 'Authenticator app QR code', type: 'info' });

    const text = secret.attributes.text;
    expect(text.id).toBe(1050006);
    expect(text.text).toMatch(/^[A-Z2-7]{32}$/);
    expect(text).toEqual({ id: 1050006, text: text.text, type: 'info', context: { secret: text.text } });
    expect(secret.meta.label).toEqual({ id: 1050017, text: 'This is your authenticator app secret. Use it if you can not scan the QR code.', type: 'info' });

    expect(code.attributes).toEqual({ name: 'totp_code', type: 'text', required: true, disabled: false, node_type: 'input' });
    expect(code.meta.label).toEqual({ id: 1070006, text: 'Verify code', type: 'info' });
    expect(submit.attributes).toEqual({ name: 'method', type: 'submit', value: 'totp', disabled: false, node_type: 'input' });
    expect(submit.meta.label).toEqual({ id: 1070003, text: 'Save', type: 'info' });

    const url = (internal as Json).totp_url as string;
    expect(Object.keys(internal as Json)).toEqual(['totp_url']);
    expect(url).toBe(`otpauth://totp/${ISSUER}:user%40example.com?secret=${text.text}&issuer=${ISSUER}&algorithm=SHA1&digits=6&period=30`);
    expect(parseTotpUrl(url)!.secret).toBe(text.text);
    // The URL (issuer, account and secret together) never reaches the flow JSON; the secret alone is shown.
    expect(JSON.stringify(nodes)).not.toContain('otpauth');
  });

  it('a new key each time there is none pending', async () => {
    const identity = owner();
    const a = await settings().nodes(settingsCtx({ identity }));
    const b = await settings().nodes(settingsCtx({ identity }));
    expect((a.internal as Json).totp_url).not.toBe((b.internal as Json).totp_url);
  });

  it('is deterministic given the pending key', async () => {
    const identity = owner();
    const first = await settings().nodes(settingsCtx({ identity }));
    const again = await settings().nodes(settingsCtx({ identity, internal: first.internal }));
    expect(again).toEqual(first);
    const fixed = await settings().nodes(settingsCtx({ identity, internal: { totp_url: URL_OF_KEY } }));
    expect(attrs(fixed.nodes[1]).text.text).toBe(KEY);
    expect(fixed.internal).toEqual({ totp_url: URL_OF_KEY });
  });

  it('a pending value that is not a TOTP URL is replaced', async () => {
    const { internal } = await settings().nodes(settingsCtx({ identity: owner(), internal: { totp_url: 'https://example.com' } }));
    expect(parseTotpUrl((internal as Json).totp_url)).toBeDefined();
  });

  it('the account name is the identity id without an account_name trait', async () => {
    const schema = schemaDoc({ email: { type: 'string', format: 'email' } });
    const m = createTotpMethod({ cipher, issuer: 'Example Co', accountName: (i) => totpAccountName(schema, i.traits, i.id) });
    const identity = owner();
    const { internal } = await settings(m).nodes(settingsCtx({ identity }));
    const key = parseTotpUrl((internal as Json).totp_url)!;
    expect((internal as Json).totp_url).toMatch(new RegExp(`^otpauth://totp/Example%20Co:${identity.id}\\?`));
    expect(key).toMatchObject({ issuer: 'Example Co', account: identity.id });
  });
});

describe('totp method: settings nodes with TOTP', () => {
  it('only the unlink button, and no key', async () => {
    const identity = await withTotp(owner());
    const { nodes, internal } = await settings().nodes(settingsCtx({ identity, internal: { totp_url: URL_OF_KEY } }));
    expect(internal).toBeUndefined();
    expect(nodes).toEqual([{
      type: 'input', group: 'totp',
      attributes: { name: 'totp_unlink', type: 'submit', value: 'true', required: true, disabled: false, node_type: 'input' },
      messages: [], meta: { label: { id: 1050004, text: 'Unlink TOTP Authenticator App', type: 'info' } },
    }]);
  });
});

describe('totp method: settings submit, enrolment', () => {
  const pending = { totp_url: URL_OF_KEY };

  it('a session that is not privileged needs a refresh first', async () => {
    const out = await settings().submit(settingsCtx({ identity: owner(), privileged: false, internal: pending }), { method: 'totp', totp_code: await codeAt(0) });
    expect(out).toEqual({ kind: 'needs_refresh' });
  });

  it('an empty or missing code: 4000002 on totp_code', async () => {
    for (const payload of [{ method: 'totp' }, { method: 'totp', totp_code: '' }, { method: 'totp', totp_unlink: true }]) {
      const out = await settings().submit(settingsCtx({ identity: owner(), internal: pending }), payload) as Json;
      expect(out.kind).toBe('rejected');
      expect(out.fieldMessages).toEqual({ totp_code: [{ id: 4000002, text: 'Property totp_code is missing.', type: 'error', context: { property: 'totp_code' } }] });
      expect(out.internal).toBeUndefined();
      expect(out.changes).toBeUndefined();
    }
  });

  it('a wrong code: 4000008 on totp_code, the key stays pending, nothing echoed', async () => {
    const wrong = (await codeAt(0)) === '000000' ? '111111' : '000000';
    for (const code of [wrong, '12345', '1234567', 'abcdef']) {
      const out = await settings().submit(settingsCtx({ identity: owner(), internal: pending }), { method: 'totp', totp_code: code }) as Json;
      expect(out).toEqual({
        kind: 'rejected',
        fieldMessages: { totp_code: [{ id: 4000008, text: 'The provided authentication code is invalid, please try again.', type: 'error' }] },
      });
    }
  });

  it('no pending key: a flow message to reload', async () => {
    const out = await settings().submit(settingsCtx({ identity: owner() }), { method: 'totp', totp_code: await codeAt(0) }) as Json;
    expect(out.kind).toBe('rejected');
    expect(out.messages).toEqual([{ id: 4000001, text: 'The TOTP setup expired; reload the settings page.', type: 'error', context: { reason: 'The TOTP setup expired; reload the settings page.' } }]);
  });

  it('the right code stores the sealed key, proves the factor to the session and clears the pending key', async () => {
    const identity = owner();
    const out = await settings().submit(settingsCtx({ identity, internal: pending }), { method: 'totp', totp_code: ` ${await codeAt(0)} ` }) as Json;
    expect(out.kind).toBe('updated');
    expect(out.method).toBe('totp');
    expect(out.values).toBeUndefined();
    expect(out.internal).toBeNull();
    expect(out.changes.sessionMethod).toEqual({ method: 'totp', aal: 'aal2' });
    expect(out.changes.identity.isNew).toBe(false);
    const record = recordOf(out);
    expect(record.updatedAt).toEqual(NOW);
    expect(record.credentials.find((c) => c.type === 'password')).toEqual(identity.credentials[0]);
    const credential = totpOf(record)!;
    expect(credential).toMatchObject({ type: 'totp', identifiers: [identity.id], version: 0, createdAt: NOW, updatedAt: NOW });
    expect(credential.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(credential.config).sort()).toEqual(['last_used_step', 'totp_url_sealed']);
    expect(credential.config.last_used_step).toBe(STEP);
    const stored = JSON.stringify(credential.config);
    expect(stored).not.toContain(KEY);
    expect(stored).not.toContain('otpauth');
    expect(await cipher.open(identity.id, TOTP_URL_PURPOSE, credential.config.totp_url_sealed as string)).toBe(URL_OF_KEY);
    expect(JSON.stringify(out)).not.toContain(await codeAt(0));
  });

  it('codes of the step before and after are accepted (skew 1), two steps away are not', async () => {
    for (const offset of [-1, 1]) {
      const out = await settings().submit(settingsCtx({ identity: owner(), internal: pending }), { method: 'totp', totp_code: await codeAt(offset) }) as Json;
      expect(out.kind).toBe('updated');
      expect(totpOf(recordOf(out))!.config.last_used_step).toBe(STEP + offset);
    }
    for (const offset of [-2, 2]) {
      const code = await codeAt(offset);
      if ([await codeAt(-1), await codeAt(0), await codeAt(1)].includes(code)) continue; // a collision, not a skew
      const out = await settings().submit(settingsCtx({ identity: owner(), internal: pending }), { method: 'totp', totp_code: code }) as Json;
      expect(ids(out.fieldMessages.totp_code)).toEqual([4000008]);
    }
  });

  it('a form-encoded submission decodes to what the method expects', async () => {
    const schema = payloadSchemaJson('methods/totp/settings.json');
    const decoded = decodeBody({ method: 'totp', totp_code: await codeAt(0), csrf_token: 'x' }, { source: 'form', schema });
    const out = await settings().submit(settingsCtx({ identity: owner(), internal: pending }), decoded);
    expect(out.kind).toBe('updated');
  });
});

describe('totp method: settings submit, unlink', () => {
  it('totp_unlink removes the credential', async () => {
    const identity = await withTotp(owner());
    const out = await settings().submit(settingsCtx({ identity }), { totp_unlink: true }) as Json;
    expect(out.kind).toBe('updated');
    expect(out.method).toBe('totp');
    expect(out.changes.sessionMethod).toBeUndefined();
    const record = recordOf(out);
    expect(totpOf(record)).toBeUndefined();
    expect(record.credentials.map((c) => c.type)).toEqual(['password']);
    expect(record.updatedAt).toEqual(NOW);
    // A fresh key is generated when the form is built again.
    const again = await settings().nodes(settingsCtx({ identity: record, internal: out.internal }));
    expect(keys(again.nodes)).toEqual(['totp_qr', 'totp_secret_key', 'totp_code', 'method']);
  });

  it('form-encoded "true" decodes to a boolean and unlinks', async () => {
    const identity = await withTotp(owner());
    const decoded = decodeBody({ totp_unlink: 'true', method: 'totp' }, { source: 'form', schema: payloadSchemaJson('methods/totp/settings.json') });
    expect(decoded.totp_unlink).toBe(true);
    const out = await settings().submit(settingsCtx({ identity }), decoded);
    expect(totpOf(recordOf(out))).toBeUndefined();
  });

  it('without totp_unlink it is a success that changes nothing', async () => {
    const identity = await withTotp(owner());
    for (const payload of [{ method: 'totp' }, { method: 'totp', totp_unlink: false }, { method: 'totp', totp_code: '123456' }]) {
      expect(await settings().submit(settingsCtx({ identity }), payload)).toEqual({ kind: 'updated', method: 'totp' });
    }
  });

  it('not privileged: needs a refresh before unlinking', async () => {
    const identity = await withTotp(owner());
    expect(await settings().submit(settingsCtx({ identity, privileged: false }), { totp_unlink: true })).toEqual({ kind: 'needs_refresh' });
  });
});

describe('totp method: login nodes', () => {
  it('code input and "Use Authenticator" in an aal2 flow of an identity with TOTP', async () => {
    const identity = await withTotp(owner());
    for (const refresh of [false, true]) {
      const { nodes } = await login().nodes(aal2Ctx({ identity, refresh }));
      expect(nodes).toEqual([
        {
          type: 'input', group: 'totp',
          attributes: { name: 'totp_code', type: 'text', value: '', required: true, autocomplete: 'one-time-code', disabled: false, node_type: 'input' },
          messages: [], meta: { label: { id: 1010006, text: 'Authentication code', type: 'info' } },
        },
        {
          type: 'input', group: 'totp',
          attributes: { name: 'method', type: 'submit', value: 'totp', disabled: false, node_type: 'input' },
          messages: [], meta: { label: { id: 1010009, text: 'Use Authenticator', type: 'info' } },
        },
      ]);
    }
  });

  it('nothing at aal1, without an identity, or for an identity without TOTP', async () => {
    const identity = await withTotp(owner());
    expect((await login().nodes(context({ identity }))).nodes).toEqual([]);
    expect((await login().nodes(aal2Ctx())).nodes).toEqual([]);
    expect((await login().nodes(aal2Ctx({ identity: owner() }))).nodes).toEqual([]);
  });

  it('is an aal2 method with a payload schema', () => {
    expect(method.id).toBe('totp');
    expect(method.group).toBe('totp');
    expect(login().aal).toBe('aal2');
    expect(login().payloadSchema).toBe('methods/totp/login.json');
    expect(settings().payloadSchema).toBe('methods/totp/settings.json');
  });
});

describe('totp method: login submit', () => {
  it('an aal1 flow: 4010002', async () => {
    const identity = await withTotp(owner());
    const out = await login().submit(context({ identity }), { method: 'totp', totp_code: await codeAt(0) });
    expect(out).toEqual({ kind: 'rejected', messages: [{ id: 4010002, text: 'Could not find a strategy to log you in with. Did you fill out the form correctly?', type: 'error' }] });
  });

  it('payload problems on the node: missing → 4000002, too short → 4000003', async () => {
    const identity = await withTotp(owner());
    const missing = await login().submit(aal2Ctx({ identity }), { method: 'totp' }) as Json;
    expect(missing.fieldMessages.totp_code).toEqual([{ id: 4000002, text: 'Property totp_code is missing.', type: 'error', context: { property: 'totp_code' } }]);
    const empty = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: '' }) as Json;
    expect(ids(empty.fieldMessages.totp_code)).toEqual([4000002]);
    const short = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: '12345' }) as Json;
    expect(short.fieldMessages.totp_code).toEqual([{ id: 4000003, text: 'length must be >= 6, but got 5', type: 'error', context: { min_length: 6, actual_length: 5 } }]);
  });

  it('no TOTP credential (or no identity): 4000011', async () => {
    for (const identity of [owner(), undefined]) {
      const out = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(0) });
      expect(out).toEqual({ kind: 'rejected', messages: [{ id: 4000011, text: 'You have no TOTP device set up.', type: 'error' }] });
    }
  });

  it('a wrong code, or one of the wrong length: 4000008 on the flow', async () => {
    const identity = await withTotp(owner());
    const wrong = (await codeAt(0)) === '000000' ? '111111' : '000000';
    for (const code of [wrong, '1234567', '12345678', 'abcdef']) {
      const out = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: code });
      expect(out).toEqual({ kind: 'rejected', messages: [{ id: 4000008, text: 'The provided authentication code is invalid, please try again.', type: 'error' }] });
    }
  });

  it('the right code: aal2 with totp, the step recorded and the read config consumed', async () => {
    const identity = await withTotp(owner());
    const credential = totpOf(identity)!;
    const out = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: `${await codeAt(0)}\n` }) as Json;
    expect(out).toMatchObject({ kind: 'authenticated', identityId: identity.id, method: 'totp', aal: 'aal2' });
    expect(out.values).toBeUndefined();
    expect(out.changes.consumes).toEqual({ identityId: identity.id, type: 'totp', config: credential.config });
    expect(out.changes.consumes.config.last_used_step).toBeUndefined();
    expect(out.changes.identity.isNew).toBe(false);
    const record = recordOf(out);
    expect(totpOf(record)).toEqual({ ...credential, config: { ...credential.config, last_used_step: STEP }, updatedAt: NOW });
    expect(record.credentials.map((c) => c.type)).toEqual(['password', 'totp']);
    expect(JSON.stringify(out)).not.toContain(KEY);
  });

  it('codes of the neighbouring steps are accepted, two steps away refused', async () => {
    const identity = await withTotp(owner());
    for (const offset of [-1, 1]) {
      const out = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(offset) }) as Json;
      expect(out.kind).toBe('authenticated');
      expect(totpOf(recordOf(out))!.config.last_used_step).toBe(STEP + offset);
    }
    for (const offset of [-2, 2]) {
      const code = await codeAt(offset);
      if ([await codeAt(-1), await codeAt(0), await codeAt(1)].includes(code)) continue;
      expect(ids(((await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: code })) as Json).messages)).toEqual([4000008]);
    }
  });

  it('replay: the step that logged in is refused, and so is an earlier one', async () => {
    const identity = await withTotp(owner());
    const first = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(0) });
    const after = recordOf(first);
    const replay = await login().submit(aal2Ctx({ identity: after }), { method: 'totp', totp_code: await codeAt(0) }) as Json;
    expect(replay).toEqual({ kind: 'rejected', messages: [expect.objectContaining({ id: 4000008 })] });

    const later = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(1) });
    const afterLater = recordOf(later);
    for (const offset of [-1, 0, 1]) {
      const out = await login().submit(aal2Ctx({ identity: afterLater }), { method: 'totp', totp_code: await codeAt(offset) }) as Json;
      expect(ids(out.messages)).toEqual([4000008]);
    }
  });

  it('the enrolment code can not log in afterwards', async () => {
    const identity = owner();
    const enrolled = recordOf(await settings().submit(settingsCtx({ identity, internal: { totp_url: URL_OF_KEY } }), { method: 'totp', totp_code: await codeAt(0) }));
    const replay = await login().submit(aal2Ctx({ identity: enrolled }), { method: 'totp', totp_code: await codeAt(0) }) as Json;
    expect(ids(replay.messages)).toEqual([4000008]);
    const next = await login().submit(aal2Ctx({ identity: enrolled }), { method: 'totp', totp_code: await codeAt(1) });
    expect(next.kind).toBe('authenticated');
  });

  it('a stored step beyond the window refuses every code of it', async () => {
    const identity = await withTotp(owner(), { lastUsedStep: STEP + 5 });
    const out = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(0) }) as Json;
    expect(ids(out.messages)).toEqual([4000008]);
  });

  it('a key sealed for another identity (or by another secret) does not open: 4000008', async () => {
    const identity = await withTotp(owner(), { sealFor: crypto.randomUUID() });
    const out = await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(0) }) as Json;
    expect(ids(out.messages)).toEqual([4000008]);

    const foreign = new CredentialCipher(['another-secret-for-totp-tests-xyz']);
    const other = owner();
    const sealedElsewhere: IdentityRecord = {
      ...other,
      credentials: [{ id: crypto.randomUUID(), type: 'totp', identifiers: [other.id], config: await sealTotpUrl(foreign, other.id, URL_OF_KEY), version: 0, createdAt: NOW, updatedAt: NOW }],
    };
    expect(ids(((await login().submit(aal2Ctx({ identity: sealedElsewhere }), { method: 'totp', totp_code: await codeAt(0) })) as Json).messages)).toEqual([4000008]);
  });

  it('a plaintext Kratos-style config is not read', async () => {
    const identity: IdentityRecord = {
      ...owner(),
      credentials: [{ id: crypto.randomUUID(), type: 'totp', identifiers: [], config: { totp_url: URL_OF_KEY }, version: 0, createdAt: NOW, updatedAt: NOW }],
    };
    expect(ids(((await login().submit(aal2Ctx({ identity }), { method: 'totp', totp_code: await codeAt(0) })) as Json).messages)).toEqual([4000008]);
  });
});

describe('totpAccountName', () => {
  it('the trait marked account_name, else the identity id', () => {
    expect(totpAccountName(DEFAULT_SCHEMA, { email: 'user@example.com' }, 'id-1')).toBe('user@example.com');
    expect(totpAccountName(DEFAULT_SCHEMA, {}, 'id-1')).toBe('id-1');
    expect(totpAccountName(DEFAULT_SCHEMA, { email: '' }, 'id-1')).toBe('id-1');
    expect(totpAccountName(schemaDoc({ email: { type: 'string' } }), { email: 'user@example.com' }, 'id-1')).toBe('id-1');
    expect(totpAccountName({}, { email: 'x' }, 'id-1')).toBe('id-1');
  });

  it('nested traits and local $refs', () => {
    const mark = { 'ory.sh/kratos': { credentials: { totp: { account_name: true } } } };
    const nested = schemaDoc({ name: { type: 'object', properties: { first: { type: 'string' }, login: { type: 'string', ...mark } } } });
    expect(totpAccountName(nested, { name: { first: 'Ada', login: 'ada' } }, 'id-1')).toBe('ada');
    const viaRef = {
      definitions: { subject: { type: 'string', ...mark } },
      properties: { traits: { type: 'object', properties: { subject: { $ref: '#/definitions/subject' } } } },
    };
    expect(totpAccountName(viaRef, { subject: 'sub-42' }, 'id-1')).toBe('sub-42');
  });
});

describe('parseTotpUrl', () => {
  it('reads the key of an otpauth totp URL', () => {
    expect(parseTotpUrl(URL_OF_KEY)).toEqual({ secret: KEY, issuer: ISSUER, account: 'user@example.com', algorithm: 'SHA1', digits: 6, period: 30 });
    expect(parseTotpUrl('otpauth://totp/Ory:foo%40bar.com?secret=jbswy3dpehpk3pxpjbswy3dpehpk3pxp')).toEqual({
      secret: KEY, issuer: 'Ory', account: 'foo@bar.com', algorithm: 'SHA1', digits: 6, period: 30,
    });
    expect(parseTotpUrl('otpauth://totp/foo?secret=JBSWY3DPEHPK3PXP&issuer=Acme&digits=8&period=60&algorithm=sha256')).toEqual({
      secret: 'JBSWY3DPEHPK3PXP', issuer: 'Acme', account: 'foo', algorithm: 'SHA256', digits: 8, period: 60,
    });
  });

  it('refuses anything else', () => {
    for (const url of [
      '', 'not a url', 'https://example.com/?secret=JBSWY3DPEHPK3PXP', 'otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1',
      'otpauth://totp/x', 'otpauth://totp/x?secret=', 'otpauth://totp/x?secret=JBSWY3DPEHPK3PX1', 'otpauth://totp/x?secret=JBSWY3DP',
    ]) expect(parseTotpUrl(url)).toBeUndefined();
  });

  it('the URL built for a new key round-trips, escaping a colon in the issuer', () => {
    const url = totpUrl({ issuer: 'Acme: Staging', account: 'a:b c', secret: KEY });
    expect(url).toBe(`otpauth://totp/Acme%3A%20Staging:a%3Ab%20c?secret=${KEY}&issuer=Acme%3A%20Staging&algorithm=SHA1&digits=6&period=30`);
    expect(parseTotpUrl(url)).toMatchObject({ secret: KEY, issuer: 'Acme: Staging', account: 'a:b c' });
  });
});

describe('verifyTotp', () => {
  it('returns the matched step within ±1 and honours the used step', async () => {
    expect(await verifyTotp(KEY, await codeAt(0), NOW)).toBe(STEP);
    expect(await verifyTotp(KEY, await codeAt(-1), NOW)).toBe(STEP - 1);
    expect(await verifyTotp(KEY, await codeAt(1), NOW)).toBe(STEP + 1);
    expect(await verifyTotp(KEY, await codeAt(0), NOW, STEP)).toBeUndefined();
    expect(await verifyTotp(KEY, await codeAt(1), NOW, STEP)).toBe(STEP + 1);
    expect(await verifyTotp(KEY, await codeAt(0), NOW, STEP + 1)).toBeUndefined();
    expect(await verifyTotp(KEY, await codeAt(0), NOW, STEP + 100)).toBeUndefined();
    // The clock is the caller's: a code for NOW is not valid an hour later.
    expect(await verifyTotp(KEY, await codeAt(0), new Date(NOW.getTime() + 3_600_000))).toBeUndefined();
  });
});

describe('qrDataUrl', () => {
  it('is a 256×256 PNG whatever the QR version (qrcode would round some sizes down to 255)', async () => {
    const seen = new Set<number>();
    for (let length = 10; length <= 2300; length += 45) {
      const src = await qrDataUrl(`otpauth://totp/${'a'.repeat(length)}`);
      const { width, height } = pngSize(src);
      seen.add(width);
      expect([width, height]).toEqual([256, 256]);
    }
    expect([...seen]).toEqual([256]);
  });

  it('is the same image for the same text', async () => {
    expect(await qrDataUrl(URL_OF_KEY)).toBe(await qrDataUrl(URL_OF_KEY));
  });
});
