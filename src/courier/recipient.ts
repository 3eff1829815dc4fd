import { KratosError } from '../errors/kratos-error.ts';

/**
 * Courier recipients are exactly one RFC 5322 addr-spec (`local@domain`) in its plainest form: a dot-atom local
 * part and a host name. Anything an address parser could read as more than one mailbox, or as a different mailbox
 * than the one stored, is refused: display names, angle brackets, comments, quoted strings (GHSA-5jpx-9hw9-2fx4:
 * `"e@attacker.com"@victim.com`), commas and semicolons (GHSA-xv97-c62v-4587), whitespace, CR/LF and other control
 * characters, domain literals. UTF-8 is allowed in both parts (RFC 6532).
 */

/** atext of RFC 5322 plus any non-ASCII code point (RFC 6532), minus nothing else. */
const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\u0080-\\u{10FFFF}";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`, 'u');
/** A host-name label: letters, digits, hyphens (not at either end); non-ASCII letters for IDNs. */
const LABEL = /^(?!-)[A-Za-z0-9\-\u0080-\u{10FFFF}]{1,63}(?<!-)$/u;
const FORBIDDEN = /[\u0000-\u0020\u007f\u0085\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u2060\u3000\ufeff"(),:;<>[\\\]]/u;

export const MAX_RECIPIENT_LENGTH = 254;

/** Why `value` is not a plain single addr-spec, or undefined when it is one. */
export function recipientProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'the recipient must be a string';
  if (value.length === 0) return 'the recipient is empty';
  if (value.length > MAX_RECIPIENT_LENGTH) return `the recipient is longer than ${MAX_RECIPIENT_LENGTH} characters`;
  if (FORBIDDEN.test(value)) return 'the recipient contains a character that is not allowed in a plain e-mail address';
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return 'the recipient must have the form local-part@domain';
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.includes('@')) return 'the recipient must contain exactly one @';
  if ([...local].length > 64) return 'the local part of the recipient is longer than 64 characters';
  if (!DOT_ATOM.test(local)) return 'the local part of the recipient is not a dot-atom';
  const labels = domain.split('.');
  if (labels.some((label) => !LABEL.test(label))) return 'the domain of the recipient is not a host name';
  return undefined;
}

export function isValidRecipient(value: unknown): value is string {
  return recipientProblem(value) === undefined;
}

/** Throws a Kratos 400 unless `value` is exactly one plain addr-spec. */
export function assertRecipient(value: unknown): string {
  const problem = recipientProblem(value);
  if (problem) throw new KratosError(400, undefined, { reason: `Unable to send a message: ${problem}.` });
  return value as string;
}

/** An SMS recipient: an E.164 phone number (`+` and 8 to 15 digits), as the identity schema normalises `via: sms`. */
const E164 = /^\+[1-9][0-9]{7,14}$/;

export function isPhoneRecipient(value: unknown): value is string {
  return typeof value === 'string' && E164.test(value);
}

/** Throws a Kratos 400 unless `value` is an E.164 phone number. */
export function assertPhoneRecipient(value: unknown): string {
  if (!isPhoneRecipient(value)) throw new KratosError(400, undefined, { reason: 'Unable to send a message: the recipient is not an E.164 phone number.' });
  return value;
}
