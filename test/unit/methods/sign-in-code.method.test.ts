/**
 * Sign-in and sign-up by one-time code alone (Kratos strategy/code with passwordless_enabled / mfa_enabled): the
 * answers the HTTP tests (test/e2e/flows/code.test.ts) do not reach — enumeration mitigation off, a changed
 * identifier, a schema without code addresses, disabled identities, duplicates found after the code.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { CodeRecord } from '../../../src/methods/code/code-record.ts';
import { createSignInCode, type SignInCodeSettings } from '../../../src/methods/code/sign-in-code.method.ts';
import type { CodeChange, Outcome } from '../../../src/methods/method.ts';
import { SecretHmac } from '../../../src/x/hmac.ts';
import { context, identityRecord, ids, NOW, registryOf, schemaDoc } from './helpers.ts';

type Json = any;

const withCode = (identity: IdentityRecord): IdentityRecord => ({
  ...identity,
  credentials: [...identity.credentials, {
    id: crypto.randomUUID(), type: 'code', identifiers: [String(identity.traits.email)], config: { addresses: [{ channel: 'email', address: String(identity.traits.email) }] },
    version: 1, createdAt: NOW, updatedAt: NOW,
  }],
});

function setup(options: { settings?: Partial<SignInCodeSettings>; identities?: IdentityRecord[]; schema?: Record<string, unknown>; conflicts?: boolean } = {}) {
  const codes: CodeRecord[] = [];
  const identities = options.identities ?? [];
  const schemas = registryOf(options.schema);
  const capabilities = createSignInCode({
    settings: { lifespanMs: 3_600_000, maxSubmissions: 5, passwordless: true, mfa: false, mitigate: true, ...options.settings },
    codes: {
      latestUnused: async () => null,
      failuresSince: async () => 0,
      unusedForFlow: async (flowId, purpose) => codes.filter((c) => c.flowId === flowId && c.purpose === purpose && c.usedAt === null).reverse(),
    },
    schemas,
    identities: {
      get: async (id) => identities.find((i) => i.id === id) ?? null,
      findByCodeIdentifier: async (identifier) => identities.find((i) => i.credentials.some((c) => c.type === 'code' && c.identifiers.includes(identifier))) ?? null,
      // The identity service derives the code credential from the schema's code.identifier traits (here: email).
      buildNew: (input) => {
        const record = identityRecord(String(input.traits.email ?? ''), { traits: input.traits, schemas });
        return typeof input.traits.email === 'string' ? withCode(record) : record;
      },
      hasConflicts: async () => options.conflicts === true,
    },
    identityForTemplate: (identity) => ({ id: identity.id }),
    hmac: { login: new SecretHmac('s', 'login'), registration: new SecretHmac('s', 'registration') },
  });
  const apply = (outcome: Outcome) => {
    for (const change of (outcome.changes?.codes ?? []) as CodeChange[]) {
      if (change.op === 'insert') codes.push({ ...change.code });
      else if (change.op === 'update') Object.assign(codes.find((c) => c.id === change.id)!, change.patch);
      else for (const c of codes) if (c.flowId === change.flowId && c.usedAt === null) c.usedAt = NOW;
    }
  };
  return { ...capabilities, codes, apply };
}

const secretOf = (outcome: Outcome): string => (outcome.changes?.messages?.[0]?.data as Json)?.login_code ?? (outcome.changes?.messages?.[0]?.data as Json)?.registration_code;

describe('sign-in code: login', () => {
  it('without enumeration mitigation answers an unknown identifier with 4000035 and writes nothing (Kratos)', async () => {
    const { login } = setup({ settings: { mitigate: false } });
    const outcome = await login!.submit(context(), { method: 'code', identifier: 'nobody@example.com' });
    expect(outcome.kind).toBe('rejected');
    expect(ids((outcome as Json).messages)).toEqual([4000035]);
    expect(outcome.changes).toBeUndefined();
  });

  it('refuses a control character in the identifier on its node (4000001) and sends nothing', async () => {
    const { login } = setup();
    const outcome = await login!.submit(context(), { method: 'code', identifier: 'user\u0000@example.com' });
    expect(outcome.kind).toBe('rejected');
    expect(ids((outcome as Json).fieldMessages.identifier)).toEqual([4000001]);
    expect(outcome.changes).toBeUndefined();
  });

  it('with mitigation sends nothing to an unknown or disabled identity but answers as for a known one', async () => {
    const disabled = withCode(identityRecord('off@example.com', { state: 'inactive' }));
    const { login } = setup({ identities: [disabled] });
    for (const identifier of ['nobody@example.com', 'off@example.com']) {
      const outcome = await login!.submit(context(), { method: 'code', identifier });
      expect(outcome.kind).toBe('code_sent');
      expect(ids((outcome as Json).messages)).toEqual([1010014]);
      // The mail a known identifier gets is rendered and written, then dropped (the same work; nothing is sent).
      expect(outcome.changes?.messages?.map((m) => [m.templateType, m.recipient, m.drop])).toEqual([['login_code_valid', identifier, true]]);
      expect(outcome.changes?.codes?.map((c) => c.op)).toEqual(['void_flow', 'insert']);
    }
  });

  it('refuses a code once the identifier was swapped: 4010008 with mitigation, 4000035 for an unknown one without', async () => {
    const user = withCode(identityRecord('user@example.com'));
    for (const mitigate of [true, false]) {
      const s = setup({ identities: [user], settings: { mitigate } });
      const flowId = crypto.randomUUID();
      const sent = await s.login!.submit(context({ flowId }), { method: 'code', identifier: 'user@example.com' });
      s.apply(sent);
      const code = secretOf(sent);
      const swapped = await s.login!.submit(context({ flowId, state: 'sent_email', values: { identifier: 'user@example.com' } }), { method: 'code', identifier: 'else@example.com', code });
      expect(ids((swapped as Json).messages)).toEqual([mitigate ? 4010008 : 4000035]);
      const right = await s.login!.submit(context({ flowId, state: 'sent_email', values: { identifier: 'user@example.com' } }), { method: 'code', identifier: 'user@example.com', code });
      expect(right).toMatchObject({ kind: 'authenticated', identityId: user.id, method: 'code', aal: 'aal1' });
    }
  });

  it('as a second factor only sends to the session identity\'s own addresses (4010010) and proves aal2 for that identity alone', async () => {
    const user = withCode(identityRecord('user@example.com'));
    const other = withCode(identityRecord('other@example.com'));
    const s = setup({ identities: [user, other], settings: { passwordless: false, mfa: true } });
    expect(s.registration).toBeUndefined();
    expect(s.login!.aal).toBe('aal2');
    const flowId = crypto.randomUUID();
    const ctx = (state = 'choose_method') => context({ flowId, state, requestedAal: 'aal2', identity: user, values: { identifier: 'user@example.com' } });
    const { nodes } = await s.login!.nodes(ctx());
    expect(nodes.map((n) => [n.group, (n.attributes as Json).name, (n.attributes as Json).value, n.meta.label?.id])).toEqual([['code', 'address', 'user@example.com', 1010023]]);
    expect(ids((await s.login!.submit(ctx(), { address: 'other@example.com' }) as Json).messages)).toEqual([4010010]);
    const sent = await s.login!.submit(ctx(), { address: 'user@example.com' });
    expect(ids((sent as Json).messages)).toEqual([1010025]);
    s.apply(sent);
    expect(await s.login!.submit(ctx('sent_email'), { method: 'code', code: secretOf(sent) })).toMatchObject({ kind: 'authenticated', identityId: user.id, aal: 'aal2' });
  });
});

describe('sign-in code: registration', () => {
  it('refuses traits without a code address (4000009) and invalid traits on their nodes, sending nothing', async () => {
    const schema = schemaDoc({ username: { type: 'string', minLength: 3 } }, ['username']);
    const { registration } = setup({ schema });
    const none = await registration!.submit(context({ kind: 'registration' }), { method: 'code', traits: { username: 'someone' } });
    expect(ids((none as Json).messages)).toEqual([4000009]);
    const invalid = await registration!.submit(context({ kind: 'registration' }), { method: 'code', traits: { username: 'x' } });
    expect(Object.keys((invalid as Json).fieldMessages)).toEqual(['traits.username']);
    const empty = await registration!.submit(context({ kind: 'registration' }), { method: 'code', traits: {} });
    expect((empty as Json).messages).toMatchObject([{ id: 4000002, context: { property: 'traits' } }]);
  });

  it('reports a duplicate account only once the code proved the address (Kratos 4000007), and uses the code up', async () => {
    const s = setup({ conflicts: true });
    const flowId = crypto.randomUUID();
    const traits = { email: 'taken@example.com' };
    const sent = await s.registration!.submit(context({ kind: 'registration', flowId }), { method: 'code', traits });
    expect(sent.kind).toBe('code_sent');
    s.apply(sent);
    const done = await s.registration!.submit(context({ kind: 'registration', flowId, state: 'sent_email', values: { traits } }), { method: 'code', traits, code: secretOf(sent) });
    expect(ids((done as Json).messages)).toEqual([4000007]);
    s.apply(done);
    expect(s.codes.every((c) => c.usedAt !== null)).toBe(true);
  });

  it('marks the proven address verified on the new identity', async () => {
    const s = setup();
    const flowId = crypto.randomUUID();
    const traits = { email: 'new@example.com' };
    const sent = await s.registration!.submit(context({ kind: 'registration', flowId }), { method: 'code', traits });
    s.apply(sent);
    const done = await s.registration!.submit(context({ kind: 'registration', flowId, state: 'sent_email', values: { traits } }), { method: 'code', traits, code: secretOf(sent) });
    expect(done.kind).toBe('registered');
    expect(done.changes?.identity?.record.verifiableAddresses).toMatchObject([{ value: 'new@example.com', verified: true, status: 'completed' }]);
  });
});
