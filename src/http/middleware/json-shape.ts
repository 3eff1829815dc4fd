/**
 * Checks a JSON body's nesting depth and member count on its raw bytes, before JSON.parse: a 10,000-deep body used to
 * reach the flow engine and overflow the stack when its snapshot was saved (a 500), and a body with 100,000 keys
 * costs every walk over it. One pass over the bytes; strings (and escapes in them) are skipped, except that an escaped
 * lone surrogate (`\ud800` without its pair) is refused: it is no text, and no database can store it as UTF-8.
 */
export interface JsonShapeLimits {
  maxDepth: number;
  maxKeys: number;
  /** Refuse a `\u0000` in any string (PostgreSQL's text and jsonb can not store it). */
  refuseNul?: boolean;
}

export type JsonShapeProblem = 'depth' | 'keys' | 'nul' | 'surrogate';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;

export function jsonShapeProblem(bytes: Uint8Array, limits: JsonShapeLimits): JsonShapeProblem | undefined {
  let depth = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) {
        if (limits.refuseNul && isEscapedNul(bytes, i)) return 'nul';
        const unit = escapedUnit(bytes, i);
        if (unit !== undefined && unit >= 0xd800 && unit <= 0xdfff) {
          // A high surrogate must be followed by an escaped low one; a low one is only ever consumed that way.
          const next = unit <= 0xdbff && bytes[i + 6] === BACKSLASH ? escapedUnit(bytes, i + 6) : undefined;
          if (next === undefined || next < 0xdc00 || next > 0xdfff) return 'surrogate';
          i += 11;
          continue;
        }
        i++;
      }
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > limits.maxDepth) return 'depth';
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
    // Outside strings a colon only ever separates a member's name from its value.
    else if (b === COLON && ++keys > limits.maxKeys) return 'keys';
  }
  return undefined;
}

const ZERO = 0x30;
const U = 0x75;

/** `\u0000` at `i` (JSON can carry a NUL only escaped: raw control characters are not allowed in strings). */
function isEscapedNul(bytes: Uint8Array, i: number): boolean {
  return bytes[i + 1] === U && bytes[i + 2] === ZERO && bytes[i + 3] === ZERO && bytes[i + 4] === ZERO && bytes[i + 5] === ZERO;
}

/** The UTF-16 code unit of a `\uXXXX` escape at `i`, if it is one. */
function escapedUnit(bytes: Uint8Array, i: number): number | undefined {
  if (bytes[i + 1] !== U) return undefined;
  let unit = 0;
  for (let k = 2; k < 6; k++) {
    const c = bytes[i + k];
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return undefined;
    unit = unit * 16 + digit;
  }
  return unit;
}
