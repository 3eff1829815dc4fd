/**
 * The code method alone (Kratos `strategy/code`, recovery and verification): its nodes per state, and what sending
 * and checking a code amount to. The code rows live in a hand-made reader; the outcome's `changes` say what the flow
 * service would write.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { createChallengeIssuer, createChallengeMethod, type ChallengeMethodDeps, type ChallengePurpose } from '../../../src/methods/code/challenge.method.ts';
import type { CodeRecord } from '../../../src/methods/code/code-record.ts';
import type { Capability, CodeChange } from '../../../src/methods/method.ts';
import type { UiNode } from '../../../src/ui/node.ts';
import { SecretHmac } from '../../../src/x/hmac.ts';
import { context, identityRecord, ids, nodeNamed, NOW } from './helpers.ts';

// Nodes and outcomes are compared field by field.
type Json = any;

const HOUR = 3_600_000;
const PURPOSES: ChallengePurpose[] = ['recovery', 'verification'];
const SENT = { recovery: 1060003, verification: 1080003 };
const INVALID = { recovery: 4060006, verification: 4070006 };
const NO_STRATEGY = { recovery: 4010005, verification: 4010006 };
const CODE_LABEL = { recovery: 1070010, verification: 1070011 };

function setup(options: { identities?: IdentityRecord[]; notifyUnknown?: boolean; maxAttempts?: number } = {}) {
  const codes: CodeRecord[] = [];
  const identities = options.identities ?? [];
  const hmac = { recovery: new SecretHmac('secret', 'recovery'), verification: new SecretHmac('secret', 'verification') };
  const deps: ChallengeMethodDeps = {
    settings: {
      lifespanMs: HOUR,
      maxAttempts: options.maxAttempts ?? 5,
      notifyUnknown: { recovery: options.notifyUnknown === true, verification: options.notifyUnknown === true },
      linkBase: () => 'http://idflow.test/',
    },
    codes: {
      async latestUnused(flowId, purpose) {
        return codes.filter((c) => c.flowId === flowId && c.purpose === purpose && c.usedAt === null).at(-1) ?? null;
      },
      async unusedForFlow(flowId, purpose) {
        return codes.filter((c) => c.flowId === flowId && c.purpose === purpose && c.usedAt === null).reverse();
      },
      async failuresSince(purpose, address, since) {
        return codes.filter((c) => c.purpose === purpose && c.address === address && c.createdAt >= since).reduce((n, c) => n + c.failedAttempts, 0);
      },
    },
    identities: {
      get: async (id) => identities.find((i) => i.id === id) ?? null,
      findActiveByAddress: async (_purpose, address) => identities.find((i) => i.state === 'active' && i.verifiableAddresses.some((a) => a.value === address)) ?? null,
    },
    identityForTemplate: (identity) => ({ id: identity.id }),
    hmac,
  };
  const issuer = createChallengeIssuer(deps);
  const method = createChallengeMethod('code', deps, issuer);
  /** Applies an outcome's code changes, as the flow service would. */
  const apply = (changes: CodeChange[] | undefined) => {
    for (const change of changes ?? []) {
      if (change.op === 'insert') codes.push({ ...change.code });
      else if (change.op === 'update') Object.assign(codes.find((c) => c.id === change.id)!, change.patch);
      else for (const c of codes) if (c.flowId === change.flowId && c.usedAt === null) c.usedAt = NOW;
    }
  };
  return { method, issuer, codes, hmac, apply };
}

const attrs = (node: unknown): Json => (node as Json)?.attributes;
const shape = (nodes: UiNode[]) => nodes.map((n) => [n.type, n.group, attrs(n).name ?? attrs(n).id, attrs(n).type]);
const capability = (method: ReturnType<typeof setup>['method'], purpose: ChallengePurpose): Capability => method[purpose]!;

