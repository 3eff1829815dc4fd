/**
 * The password method alone (Kratos `strategy/password`): its nodes per flow and state, and what a submission amounts
 * to. Narrow fakes stand in for the hasher and the identity lookups; the policy is the real one (no network).
 */
import { describe, expect, it } from 'vitest';
import type { PasswordMethodConfig } from '../../../config/types.ts';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { Method, Outcome } from '../../../src/methods/method.ts';
import { createPasswordMethod, type PasswordMethodDeps } from '../../../src/methods/password/password.method.ts';
import { createPasswordPolicy } from '../../../src/methods/password/policy.ts';
import { context, derive, fakeHasher, identityRecord, ids, nodeNamed, NOW, registryOf, schemaDoc } from './helpers.ts';

// Nodes and outcomes are compared field by field.
type Json = any;

const POLICY_CONFIG: PasswordMethodConfig = {
  haveibeenpwned_host: 'api.pwnedpasswords.com',
  haveibeenpwned_enabled: false,
  max_breaches: 0,
  ignore_network_errors: true,
  min_password_length: 8,
  identifier_similarity_check_enabled: true,
};
const GOOD = 'correct horse battery staple';

function setup(options: { identities?: IdentityRecord[]; conflicts?: boolean; hints?: boolean; mitigate?: boolean; schemas?: ReturnType<typeof registryOf> } = {}) {
  const hasher = fakeHasher();
  const schemas = options.schemas ?? registryOf();
  const lookups: string[] = [];
  const policyCalls: Array<{ password: string; identifiers: string[] }> = [];
  const real = createPasswordPolicy(POLICY_CONFIG, { fetch: () => { throw new Error('no network in unit tests'); } });
  const deps: PasswordMethodDeps = {
    hasher,
    schemas,
    mitigate: options.mitigate,
    policy: {
      check(password, identifiers) {
        policyCalls.push({ password, identifiers });
        return real.check(password, identifiers);
      },
    },
    identities: {
      async passwordCredential(identifier) {
        lookups.push(identifier);
        const found = (options.identities ?? []).find((i) => i.credentials.some((c) => c.type === 'password' && c.identifiers.includes(identifier)));
        if (!found) return null;
        const hashed = found.credentials.find((c) => c.type === 'password')?.config.hashed_password;
        return { identityId: found.id, hashedPassword: typeof hashed === 'string' ? hashed : undefined };
      },
      get: async (id) => (options.identities ?? []).find((i) => i.id === id) ?? null,
      buildNew(input, prepared) {
        const record: IdentityRecord = {
          ...identityRecord(String((input.traits as { email?: unknown }).email ?? ''), { traits: input.traits, schemas }),
          credentials: prepared.password ? [{ id: crypto.randomUUID(), type: 'password', identifiers: [], config: { ...prepared.password }, version: 0, createdAt: NOW, updatedAt: NOW }] : [],
        };
        return derive(record, schemas);
      },
      hasConflicts: async () => options.conflicts === true,
      duplicateHints: options.hints
        ? async () => ({ available_credential_types: ['password'], available_oidc_providers: [], credential_identifier_hint: 'taken@example.com' })
        : undefined,
    },
  };
  return { method: createPasswordMethod(deps), hasher, lookups, policyCalls };
}

const login = (m: Method) => m.login!;
const attrs = (node: unknown): Json => (node as Json)?.attributes;

