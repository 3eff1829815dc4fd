export { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from './password-hasher.ts';
export { PasswordTooLongError, HashFormatError } from './errors.ts';
export { SUPPORTED_HASH_FORMATS, detectHashFormat, type SupportedHashFormat, type HashFormatId } from './formats.ts';
export { HASH_LIMITS, BCRYPT_MAX_PASSWORD_BYTES } from './limits.ts';
export type { EngineDescription, EngineOptions, Backend } from './engine.ts';
