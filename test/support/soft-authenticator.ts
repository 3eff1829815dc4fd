/**
 * A software WebAuthn authenticator (a security key / passkey in memory) for fast HTTP tests of the relying party:
 * `create` and `get` stand in for `navigator.credentials.create/get` and return what a browser's `toJSON()` posts
 * (every binary field base64url without padding). ES256 only (ECDSA P-256 / SHA-256 through WebCrypto), attestation
 * "none", a hand-written CBOR encoder, no extensions.
 *
 * Overrides forge a single field of the response (challenge, origin via the `origin` argument, type, RP ID hash,
 * flags, counter, user handle, signer) so tests can show that the relying party rejects it.
 */

/** base64url without padding (what browsers' `PublicKeyCredential.toJSON()` produce). */
export const b64url = {
  encode(bytes: Uint8Array): string {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  },
  decode(text: string): Uint8Array<ArrayBuffer> {
    if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new TypeError(`not base64url: ${JSON.stringify(text)}`);
    return new Uint8Array(Buffer.from(text, 'base64url'));
  },
};

export interface SoftCredential {
  /** Credential ID, base64url. */
  id: string;
  rpId: string;
  /** base64url of the `user.id` bytes given at registration. */
  userHandle: string;
  /** Signature counter of the last response (0 after registration). */
  counter: number;
  /** Client-side discoverable ("resident key", passkey). */
  discoverable: boolean;
  privateKey: CryptoKey;
  /** The COSE_Key (EC2, ES256) as put in the attested credential data. */
  publicKeyCose: Uint8Array;
}

export interface SoftAuthenticatorOptions {
  /** 16 bytes; default all zero (as with "none" attestation). */
  aaguid?: Uint8Array;
  /** Sets the UV flag in every response (default true). */
  userVerification?: boolean;
  /** Sets the BE flag, and BS with it (a synced passkey); default false. */
  backupEligible?: boolean;
  /** Can store discoverable credentials (default true). */
  residentKeys?: boolean;
}

export interface SoftRegistrationResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: {};
  authenticatorAttachment: 'cross-platform';
}

export interface SoftAuthenticationResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: {};
  authenticatorAttachment: 'cross-platform';
}

export interface SoftCreateOverrides {
  /** RP ID whose SHA-256 goes into authData (the credential is still stored under the real one). */
  rpId?: string;
  /** Challenge written into clientDataJSON. */
  challenge?: string;
  /** clientDataJSON `type` (default "webauthn.create"). */
  type?: string;
  userVerified?: boolean;
  userPresent?: boolean;
}

export interface SoftGetOverrides {
  /**
   * If it names one of our credentials, that credential answers (whatever allowCredentials and the RP ID say);
   * otherwise the response merely reports this ID (id/rawId) while the selected credential signs.
   */
  credentialId?: string;
  /** RP ID whose SHA-256 goes into authData (selection still uses the real one). */
  rpId?: string;
  challenge?: string;
  /** clientDataJSON `type` (default "webauthn.get"). */
  type?: string;
  /** signCount to report; the stored counter is then left unchanged. */
  counter?: number;
  /** User handle to report (base64url), or null to omit it. */
  userHandle?: string | null;
  userVerified?: boolean;
  userPresent?: boolean;
  /** Report the user handle even for a non-discoverable credential. */
  includeUserHandle?: boolean;
  /** Sign with this credential's key instead (the response still names the selected credential). */
  signWith?: SoftCredential;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;
const COSE_ALG_ES256 = -7;

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  readonly #aaguid: Uint8Array;
  readonly #userVerification: boolean;
  readonly #backupEligible: boolean;
  readonly #residentKeys: boolean;

  constructor(options: SoftAuthenticatorOptions = {}) {
    const aaguid = options.aaguid ?? new Uint8Array(16);
    if (aaguid.length !== 16) throw new RangeError('aaguid must be 16 bytes');
    this.#aaguid = new Uint8Array(aaguid);
    this.#userVerification = options.userVerification ?? true;
    this.#backupEligible = options.backupEligible ?? false;
    this.#residentKeys = options.residentKeys ?? true;
  }

