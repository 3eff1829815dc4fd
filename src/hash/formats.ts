/** The hash formats idflow verifies, detected by prefix as Kratos does (hash/hash_comparator.go). */
export type HashFormatId =
  | 'argon2id' | 'argon2i' | 'bcrypt' | 'pbkdf2' | 'scrypt' | 'firescrypt' | 'ssha'
  | 'salted-sha' | 'md5' | 'hmac' | 'md5-crypt' | 'sha256-crypt' | 'sha512-crypt';

export interface SupportedHashFormat {
  id: HashFormatId;
  name: string;
  /** Every prefix that selects this format. */
  prefixes: readonly string[];
  example: string;
}

export const SUPPORTED_HASH_FORMATS: readonly SupportedHashFormat[] = [
  { id: 'argon2id', name: 'Argon2id (PHC, v=19)', prefixes: ['$argon2id$'], example: '$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>' },
  { id: 'argon2i', name: 'Argon2i (PHC, v=19)', prefixes: ['$argon2i$'], example: '$argon2i$v=19$m=65536,t=3,p=4$<salt>$<hash>' },
  { id: 'bcrypt', name: 'bcrypt', prefixes: ['$2a$', '$2b$', '$2y$', '$2$'], example: '$2a$12$<22-char salt><31-char hash>' },
  {
    id: 'pbkdf2', name: 'PBKDF2-HMAC (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512)',
    prefixes: ['$pbkdf2-sha1$', '$pbkdf2-sha224$', '$pbkdf2-sha256$', '$pbkdf2-sha384$', '$pbkdf2-sha512$'],
    example: '$pbkdf2-sha256$i=100000,l=32$<salt>$<hash>',
  },
  { id: 'scrypt', name: 'scrypt (ln is N itself)', prefixes: ['$scrypt$'], example: '$scrypt$ln=16384,r=8,p=1$<salt>$<hash>' },
  { id: 'firescrypt', name: 'Firebase scrypt', prefixes: ['$firescrypt$'], example: '$firescrypt$ln=14,r=8,p=1$<salt>$<hash>$<salt separator>$<signer key>' },
  { id: 'ssha', name: 'LDAP salted SHA (SHA-1, SHA-256, SHA-512)', prefixes: ['{SSHA}', '{SSHA256}', '{SSHA512}'], example: '{SSHA}<base64(hash || salt)>' },
  { id: 'salted-sha', name: 'SHA with a salting pattern (SHA-1, SHA-256, SHA-512)', prefixes: ['$sha1$', '$sha256$', '$sha512$'], example: '$sha256$pf=<base64 of e.g. {SALT}{PASSWORD}>$<salt>$<hash>' },
  { id: 'md5', name: 'MD5, plain or with a salting pattern', prefixes: ['$md5$'], example: '$md5$<hash> or $md5$pf=<pattern>$<salt>$<hash>' },
  {
    id: 'hmac', name: 'HMAC (MD4, MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512)',
    prefixes: ['$hmac-md4$', '$hmac-md5$', '$hmac-sha1$', '$hmac-sha224$', '$hmac-sha256$', '$hmac-sha384$', '$hmac-sha512$'],
    example: '$hmac-sha256$<base64 of hex MAC>$<base64 key>',
  },
  { id: 'md5-crypt', name: 'MD5-crypt', prefixes: ['$md5-crypt$', '$1$'], example: '$md5-crypt$<salt>$<checksum> or $1$<salt>$<checksum>' },
  { id: 'sha256-crypt', name: 'SHA256-crypt', prefixes: ['$sha256-crypt$', '$5$'], example: '$sha256-crypt$rounds=535000$<salt>$<checksum> or $5$...' },
  { id: 'sha512-crypt', name: 'SHA512-crypt', prefixes: ['$sha512-crypt$', '$6$'], example: '$sha512-crypt$rounds=656000$<salt>$<checksum> or $6$...' },
];

const BY_PREFIX: [string, HashFormatId][] = SUPPORTED_HASH_FORMATS
  .flatMap((f) => f.prefixes.map((p): [string, HashFormatId] => [p, f.id]))
  .sort((a, b) => b[0].length - a[0].length);

export function detectHashFormat(encoded: string): HashFormatId | undefined {
  return BY_PREFIX.find(([prefix]) => encoded.startsWith(prefix))?.[1];
}