describe.each(PURPOSES)('code method (%s): nodes', (purpose) => {
  it('choose_method: the e-mail input and the code method\'s submit labelled "Continue" (Kratos populateChooseMethodFlow)', async () => {
    const { nodes } = await capability(setup().method, purpose).nodes(context({ kind: purpose }));
    expect(shape(nodes)).toEqual([['input', 'code', 'email', 'email'], ['input', 'code', 'method', 'submit']]);
    const email = nodeNamed(nodes, 'email')!;
    expect(attrs(email).required).toBe(true);
    expect(email.meta.label).toMatchObject({ id: 1070007, text: 'Email' });
    expect(attrs(nodeNamed(nodes, 'method', 'submit')).value).toBe('code');
    expect(nodeNamed(nodes, 'method', 'submit')!.meta.label?.id).toBe(1070009);
  });

  it('sent_email: the code input, the hidden method, "Continue" and "Resend code" carrying the address', async () => {
    const { nodes } = await capability(setup().method, purpose).nodes(context({ kind: purpose, state: 'sent_email', values: { email: 'user@example.com' } }));
    expect(shape(nodes)).toEqual([
      ['input', 'code', 'code', 'text'], ['input', 'code', 'method', 'hidden'], ['input', 'code', 'method', 'submit'], ['input', 'code', 'email', 'submit'],
    ]);
    const code = nodeNamed(nodes, 'code')!;
    expect(attrs(code)).toMatchObject({ required: true, autocomplete: 'one-time-code' });
    expect(code.meta.label?.id).toBe(CODE_LABEL[purpose]);
    // Kratos: recovery codes are digits (pattern, maxlength 6); the verification input is free.
    if (purpose === 'recovery') expect(attrs(code)).toMatchObject({ pattern: '[0-9]+', maxlength: 6 });
    else expect([attrs(code).pattern, attrs(code).maxlength]).toEqual([undefined, undefined]);
    expect(attrs(nodeNamed(nodes, 'method', 'hidden')).value).toBe('code');
    expect(nodeNamed(nodes, 'method', 'submit')!.meta.label?.id).toBe(1070009);
    const resend = nodeNamed(nodes, 'email', 'submit')!;
    expect(attrs(resend).value).toBe('user@example.com');
    expect(resend.meta.label?.id).toBe(1070008);
    expect(attrs(code).value).toBeUndefined();
  });

  it('sent_email with a code from a mailed link: the code input is pre-filled', async () => {
    const { nodes } = await capability(setup().method, purpose).nodes(context({ kind: purpose, state: 'sent_email', values: { email: 'user@example.com', code: '123456' } }));
    expect(attrs(nodeNamed(nodes, 'code')).value).toBe('123456');
  });
});

describe('code method: passed_challenge nodes', () => {
  it('verification: one anchor "Continue" to where the flow continues, labelled as Kratos does (meta.label 1070009)', async () => {
    const { nodes } = await setup().method.verification!.nodes(context({ kind: 'verification', state: 'passed_challenge', continueTo: 'http://127.0.0.1:4455/next' }));
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ type: 'a', group: 'code', attributes: { id: 'continue', href: 'http://127.0.0.1:4455/next', node_type: 'a', title: { id: 1070009 } } });
    expect(nodes[0].meta.label?.id).toBe(1070009);
  });

  it('recovery: nothing (the user continues in the settings flow)', async () => {
    expect((await setup().method.recovery!.nodes(context({ kind: 'recovery', state: 'passed_challenge' }))).nodes).toEqual([]);
  });
});

