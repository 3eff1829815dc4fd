/** Jsonnet tokens, each with the fodder (whitespace and comments) before it. */
import { element, pushFodder, type Fodder } from './fodder.ts';

export type TokenKind =
  | '{' | '}' | '[' | ']' | ',' | '$' | '.' | '(' | ')' | ';'
  | 'identifier' | 'number' | 'operator'
  | 'string_double' | 'string_single' | 'string_block' | 'verbatim_double' | 'verbatim_single'
  | 'assert' | 'else' | 'error' | 'false' | 'for' | 'function' | 'if' | 'import' | 'importstr' | 'importbin'
  | 'in' | 'local' | 'null' | 'tailstrict' | 'then' | 'self' | 'super' | 'true'
  | 'end of file';

export interface Token {
  kind: TokenKind;
  fodder: Fodder;
  /** Identifier, number, operator text; a string's contents (escapes kept, except in verbatim strings). */
  data: string;
  /** Text blocks: the indentation of their lines and of the closing `|||`, and whether it was `|||-`. */
  blockIndent: string;
  blockTermIndent: string;
  chomp: boolean;
  line: number;
  column: number;
}

export class JsonnetSyntaxError extends Error {
  override name = 'JsonnetSyntaxError';
  readonly line: number;
  readonly column: number;
  constructor(line: number, column: number, message: string) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

const KEYWORDS = new Set<TokenKind>([
  'assert', 'else', 'error', 'false', 'for', 'function', 'if', 'import', 'importstr', 'importbin', 'in', 'local',
  'null', 'tailstrict', 'then', 'self', 'super', 'true',
]);

export const isKeyword = (word: string): boolean => KEYWORDS.has(word as TokenKind);

const isHorizontalSpace = (c: string) => c === ' ' || c === '\t' || c === '\r';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdentifierStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentifierPart = (c: string) => isIdentifierStart(c) || isDigit(c);
const SYMBOLS = '!$:~+-&|^=<>*/%';
const isSymbol = (c: string) => c !== '' && SYMBOLS.includes(c);
/** An operator of several characters may not end with these (so `a+-b` is `a + -b`). */
const notLastInOperator = (c: string) => '+-~!$'.includes(c);

export function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let fodder: Fodder = [];
  let freshLine = true;
  const at = (i: number) => source[i] ?? '';
  const fail = (l: number, c: number, message: string): never => {
    throw new JsonnetSyntaxError(l, c, message);
  };

  /** Skips whitespace; returns the line breaks crossed and the indentation after the last (a tab counts 8). */
  const whitespace = (): { newLines: number; indent: number } => {
    let newLines = 0;
    let indent = 0;
    for (; pos < source.length; pos++) {
      const c = source[pos];
      if (c === '\n') {
        newLines++;
        indent = 0;
        line++;
        lineStart = pos + 1;
      } else if (c === ' ') indent += 1;
      else if (c === '\t') indent += 8;
      else if (c !== '\r') break;
    }
    return { newLines, indent };
  };

