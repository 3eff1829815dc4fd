const enc = new TextEncoder();

/** HMAC-SHA-256 (hex) keyed with a server secret, for one-time codes stored at rest. */
export class SecretHmac {
  readonly #key: Promise<CryptoKey>;

  constructor(secret: string, purpose: string) {
    this.#key = crypto.subtle.importKey('raw', enc.encode(`${purpose}:${secret}`), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  }

  async hex(value: string): Promise<string> {
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await this.#key, enc.encode(value)));
    return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
  }
}
