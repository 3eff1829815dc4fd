import { KratosError } from '../errors/kratos-error.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function b64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export const invalidPageToken = () =>
  new KratosError(400, undefined, { reason: 'The page token is invalid, do not craft your own page tokens.' });

/**
 * JSON payloads sealed with AES-GCM and bound to a context through the additional data, so a forged, tampered or
 * cross-context value never opens. The first secret seals; all of them open (rotation).
 */
export class Sealer {
  readonly #keys: Promise<CryptoKey[]>;

  constructor(secrets: string[], purpose: string) {
    if (secrets.length === 0) throw new Error(`${purpose} needs at least one secret`);
    this.#keys = Promise.all(secrets.map(async (secret) => {
      const digest = await crypto.subtle.digest('SHA-256', enc.encode(`${purpose}:${secret}`));
      return crypto.subtle.importKey('raw', digest, 'AES-GCM', false, ['encrypt', 'decrypt']);
    }));
  }

  async seal(context: string, payload: unknown): Promise<string> {
    const [key] = await this.#keys;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: enc.encode(context) }, key, enc.encode(JSON.stringify(payload)),
    ));
    const out = new Uint8Array(iv.length + sealed.length);
    out.set(iv);
    out.set(sealed, iv.length);
    return b64url(out);
  }

  /** The payload, or undefined when the value was not sealed by one of our secrets for this context. */
  async open<T>(context: string, value: string): Promise<T | undefined> {
    let raw: Uint8Array;
    try {
      raw = fromB64url(value);
    } catch {
      return undefined;
    }
    if (raw.length < 12 + 16) return undefined;
    for (const key of await this.#keys) {
      try {
        const plain = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: raw.slice(0, 12), additionalData: enc.encode(context) }, key, raw.slice(12),
        );
        return JSON.parse(dec.decode(plain)) as T;
      } catch {
        // try the next (older) secret
      }
    }
    return undefined;
  }
}

/**
 * Keyset page tokens sealed and bound to their endpoint, so a forged, tampered or cross-endpoint token is a 400 and
 * never reveals rows (cf. GHSA-hgx2-28f8-6g2r).
 */
export class PageTokenSealer {
  readonly #sealer: Sealer;

  constructor(secrets: string[]) {
    this.#sealer = new Sealer(secrets, 'idflow-page-token');
  }

  /**
   * A token never begins with '-': on a command line (`idflow identities list TOKEN SIZE`, `--page-token TOKEN`) it
   * would be read as an option. Its first character comes from the random IV, so 1 in 64 seals is done again.
   */
  async seal(context: string, payload: Record<string, unknown>): Promise<string> {
    for (;;) {
      const token = await this.#sealer.seal(context, payload);
      if (!token.startsWith('-')) return token;
    }
  }

  async open<T extends Record<string, unknown>>(context: string, token: string): Promise<T> {
    if (token.length > 2048) throw invalidPageToken();
    const payload = await this.#sealer.open<T>(context, token);
    if (!payload || typeof payload !== 'object') throw invalidPageToken();
    return payload;
  }
}