describe.each(PURPOSES)('code method (%s): sending', (purpose) => {
  const user = () => identityRecord('user@example.com', { hash: 'fake$x' });

  it('a known address: voids the flow\'s earlier codes, inserts one bound to the flow, address and identity, and mails the code', async () => {
    const identity = user();
    const { method, hmac } = setup({ identities: [identity] });
    const ctx = context({ kind: purpose, flowId: 'flow-1' });
    const outcome = await capability(method, purpose).submit(ctx, { method: 'code', email: ' User@Example.com ' }) as Json;
    expect(outcome.kind).toBe('code_sent');
    expect(ids(outcome.messages)).toEqual([SENT[purpose]]);
    expect(outcome.values).toEqual({ email: 'user@example.com' });
    const changes: CodeChange[] = outcome.changes.codes;
    expect(changes.map((c) => c.op)).toEqual(['void_flow', 'insert']);
    expect(changes[0]).toEqual({ op: 'void_flow', flowId: 'flow-1' });
    const code = (changes[1] as Extract<CodeChange, { op: 'insert' }>).code;
    expect(code).toMatchObject({ flowId: 'flow-1', purpose, kind: 'code', via: 'email', address: 'user@example.com', identityId: identity.id, failedAttempts: 0, usedAt: null });
    expect(code.expiresAt.getTime()).toBe(NOW.getTime() + HOUR);
    expect(outcome.changes.messages).toHaveLength(1);
    const mail = outcome.changes.messages[0];
    expect(mail.templateType).toBe(`${purpose}_code_valid`);
    expect(mail.recipient).toBe('user@example.com');
    const secret = mail.data[`${purpose}_code`];
    expect(secret).toMatch(/^\d{6}$/);
    expect(mail.data.expires_in_minutes).toBe(60);
    // Only an HMAC of the secret is stored.
    expect(code.secretHmac).not.toContain(secret);
    expect(code.secretHmac).toBe(await hmac[purpose].hex(secret));
  });

  it('an unknown address: the same answer and the same rows, the same mail dropped (an unusable code)', async () => {
    const { method } = setup({ identities: [user()] });
    const known = await capability(method, purpose).submit(context({ kind: purpose, flowId: 'f' }), { method: 'code', email: 'user@example.com' }) as Json;
    const unknown = await capability(method, purpose).submit(context({ kind: purpose, flowId: 'f' }), { method: 'code', email: 'nobody@example.com' }) as Json;
    expect(unknown.kind).toBe(known.kind);
    expect(unknown.messages).toEqual(known.messages);
    expect(unknown.values).toEqual({ email: 'nobody@example.com' });
    expect(unknown.changes.codes.map((c: CodeChange) => c.op)).toEqual(['void_flow', 'insert']);
    expect(unknown.changes.codes[1].code.identityId).toBeNull();
    // The mail a known address gets, of the same template, marked to be dropped: written and removed, never sent.
    expect(known.changes.messages.map((m: Json) => [m.templateType, m.drop])).toEqual([[`${purpose}_code_valid`, undefined]]);
    expect(unknown.changes.messages.map((m: Json) => [m.templateType, m.recipient, m.drop])).toEqual([[`${purpose}_code_valid`, 'nobody@example.com', true]]);
  });

  it('an unknown address with notify_unknown_recipients: the "invalid" mail', async () => {
    const outcome = await capability(setup({ notifyUnknown: true }).method, purpose).submit(context({ kind: purpose }), { method: 'code', email: 'nobody@example.com' }) as Json;
    expect(outcome.kind).toBe('code_sent');
    expect(outcome.changes.messages.map((m: Json) => [m.templateType, m.recipient])).toEqual([[`${purpose}_code_invalid`, 'nobody@example.com']]);
  });

  it('an invalid or missing address is a node message; a resend keeps the address the flow mailed', async () => {
    const { method } = setup();
    const invalid = await capability(method, purpose).submit(context({ kind: purpose }), { method: 'code', email: 'not an e-mail' }) as Json;
    expect(invalid.kind).toBe('rejected');
    expect(ids(invalid.fieldMessages.email)).toEqual([4000040]);
    expect(invalid.changes).toBeUndefined();
    const missing = await capability(method, purpose).submit(context({ kind: purpose }), { method: 'code' }) as Json;
    expect(ids(missing.fieldMessages.email)).toEqual([4000002]);
    const resend = await capability(method, purpose).submit(context({ kind: purpose, state: 'sent_email', values: { email: 'user@example.com' } }), { method: 'code', email: 'not an e-mail' }) as Json;
    expect(resend.kind).toBe('rejected');
    expect(resend.values).toEqual({ email: 'user@example.com' });
  });

  it('another method name: "no strategy" for this flow (4010005 / 4010006)', async () => {
    const outcome = await capability(setup().method, purpose).submit(context({ kind: purpose }), { method: 'carrier-pigeon', email: 'user@example.com' }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.messages)).toEqual([NO_STRATEGY[purpose]]);
  });
});

