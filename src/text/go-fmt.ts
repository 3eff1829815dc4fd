/**
 * The few pieces of Go's `fmt`, `strconv`, `time` and `x/text/cases` that Kratos's message texts depend on,
 * so a text renders byte for byte as Kratos's constructor would (`%q`, `%v` of a float64, `%.2f`,
 * `time.Time.String()`, `Duration.Minutes()`, `cases.Title`).
 */

/** `strconv.Quote` (what `%q` prints for a string): Go escapes, non-printable runes as \x, \u or \U. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd'; // a lone surrogate reaches Go as U+FFFD
    else if (ch === ' ' || PRINTABLE.test(ch)) out += ch;
    else if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

// unicode.IsPrint: letters, marks, numbers, punctuation and symbols; U+0020 is the only printable space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * `%v` of a float64 (`strconv.FormatFloat(x, 'g', -1, 64)`): the shortest round-tripping digits, in exponent
 * form when the decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`), with a two-digit exponent.
 */
export function goFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(x); // JavaScript prints exponents only below 1e-6 or from 1e21, so this is plain decimal
}

/**
 * `%.2f`: JavaScript's toFixed rounds an exact tie away from zero, Go's strconv to even. A tie at the third
 * decimal is exactly representable only for odd multiples of 1/8 (.125, .375, .625, .875).
 */
export function goFixed2(x: number): string {
  if (!Number.isFinite(x)) return goFloat(x);
  if (Number.isInteger(x * 8) && !Number.isInteger(x * 4)) {
    const hundredths = x * 100; // exact: an odd multiple of 12.5
    const floor = Math.floor(hundredths);
    const even = floor % 2 === 0 ? floor : floor + 1;
    const sign = even < 0 || (even === 0 && x < 0) ? '-' : '';
    const abs = Math.abs(even);
    return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  }
  const fixed = x.toFixed(2);
  return Object.is(x, -0) ? `-${fixed}` : fixed;
}

/** Nanoseconds since the Unix epoch, the precision of Go's time.Time. */
export type UnixNanos = bigint;

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const NS_PER_MINUTE = 60n * NS_PER_S;
const MAX_DURATION = (1n << 63n) - 1n;
const MIN_DURATION = -(1n << 63n);
/** Go's zero time.Time (0001-01-01 00:00:00 UTC). */
export const GO_ZERO_TIME: UnixNanos = -62_135_596_800n * NS_PER_S;

export function nanosOfDate(d: Date): UnixNanos {
  return BigInt(d.getTime()) * NS_PER_MS;
}

export function nanosOfUnixSeconds(s: number): UnixNanos {
  return BigInt(Math.trunc(s)) * NS_PER_S;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 timestamp (how Go serializes a time.Time in JSON) keeping all nine fraction digits. */
export function nanosOfRfc3339(s: string): UnixNanos | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '', z, sign, oh = '0', om = '0'] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // Date.UTC would read years 0-99 as 1900-1999
  date.setUTCHours(Number(h), Number(mi), Number(sec));
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || date.getUTCHours() !== Number(h)
    || date.getUTCMinutes() !== Number(mi) || date.getUTCSeconds() !== Number(sec)) return undefined; // out of range
  const ms = date.getTime();
  const offsetMinutes = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return BigInt(ms) * NS_PER_MS + BigInt(frac.padEnd(9, '0')) - BigInt(offsetMinutes) * NS_PER_MINUTE;
}

/** `Duration.Minutes()` of `later.Sub(earlier)`, including Sub's saturation at the int64 range. */
export function goMinutesBetween(earlier: UnixNanos, later: UnixNanos): number {
  let d = later - earlier;
  if (d > MAX_DURATION) d = MAX_DURATION;
  if (d < MIN_DURATION) d = MIN_DURATION;
  const whole = d / NS_PER_MINUTE; // BigInt division truncates toward zero, like Go's
  const rest = d % NS_PER_MINUTE;
  return Number(whole) + Number(rest) / 6e10;
}

/** `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function goUtcTimeString(t: UnixNanos): string {
  let ms = t / NS_PER_MS;
  let nanos = t % NS_PER_S;
  if (nanos < 0n) nanos += NS_PER_S;
  if (t < 0n && t % NS_PER_MS !== 0n) ms -= 1n; // floor, not truncate, before the epoch
  const date = new Date(Number(ms));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const fraction = nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction} +0000 UTC`;
}

/**
 * `%v` of a value decoded from JSON: strings as they are, numbers as float64, `<nil>`, `[a b]`, `map[k:v]`
 * (Go prints map keys sorted).
 */
export function goValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof Date) return goUtcTimeString(nanosOfDate(v));
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]`;
  }
  return String(v);
}

/**
 * `cases.Title(language.English).String(s)`: the first cased letter of a word in title case, the word's other
 * cased letters in lower case ("GitHub" → "Github", "1password" → "1Password", "apple-id" → "Apple-Id").
 * Words as x/text approximates Unicode word breaking: letters, digits, marks and connectors never break; one
 * mid-word character (apostrophe, period, colon, format character) does not, two in a row do; anything else does.
 */
export function goTitle(s: string): string {
  const runes = [...s];
  let out = '';
  let midWord = false;
  runes.forEach((r, i) => {
    if (CASED.test(r)) {
      out += midWord ? r.toLowerCase() : (TITLE_CASE[r] ?? r.toUpperCase());
      midWord = true;
    } else {
      out += r;
    }
    const mid = MID.test(r);
    if (!mid && !LETTER.test(r)) midWord = false;
    else if (mid && i + 1 < runes.length && MID.test(runes[i + 1] ?? '')) midWord = false;
  });
  return out;
}

const CASED = /^\p{Cased}$/u;
const LETTER = /^[\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\u202f]$/u;
const MID = /^[\p{Cf}'.:\u00b7\u0387\u055f\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a]$/u;
/** Where title case is not upper case (Unicode's SpecialCasing and the title-case digraphs). */
const TITLE_CASE: Readonly<Record<string, string>> = {
  '\u01c4': '\u01c5', '\u01c5': '\u01c5', '\u01c6': '\u01c5', '\u01c7': '\u01c8', '\u01c8': '\u01c8', '\u01c9': '\u01c8',
  '\u01ca': '\u01cb', '\u01cb': '\u01cb', '\u01cc': '\u01cb', '\u01f1': '\u01f2', '\u01f2': '\u01f2', '\u01f3': '\u01f2',
  '\u00df': 'Ss', '\ufb00': 'Ff', '\ufb01': 'Fi', '\ufb02': 'Fl', '\ufb03': 'Ffi', '\ufb04': 'Ffl', '\ufb05': 'St', '\ufb06': 'St',
};
