import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDbDate } from '../../../src/persistence/sql/row-values.ts';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

describe('parseDbDate', () => {
  // PostgreSQL's timestamptz text and json_build_object's ISO 8601, at any offset and with 0-6 fraction digits.
  it('reads every timestamp text PostgreSQL writes as the instant it names, to the millisecond', () => {
    fc.assert(fc.property(
      fc.integer({ min: Date.UTC(1970, 0, 1) / 1000, max: Date.UTC(2200, 0, 1) / 1000 }),
      fc.integer({ min: -12 * 4, max: 14 * 4 }).map((quarters) => quarters * 15),
      fc.stringMatching(/^\d{0,6}$/),
      fc.constantFrom(' ', 'T'),
      fc.constantFrom('short', 'long', 'z'),
      (seconds, offsetMinutes, fraction, separator, style) => {
        const instant = seconds * 1000;
        const local = new Date(instant + offsetMinutes * 60_000).toISOString();
        const abs = Math.abs(offsetMinutes);
        const sign = offsetMinutes < 0 ? '-' : '+';
        const offset = style === 'z' && offsetMinutes === 0 ? 'Z'
          : style === 'short' && abs % 60 === 0 ? `${sign}${pad(abs / 60)}`
            : `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
        const text = `${local.slice(0, 10)}${separator}${local.slice(11, 19)}${fraction ? `.${fraction}` : ''}${offset}`;
        const millis = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
        expect(parseDbDate(text).getTime(), text).toBe(instant + millis);
      },
    ), { numRuns: 2000 });
  });

  it('leaves what is not a timestamp of that shape to the general parser, and refuses what nothing parses', () => {
    expect(parseDbDate('0099-06-01T00:00:00Z').getUTCFullYear()).toBe(99);
    expect(parseDbDate('1796653944252').getTime()).toBe(1796653944252);
    expect(() => parseDbDate('2026-01-02 03:04:05+00 trailing')).toThrow(TypeError);
    expect(() => parseDbDate('yesterday')).toThrow(TypeError);
  });
});
