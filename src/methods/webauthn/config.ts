/** Relying-party configuration of the `webauthn` and `passkey` methods (Kratos driver/config WebAuthnConfig, PasskeyConfig). */
import { parseDuration } from '../../x/duration.ts';

/** The relying party: `rp.id`, `rp.display_name` and the resolved origins (see `resolveOrigins`). */
export interface WebauthnRp {
  id: string;
  name: string;
  origins: string[];
}

export type UserVerification = 'required' | 'preferred' | 'discouraged';
export type ResidentKey = 'required' | 'preferred' | 'discouraged';
export type Attachment = 'platform' | 'cross-platform';
export type AttestationPreference = 'none' | 'indirect' | 'direct' | 'enterprise';

/** `selfservice.methods.passkey.config.authenticator_selection`. */
export interface PasskeyAuthenticatorSelection {
  attachment?: Attachment;
  resident_key?: ResidentKey;
  user_verification?: UserVerification;
}

/** `selfservice.methods.passkey.config.attestation`. */
export interface PasskeyAttestation {
  preference?: AttestationPreference;
}

/** `selfservice.methods.passkey.config.timeouts`: Go durations (`60s`, `5m`) or milliseconds. */
export interface PasskeyTimeouts {
  registration?: string | number;
  login?: string | number;
}

/** The `rp` part of either method's config. */
export interface RpConfig {
  id?: string;
  display_name?: string;
  /** Deprecated, webauthn only. */
  origin?: string;
  origins?: string[];
}

/**
 * Kratos's origins (config.go WebAuthnConfig/PasskeyConfig): `rp.origins` when set, else `[rp.origin]` (webauthn's
 * deprecated key), else the public base URL's scheme + `://` + `rp.id` — with no port, so `rp.id: localhost` behind
 * `http://localhost:4433/` gives `http://localhost`.
 */
export function resolveOrigins(config: { rp?: RpConfig } | undefined, publicBaseUrl: string): string[] {
  const rp = config?.rp ?? {};
  if (Array.isArray(rp.origins) && rp.origins.length > 0) return [...rp.origins];
  if (typeof rp.origin === 'string' && rp.origin !== '') return [rp.origin];
  const scheme = new URL(publicBaseUrl).protocol.replace(/:$/, '');
  return [`${scheme}://${rp.id ?? ''}`];
}

/** The relying party of a method config (`rp.id`, `rp.display_name`, resolved origins). */
export function relyingParty(config: { rp?: RpConfig } | undefined, publicBaseUrl: string): WebauthnRp {
  return { id: config?.rp?.id ?? '', name: config?.rp?.display_name ?? '', origins: resolveOrigins(config, publicBaseUrl) };
}

/** go-webauthn's default `pubKeyCredParams`, in its order: ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA. */
export const ALGORITHMS: readonly number[] = [-7, -35, -36, -257, -258, -259, -37, -38, -39, -8];

/** go-webauthn's default ceremony timeouts (ms): 300 s, or 120 s when user verification is discouraged. */
export const DEFAULT_TIMEOUT = 300_000;
export const DEFAULT_TIMEOUT_UV_DISCOURAGED = 120_000;

/** The ceremony timeout: the configured one (both variants equal it), else the library's default for `uv`. */
export function ceremonyTimeout(configured: string | number | undefined, uv: UserVerification): number {
  const ms = typeof configured === 'number' ? configured : typeof configured === 'string' && configured !== '' ? parseDuration(configured) : 0;
  if (ms > 0) return Math.round(ms);
  return uv === 'discouraged' ? DEFAULT_TIMEOUT_UV_DISCOURAGED : DEFAULT_TIMEOUT;
}

/**
 * go-webauthn's `FullyQualifiedOrigin`: `scheme://host[:port]` of a URL (path, query and user info dropped);
 * undefined when it has no host. Opaque origins (`android:apk-key-hash:…`) stay as they are.
 */
export function fullyQualifiedOrigin(raw: string): string | undefined {
  if (/^android:apk-key-hash:/.test(raw)) return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.host === '') return undefined;
  return `${url.protocol}//${url.host}`;
}

/** Whether a client's origin is one of the relying party's: compared as fully qualified origins, case-insensitively. */
export function originAllowed(clientOrigin: string, origins: readonly string[]): boolean {
  const actual = fullyQualifiedOrigin(clientOrigin);
  if (actual === undefined) return false;
  return origins.some((o) => (fullyQualifiedOrigin(o) ?? o).toLowerCase() === actual.toLowerCase());
}
