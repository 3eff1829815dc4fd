/**
 * String formats the identity schema validator enforces more strictly than ajv-formats.
 *
 * E-mail (security baseline GHSA-xv97-c62v-4587, GHSA-5jpx-9hw9-2fx4): one bare address, dot-atom local part only.
 * Display names, angle brackets, comments, comma/semicolon lists, quoted local parts and IP-literal domains are
 * refused, and the check is repeated on the NFKC form so full-width or compatibility characters cannot turn into
 * `@`, `,`, quotes or parentheses after normalisation.
 */
import { createRequire } from 'node:module';
import type * as PhoneNumbers from 'libphonenumber-js/max';

// libphonenumber-js with its full metadata (~2 MiB of heap) is loaded at the first phone-shaped input, synchronously
// (ajv formats and identifier normalisation are synchronous; ~40 ms, once): a server that never sees a phone number
// never holds it.
let phoneNumbers: typeof PhoneNumbers | undefined;
const libphonenumber = () => (phoneNumbers ??= createRequire(import.meta.url)('libphonenumber-js/max') as typeof PhoneNumbers);

// RFC 5322 atext, plus (RFC 6531) Unicode letters, marks and digits. No symbols or punctuation beyond atext.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\p{L}\\p{M}\\p{Nd}]";
const LOCAL_PART = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`, 'u');
const LABEL = /^[A-Za-z0-9\p{L}\p{M}\p{Nd}](?:[A-Za-z0-9\p{L}\p{M}\p{Nd}-]*[A-Za-z0-9\p{L}\p{M}\p{Nd}])?$/u;

function checkEmailShape(value: string): boolean {
  const at = value.indexOf('@');
  if (at <= 0 || at !== value.lastIndexOf('@')) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (new TextEncoder().encode(local).length > 64) return false;
  if (domain.length === 0 || domain.length > 253) return false;
  if (!LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || !LABEL.test(label)) return false;
  }
  // A purely numeric top-level label would be an IPv4 address in disguise.
  if (labels.length > 1 && /^[0-9]+$/.test(labels[labels.length - 1])) return false;
  return true;
}

/** True for exactly one bare e-mail address (surrounding spaces are tolerated, as identifiers are trimmed). */
export function isStrictEmail(input: string): boolean {
  // Control characters (CR/LF header injection, tabs, NUL) are refused anywhere, even at the ends.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(input)) return false;
  const value = input.trim();
  if (value.length === 0 || value.length > 320) return false;
  if (!checkEmailShape(value)) return false;
  const nfkc = value.normalize('NFKC');
  return nfkc === value || checkEmailShape(nfkc);
}

/** Parses a phone number in international form (leading `+`); undefined when it is not a valid number. */
export function parsePhone(input: string): string | undefined {
  const value = input.normalize('NFKC').trim();
  if (!value.startsWith('+') || /[^0-9+\s().\-/]/.test(value)) return undefined;
  const parsed = libphonenumber().parsePhoneNumberFromString(value);
  if (!parsed || !parsed.isValid()) return undefined;
  return parsed.number;
}

/** `format: "tel"`: an internationally formatted, valid phone number (Kratos uses libphonenumber too). */
export function isTel(input: string): boolean {
  return parsePhone(input) !== undefined;
}
