/** The Go formatting Kratos's texts go through; expected values are what Go prints for the same input. */
import { describe, expect, it } from 'vitest';
import {
  GO_ZERO_TIME, goFixed2, goFloat, goMinutesBetween, goQuote, goTitle, goUtcTimeString, goValue, nanosOfRfc3339,
} from '../../../src/text/go-fmt.ts';

describe('goFloat (%v of a float64)', () => {
  it.each<[number, string]>([
    [0, '0'], [-0, '-0'], [5, '5'], [5.5, '5.5'], [-2.5, '-2.5'], [123456, '123456'], [1e6, '1e+06'], [1234567, '1.234567e+06'],
    [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [1e21, '1e+21'], [1e100, '1e+100'], [0.1 + 0.2, '0.30000000000000004'],
    [Number.NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
  ])('%s → %s', (x, text) => expect(goFloat(x)).toBe(text));
});

describe('goFixed2 (%.2f)', () => {
  it.each<[number, string]>([
    [0.125, '0.12'], [0.375, '0.38'], [2.625, '2.62'], [-0.125, '-0.12'], // exact ties round to even
    [1.005, '1.00'], [1.015, '1.01'], [0.005, '0.01'], // not ties: the binary value decides
    [15, '15.00'], [-1, '-1.00'], [-0.001, '-0.00'],
  ])('%s → %s', (x, text) => expect(goFixed2(x)).toBe(text));
});

describe('goQuote (%q)', () => {
  it('escapes like strconv.Quote', () => {
    expect(goQuote('plain')).toBe('"plain"');
    expect(goQuote('a"b\\c\n\t\x07')).toBe('"a\\"b\\\\c\\n\\t\\a"');
    expect(goQuote('\x00\x7f\u0085')).toBe('"\\x00\\x7f\\u0085"');
    expect(goQuote('é😀')).toBe('"é😀"');
    expect(goQuote('\u00a0\u200b\u{e0001}')).toBe('"\\u00a0\\u200b\\U000e0001"');
  });
});

describe('goTitle (cases.Title, English)', () => {
  it.each<[string, string]>([
    ['google', 'Google'], ['GitHub', 'Github'], ['apple-id', 'Apple-Id'], ['hello world', 'Hello World'], ['microsoft_entra', 'Microsoft_entra'],
    ["o'neil", "O'neil"], ['x.com', 'X.com'], ['a..b', 'A..B'], ['1password', '1Password'], ['ÉCOLE', 'École'], ['ǆemal', 'ǅemal'],
  ])('%s → %s', (s, text) => expect(goTitle(s)).toBe(text));
});

describe('times', () => {
  it('parses RFC 3339 to the nanosecond, any offset', () => {
    expect(nanosOfRfc3339('1970-01-01T00:00:01.000000002Z')).toBe(1_000_000_002n);
    expect(nanosOfRfc3339('1970-01-01T01:00:00+01:00')).toBe(0n);
    expect(nanosOfRfc3339('0001-01-01T00:00:00Z')).toBe(GO_ZERO_TIME);
    expect(nanosOfRfc3339('2020-02-30T00:00:00Z')).toBeUndefined();
    expect(nanosOfRfc3339('yesterday')).toBeUndefined();
  });

  it('prints time.Time.String() of a UTC time', () => {
    expect(goUtcTimeString(nanosOfRfc3339('2020-01-01T00:59:59Z') ?? 0n)).toBe('2020-01-01 00:59:59 +0000 UTC');
    expect(goUtcTimeString(nanosOfRfc3339('2020-01-01T00:59:59.120000Z') ?? 0n)).toBe('2020-01-01 00:59:59.12 +0000 UTC');
    expect(goUtcTimeString(nanosOfRfc3339('1969-12-31T23:59:59.999999999Z') ?? 0n)).toBe('1969-12-31 23:59:59.999999999 +0000 UTC');
    expect(goUtcTimeString(GO_ZERO_TIME)).toBe('0001-01-01 00:00:00 +0000 UTC');
  });

  it('computes Duration.Minutes() of a difference, saturating like time.Sub', () => {
    expect(goMinutesBetween(0n, 90_000_000_000n)).toBe(1.5);
    expect(goMinutesBetween(90_000_000_000n, 0n)).toBe(-1.5);
    expect(goMinutesBetween(GO_ZERO_TIME, 1_577_836_800_000_000_000n)).toBeCloseTo(153722867.28, 2); // (2^63−1) ns
  });
});

describe('goValue (%v of JSON values)', () => {
  it('prints like fmt', () => {
    expect(goValue('"foo"')).toBe('"foo"');
    expect(goValue(true)).toBe('true');
    expect(goValue(null)).toBe('<nil>');
    expect(goValue([1, 'a', 2.5])).toBe('[1 a 2.5]');
    expect(goValue({ b: 1, a: [true] })).toBe('map[a:[true] b:1]');
  });
});
