import { parsePhone } from './formats.ts';

export type IdentifierKind = 'email' | 'sms' | 'text';

/** NFKC (width fold), every Unicode space separator to U+0020, trimmed. */
function fold(value: string): string {
  return value.normalize('NFKC').replace(/\p{Zs}/gu, ' ').trim();
}

/**
 * Normalises an identifier or address the same way for storage and for lookup (login, recovery, code):
 * - `email`: trimmed, NFKC, lower-cased;
 * - `sms`: E.164 when the number parses, else the trimmed NFKC text;
 * - `text`: PRECIS-freeform-like: trimmed, NFKC (width fold), lower-cased.
 */
export function normalizeIdentifier(value: string, kind: IdentifierKind): string {
  const folded = fold(value);
  switch (kind) {
    case 'email':
      return folded.toLowerCase();
    case 'sms':
      return parsePhone(folded) ?? folded;
    default:
      return folded.toLowerCase();
  }
}
