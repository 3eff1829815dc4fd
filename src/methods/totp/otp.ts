/**
 * TOTP keys and codes (RFC 6238 as Kratos uses it through pquerna/otp: SHA1, 6 digits, 30-second steps). The only
 * module that imports otplib; everything else in idflow sees strings and step numbers.
 */
import { createGuardrails, generateSecret, ScureBase32Plugin, verify } from 'otplib';

export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
/** Kratos `SecretSize`: 20 random bytes, 32 base32 characters. */
export const TOTP_SECRET_BYTES = 20;
/**
 * The shortest secret accepted from an otpauth URL (an imported key): 80 bits, what Google Authenticator's own
 * examples use. otplib's default guardrail (16 bytes, RFC 4226's MUST) would refuse such keys, pquerna/otp does not.
 */
export const TOTP_MIN_SECRET_BYTES = 10;

const guardrails = createGuardrails({ MIN_SECRET_BYTES: TOTP_MIN_SECRET_BYTES });
const base32 = new ScureBase32Plugin();

/** A TOTP key as read from an `otpauth://totp/` URL. */
export interface TotpKey {
  /** Upper-case base32 without padding. */
  secret: string;
  issuer?: string;
  account?: string;
  /** As written in the URL (Kratos ignores these when validating a code; so does idflow). */
  algorithm: string;
  digits: number;
  period: number;
}

/** A new secret: 20 bytes from the platform CSPRNG, base32 without padding (32 characters of A-Z2-7). */
export function generateTotpSecret(): string {
  return generateSecret({ length: TOTP_SECRET_BYTES });
}

/**
 * `otpauth://totp/<Issuer>:<Account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`, issuer and account
 * percent-encoded (a `:` inside either is escaped, so the label's separator stays unambiguous). Built by hand:
 * otplib's `generateURI` leaves out the default algorithm, digits and period, and does not escape a `:` in the issuer.
 */
export function totpUrl(input: { issuer: string; account: string; secret: string }): string {
  const issuer = encodeURIComponent(input.issuer);
  const account = encodeURIComponent(input.account);
  return `otpauth://totp/${issuer}:${account}?secret=${input.secret}&issuer=${issuer}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD}`;
}

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

function splitDecoded(label: string): [string | undefined, string] {
  const colon = label.indexOf(':');
  return colon >= 0 ? [label.slice(0, colon), label.slice(colon + 1)] : [undefined, label];
}

/** The secret, upper-cased and unpadded, when it is base32 of at least TOTP_MIN_SECRET_BYTES bytes. */
function normalizeSecret(raw: string): string | undefined {
  const secret = raw.toUpperCase().replace(/=+$/, '');
  if (!/^[A-Z2-7]+$/.test(secret)) return undefined;
  try {
    return base32.decode(secret).length >= TOTP_MIN_SECRET_BYTES ? secret : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The key of an `otpauth://totp/…` URL, or undefined when it is not one: another scheme or type (`hotp`), no secret,
 * or a secret that is not base32 of at least 10 bytes. Lower-case secrets are accepted (Kratos upper-cases them).
 */
export function parseTotpUrl(url: string): TotpKey | undefined {
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'otpauth:' || parsed.host.toLowerCase() !== 'totp') return undefined;
  const secret = normalizeSecret(parsed.searchParams.get('secret') ?? '');
  if (!secret) return undefined;
  // The label's separator is a literal `:` when there is one (an escaped `%3A` then belongs to a name), else the
  // first colon of the decoded label (the Key URI format allows either).
  const raw = parsed.pathname.replace(/^\//, '');
  const literal = raw.indexOf(':');
  const [labelIssuer, labelAccount] = literal >= 0
    ? [decode(raw.slice(0, literal)), decode(raw.slice(literal + 1))]
    : splitDecoded(decode(raw) ?? '');
  const account = (labelAccount ?? '').trim();
  const issuer = parsed.searchParams.get('issuer') ?? labelIssuer?.trim();
  const digits = Number(parsed.searchParams.get('digits') ?? TOTP_DIGITS);
  const period = Number(parsed.searchParams.get('period') ?? TOTP_PERIOD);
  const key: TotpKey = {
    secret,
    algorithm: (parsed.searchParams.get('algorithm') ?? 'SHA1').toUpperCase(),
    digits: Number.isInteger(digits) ? digits : TOTP_DIGITS,
    period: Number.isInteger(period) && period > 0 ? period : TOTP_PERIOD,
  };
  if (issuer) key.issuer = issuer;
  if (account) key.account = account;
  return key;
}

/** The time step of `now`: floor(unix seconds / 30). */
export function totpStep(now: Date): number {
  return Math.floor(Math.floor(now.getTime() / 1000) / TOTP_PERIOD);
}

/**
 * The time step `code` belongs to when it is the key's code for the step of `now`, the one before or the one after
 * (pquerna's skew 1), and later than `afterStep` (a step already used); otherwise undefined. Whitespace around the
 * code is ignored; anything but six digits is simply wrong. Always SHA1, 6 digits, 30 seconds, as Kratos validates.
 */
export async function verifyTotp(secret: string, code: string, now: Date, afterStep?: number): Promise<number | undefined> {
  const token = typeof code === 'string' ? code.trim() : '';
  if (!/^\d{6}$/.test(token)) return undefined;
  const epoch = Math.floor(now.getTime() / 1000);
  const latest = Math.floor((epoch + TOTP_PERIOD) / TOTP_PERIOD);
  const after = afterStep !== undefined && Number.isSafeInteger(afterStep) && afterStep >= 0 ? afterStep : undefined;
  // otplib refuses an afterTimeStep beyond the window; every step of the window is used up then anyway.
  if (after !== undefined && after >= latest) return undefined;
  try {
    const result = await verify({
      secret, token, epoch, epochTolerance: TOTP_PERIOD, afterTimeStep: after,
      algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD, guardrails,
    });
    return result.valid ? (result as { timeStep: number }).timeStep : undefined;
  } catch {
    return undefined;
  }
}
