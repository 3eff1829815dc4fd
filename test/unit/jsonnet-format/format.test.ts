/**
 * `idflow jsonnet format` must print what jsonnetfmt prints with its default options. The reference is the jsonnet
 * test suite (C++ jsonnet sources, Apache-2.0), which the optional Jsonnet package ships: each file with a
 * `.fmt.golden` must format to it, and, as the suite's own runner (run_fmt_tests.sh) requires, every other file
 * that parses is already formatted. Kratos-style fixtures in test/fixtures/jsonnet-format/ test it without the
 * package.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatJsonnet } from '../../../src/jsonnet-format/format.ts';
import { repoRoot } from '../../support/cli.ts';

const SUITE = join(repoRoot, 'node_modules/@hanazuki/node-jsonnet/third_party/jsonnet/test_suite');
const FIXTURES = join(repoRoot, 'test/fixtures/jsonnet-format');

/**
 * Goldens this formatter does not reproduce, with the reason. Empty: all of them match. A golden listed here is
 * checked to still differ, so a fix shows up as a failure to remove it from the list.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {};

const suiteMissing = existsSync(SUITE)
  ? undefined
  : `the jsonnet test suite is not installed (${SUITE}; it comes with the optional Jsonnet package: npm run jsonnet:install)`;
if (suiteMissing) {
  if (process.env.CI) throw new Error(`CI compares the formatter with every jsonnetfmt golden: ${suiteMissing}`);
  console.warn(`Skipping the jsonnetfmt golden tests: ${suiteMissing}`);
}

const formatted = (source: string, name: string) => {
  const result = formatJsonnet(source, name);
  if (!result.ok) throw new Error(result.problem);
  return result.text;
};

const goldenPairs = (dir: string) =>
  readdirSync(dir).filter((f) => f.endsWith('.jsonnet.fmt.golden')).sort().map((golden) => [golden.slice(0, -'.fmt.golden'.length), golden] as const);

describe.skipIf(suiteMissing)('jsonnetfmt goldens of the jsonnet test suite', () => {
  const pairs = suiteMissing ? [] : goldenPairs(SUITE);

  it('has the goldens it is checked against', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(31);
  });

  it.each(pairs)('%s formats to its golden, and the golden to itself', (source, golden) => {
    const expected = readFileSync(join(SUITE, golden), 'utf8');
    const actual = formatted(readFileSync(join(SUITE, source), 'utf8'), source);
    if (KNOWN_DIFFERENCES[source]) {
      expect(actual, KNOWN_DIFFERENCES[source]).not.toBe(expected);
      return;
    }
    expect(actual).toBe(expected);
    expect(formatted(expected, golden)).toBe(expected);
  });

  it('leaves every other file of the suite as it is (the suite\'s rule for files without a golden)', () => {
    const others = readdirSync(SUITE).filter((f) => f.endsWith('.jsonnet') && !f.startsWith('error.parse.') && !existsSync(join(SUITE, `${f}.fmt.golden`)));
    expect(others.length).toBeGreaterThan(50);
    const changed = others.filter((f) => {
      const source = readFileSync(join(SUITE, f), 'utf8');
      // The runner compares without trailing newlines.
      return formatted(source, f).replace(/\n+$/, '') !== source.replace(/\n+$/, '');
    });
    expect(changed).toEqual([]);
  });

  it('reports each of the suite\'s syntax errors with its file, line and column', () => {
    const broken = readdirSync(SUITE).filter((f) => f.startsWith('error.parse.') && f.endsWith('.jsonnet'));
    expect(broken.length).toBeGreaterThan(5);
    for (const f of broken) expect(formatJsonnet(readFileSync(join(SUITE, f), 'utf8'), f)).toEqual({ ok: false, problem: expect.stringMatching(new RegExp(`^${f.replaceAll('.', '\\.')}:\\d+:\\d+: \\S`)) });
  });
});

describe('Kratos-style Jsonnet (test/fixtures/jsonnet-format)', () => {
  it.each(goldenPairs(FIXTURES))('%s formats to its golden, and the golden to itself', (source, golden) => {
    const expected = readFileSync(join(FIXTURES, golden), 'utf8');
    expect(formatted(readFileSync(join(FIXTURES, source), 'utf8'), source)).toBe(expected);
    expect(formatted(expected, golden)).toBe(expected);
  });
});

describe('formatJsonnet', () => {
  it('applies the default style: 2 spaces, single quotes, // comments, padded objects, unquoted names', () => {
    expect(formatted('{"a":[1,2,],  # note\n"b-c":{"d":"it\'s"}}', 'x.jsonnet')).toBe("{\n  a: [1, 2],  // note\n  'b-c': { d: \"it's\" },\n}\n");
  });

  it('keeps at most two blank lines and ends with one newline', () => {
    expect(formatted('local a = 1;\n\n\n\n\na\n\n\n', 'x.jsonnet')).toBe('local a = 1;\n\n\na\n');
  });

  it('keeps a #! first line and the escapes a string needs', () => {
    expect(formatted("#!/usr/bin/env jsonnet\n# x\n'\\u00e9\\n\\t\"'", 'x.jsonnet')).toBe("#!/usr/bin/env jsonnet\n// x\n'é\\n\\t\"'\n");
  });

  it('reports a syntax error as FILE:LINE:COLUMN: message, and never throws for one', () => {
    expect(formatJsonnet('{ a: 1 b: 2 }', 'mapper.jsonnet')).toEqual({ ok: false, problem: 'mapper.jsonnet:1:8: expected a comma before next field' });
    expect(formatJsonnet('local x = ;\nx', 'hook.jsonnet')).toEqual({ ok: false, problem: 'hook.jsonnet:1:11: unexpected ";" while parsing terminal' });
    expect(formatJsonnet("{\n  a: 'open\n}", 'm.jsonnet')).toEqual({ ok: false, problem: 'm.jsonnet:2:6: unterminated string' });
    expect(formatJsonnet("'\\q'", 'm.jsonnet')).toEqual({ ok: false, problem: "m.jsonnet:1:1: unknown escape sequence in string literal: 'q'" });
    expect(formatJsonnet('function(ctx) {', 'm.jsonnet')).toEqual({ ok: false, problem: 'm.jsonnet:1:16: unexpected end of file while parsing field definition' });
  });
});
