/**
 * An authenticator app for tests: a fixed TOTP key (imported through the admin API's Kratos format) and the code it
 * shows at a given time (RFC 6238, SHA1, 6 digits, 30 s), computed with otplib as a phone app would.
 */
import { generate } from 'otplib';

/** 20 bytes, base32 (what idflow and Kratos generate). */
export const TEST_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

export const testTotpUrl = (account = 'user@example.com', secret = TEST_TOTP_SECRET) =>
  `otpauth://totp/idflow:${encodeURIComponent(account)}?secret=${secret}&issuer=idflow&algorithm=SHA1&digits=6&period=30`;

/** The code the app shows at `now` (`stepOffset` steps of 30 s later or earlier). */
export async function totpCode(now: Date, stepOffset = 0, secret = TEST_TOTP_SECRET): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000) + stepOffset * 30 });
}

/** A six-digit code that is not the app's code for the window around `now`. */
export async function wrongTotpCode(now: Date, secret = TEST_TOTP_SECRET): Promise<string> {
  const window = new Set(await Promise.all([-1, 0, 1].map((o) => totpCode(now, o, secret))));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!window.has(candidate)) return candidate;
  }
}
