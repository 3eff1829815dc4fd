/**
 * Upper bounds on the cost parameters an imported or stored hash may declare (Kratos
 * hash/hash_limits.go): a hash is attacker-controlled input to the admin import API, and
 * without bounds one row can OOM or hang the process at every login.
 */
export const HASH_LIMITS = {
  bcryptCost: 15,
  argon2MemoryKiB: 1 << 20,
  argon2Iterations: 10,
  argon2Parallelism: 16,
  scryptN: 1 << 17,
  scryptR: 8,
  scryptP: 10,
  firescryptLogN: 17,
  pbkdf2Iterations: 10_000_000,
  /** idflow: Kratos has none; sha-crypt's own maximum (999,999,999) would take minutes. */
  shaCryptRounds: 1_000_000,
  /** idflow: derived-key and salt sizes, which multiply pbkdf2/scrypt work and are otherwise unbounded. */
  keyLength: 1024,
  saltLength: 1024,
  /** idflow: crypt hashes the password once per round; longer passwords never verify there. */
  cryptPasswordBytes: 1024,
} as const;

export const BCRYPT_MAX_PASSWORD_BYTES = 72;
