/**
 * The byte encodings WebAuthn data travels in: base64url without padding in options and browser payloads, standard
 * base64 with padding in stored credential configs (how Go marshals `[]byte`), lower-case hex on remove buttons.
 */

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const B64STD = /^[A-Za-z0-9+/]*={0,2}$/;

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function b64std(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** base64url (padding tolerated) to bytes; undefined when the text is not base64url. */
export function fromB64url(text: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== 'string' || !B64URL.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

/** Standard base64 to bytes; undefined when the text is not base64. */
export function fromB64std(text: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== 'string' || !B64STD.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Whether standard base64 text (a stored id or user handle) encodes these bytes; text that is no base64 is empty. */
export function b64stdEquals(text: string | null | undefined, bytes: Uint8Array): boolean {
  return bytesEqual(fromB64std(text) ?? new Uint8Array(), bytes);
}

/** A UUID's 16 bytes (an identity id as Kratos's `id.ID.Bytes()`). */
export function uuidBytes(uuid: string): Uint8Array {
  const digits = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(digits)) throw new RangeError(`not a UUID: ${uuid}`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
