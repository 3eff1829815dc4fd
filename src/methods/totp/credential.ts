/**
 * The stored `totp` credential. Kratos keeps `{totp_url}` in plaintext; idflow seals the URL (and with it the secret)
 * with the credential cipher, bound to the identity and the purpose `totp_url`:
 * `{type: 'totp', identifiers: [<identity id>], config: {totp_url_sealed, last_used_step?}}`.
 * `last_used_step` is the last time step that logged in (or enrolled), so a code is good once (beyond Kratos).
 */
import type { IdentityRecord } from '../../identity/identity.ts';
import type { CredentialCipher } from '../../x/credential-cipher.ts';

export const TOTP_URL_PURPOSE = 'totp_url';

export type TotpCipher = Pick<CredentialCipher, 'seal' | 'open'>;

/** A type, not an interface, so it fits a credential's `config: Record<string, unknown>` as is. */
export type TotpCredentialConfig = {
  /** `cipher.seal(identityId, 'totp_url', <otpauth URL>)`. */
  totp_url_sealed: string;
  /** The last time step a code was accepted for (floor(unix seconds / 30)). */
  last_used_step?: number;
};

export type IdentityCredential = IdentityRecord['credentials'][number];

/** The config to store for `url` (an admin import sets it as the credential's config; identifiers `[identityId]`). */
export async function sealTotpUrl(cipher: Pick<CredentialCipher, 'seal'>, identityId: string, url: string): Promise<TotpCredentialConfig> {
  return { totp_url_sealed: await cipher.seal(identityId, TOTP_URL_PURPOSE, url) };
}

/** The otpauth URL of a stored config, or undefined when it is missing or sealed for another identity or secret. */
export async function openTotpUrl(cipher: Pick<CredentialCipher, 'open'>, identityId: string, config: Record<string, unknown>): Promise<string | undefined> {
  const sealed = config.totp_url_sealed;
  if (typeof sealed !== 'string' || sealed === '') return undefined;
  try {
    return await cipher.open(identityId, TOTP_URL_PURPOSE, sealed);
  } catch {
    return undefined;
  }
}

/** The identity's `totp` credential. */
export function totpCredential(identity: IdentityRecord | undefined): IdentityCredential | undefined {
  return identity?.credentials.find((c) => c.type === 'totp');
}

/** Whether the identity has a TOTP set up: a `totp` credential holding a sealed URL (Kratos: a `totp_url`). */
export function hasTotp(identity: IdentityRecord | undefined): boolean {
  const sealed = totpCredential(identity)?.config.totp_url_sealed;
  return typeof sealed === 'string' && sealed !== '';
}

/** The stored last used step, when it is one. */
export function lastUsedStep(config: Record<string, unknown>): number | undefined {
  const step = config.last_used_step;
  return typeof step === 'number' && Number.isSafeInteger(step) && step >= 0 ? step : undefined;
}
