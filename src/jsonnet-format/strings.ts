/** Jsonnet string escapes, to re-quote string literals ('' preferred, "" when that needs fewer escapes). */

/** The text a quoted literal stands for; throws on a malformed escape. */
export function unescapeJsonnet(raw: string): string {
  let out = '';
  const hex4 = (at: number): number => {
    const digits = raw.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw new Error(digits.length < 4 ? 'truncated unicode escape sequence in string literal' : `malformed unicode escape character, should be hex: '${digits}'`);
    return parseInt(digits, 16);
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[++i];
    switch (e) {
      case '"': case "'": case '\\': case '/': out += e; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        let code = hex4(i + 1);
        i += 4;
        if (code >= 0xd800 && code < 0xe000) {
          if (raw[i + 1] !== '\\' || raw[i + 2] !== 'u') throw new Error('invalid non-BMP Unicode escape in string literal');
          const low = hex4(i + 3);
          if (code >= 0xdc00 || low < 0xdc00 || low >= 0xe000) throw new Error('invalid UTF-16 bytes');
          code = 0x10000 + ((code & 0x3ff) << 10) + (low & 0x3ff);
          i += 6;
        }
        out += String.fromCodePoint(code);
        break;
      }
      case undefined: throw new Error('truncated escape sequence in string literal');
      default: throw new Error(`unknown escape sequence in string literal: '${e}'`);
    }
  }
  return out;
}

/** The text as the inside of a literal quoted with ' (`single`) or ". */
export function escapeJsonnet(text: string, single: boolean): string {
  let out = '';
  for (const c of text) {
    switch (c) {
      case '"': out += single ? '"' : '\\"'; break;
      case "'": out += single ? "\\'" : "'"; break;
      case '\\': out += '\\\\'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\0': out += '\\u0000'; break;
      default: {
        const code = c.codePointAt(0)!;
        out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\u${code.toString(16).padStart(4, '0')}` : c;
      }
    }
  }
  return out;
}

/** Length in code points (what jsonnetfmt counts for columns). */
export const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