describe('password method: login nodes', () => {
  it('identifier (labelled from the schema title, no autocomplete), current password and "Sign in with password"', async () => {
    const { nodes } = await login(setup().method).nodes(context());
    expect(nodes.map((n) => [n.group, attrs(n).name, attrs(n).type])).toEqual([
      ['default', 'identifier', 'text'], ['password', 'password', 'password'], ['password', 'method', 'submit'],
    ]);
    const identifier = nodeNamed(nodes, 'identifier')!;
    expect(attrs(identifier).required).toBe(true);
    expect(attrs(identifier).autocomplete).toBeUndefined();
    expect(attrs(identifier).value).toBeUndefined();
    expect(identifier.meta.label).toEqual({ id: 1070002, text: 'E-Mail', type: 'info', context: { title: 'E-Mail', name: 'traits.email' } });
    const password = nodeNamed(nodes, 'password')!;
    expect(attrs(password)).toMatchObject({ required: true, autocomplete: 'current-password' });
    expect(password.meta.label?.id).toBe(1070001);
    const submit = nodeNamed(nodes, 'method', 'submit')!;
    expect(attrs(submit).value).toBe('password');
    expect(submit.meta.label).toMatchObject({ id: 1010022, text: 'Sign in with password' });
  });

  it('labels the identifier "ID" when the identifier field has no title, or when several fields are identifiers', async () => {
    const untitled = registryOf(schemaDoc({ email: { type: 'string', format: 'email', 'ory.sh/kratos': { credentials: { password: { identifier: true } } } } }));
    const two = registryOf(schemaDoc({
      email: { type: 'string', title: 'E-Mail', 'ory.sh/kratos': { credentials: { password: { identifier: true } } } },
      username: { type: 'string', title: 'Username', 'ory.sh/kratos': { credentials: { password: { identifier: true } } } },
    }));
    for (const schemas of [untitled, two]) {
      const { nodes } = await login(setup({ schemas }).method).nodes(context());
      expect(nodeNamed(nodes, 'identifier')!.meta.label).toEqual({ id: 1070004, text: 'ID', type: 'info' });
    }
  });

  it('echoes a submitted identifier, never a password', async () => {
    const { nodes } = await login(setup().method).nodes(context({ values: { identifier: 'user@example.com', password: 'leaked?' } }));
    expect(attrs(nodeNamed(nodes, 'identifier')).value).toBe('user@example.com');
    expect(attrs(nodeNamed(nodes, 'password')).value).toBeUndefined();
  });

  it('refresh: the identity\'s identifier travels hidden and unlabelled; the button says "Sign in"', async () => {
    const identity = identityRecord('user@example.com', { hash: 'fake$x' });
    const { nodes } = await login(setup().method).nodes(context({ refresh: true, identity }));
    const identifier = nodes.filter((n) => attrs(n).name === 'identifier');
    expect(identifier).toHaveLength(1);
    expect(identifier[0].group).toBe('default');
    expect(attrs(identifier[0])).toMatchObject({ type: 'hidden', value: 'user@example.com' });
    expect(attrs(identifier[0]).required).toBeFalsy();
    expect(identifier[0].meta).toEqual({});
    expect(attrs(nodeNamed(nodes, 'password')).autocomplete).toBe('current-password');
    expect(nodeNamed(nodes, 'method', 'submit')!.meta.label).toMatchObject({ id: 1010001, text: 'Sign in' });
  });

  it('refresh for an identity without a password: no nodes', async () => {
    const identity = identityRecord('user@example.com');
    expect((await login(setup().method).nodes(context({ refresh: true, identity }))).nodes).toEqual([]);
  });
});

