import type { HashersConfig } from '../../config/types.ts';
import { argon2NeedsRehash, argon2ParamsFromConfig, hashArgon2id } from './argon2.ts';
import { bcryptCostFromConfig, hashBcrypt } from './bcrypt.ts';
import { parseHash, verifyParsed, type ParsedHash } from './comparator.ts';
import { utf8 } from './encoding.ts';
import { HashEngine, type EngineDescription, type EngineOptions } from './engine.ts';
import { HashFormatError, toImportError, unsupported } from './errors.ts';

export interface PasswordHasher {
  readonly algorithm: HashersConfig['algorithm'];
  /** A new hash of the NFKC form in the configured algorithm. bcrypt throws PasswordTooLongError above 72 bytes. */
  hash(password: string): Promise<string>;
  /**
   * Checks a password (its NFKC form, then as typed when that differs) against a hash in any supported format. A hash that cannot be used
   * (unknown, malformed, over the cost limits) never matches: false, not an error.
   */
  verify(password: string, encoded: string): Promise<boolean>;
  /** True when the hash is not in the configured algorithm or any of its parameters is below the configured ones. */
  needsRehash(encoded: string): boolean;
  /** Throws KratosError 400 naming the problem when an imported hash is unknown, malformed or too costly. */
  assertImportable(encoded: string): void;
  /**
   * Starts the worker pool now if the configured algorithm needs it here (no native module), so
   * the first login does not wait for workers to start. Optional.
   */
  warm(): Promise<void>;
  /** Which implementation computes each primitive here. */
  describe(): Promise<EngineDescription>;
  /** Stops the worker pool; the hasher is unusable afterwards. */
  close(): Promise<void>;
}

export type PasswordHasherOptions = EngineOptions;

export function createPasswordHasher(cfg: HashersConfig, options: PasswordHasherOptions = {}): PasswordHasher {
  const engine = new HashEngine(options);
  const algorithm = cfg.algorithm;
  if (algorithm !== 'argon2' && algorithm !== 'bcrypt') throw new Error(`hashers.algorithm "${String(algorithm)}" is not supported`);
  const argon2 = algorithm === 'argon2' ? argon2ParamsFromConfig(cfg.argon2) : undefined;
  const bcryptCost = algorithm === 'bcrypt' ? bcryptCostFromConfig(cfg.bcrypt.cost) : 0;

  const tryParse = (encoded: string): ParsedHash | undefined => {
    try {
      return parseHash(encoded);
    } catch (err) {
      if (err instanceof HashFormatError) return undefined;
      throw err;
    }
  };

  return {
    algorithm,

    async hash(password) {
      if (typeof password !== 'string' || password.length === 0) throw new TypeError('password must be a non-empty string');
      // NIST SP 800-63B-4 3.1.1.2: NFKC before hashing, so "é" typed composed or decomposed is one password.
      const bytes = utf8(password.normalize('NFKC'));
      return argon2 ? hashArgon2id(bytes, argon2, engine) : hashBcrypt(bytes, bcryptCost, engine);
    },

    async verify(password, encoded) {
      if (typeof password !== 'string' || password.length === 0 || typeof encoded !== 'string') return false;
      const parsed = tryParse(encoded);
      if (!parsed) return false;
      const normalized = password.normalize('NFKC');
      if (await verifyParsed(parsed, utf8(normalized), engine)) return true;
      // Hashes made before passwords were normalised (and imported ones) hold the password as typed; an input that
      // is already NFKC was hashed the same way then, so only a non-NFKC input needs the second try.
      return normalized !== password && verifyParsed(parsed, utf8(password), engine);
    },

    needsRehash(encoded) {
      const parsed = typeof encoded === 'string' ? tryParse(encoded) : undefined;
      if (!parsed) return true;
      if (argon2) return parsed.format === 'argon2id' || parsed.format === 'argon2i' ? argon2NeedsRehash(parsed, argon2) : true;
      return parsed.format !== 'bcrypt' || parsed.cost < bcryptCost;
    },

    assertImportable(encoded) {
      if (typeof encoded !== 'string' || encoded.length === 0) throw toImportError(unsupported());
      try {
        parseHash(encoded);
      } catch (err) {
        if (err instanceof HashFormatError) throw toImportError(err);
        throw err;
      }
    },

    warm: () => engine.warm(algorithm),
    describe: () => engine.describe(),
    close: () => engine.close(),
  };
}