  while (pos < source.length) {
    const { newLines, indent } = whitespace();
    if (pos >= source.length) break;
    if (newLines > 0) {
      fodder.push(element('line_end', newLines - 1, indent));
      freshLine = true;
    }
    const startLine = line;
    const startColumn = pos - lineStart + 1;
    const token = (kind: TokenKind, data = '', extra: Partial<Token> = {}) => {
      tokens.push({ kind, fodder, data, blockIndent: '', blockTermIndent: '', chomp: false, line: startLine, column: startColumn, ...extra });
      fodder = [];
      freshLine = false;
    };
    const c = source[pos];

    if ('{}[],.();'.includes(c)) {
      pos++;
      token(c as TokenKind);
    } else if (isDigit(c)) {
      token('number', lexNumber());
    } else if (c === '"' || c === "'") {
      pos++;
      let data = '';
      for (;;) {
        if (pos >= source.length) fail(startLine, startColumn, 'unterminated string');
        const d = source[pos];
        if (d === c) break;
        if (d === '\\' && pos + 1 < source.length) {
          data += d;
          pos++;
        }
        if (source[pos] === '\n') {
          line++;
          lineStart = pos + 1;
        }
        data += source[pos];
        pos++;
      }
      pos++;
      token(c === '"' ? 'string_double' : 'string_single', data);
    } else if (c === '@') {
      const quote = at(pos + 1);
      if (quote !== '"' && quote !== "'") fail(startLine, startColumn, `couldn't lex verbatim string, junk after '@': ${quote}`);
      pos += 2;
      let data = '';
      for (;;) {
        if (pos >= source.length) fail(startLine, startColumn, 'unterminated verbatim string');
        const d = source[pos];
        if (d === quote) {
          if (at(pos + 1) !== quote) break;
          pos++;
        }
        if (d === '\n') {
          line++;
          lineStart = pos + 1;
        }
        data += d;
        pos++;
      }
      pos++;
      token(quote === '"' ? 'verbatim_double' : 'verbatim_single', data);
    } else if (isIdentifierStart(c)) {
      const begin = pos;
      while (isIdentifierPart(at(pos))) pos++;
      const word = source.slice(begin, pos);
      token(isKeyword(word) ? (word as TokenKind) : 'identifier', word);
    } else if (c === '#' || (c === '/' && at(pos + 1) === '/')) {
      const end = source.indexOf('\n', pos);
      const text = source.slice(pos, end < 0 ? source.length : end).replace(/[ \t\r]+$/, '');
      pos = end < 0 ? source.length : end;
      const after = whitespace();
      const blanks = after.newLines === 0 ? 0 : after.newLines - 1;
      fodder.push(element(freshLine ? 'paragraph' : 'line_end', blanks, after.indent, [text]));
      freshLine = true;
    } else if (c === '/' && at(pos + 1) === '*') {
      // jsonnetfmt measures the comment's column in bytes.
      const margin = new TextEncoder().encode(source.slice(lineStart, pos)).length;
      const close = source.indexOf('*/', pos + 2);
      if (close < 0) fail(startLine, startColumn, 'multi-line comment has no terminating */');
      const comment = source.slice(pos, close + 2);
      for (let i = pos; i < close; i++) {
        if (source[i] === '\n') {
          line++;
          lineStart = i + 1;
        }
      }
      pos = close + 2;
      const after = whitespace();
      if (!comment.includes('\n')) {
        fodder.push(element('interstitial', 0, 0, [comment]));
        if (after.newLines > 0) {
          fodder.push(element('line_end', after.newLines - 1, after.indent));
          freshLine = true;
        }
      } else {
        const lines = comment.split('\n').map((l) => stripLine(l, margin));
        // A comment that ends a line still ends it.
        const newLines = after.newLines === 0 ? 1 : after.newLines;
        pushFodder(fodder, element('paragraph', newLines - 1, after.newLines === 0 ? 0 : after.indent, lines));
        freshLine = true;
      }
    } else if (c === '|' && source.startsWith('|||', pos)) {
      textBlock();
    } else if (isSymbol(c)) {
      const begin = pos;
      for (; isSymbol(at(pos)); pos++) {
        if (source.startsWith('//', pos) || source.startsWith('/*', pos) || source.startsWith('|||', pos)) break;
      }
      while (pos > begin + 1 && notLastInOperator(source[pos - 1])) pos--;
      const op = source.slice(begin, pos);
      if (op === '$') token('$');
      else token('operator', op);
    } else {
      const code = c.charCodeAt(0);
      fail(startLine, startColumn, `could not lex the character ${code < 32 ? `code ${code}` : `'${c}'`}`);
    }

    function lexNumber(): string {
      const begin = pos;
      const digits = () => {
        while (isDigit(at(pos))) pos++;
      };
      if (source[pos] === '0') pos++;
      else digits();
      if (at(pos) === '.') {
        pos++;
        if (!isDigit(at(pos))) fail(startLine, startColumn, `couldn't lex number, junk after decimal point: ${at(pos)}`);
        digits();
      }
      if (at(pos) === 'e' || at(pos) === 'E') {
        pos++;
        if (at(pos) === '+' || at(pos) === '-') {
          pos++;
          if (!isDigit(at(pos))) fail(startLine, startColumn, `couldn't lex number, junk after exponent sign: ${at(pos)}`);
        } else if (!isDigit(at(pos))) fail(startLine, startColumn, `couldn't lex number, junk after 'E': ${at(pos)}`);
        digits();
      }
      return source.slice(begin, pos);
    }

    function textBlock(): void {
      pos += 3;
      let chomp = false;
      if (at(pos) === '-') {
        chomp = true;
        pos++;
      }
      while (isHorizontalSpace(at(pos))) pos++;
      if (at(pos) !== '\n') fail(startLine, startColumn, 'text block syntax requires new line after |||');
      pos++;
      line++;
      let block = '';
      while (at(pos) === '\n') {
        line++;
        pos++;
        block += '\n';
      }
      lineStart = pos;
      const firstLine = pos;
      /** The length of the first line's indentation when the line at `i` starts with it, else 0. */
      const sameIndent = (i: number) => {
        let n = 0;
        while (at(firstLine + n) === ' ' || at(firstLine + n) === '\t') {
          if (at(i + n) !== at(firstLine + n)) return 0;
          n++;
        }
        return n;
      };
      let indentLength = sameIndent(pos);
      if (indentLength === 0) fail(startLine, startColumn, "text block's first line must start with whitespace");
      const blockIndent = source.slice(firstLine, firstLine + indentLength);
      for (;;) {
        pos += indentLength;
        const end = source.indexOf('\n', pos);
        if (end < 0) fail(startLine, startColumn, 'unexpected end of file in a text block');
        block += source.slice(pos, end + 1);
        pos = end + 1;
        line++;
        lineStart = pos;
        while (at(pos) === '\n') {
          line++;
          pos++;
          block += '\n';
        }
        indentLength = sameIndent(pos);
        if (indentLength === 0) {
          const termBegin = pos;
          while (at(pos) === ' ' || at(pos) === '\t') pos++;
          const blockTermIndent = source.slice(termBegin, pos);
          if (!source.startsWith('|||', pos)) fail(line, pos - lineStart + 1, 'text block not terminated with |||');
          pos += 3;
          token('string_block', block, { blockIndent, blockTermIndent, chomp });
          return;
        }
      }
    }
  }
  tokens.push({ kind: 'end of file', fodder, data: '', blockIndent: '', blockTermIndent: '', chomp: false, line, column: pos - lineStart + 1 });
  return tokens;
}

/** A line of a multi-line comment without trailing space, and without leading space up to the comment's column. */
function stripLine(text: string, margin: number): string {
  let i = 0;
  while (i < text.length && i < margin && isHorizontalSpace(text[i])) i++;
  return text.slice(i).replace(/[ \t\r]+$/, '');
}