  /** `navigator.credentials.create({ publicKey })` with `publicKey` in its JSON form (as the RP sends it). */
  async create(publicKey: any, origin: string, overrides: SoftCreateOverrides = {}): Promise<SoftRegistrationResponse> {
    if (!publicKey || typeof publicKey !== 'object') throw new TypeError('publicKey options required');
    const rpId: string = publicKey.rp?.id ?? new URL(origin).hostname;
    if (typeof publicKey.challenge !== 'string') throw new TypeError('publicKey.challenge (base64url) required');
    if (typeof publicKey.user?.id !== 'string') throw new TypeError('publicKey.user.id (base64url) required');
    const userHandle = b64url.encode(b64url.decode(publicKey.user.id));

    const params: Array<{ type?: string; alg?: number }> | undefined = publicKey.pubKeyCredParams;
    if (params && params.length > 0 && !params.some((p) => p.type === 'public-key' && p.alg === COSE_ALG_ES256)) {
      throw new DOMException('No supported algorithm (only ES256) in pubKeyCredParams', 'NotSupportedError');
    }

    for (const excluded of (publicKey.excludeCredentials ?? []) as Array<{ id: string }>) {
      if (this.credentials.some((c) => c.rpId === rpId && c.id === excluded.id)) {
        throw new DOMException('The authenticator already holds one of the excluded credentials', 'InvalidStateError');
      }
    }

    const selection = publicKey.authenticatorSelection ?? {};
    const residentKey: string = selection.residentKey ?? (selection.requireResidentKey ? 'required' : 'discouraged');
    if (residentKey === 'required' && !this.#residentKeys) {
      throw new DOMException('The authenticator cannot store discoverable credentials', 'NotAllowedError');
    }
    const discoverable = this.#residentKeys && (residentKey === 'required' || residentKey === 'preferred');

    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const rawPublic = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)); // 0x04 | x | y
    const publicKeyCose = cborEncode(
      new Map<CborKey, CborValue>([
        [1, 2], // kty: EC2
        [3, COSE_ALG_ES256], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, rawPublic.slice(1, 33)], // x
        [-3, rawPublic.slice(33, 65)], // y
      ]),
    );
    const credentialId = crypto.getRandomValues(new Uint8Array(32));
    const credential: SoftCredential = {
      id: b64url.encode(credentialId),
      rpId,
      userHandle,
      counter: 0,
      discoverable,
      privateKey: pair.privateKey,
      publicKeyCose,
    };

    const idLength = new Uint8Array([credentialId.length >> 8, credentialId.length & 0xff]);
    const authData = concat(
      await sha256(utf8(overrides.rpId ?? rpId)),
      new Uint8Array([this.#flags(overrides.userPresent, overrides.userVerified) | FLAG_AT]),
      uint32(credential.counter),
      this.#aaguid,
      idLength,
      credentialId,
      publicKeyCose,
    );
    const attestationObject = cborEncode(
      new Map<CborKey, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = clientData(overrides.type ?? 'webauthn.create', overrides.challenge ?? publicKey.challenge, origin);

    this.credentials.push(credential);
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: { clientDataJSON: b64url.encode(clientDataJSON), attestationObject: b64url.encode(attestationObject), transports: ['usb'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /**
   * `navigator.credentials.get({ publicKey })`. With `allowCredentials`: the first of ours listed for the RP ID;
   * without: the newest discoverable credential for the RP ID. Throws NotAllowedError when none fits.
   * Increments the credential's counter (unless `overrides.counter`). The user handle is returned for discoverable
   * credentials, and for the others only with `includeUserHandle`.
   */
  async get(publicKey: any, origin: string, overrides: SoftGetOverrides = {}): Promise<SoftAuthenticationResponse> {
    if (!publicKey || typeof publicKey !== 'object') throw new TypeError('publicKey options required');
    if (typeof publicKey.challenge !== 'string') throw new TypeError('publicKey.challenge (base64url) required');
    const rpId: string = publicKey.rpId ?? new URL(origin).hostname;

    let credential = overrides.credentialId === undefined ? undefined : this.credentials.find((c) => c.id === overrides.credentialId);
    credential ??= this.#select(rpId, publicKey.allowCredentials) ?? overrides.signWith;
    if (!credential) throw new DOMException(`No credential of this authenticator fits RP ID "${rpId}"`, 'NotAllowedError');

    let counter: number;
    if (overrides.counter === undefined) counter = credential.counter = credential.counter + 1;
    else counter = overrides.counter;

    const authData = concat(
      await sha256(utf8(overrides.rpId ?? rpId)),
      new Uint8Array([this.#flags(overrides.userPresent, overrides.userVerified)]),
      uint32(counter),
    );
    const clientDataJSON = clientData(overrides.type ?? 'webauthn.get', overrides.challenge ?? publicKey.challenge, origin);
    const signed = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, (overrides.signWith ?? credential).privateKey, signed),
    );

    let userHandle: string | undefined;
    if (overrides.userHandle !== undefined) userHandle = overrides.userHandle ?? undefined;
    else if (credential.discoverable || overrides.includeUserHandle) userHandle = credential.userHandle;

    const id = overrides.credentialId ?? credential.id;
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url.encode(clientDataJSON),
        authenticatorData: b64url.encode(authData),
        signature: b64url.encode(derSignature(raw)),
        ...(userHandle === undefined ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  #select(rpId: string, allowCredentials: Array<{ id: string }> | undefined): SoftCredential | undefined {
    const ours = this.credentials.filter((c) => c.rpId === rpId);
    if (allowCredentials && allowCredentials.length > 0) {
      for (const allowed of allowCredentials) {
        const match = ours.find((c) => c.id === allowed.id);
        if (match) return match;
      }
      return undefined;
    }
    return ours.filter((c) => c.discoverable).at(-1);
  }

  #flags(userPresent: boolean | undefined, userVerified: boolean | undefined): number {
    let flags = 0;
    if (userPresent ?? true) flags |= FLAG_UP;
    if (userVerified ?? this.#userVerification) flags |= FLAG_UV;
    if (this.#backupEligible) flags |= FLAG_BE | FLAG_BS;
    return flags;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Bytes

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode(text));
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function uint32(value: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`signCount out of range: ${value}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

function clientData(type: string, challenge: string, origin: string): Uint8Array<ArrayBuffer> {
  return utf8(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

/** WebCrypto's raw r||s (IEEE P1363) to ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` with minimal integers. */
function derSignature(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new RangeError(`expected a 64-byte P-256 signature, got ${raw.length}`);
  const integer = (bytes: Uint8Array): Uint8Array => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    const body = trimmed[0] & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const sequence = concat(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  return concat(new Uint8Array([0x30, sequence.length]), sequence); // at most 70 bytes: short-form length
}

// ---------------------------------------------------------------------------------------------------------------------
// CBOR (RFC 8949), just what attestation objects and COSE keys need; maps in CTAP2 canonical key order.

type CborKey = number | string;
type CborValue = number | string | boolean | Uint8Array | CborValue[] | Map<CborKey, CborValue>;

function cborHead(major: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`CBOR length/value out of range: ${length}`);
  const m = major << 5;
  if (length < 24) return new Uint8Array([m | length]);
  if (length < 0x100) return new Uint8Array([m | 24, length]);
  if (length < 0x10000) return new Uint8Array([m | 25, length >> 8, length & 0xff]);
  if (length < 0x100000000) {
    const out = new Uint8Array([m | 26, 0, 0, 0, 0]);
    new DataView(out.buffer).setUint32(1, length);
    return out;
  }
  const out = new Uint8Array([m | 27, 0, 0, 0, 0, 0, 0, 0, 0]);
  new DataView(out.buffer).setBigUint64(1, BigInt(length));
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function cborEncode(value: CborValue): Uint8Array<ArrayBuffer> {
  if (typeof value === 'boolean') return new Uint8Array([value ? 0xf5 : 0xf4]);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`CBOR: only integers are supported, got ${value}`);
    return concat(value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value));
  }
  if (typeof value === 'string') {
    const bytes = utf8(value);
    return concat(cborHead(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(cborHead(2, value.length), value);
  if (Array.isArray(value)) return concat(cborHead(4, value.length), ...value.map(cborEncode));
  const entries = [...value].map(([k, v]) => [cborEncode(k), cborEncode(v)] as const);
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  return concat(cborHead(5, entries.length), ...entries.flat());
}