describe('password method: login submit', () => {
  const user = identityRecord('user@example.com', { hash: `fake$${GOOD}` });

  it('the right password authenticates at aal1 and asks for no change when the hash is current', async () => {
    const { method } = setup({ identities: [user] });
    const outcome = await login(method).submit(context(), { method: 'password', identifier: 'user@example.com', password: GOOD });
    expect(outcome).toEqual({ kind: 'authenticated', identityId: user.id, method: 'password', aal: 'aal1', identity: user });
  });

  it('looks the identifier up normalised (an e-mail is case-insensitive)', async () => {
    const { method, lookups } = setup({ identities: [user] });
    const outcome = await login(method).submit(context(), { method: 'password', identifier: 'User@Example.COM', password: GOOD });
    expect(outcome.kind).toBe('authenticated');
    expect(lookups).toEqual(['user@example.com']);
  });

  it('accepts Kratos\'s deprecated password_identifier', async () => {
    const { method } = setup({ identities: [user] });
    const outcome = await login(method).submit(context(), { method: 'password', password_identifier: 'user@example.com', password: GOOD });
    expect(outcome.kind).toBe('authenticated');
  });

  it('an outdated hash is replaced: the outcome asks to store a new hash of the same password (rehash on login)', async () => {
    const outdated = identityRecord('old@example.com', { hash: `old$${GOOD}` });
    const { method, hasher } = setup({ identities: [outdated] });
    const outcome = await login(method).submit(context(), { method: 'password', identifier: 'old@example.com', password: GOOD });
    expect(outcome.kind).toBe('authenticated');
    const change = outcome.changes?.identity;
    expect(change?.isNew).toBe(false);
    expect(change?.record.id).toBe(outdated.id);
    expect(change?.record.credentials.find((c) => c.type === 'password')?.config.hashed_password).toBe(`fake$${GOOD}`);
    expect(change?.record.traits).toEqual(outdated.traits);
    expect(hasher.calls.filter((c) => c.op === 'hash').map((c) => c.password)).toEqual([GOOD]);
  });

  it('a wrong password and an unknown identifier give the same rejection (4000006), and both verify a hash', async () => {
    const { method, hasher } = setup({ identities: [user] });
    const wrong = await login(method).submit(context(), { method: 'password', identifier: 'user@example.com', password: 'not it at all' });
    const unknown = await login(method).submit(context(), { method: 'password', identifier: 'nobody@example.com', password: 'not it at all' });
    expect(wrong).toEqual({ kind: 'rejected', values: { identifier: 'user@example.com' }, messages: [expect.objectContaining({ id: 4000006, type: 'error' })] });
    expect(unknown).toEqual({ ...wrong, values: { identifier: 'nobody@example.com' } });
    // The same work either way: an unknown identifier is checked against a dummy hash.
    expect(hasher.calls.filter((c) => c.op === 'verify')).toHaveLength(2);
  });

  it('a stored hash the hasher can not read is a wrong password, not an error', async () => {
    const broken = identityRecord('broken@example.com', { hash: 'broken$x' });
    const outcome = await login(setup({ identities: [broken] }).method).submit(context(), { method: 'password', identifier: 'broken@example.com', password: GOOD });
    expect(outcome.kind).toBe('rejected');
    expect(ids((outcome as Json).messages)).toEqual([4000006]);
  });

  it('a disabled identity with the right password: 4010011', async () => {
    const disabled = identityRecord('off@example.com', { hash: `fake$${GOOD}`, state: 'inactive' });
    const outcome = await login(setup({ identities: [disabled] }).method).submit(context(), { method: 'password', identifier: 'off@example.com', password: GOOD });
    expect(outcome.kind).toBe('rejected');
    expect(ids((outcome as Json).messages)).toEqual([4010011]);
  });

  it('missing fields are node messages (4000002), not throws, and nothing is looked up', async () => {
    const { method, lookups, hasher } = setup({ identities: [user] });
    const outcome = await login(method).submit(context(), { method: 'password', identifier: 'user@example.com' }) as Extract<Outcome, { kind: 'rejected' }>;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.fieldMessages?.password)).toEqual([4000002]);
    expect(outcome.values).toEqual({ identifier: 'user@example.com' });
    expect(lookups).toEqual([]);
    expect(hasher.calls).toEqual([]);
  });
});

describe('password method: login head start', () => {
  const user = identityRecord('user@example.com', { hash: `fake$${GOOD}` });
  const body = { method: 'password', identifier: 'User@Example.com', password: GOOD };

  it('reads the credential at once but hashes nothing until it is begun', async () => {
    const { method, lookups, hasher } = setup({ identities: [user] });
    const headStart = login(method).headStart!(body)!;
    await new Promise((resolve) => setImmediate(resolve));
    expect(lookups).toEqual(['user@example.com']);
    expect(hasher.calls).toEqual([]);
    await headStart.begin();
    expect(hasher.calls).toEqual([{ op: 'verify', password: GOOD, encoded: `fake$${GOOD}` }]);
  });

  it('begun, it is the submit\'s check: no second lookup, no second hash, the same outcome', async () => {
    const { method, lookups, hasher } = setup({ identities: [user] });
    const headStart = login(method).headStart!(body)!;
    await headStart.begin();
    const outcome = await login(method).submit({ ...context(), headStart }, body);
    expect(outcome).toEqual({ kind: 'authenticated', identityId: user.id, method: 'password', aal: 'aal1', identity: user });
    expect(lookups).toHaveLength(1);
    expect(hasher.calls).toHaveLength(1);
  });

  it('a wrong password begun early is rejected like a late one (4000006)', async () => {
    const { method } = setup({ identities: [user] });
    const wrong = { ...body, password: 'not it at all' };
    const headStart = login(method).headStart!(wrong)!;
    await headStart.begin();
    const outcome = await login(method).submit({ ...context(), headStart }, wrong);
    expect(outcome).toEqual({ kind: 'rejected', values: { identifier: 'User@Example.com' }, messages: [expect.objectContaining({ id: 4000006 })] });
  });

  it('is ignored for other values, or when it was never begun: the submit checks on its own', async () => {
    const other = identityRecord('other@example.com', { hash: `fake$${GOOD}` });
    const { method, lookups, hasher } = setup({ identities: [user, other] });
    const begun = login(method).headStart!(body)!;
    await begun.begin();
    const outcome = await login(method).submit({ ...context(), headStart: begun }, { ...body, identifier: 'other@example.com' });
    expect(outcome).toMatchObject({ kind: 'authenticated', identityId: other.id });
    const wrongPassword = await login(method).submit({ ...context(), headStart: begun }, { ...body, password: 'not it at all' });
    expect(wrongPassword.kind).toBe('rejected');
    const unbegun = login(method).headStart!(body)!;
    expect((await login(method).submit({ ...context(), headStart: unbegun }, body)).kind).toBe('authenticated');
    expect(lookups).toEqual(['user@example.com', 'other@example.com', 'user@example.com', 'user@example.com', 'user@example.com']);
    expect(hasher.calls.filter((c) => c.op === 'verify')).toHaveLength(4);
  });

  it('none for a payload the submit would refuse (nothing looked up)', () => {
    const { method, lookups } = setup({ identities: [user] });
    expect(login(method).headStart!({ method: 'password', identifier: 'user@example.com' })).toBeUndefined();
    expect(login(method).headStart!({ method: 'password', identifier: 42, password: GOOD })).toBeUndefined();
    expect(lookups).toEqual([]);
  });

  it('a lookup that fails and is never used raises nothing; used, it fails the submit as before', async () => {
    const failing = createPasswordMethod({
      ...({} as PasswordMethodDeps), hasher: fakeHasher(), schemas: registryOf(),
      policy: { check: async () => [] } as never,
      identities: { passwordCredential: () => Promise.reject(new Error('database down')) } as never,
    });
    login(failing).headStart!(body); // dropped: an unhandled rejection would fail this test run
    const headStart = login(failing).headStart!(body)!;
    await headStart.begin();
    await expect(login(failing).submit({ ...context(), headStart }, body)).rejects.toThrow('database down');
  });
});

