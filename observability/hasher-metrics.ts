import type { PasswordHasher } from '../src/hash/index.ts';
import type { Metrics } from './metrics.ts';

/** The same hasher, with `hash` and `verify` observed in `idflow_password_hash_duration_seconds{operation}`. */
export function instrumentHasher(hasher: PasswordHasher, metrics: Pick<Metrics, 'passwordHashSeconds'>): PasswordHasher {
  const timed = async <T>(operation: 'hash' | 'verify', run: () => Promise<T>): Promise<T> => {
    const end = metrics.passwordHashSeconds.startTimer({ operation });
    try {
      return await run();
    } finally {
      end();
    }
  };
  return {
    get algorithm() { return hasher.algorithm; },
    hash: (password) => timed('hash', () => hasher.hash(password)),
    verify: (password, encoded) => timed('verify', () => hasher.verify(password, encoded)),
    needsRehash: (encoded) => hasher.needsRehash(encoded),
    assertImportable: (encoded) => hasher.assertImportable(encoded),
    warm: () => hasher.warm(),
    describe: () => hasher.describe(),
    close: () => hasher.close(),
  };
}
