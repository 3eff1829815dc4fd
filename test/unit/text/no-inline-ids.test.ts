/**
 * Message ids are named (`MessageId.ErrorValidationInvalidCredentials`) everywhere but in src/text/: this scans
 * src/ and machines/ for 7-digit message-id literals in code (`msg(4000006)`, `id: 1050001`, `{ login: 4010001 }`).
 * Comments and string text are not code and are not scanned.
 *
 * The call sites are not migrated yet, so the files that offend today are listed below; the list may only
 * shrink: a new offender fails, and so does a listed file that no longer offends (take it off the list).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Files still writing message ids inline (none: every id is named through src/text/ids.ts). Only ever remove lines. */
const FILES_WITH_INLINE_MESSAGE_IDS_TODAY: readonly string[] = [];

const root = join(import.meta.dirname, '../../..');

/**
 * A 7-digit literal shaped like a Kratos message id: 10X0NNN (X ≥ 1), 40X0NNN or 50X0NNN — the ranges of
 * text/id.go. Other 7-digit numbers (3600000 ms, 1000000) are not message ids.
 */
const MESSAGE_ID_LITERAL = /(?<![\w$.])(?:10[1-9]|40\d|50\d)0\d{3}(?![\w$.])/g;

interface InlineId {
  line: number;
  literal: string;
}

/** Message-id literals in the code of a TypeScript source. */
function inlineMessageIds(source: string): InlineId[] {
  const code = codeOnly(source);
  const found: InlineId[] = [];
  for (const m of code.matchAll(MESSAGE_ID_LITERAL)) {
    found.push({ line: code.slice(0, m.index).split('\n').length, literal: m[0] });
  }
  return found;
}

/**
 * The source with comments and the text of string and template literals blanked (newlines kept, so line numbers
 * stay); `${…}` inside templates is code and kept. Regular-expression literals are not recognised: a quote in
 * one blanks at most the rest of its line.
 */
function codeOnly(src: string): string {
  let out = '';
  let i = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const code = (insideTemplate: boolean): void => {
    let depth = 0;
    while (i < src.length) {
      const c = src[i];
      const next = src[i + 1];
      if (c === '/' && next === '/') {
        const end = src.indexOf('\n', i);
        const stop = end === -1 ? src.length : end;
        out += blank(src.slice(i, stop));
        i = stop;
      } else if (c === '/' && next === '*') {
        const end = src.indexOf('*/', i + 2);
        const stop = end === -1 ? src.length : end + 2;
        out += blank(src.slice(i, stop));
        i = stop;
      } else if (c === '"' || c === '\'') {
        let j = i + 1;
        while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
        out += blank(src.slice(i, j + 1));
        i = j + 1;
      } else if (c === '`') {
        out += ' ';
        i += 1;
        template();
      } else {
        if (insideTemplate && c === '{') depth += 1;
        if (insideTemplate && c === '}') {
          if (depth === 0) {
            out += ' ';
            i += 1;
            return;
          }
          depth -= 1;
        }
        out += c;
        i += 1;
      }
    }
  };
  const template = (): void => {
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') {
        out += blank(src.slice(i, i + 2));
        i += 2;
      } else if (c === '`') {
        out += ' ';
        i += 1;
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        out += '  ';
        i += 2;
        code(true);
      } else {
        out += c === '\n' ? '\n' : ' ';
        i += 1;
      }
    }
  };
  code(false);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => `${dir}/${f.split(sep).join('/')}`);
}

/** Every scanned file with its inline message ids: src/ except src/text/ (the catalog), and machines/. */
function offenders(): Map<string, InlineId[]> {
  const files = [...tsFiles('src').filter((f) => !f.startsWith('src/text/')), ...tsFiles('machines')].sort();
  const out = new Map<string, InlineId[]>();
  for (const file of files) {
    const ids = inlineMessageIds(readFileSync(join(root, file), 'utf8'));
    if (ids.length > 0) out.set(file, ids);
  }
  return out;
}

describe('the scanner', () => {
  it('finds message ids written as numbers in code', () => {
    const source = [
      'const a = msg(4000006);',
      'const b = uiText(1070004, { property });',
      'const c = { id: 1050001, text: "x" };',
      'const d: Record<Kind, number> = { login: 4010001, registration: 4040001 };',
      'const e = `expired ${message(4060005)} ago`;',
      'if (id >= 5000000) {}',
    ].join('\n');
    expect(inlineMessageIds(source)).toEqual([
      { line: 1, literal: '4000006' }, { line: 2, literal: '1070004' }, { line: 3, literal: '1050001' },
      { line: 4, literal: '4010001' }, { line: 4, literal: '4040001' }, { line: 5, literal: '4060005' }, { line: 6, literal: '5000000' },
    ]);
  });

  it('ignores comments, strings, template text and numbers that are not message ids', () => {
    const source = [
      '/** Maps to 4000001 (generic). */',
      '// 4010002 login, 4010003 registration',
      'const s = "4000006"; const t = \'id 1070004\'; const u = `code 1060003 sent`;',
      'const ms = 3600000; const n = 1000000; const big = 14000006; const f = 1.4000006; const x = 0x4000006;',
      'const v = 4_000_006; const w = foo4000006;',
      '/* 5000001',
      '   4070005 */',
    ].join('\n');
    expect(inlineMessageIds(source)).toEqual([]);
  });

  it('sees the code of a template substitution, and nothing in the template text around it', () => {
    expect(inlineMessageIds('const t = `a ${f({ x: `b ${4000002} 4000003` })} 4000004`;')).toEqual([{ line: 1, literal: '4000002' }]);
  });
});

describe('no inline message ids outside src/text/', () => {
  const found = offenders();
  const listed = new Set(FILES_WITH_INLINE_MESSAGE_IDS_TODAY);

  it('adds no new file with inline message ids (use MessageId from src/text/ids.ts)', () => {
    const fresh = [...found].filter(([file]) => !listed.has(file))
      .map(([file, ids]) => `${file}: ${ids.map((id) => `${id.literal} (line ${id.line})`).join(', ')}`);
    expect(fresh).toEqual([]);
  });

  it('lists only files that still have them (remove migrated files from the list)', () => {
    expect(FILES_WITH_INLINE_MESSAGE_IDS_TODAY.filter((file) => !found.has(file))).toEqual([]);
  });
});
