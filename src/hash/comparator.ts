import { parseArgon2, verifyArgon2, type Argon2Hash } from './argon2.ts';
import { parseBcrypt, verifyBcrypt, type BcryptHash } from './bcrypt.ts';
import type { HashEngine } from './engine.ts';
import { unsupported } from './errors.ts';
import { detectHashFormat } from './formats.ts';
import { parseCrypt, verifyCrypt, type CryptHash } from './legacy/crypt.ts';
import { parseHmac, verifyHmac, type HmacHash } from './legacy/hmac.ts';
import { parsePbkdf2, verifyPbkdf2, type Pbkdf2Hash } from './legacy/pbkdf2.ts';
import { parseSaltedDigest, verifySaltedDigest, type SaltedDigestHash } from './legacy/salted-digest.ts';
import { parseFirescrypt, parseScrypt, verifyFirescrypt, verifyScrypt, type FirescryptHash, type ScryptHash } from './legacy/scrypt.ts';
import { parseSsha, verifySsha, type SshaHash } from './legacy/ssha.ts';

export type ParsedHash = Argon2Hash | BcryptHash | Pbkdf2Hash | ScryptHash | FirescryptHash | SshaHash | SaltedDigestHash | HmacHash | CryptHash;

/** Detects the format by prefix and decodes it; throws HashFormatError (unsupported, malformed, over limits). */
export function parseHash(encoded: string): ParsedHash {
  switch (detectHashFormat(encoded)) {
    case 'argon2id':
    case 'argon2i':
      return parseArgon2(encoded);
    case 'bcrypt':
      return parseBcrypt(encoded);
    case 'pbkdf2':
      return parsePbkdf2(encoded);
    case 'scrypt':
      return parseScrypt(encoded);
    case 'firescrypt':
      return parseFirescrypt(encoded);
    case 'ssha':
      return parseSsha(encoded);
    case 'salted-sha':
    case 'md5':
      return parseSaltedDigest(encoded);
    case 'hmac':
      return parseHmac(encoded);
    case 'md5-crypt':
    case 'sha256-crypt':
    case 'sha512-crypt':
      return parseCrypt(encoded);
    case undefined:
      throw unsupported();
  }
}

export function verifyParsed(h: ParsedHash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  switch (h.format) {
    case 'argon2id':
    case 'argon2i':
      return verifyArgon2(h, password, engine);
    case 'bcrypt':
      return verifyBcrypt(h, password, engine);
    case 'pbkdf2':
      return verifyPbkdf2(h, password, engine);
    case 'scrypt':
      return verifyScrypt(h, password, engine);
    case 'firescrypt':
      return verifyFirescrypt(h, password, engine);
    case 'ssha':
      return verifySsha(h, password);
    case 'salted-digest':
      return verifySaltedDigest(h, password);
    case 'hmac':
      return verifyHmac(h, password);
    case 'crypt':
      return verifyCrypt(h, password, engine);
  }
}