describe.each(PURPOSES)('code method (%s): checking', (purpose) => {
  async function sent(options: { maxAttempts?: number } = {}) {
    const identity = identityRecord('user@example.com', { hash: 'fake$x' });
    const env = setup({ identities: [identity], maxAttempts: options.maxAttempts });
    const ctx = context({ kind: purpose, flowId: 'flow-1' });
    const outcome = await capability(env.method, purpose).submit(ctx, { method: 'code', email: 'user@example.com' }) as Json;
    env.apply(outcome.changes.codes);
    const secret: string = outcome.changes.messages[0].data[`${purpose}_code`];
    const sentCtx = () => context({ kind: purpose, flowId: 'flow-1', state: 'sent_email', values: { email: 'user@example.com' } });
    return { ...env, identity, secret, sentCtx, wrong: secret === '000000' ? '111111' : '000000' };
  }

  it('the right code passes: the code is used, the address is verified', async () => {
    const { method, identity, secret, sentCtx, codes } = await sent();
    const outcome = await capability(method, purpose).submit(sentCtx(), { method: 'code', code: secret }) as Json;
    expect(outcome.kind).toBe('challenge_passed');
    expect(outcome.identityId).toBe(identity.id);
    expect(outcome.method).toBe('code');
    expect(ids(outcome.messages)).toEqual(purpose === 'verification' ? [1080002] : []);
    expect(outcome.changes.codes).toEqual([{ op: 'update', id: codes[0].id, patch: { usedAt: NOW } }]);
    const address = outcome.changes.identity.record.verifiableAddresses.find((a: Json) => a.value === 'user@example.com');
    expect(address).toMatchObject({ verified: true, status: 'completed', verifiedAt: NOW });
    expect(outcome.changes.identity.isNew).toBe(false);
  });

  it('a wrong code: 4060006 / 4070006, the failure counted on the code, the code not echoed', async () => {
    const { method, sentCtx, codes, wrong } = await sent();
    const outcome = await capability(method, purpose).submit({ ...sentCtx(), flow: { ...sentCtx().flow, values: { email: 'user@example.com', code: wrong } } }, { method: 'code', code: wrong }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.messages)).toEqual([INVALID[purpose]]);
    expect(outcome.values).toEqual({ email: 'user@example.com' });
    expect(outcome.changes.codes).toEqual([{ op: 'update', id: codes[0].id, patch: { failedAttempts: 1 } }]);
  });

  it('an expired code is invalid', async () => {
    const { method, secret, sentCtx, codes } = await sent();
    codes[0].expiresAt = new Date(NOW.getTime() - 1);
    const outcome = await capability(method, purpose).submit(sentCtx(), { method: 'code', code: secret }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.messages)).toEqual([INVALID[purpose]]);
  });

  it('a code voided by a resend no longer passes; the new one does', async () => {
    const { method, secret, sentCtx, apply } = await sent();
    const resent = await capability(method, purpose).submit(sentCtx(), { method: 'code', email: 'user@example.com' }) as Json;
    expect(resent.kind).toBe('code_sent');
    apply(resent.changes.codes);
    const fresh: string = resent.changes.messages[0].data[`${purpose}_code`];
    if (fresh !== secret) {
      const old = await capability(method, purpose).submit(sentCtx(), { method: 'code', code: secret }) as Json;
      expect(ids(old.messages)).toEqual([INVALID[purpose]]);
    }
    expect((await capability(method, purpose).submit(sentCtx(), { method: 'code', code: fresh })).kind).toBe('challenge_passed');
  });

  it('the code of an unknown address never passes, even when its secret is guessed', async () => {
    const { method, codes, hmac } = setup();
    const ctx = context({ kind: purpose, flowId: 'flow-2' });
    const outcome = await capability(method, purpose).submit(ctx, { method: 'code', email: 'nobody@example.com' }) as Json;
    for (const change of outcome.changes.codes) if (change.op === 'insert') codes.push({ ...change.code, secretHmac: await hmac[purpose].hex('424242') });
    const check = await capability(method, purpose).submit(context({ kind: purpose, flowId: 'flow-2', state: 'sent_email', values: { email: 'nobody@example.com' } }), { method: 'code', code: '424242' }) as Json;
    expect(check.kind).toBe('rejected');
    expect(ids(check.messages)).toEqual([INVALID[purpose]]);
  });

  it('the right code of an identity disabled since it was sent does not pass, and is used up', async () => {
    const { method, secret, sentCtx, identity, codes } = await sent();
    identity.state = 'inactive';
    const outcome = await capability(method, purpose).submit(sentCtx(), { method: 'code', code: secret }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.messages)).toEqual([INVALID[purpose]]);
    expect(outcome.changes.codes).toEqual([{ op: 'update', id: codes[0].id, patch: { usedAt: NOW } }]);
    expect(outcome.changes.identity).toBeUndefined();
  });

  it('once the address has used up its attempts, the check is exhausted and the code is voided', async () => {
    const { method, secret, sentCtx, codes } = await sent({ maxAttempts: 2 });
    codes[0].failedAttempts = 2;
    const outcome = await capability(method, purpose).submit(sentCtx(), { method: 'code', code: secret }) as Json;
    expect(outcome.kind).toBe('exhausted');
    expect(outcome.changes.codes).toEqual([{ op: 'update', id: codes[0].id, patch: { usedAt: NOW } }]);
  });

  it('never throws for user input: an over-long code is a node message', async () => {
    const { method, sentCtx } = await sent();
    const outcome = await capability(method, purpose).submit(sentCtx(), { method: 'code', code: '1'.repeat(500) }) as Json;
    expect(outcome.kind).toBe('rejected');
  });
});