describe('password method: registration', () => {
  it('nodes: a new password and "Sign up"', async () => {
    const { nodes } = await setup().method.registration!.nodes(context({ kind: 'registration' }));
    expect(nodes.map((n) => [n.group, attrs(n).name, attrs(n).type])).toEqual([['password', 'password', 'password'], ['password', 'method', 'submit']]);
    expect(attrs(nodes[0])).toMatchObject({ required: true, autocomplete: 'new-password' });
    expect(nodes[0].meta.label?.id).toBe(1070001);
    expect(nodes[1].meta.label).toMatchObject({ id: 1040001, text: 'Sign up' });
  });

  it('reports every problem at once (traits and payload) and does not consult the policy before the traits are valid', async () => {
    const { method, policyCalls, hasher } = setup();
    const outcome = await method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'ab', name: { first: 'x'.repeat(101) } } }) as Extract<Outcome, { kind: 'rejected' }>;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.fieldMessages?.['traits.email']).sort()).toEqual([4000003, 4000040]);
    expect(ids(outcome.fieldMessages?.['traits.name.first'])).toEqual([4000017]);
    expect(ids(outcome.fieldMessages?.password)).toEqual([4000002]);
    expect(outcome.values).toEqual({ traits: { email: 'ab', name: { first: 'x'.repeat(101) } } });
    expect(policyCalls).toEqual([]);
    expect(hasher.calls).toEqual([]);
  });

  it('the policy speaks on the password node, with the identifiers from the traits', async () => {
    const { method, policyCalls } = setup();
    const short = await method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'new@example.com' }, password: 'short' }) as Json;
    expect(short.kind).toBe('rejected');
    expect(ids(short.fieldMessages.password)).toEqual([4000032]);
    expect(policyCalls[0]).toEqual({ password: 'short', identifiers: ['new@example.com'] });
    const similar = await method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'new@example.com' }, password: 'new@example.com' }) as Json;
    expect(ids(similar.fieldMessages.password)).toEqual([4000031]);
  });

  it('valid: a new identity with a hashed password credential, asked to be stored', async () => {
    const { method, hasher } = setup();
    const outcome = await method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'New@Example.com' }, password: GOOD });
    expect(outcome.kind).toBe('registered');
    const change = outcome.changes!.identity!;
    expect(change.isNew).toBe(true);
    expect((outcome as Json).identityId).toBe(change.record.id);
    const credential = change.record.credentials.find((c) => c.type === 'password')!;
    expect(credential.config.hashed_password).toBe(`fake$${GOOD}`);
    expect(credential.identifiers).toEqual(['new@example.com']);
    expect(hasher.calls.map((c) => c.op)).toEqual(['hash']);
    expect(JSON.stringify(outcome)).not.toContain(`"${GOOD}"`);
  });

  it('an identifier that is taken: 4000007, or 4000028 naming the account\'s sign-in methods with login hints', async () => {
    const taken = await setup({ conflicts: true }).method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'taken@example.com' }, password: GOOD }) as Json;
    expect(taken.kind).toBe('rejected');
    expect(ids(taken.messages)).toEqual([4000007]);
    expect(taken.changes).toBeUndefined();
    const hinted = await setup({ conflicts: true, hints: true }).method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'taken@example.com' }, password: GOOD }) as Json;
    expect(ids(hinted.messages)).toEqual([4000028]);
    expect(hinted.messages[0].text).toBe('You tried signing in with taken@example.com which is already in use by another account. You can sign in using your password.');
  });

  it('an identifier that is taken, enumeration mitigated: a sign-up of an existing account, hashed like a new one', async () => {
    const { method, hasher } = setup({ conflicts: true, mitigate: true });
    const out = await method.registration!.submit(context({ kind: 'registration' }), { method: 'password', traits: { email: 'taken@example.com' }, password: GOOD }) as Json;
    expect(out.kind).toBe('registered');
    expect(out.existingAccount).toBe(true);
    expect(out.changes.identity.record.traits).toEqual({ email: 'taken@example.com' });
    expect(hasher.calls.map((c: Json) => c.op)).toEqual(['hash']);
  });
});

