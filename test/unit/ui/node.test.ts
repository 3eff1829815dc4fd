import { describe, expect, it } from 'vitest';
import {
  anchorNode,
  csrfNode,
  divisionNode,
  imageNode,
  inputNode,
  nodeKey,
  scriptNode,
  submitNode,
  textNode,
  uiContainer,
} from '../../../src/ui/node.ts';
import { messageText, uiText } from '../../../src/ui/messages.ts';
import { attachTraitErrors } from '../../../src/ui/trait-errors.ts';

describe('UI node constructors', () => {
  it('builds input nodes with messages and meta always present', () => {
    const n = inputNode('password', 'password', 'password', { required: true, autocomplete: 'current-password', label: uiText(1070001) });
    expect(n).toEqual({
      type: 'input',
      group: 'password',
      attributes: { name: 'password', type: 'password', required: true, autocomplete: 'current-password', disabled: false, node_type: 'input' },
      messages: [],
      meta: { label: { id: 1070001, text: 'Password', type: 'info' } },
    });
    expect('value' in n.attributes).toBe(false);
    expect(submitNode('password', 'method', 'password', uiText(1010022)).attributes).toMatchObject({ type: 'submit', value: 'password' });
  });

  it('builds the CSRF node with and without a token', () => {
    expect(csrfNode('tok').attributes).toEqual({ name: 'csrf_token', type: 'hidden', value: 'tok', required: true, disabled: false, node_type: 'input' });
    expect('value' in csrfNode().attributes).toBe(false);
  });

  it('builds text, img, a, script and div nodes', () => {
    expect(textNode('totp', 'totp_secret_key', uiText(1050006, { secret: 'X' }, 'info', 'X')).attributes).toEqual({
      id: 'totp_secret_key',
      text: { id: 1050006, text: 'X', type: 'info', context: { secret: 'X' } },
      node_type: 'text',
    });
    expect(imageNode('totp', 'totp_qr', 'data:image/png;base64,AA', 256, 256).attributes).toEqual({
      src: 'data:image/png;base64,AA', id: 'totp_qr', width: 256, height: 256, node_type: 'img',
    });
    expect(anchorNode('default', 'link', 'https://x', uiText(1070009)).type).toBe('a');
    const script = scriptNode('webauthn', 'webauthn_script', 'https://x/.well-known/ory/webauthn.js', { integrity: 'sha512-x', nonce: 'n' });
    expect(script.attributes).toMatchObject({ async: true, referrerpolicy: 'no-referrer', crossorigin: 'anonymous', type: 'text/javascript', node_type: 'script' });
    expect(divisionNode('captcha', 'captcha', { class: 'c' }).attributes).toEqual({ id: 'captcha', class: 'c', node_type: 'div' });
    expect(nodeKey(script)).toBe('webauthn_script');
    expect(nodeKey(csrfNode())).toBe('csrf_token');
  });

  it('omits empty container messages', () => {
    expect(uiContainer('https://x/self-service/login?flow=1', [])).toEqual({ action: 'https://x/self-service/login?flow=1', method: 'POST', nodes: [] });
    expect(uiContainer('a', [], [uiText(4000006)]).messages).toHaveLength(1);
  });
});

describe('messages catalog', () => {
  it('renders texts from context', () => {
    expect(messageText(4000002, { property: 'email' })).toBe('Property email is missing.');
    expect(messageText(4000003, { min_length: 3, actual_length: 2 })).toBe('length must be >= 3, but got 2');
    expect(messageText(4000017, { max_length: 5, actual_length: 9 })).toBe('length must be <= 5, but got 9');
    expect(messageText(4000004, { pattern: '^a$' })).toBe('does not match pattern "^a$"');
    expect(messageText(4000004, { format: 'email', value: 'foo' })).toBe('"foo" is not valid "email"');
    expect(messageText(4000026, { allowed_types: ['string', 'null'], actual_type: 'number' })).toBe('expected string or null, but got number');
    expect(messageText(4000001, { reason: 'nope' })).toBe('nope');
    expect(messageText(1070002, { title: 'E-Mail', name: 'traits.email' })).toBe('E-Mail');
    expect(messageText(9999999, { reason: 'fallback' })).toBe('fallback');
  });

  it('types ids by range', () => {
    expect(uiText(4000002, { property: 'x' })).toEqual({ id: 4000002, text: 'Property x is missing.', type: 'error', context: { property: 'x' } });
    expect(uiText(1070004).type).toBe('info');
  });

  it('attaches trait errors to matching input nodes', () => {
    const nodes = [inputNode('default', 'traits.name.first', 'text'), inputNode('default', 'traits.email', 'email')];
    const rest = attachTraitErrors(nodes, [
      { pointer: '/traits/email', id: 4000002, message: 'Property email is missing.', context: { property: 'email' } },
      { pointer: '/traits', id: 4000001, message: 'additionalProperties "x" not allowed', context: { reason: 'additionalProperties "x" not allowed' } },
    ]);
    expect(nodes[1].messages).toEqual([{ id: 4000002, text: 'Property email is missing.', type: 'error', context: { property: 'email' } }]);
    expect(nodes[0].messages).toEqual([]);
    expect(rest).toEqual([{ id: 4000001, text: 'additionalProperties "x" not allowed', type: 'error', context: { reason: 'additionalProperties "x" not allowed' } }]);
  });
});
