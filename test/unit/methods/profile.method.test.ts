/**
 * The profile method alone (Kratos `strategy/profile`): registration's traits step (profile-first and unified) and
 * trait changes in settings, where a protected change (identifier, verifiable or recovery address) needs a
 * privileged session.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { createProfileMethod } from '../../../src/methods/profile/profile.method.ts';
import type { UiNode } from '../../../src/ui/node.ts';
import { context, derive, identityRecord, ids, nodeNamed, NOW, registryOf } from './helpers.ts';

// Nodes and outcomes are compared field by field.
type Json = any;

function setup(options: { style?: 'profile_first' | 'unified'; conflicts?: boolean } = {}) {
  const schemas = registryOf();
  const replaced: IdentityRecord[] = [];
  const method = createProfileMethod({
    schemas,
    registrationStyle: options.style ?? 'profile_first',
    identities: {
      buildReplacement(current, input) {
        const next = derive({ ...current, traits: input.traits, updatedAt: NOW }, schemas);
        replaced.push(next);
        return next;
      },
      hasConflicts: async () => options.conflicts === true,
    },
  });
  return { method, replaced };
}

const attrs = (node: unknown): Json => (node as Json)?.attributes;
const shape = (nodes: UiNode[]) => nodes.map((n) => [n.group, attrs(n).name, attrs(n).type]);

describe('profile method: registration nodes', () => {
  it('profile-first, first screen: the traits (default group, labelled from the schema) and "Sign up" (method=profile)', async () => {
    const { nodes } = await setup().method.registration!.nodes(context({ kind: 'registration' }));
    expect(shape(nodes)).toEqual([
      ['default', 'traits.email', 'email'], ['default', 'traits.name.first', 'text'], ['default', 'traits.name.last', 'text'],
      ['profile', 'method', 'submit'],
    ]);
    expect(attrs(nodeNamed(nodes, 'traits.email')).required).toBe(true);
    expect(nodeNamed(nodes, 'traits.email')!.meta.label).toMatchObject({ id: 1070002, text: 'E-Mail' });
    expect(attrs(nodeNamed(nodes, 'method')).value).toBe('profile');
    expect(nodeNamed(nodes, 'method')!.meta.label).toMatchObject({ id: 1040001, text: 'Sign up' });
  });

  it('profile-first, credential selection: the traits hidden with their values, and "Back" (screen=previous)', async () => {
    const { nodes } = await setup().method.registration!.nodes(context({ kind: 'registration', screen: 'credential-selection', values: { traits: { email: 'new@example.com' } } }));
    const email = nodeNamed(nodes, 'traits.email')!;
    expect(attrs(email)).toMatchObject({ type: 'hidden', value: 'new@example.com' });
    expect(nodes.filter((n) => n.group === 'default').every((n) => attrs(n).type === 'hidden')).toBe(true);
    const back = nodeNamed(nodes, 'screen')!;
    expect(back.group).toBe('profile');
    expect(attrs(back)).toMatchObject({ type: 'submit', value: 'previous' });
    expect(back.meta.label?.id).toBe(1040008);
    expect(nodeNamed(nodes, 'method')).toBeUndefined();
  });

  it('unified: the traits alone (each credential method brings its own submit)', async () => {
    const { nodes } = await setup({ style: 'unified' }).method.registration!.nodes(context({ kind: 'registration', values: { traits: { email: 'kept@example.com' } } }));
    expect(shape(nodes).every(([group, name]) => group === 'default' && String(name).startsWith('traits.'))).toBe(true);
    expect(attrs(nodeNamed(nodes, 'traits.email')).value).toBe('kept@example.com');
  });
});

describe('profile method: registration submit', () => {
  it('valid traits move to the credential selection with 1040009, values kept', async () => {
    const outcome = await setup().method.registration!.submit(context({ kind: 'registration' }), { method: 'profile', traits: { email: 'new@example.com' } });
    expect(outcome).toEqual({
      kind: 'next_screen', screen: 'credential-selection', values: { traits: { email: 'new@example.com' } },
      messages: [expect.objectContaining({ id: 1040009, type: 'info' })],
    });
  });

  it('invalid traits are node messages, every one of them, and the values come back', async () => {
    const outcome = await setup().method.registration!.submit(context({ kind: 'registration' }), { method: 'profile', traits: { email: 'not an e-mail', name: { last: 'y'.repeat(101) } } }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.fieldMessages['traits.email'])).toEqual([4000040]);
    expect(ids(outcome.fieldMessages['traits.name.last'])).toEqual([4000017]);
    expect(outcome.values).toEqual({ traits: { email: 'not an e-mail', name: { last: 'y'.repeat(101) } } });
    const missing = await setup().method.registration!.submit(context({ kind: 'registration' }), { method: 'profile', traits: {} }) as Json;
    expect(ids(missing.fieldMessages['traits.email'])).toEqual([4000002]);
  });

  it('"Back" (screen=previous) returns to the traits with the submitted values, without validating them', async () => {
    const outcome = await setup().method.registration!.submit(context({ kind: 'registration', screen: 'credential-selection' }), { method: 'profile', screen: 'previous', traits: { email: 'half typed' } });
    expect(outcome).toEqual({ kind: 'next_screen', values: { traits: { email: 'half typed' } } });
  });
});

describe('profile method: settings', () => {
  const owner = () => identityRecord('owner@example.com', { hash: 'fake$x', traits: { email: 'owner@example.com', name: { first: 'Ada' } } });

  it('nodes: the owner\'s traits in the profile group and "Save"; submitted values win over stored ones', async () => {
    const { nodes } = await setup().method.settings!.nodes(context({ kind: 'settings', state: 'show_form', identity: owner() }));
    expect(nodes.filter((n) => attrs(n).name !== 'method').every((n) => n.group === 'profile')).toBe(true);
    expect(attrs(nodeNamed(nodes, 'traits.email')).value).toBe('owner@example.com');
    expect(attrs(nodeNamed(nodes, 'traits.name.first')).value).toBe('Ada');
    expect(nodeNamed(nodes, 'method', 'submit')!.meta.label).toMatchObject({ id: 1070003, text: 'Save' });
    const echoed = await setup().method.settings!.nodes(context({ kind: 'settings', state: 'show_form', identity: owner(), values: { traits: { email: 'typed@example.com' } } }));
    expect(attrs(nodeNamed(echoed.nodes, 'traits.email')).value).toBe('typed@example.com');
  });

  it('a trait that is no identifier nor address changes without a privileged session', async () => {
    const identity = owner();
    const outcome = await setup().method.settings!.submit(context({ kind: 'settings', identity, privileged: false }), { method: 'profile', traits: { email: 'owner@example.com', name: { first: 'Grace' } } });
    expect(outcome.kind).toBe('updated');
    expect(outcome.changes!.identity!.isNew).toBe(false);
    expect(outcome.changes!.identity!.record.traits).toEqual({ email: 'owner@example.com', name: { first: 'Grace' } });
    expect(identity.traits).toEqual({ email: 'owner@example.com', name: { first: 'Ada' } });
  });

  it('changing the e-mail (identifier, verifiable and recovery address) needs a privileged session', async () => {
    const unprivileged = await setup().method.settings!.submit(context({ kind: 'settings', identity: owner(), privileged: false }), { method: 'profile', traits: { email: 'new@example.com' } });
    expect(unprivileged).toEqual({ kind: 'needs_refresh' });
    const privileged = await setup().method.settings!.submit(context({ kind: 'settings', identity: owner(), privileged: true }), { method: 'profile', traits: { email: 'new@example.com' } });
    expect(privileged.kind).toBe('updated');
    const record = privileged.changes!.identity!.record;
    expect(record.credentials.find((c) => c.type === 'password')!.identifiers).toEqual(['new@example.com']);
    expect(record.verifiableAddresses.map((a) => [a.value, a.verified])).toEqual([['new@example.com', false]]);
  });

  it('invalid traits are rejected with node messages before any privilege question', async () => {
    const outcome = await setup().method.settings!.submit(context({ kind: 'settings', identity: owner(), privileged: false }), { method: 'profile', traits: { email: 'not an e-mail' } }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.fieldMessages['traits.email'])).toEqual([4000040]);
    expect(outcome.values).toEqual({ traits: { email: 'not an e-mail' } });
    expect(outcome.changes).toBeUndefined();
  });

  it('an e-mail another identity holds: 4000007, nothing to store', async () => {
    const outcome = await setup({ conflicts: true }).method.settings!.submit(context({ kind: 'settings', identity: owner(), privileged: true }), { method: 'profile', traits: { email: 'taken@example.com' } }) as Json;
    expect(outcome.kind).toBe('rejected');
    expect(ids(outcome.messages)).toEqual([4000007]);
    expect(outcome.changes).toBeUndefined();
  });
});
