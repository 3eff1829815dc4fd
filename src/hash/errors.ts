import { badRequest, type KratosError } from '../errors/kratos-error.ts';

/** bcrypt cannot hash more than 72 bytes; Kratos refuses instead of truncating (message id 4000033). */
export class PasswordTooLongError extends Error {
  readonly maxLength: number;
  readonly actualLength: number;

  constructor(maxLength: number, actualLength: number) {
    super(`password is too long: bcrypt accepts at most ${maxLength} bytes, got ${actualLength}`);
    this.name = 'PasswordTooLongError';
    this.maxLength = maxLength;
    this.actualLength = actualLength;
  }
}

/** A stored or imported hash that cannot be used: unknown format, malformed, or cost over the limits. */
export class HashFormatError extends Error {
  readonly kind: 'unsupported' | 'malformed' | 'limits';

  constructor(kind: HashFormatError['kind'], message: string) {
    super(message);
    this.name = 'HashFormatError';
    this.kind = kind;
  }
}

export const unsupported = () => new HashFormatError('unsupported', 'unsupported hash format');
export const malformed = (format: string, what: string) => new HashFormatError('malformed', `malformed ${format} hash: ${what}`);
export const overLimit = (what: string) => new HashFormatError('limits', `hash parameters exceed allowed bounds: ${what}`);

export function toImportError(err: HashFormatError): KratosError {
  return badRequest(err.message, { cause: err });
}