describe('code issuer (admin recovery, verification after sign-up)', () => {
  it('issues a 6-digit code for a known identity and address, with the mail that carries it and the link', async () => {
    const { issuer, hmac } = setup();
    const identity = identityRecord('user@example.com', { hash: 'fake$x' });
    const issued = await issuer.issue({ purpose: 'verification', kind: 'code', flowId: 'flow-9', identity, address: 'user@example.com', now: NOW, requestUrl: 'http://idflow.test/self-service/registration/api' });
    expect(issued.secret).toMatch(/^\d{6}$/);
    expect(issued.code).toMatchObject({ flowId: 'flow-9', purpose: 'verification', address: 'user@example.com', identityId: identity.id, usedAt: null });
    expect(issued.code.secretHmac).toBe(await hmac.verification.hex(issued.secret));
    expect(issued.message.templateType).toBe('verification_code_valid');
    expect(issued.message.data!.verification_code).toBe(issued.secret);
    const link = new URL(String(issued.message.data!.verification_url));
    expect(`${link.origin}${link.pathname}`).toBe('http://idflow.test/self-service/verification');
    expect(Object.fromEntries(link.searchParams)).toEqual({ flow: 'flow-9', code: issued.secret });
    expect(issued.message.data!.request_url).toBe('http://idflow.test/self-service/registration/api');
  });

  it('an explicit expiry (admin expires_in) bounds the code', async () => {
    const { issuer } = setup();
    const identity = identityRecord('user@example.com', { hash: 'fake$x' });
    const expiresAt = new Date(NOW.getTime() + 10 * 60_000);
    const issued = await issuer.issue({ purpose: 'recovery', kind: 'code', flowId: 'f', identity, address: 'user@example.com', now: NOW, expiresAt });
    expect(issued.code.expiresAt).toEqual(expiresAt);
    expect(issued.message.data!.expires_in_minutes).toBe(10);
  });
});