describe('password method: settings', () => {
  const owner = () => identityRecord('owner@example.com', { hash: `fake$${GOOD}` });

  it('nodes: a new password and "Save"', async () => {
    const { nodes } = await setup().method.settings!.nodes(context({ kind: 'settings', identity: owner(), state: 'show_form' }));
    expect(nodes.map((n) => [n.group, attrs(n).name, attrs(n).type])).toEqual([['password', 'password', 'password'], ['password', 'method', 'submit']]);
    expect(attrs(nodes[0]).autocomplete).toBe('new-password');
    expect(nodes[1].meta.label).toMatchObject({ id: 1070003, text: 'Save' });
  });

  it('without a privileged session: needs_refresh before any validation, hashing or policy check (Kratos checks the age first)', async () => {
    const { method, hasher, policyCalls } = setup();
    for (const payload of [{ method: 'password', password: 'a fine new passphrase' }, { method: 'password' }, { method: 'password', password: '' }]) {
      const outcome = await method.settings!.submit(context({ kind: 'settings', identity: owner(), privileged: false }), payload);
      expect(outcome).toEqual({ kind: 'needs_refresh' });
    }
    expect(hasher.calls).toEqual([]);
    expect(policyCalls).toEqual([]);
  });

  it('privileged: a missing password is 4000002, a weak one the policy\'s message, the current one 4000039', async () => {
    const { method } = setup();
    const ctx = () => context({ kind: 'settings', identity: owner(), privileged: true });
    const missing = await method.settings!.submit(ctx(), { method: 'password' }) as Json;
    expect(missing.kind).toBe('rejected');
    expect(ids(missing.fieldMessages.password)).toEqual([4000002]);
    const weak = await method.settings!.submit(ctx(), { method: 'password', password: 'short' }) as Json;
    expect(ids(weak.fieldMessages.password)).toEqual([4000032]);
    const same = await method.settings!.submit(ctx(), { method: 'password', password: GOOD }) as Json;
    expect(ids(same.fieldMessages.password)).toEqual([4000039]);
  });

  it('privileged and valid: the identity with the new hash, asked to be stored', async () => {
    const { method } = setup();
    const identity = owner();
    const outcome = await method.settings!.submit(context({ kind: 'settings', identity, privileged: true }), { method: 'password', password: 'a fine new passphrase' });
    expect(outcome.kind).toBe('updated');
    expect((outcome as Json).method).toBe('password');
    const record = outcome.changes!.identity!.record;
    expect(outcome.changes!.identity!.isNew).toBe(false);
    expect(record.id).toBe(identity.id);
    const credential = record.credentials.find((c) => c.type === 'password')!;
    expect(credential.config.hashed_password).toBe('fake$a fine new passphrase');
    expect(credential.identifiers).toEqual(['owner@example.com']);
    // The identity handed in is not changed in place.
    expect(identity.credentials[0].config.hashed_password).toBe(`fake$${GOOD}`);
  });

  it('an identity without a password gets a password credential', async () => {
    const identity = identityRecord('nopass@example.com');
    const outcome = await setup().method.settings!.submit(context({ kind: 'settings', identity, privileged: true }), { method: 'password', password: 'a fine new passphrase' });
    expect(outcome.kind).toBe('updated');
    const credential = outcome.changes!.identity!.record.credentials.find((c) => c.type === 'password')!;
    expect(credential.identifiers).toEqual(['nopass@example.com']);
    expect(credential.config.hashed_password).toBe('fake$a fine new passphrase');
  });
});
