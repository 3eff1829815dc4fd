import type { HashersConfig } from '../../../config/types.ts';

/** The defaults the config loader supplies. */
export function hashersConfig(overrides: { algorithm?: HashersConfig['algorithm']; argon2?: Partial<HashersConfig['argon2']>; bcrypt?: Partial<HashersConfig['bcrypt']> } = {}): HashersConfig {
  return {
    algorithm: overrides.algorithm ?? 'argon2',
    argon2: {
      memory: '19MB', iterations: 2, parallelism: 1, salt_length: 16, key_length: 32,
      expected_duration: '500ms', expected_deviation: '500ms', dedicated_memory: '1GB',
      ...overrides.argon2,
    },
    bcrypt: { cost: 12, ...overrides.bcrypt },
  };
}

/** Where the prebuilt @node-rs packages exist for this project's machines. */
export const NATIVE_EXPECTED = process.platform === 'linux' && process.arch === 'x64';
