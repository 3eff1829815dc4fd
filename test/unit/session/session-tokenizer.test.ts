/** Tokenizer templates are checked at start-up: each bad one stops the start, naming its key. */
import { describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import { SessionTokenizer, TokenizerConfigError } from '../../../src/session/session-tokenizer.ts';
import { loadJsonnetSource } from '../../../src/hooks/jsonnet.ts';
import type { TokenizerTemplateConfig } from '../../../config/types.ts';

const b64 = (value: unknown) => `base64://${Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64')}`;

function create(template: TokenizerTemplateConfig) {
  return SessionTokenizer.create({
    templates: { t: template },
    clock: { now: () => new Date() },
    issuer: () => 'https://idflow.example/',
    baseDir: process.cwd(),
    loadJsonnet: loadJsonnetSource,
    evaluateJsonnet: async () => ({}),
  });
}

describe('session tokenizer templates', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), alg: 'ES256' };
  const publicJwk = { ...(await exportJWK(publicKey)), alg: 'ES256' };

  it('accepts a base64:// set whose first key is private and names its alg', async () => {
    await expect(create({ jwks_url: b64({ keys: [privateJwk] }) })).resolves.toBeInstanceOf(SessionTokenizer);
  });

  const refusals: Array<[string, TokenizerTemplateConfig, RegExp]> = [
    ['a key without alg', { jwks_url: b64({ keys: [{ ...privateJwk, alg: undefined }] }) }, /jwks_url: .*valid "alg" parameter but "" was given/],
    ['a public key only', { jwks_url: b64({ keys: [publicJwk] }) }, /jwks_url: .*no private key/],
    ['an empty set', { jwks_url: b64({ keys: [] }) }, /jwks_url: .*no key/],
    ['not JSON', { jwks_url: b64('nope') }, /jwks_url: .*not JSON/],
    ['a JWKS over HTTPS (Kratos: file and base64 only)', { jwks_url: 'https://keys.example/jwks.json' }, /jwks_url: use a file:\/\/ or base64:\/\//],
    ['a missing file', { jwks_url: 'file:///nonexistent/jwks.json' }, /jwks_url: cannot read .*ENOENT/],
    ['a mapper over HTTPS', { jwks_url: b64({ keys: [privateJwk] }), claims_mapper_url: 'https://mapper.example/m.jsonnet' }, /claims_mapper_url: use a file:\/\/ or base64:\/\//],
    ['a bad ttl', { jwks_url: b64({ keys: [privateJwk] }), ttl: 'soon' }, /ttl: invalid duration/],
  ];
  for (const [name, template, message] of refusals) {
    it(`refuses ${name}`, async () => {
      const failure = create(template);
      await expect(failure).rejects.toBeInstanceOf(TokenizerConfigError);
      await expect(failure).rejects.toThrow(/^session\.whoami\.tokenizer\.templates\.t\./);
      await expect(failure).rejects.toThrow(message);
    });
  }
});
