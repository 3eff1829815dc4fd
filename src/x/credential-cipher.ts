import { Sealer } from './page-token.ts';
import { SecretHmac } from './hmac.ts';

/**
 * Secrets of second-factor credentials at rest (`secrets.cipher`): values a method must read back (a TOTP key, the
 * backup codes it re-shows) are sealed with AES-GCM and bound to the identity and purpose; values it only compares (a
 * backup code typed at login) are kept as HMACs. The first cipher secret seals and keys new MACs; every secret opens
 * and is tried when comparing, so secrets can be rotated.
 */
export class CredentialCipher {
  readonly #sealer: Sealer;
  readonly #macs: SecretHmac[];

  constructor(secrets: string[]) {
    this.#sealer = new Sealer(secrets, 'idflow-credential');
    this.#macs = secrets.map((secret) => new SecretHmac(secret, 'idflow-credential-mac'));
  }

  seal(identityId: string, purpose: string, value: string): Promise<string> {
    return this.#sealer.seal(`${purpose}:${identityId}`, value);
  }

  /** The sealed value, or undefined when it was sealed for another identity or purpose, or by an unknown secret. */
  async open(identityId: string, purpose: string, sealed: string): Promise<string | undefined> {
    const value = await this.#sealer.open<unknown>(`${purpose}:${identityId}`, sealed);
    return typeof value === 'string' ? value : undefined;
  }

  /** The MAC of `value` for this identity and purpose under the current secret (to store). */
  mac(identityId: string, purpose: string, value: string): Promise<string> {
    return this.#macs[0].hex(`${purpose}:${identityId}:${value}`);
  }

  /** The MACs of `value` under every secret, current first (to compare against a stored MAC). */
  macs(identityId: string, purpose: string, value: string): Promise<string[]> {
    return Promise.all(this.#macs.map((m) => m.hex(`${purpose}:${identityId}:${value}`)));
  }
}
