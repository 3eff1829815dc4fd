/**
 * Password policy (Kratos `selfservice.methods.password.config`, NIST SP 800-63B-4 §3.1.1.2, ASVS 6.2.x):
 * length in code points after NFKC, identifier similarity, breached-password check (HIBP range API).
 * No composition rules. Results are Kratos UI messages (ids 4000005, 4000031-4000034).
 *
 * The password is never logged, never thrown and never put into a message, error or callback argument.
 */
import type { PasswordMethodConfig } from '../../../config/types.ts';
import type { UiMessage } from '../../../machines/flow-types.ts';
import { MessageId } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { createHibpClient, HibpError, type HibpClient } from './hibp.ts';

export { HibpError } from './hibp.ts';

/** A Kratos UI message from the catalog (src/text), ready to put on the `password` node. */
export type PolicyViolation = UiMessage;

export interface PasswordPolicy {
  /** `null` when the password may be used. Never rejects. */
  check(password: string, identifiers: string[]): Promise<PolicyViolation | null>;
}

export interface PasswordPolicyOptions {
  fetch?: typeof fetch;
  /** Default: https, or http for a loopback `haveibeenpwned_host` (see `defaultHibpScheme` in hibp.ts). */
  hibpScheme?: 'https' | 'http';
  /** Clock (ms) for the HIBP range cache. */
  now?: () => number;
  /** Hasher limit in UTF-8 bytes (bcrypt: 72). */
  maxLengthBytes?: number;
  /**
   * Called on every failed HIBP lookup (network error, timeout, non-200, malformed or oversized body), whether the
   * policy then fails open (`ignore_network_errors: true`) or closed. For logging and metrics; exceptions it throws
   * are swallowed. The error carries no password material.
   */
  onHibpError?: (error: HibpError, info: { failOpen: boolean }) => void;
  /** Default 1000 ms (connect + response + body). */
  hibpTimeoutMs?: number;
  /** Default 1000 prefixes. */
  hibpCacheSize?: number;
  /** Default 1 h. */
  hibpCacheTtlMs?: number;
}

/** NIST asks for >= 64; beyond this a "password" is an abuse of the hasher. */
export const MAX_PASSWORD_CODE_POINTS = 1024;
/** Similarity is computed only when both strings are at most this long (bounded O(n*m), Kratos ed0096b95). */
export const SIMILARITY_MAX_LENGTH = 256;
export const SIMILARITY_MIN_DISTANCE = 5;
export const SIMILARITY_MAX_SUBSTRING_RATIO = 0.5;
export const HIBP_UNREACHABLE_REASON = 'the breached-password service could not be reached';

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------------
// Messages (Kratos text/message_validation.go, through the catalog)

export function passwordPolicyViolationGeneric(reason: string): PolicyViolation {
  return message(MessageId.ErrorValidationPasswordPolicyViolationGeneric, { reason });
}

export function passwordIdentifierTooSimilar(): PolicyViolation {
  return message(MessageId.ErrorValidationPasswordIdentifierTooSimilar);
}

export function passwordMinLength(minLength: number, actualLength: number): PolicyViolation {
  return message(MessageId.ErrorValidationPasswordMinLength, { min_length: minLength, actual_length: actualLength });
}

export function passwordMaxLength(maxLength: number, actualLength: number): PolicyViolation {
  return message(MessageId.ErrorValidationPasswordMaxLength, { max_length: maxLength, actual_length: actualLength });
}

export function passwordTooManyBreaches(breaches: number): PolicyViolation {
  return message(MessageId.ErrorValidationPasswordTooManyBreaches, { breaches });
}

/** 4000039, for the settings flow (the policy cannot know the current password). */
export function passwordNewSameAsOld(): PolicyViolation {
  return message(MessageId.ErrorValidationPasswordNewSameAsOld);
}

// ---------------------------------------------------------------------------------------------------------------
// String metrics (on code points, not UTF-16 units). Both are O(n*m); the policy bounds the inputs.

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** Levenshtein edit distance (insert/delete/substitute, cost 1) over code points. Case-sensitive. */
export function levenshtein(a: string, b: string): number {
  let x = codePoints(a);
  let y = codePoints(b);
  if (x.length < y.length) [x, y] = [y, x];
  if (y.length === 0) return x.length;
  let prev = new Array<number>(y.length + 1);
  let curr = new Array<number>(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    curr[0] = i;
    const xi = x[i - 1];
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1] + (xi === y[j - 1] ? 0 : 1);
      curr[j] = Math.min(sub, prev[j] + 1, curr[j - 1] + 1);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[y.length];
}

/** Length (in code points) of the longest common contiguous substring. Case-sensitive. */
export function longestCommonSubstring(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  if (x.length === 0 || y.length === 0) return 0;
  let prev = new Array<number>(y.length + 1).fill(0);
  let curr = new Array<number>(y.length + 1).fill(0);
  let best = 0;
  for (let i = 1; i <= x.length; i++) {
    const xi = x[i - 1];
    for (let j = 1; j <= y.length; j++) {
      if (xi === y[j - 1]) {
        const v = prev[j - 1] + 1;
        curr[j] = v;
        if (v > best) best = v;
      } else {
        curr[j] = 0;
      }
    }
    [prev, curr] = [curr, prev];
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------

/** NFKC, as NIST recommends before counting/hashing. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export function countCodePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Candidates an identifier contributes: itself and, for e-mail addresses, the local part. Lower-cased, NFKC. */
function similarityCandidates(identifiers: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of identifiers) {
    if (typeof raw !== 'string') continue;
    const id = raw.normalize('NFKC').trim().toLowerCase();
    if (id === '') continue;
    out.add(id);
    const at = id.lastIndexOf('@');
    if (at > 0) out.add(id.slice(0, at));
  }
  return [...out];
}

function tooSimilar(password: string, passwordLength: number, identifiers: readonly string[]): boolean {
  if (passwordLength === 0 || passwordLength > SIMILARITY_MAX_LENGTH) return false;
  const pw = password.toLowerCase();
  for (const candidate of similarityCandidates(identifiers)) {
    if (countCodePoints(candidate) > SIMILARITY_MAX_LENGTH) continue;
    if (levenshtein(candidate, pw) < SIMILARITY_MIN_DISTANCE) return true;
    if (longestCommonSubstring(candidate, pw) / passwordLength > SIMILARITY_MAX_SUBSTRING_RATIO) return true;
  }
  return false;
}

export function createPasswordPolicy(config: PasswordMethodConfig, opts: PasswordPolicyOptions = {}): PasswordPolicy {
  const minLength = config.min_password_length;
  const maxBytes = opts.maxLengthBytes;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0)) {
    throw new Error('maxLengthBytes must be a positive integer');
  }
  const maxBreaches = config.max_breaches;
  const failOpen = config.ignore_network_errors;

  let hibp: HibpClient | undefined;
  if (config.haveibeenpwned_enabled) {
    hibp = createHibpClient({
      host: config.haveibeenpwned_host,
      scheme: opts.hibpScheme,
      fetch: opts.fetch,
      now: opts.now,
      timeoutMs: opts.hibpTimeoutMs,
      cacheSize: opts.hibpCacheSize,
      cacheTtlMs: opts.hibpCacheTtlMs,
    });
  }

  function reportHibpError(err: HibpError): void {
    if (!opts.onHibpError) return;
    try {
      opts.onHibpError(err, { failOpen });
    } catch {
      // observability must not change the outcome
    }
  }

  return {
    async check(password: string, identifiers: string[]): Promise<PolicyViolation | null> {
      if (typeof password !== 'string') return passwordPolicyViolationGeneric('it is not a string');

      // Fast path for absurd inputs before NFKC: canonical composition shrinks at most 4:1 (longest canonical
      // decomposition is 4 code points), so more than 8x the limit in UTF-16 units cannot end up within it.
      if (password.length > 8 * MAX_PASSWORD_CODE_POINTS) {
        return passwordMaxLength(MAX_PASSWORD_CODE_POINTS, countCodePoints(password));
      }

      const normalized = normalizePassword(password);
      const length = countCodePoints(normalized);
      if (length < minLength) return passwordMinLength(minLength, length);
      if (length > MAX_PASSWORD_CODE_POINTS) return passwordMaxLength(MAX_PASSWORD_CODE_POINTS, length);
      if (maxBytes !== undefined) {
        // Whichever form the hasher receives (as typed or NFKC) must fit.
        const bytes = Math.max(encoder.encode(password).length, encoder.encode(normalized).length);
        if (bytes > maxBytes) return passwordMaxLength(maxBytes, bytes);
      }

      if (config.identifier_similarity_check_enabled && tooSimilar(normalized, length, identifiers ?? [])) {
        return passwordIdentifierTooSimilar();
      }

      if (hibp) {
        // Breach corpora hold passwords as typed; also check the NFKC form when it differs.
        const forms = normalized === password ? [password] : [password, normalized];
        let worst = 0;
        for (const form of forms) {
          let count: number;
          try {
            count = await hibp.breachCount(form);
          } catch (err) {
            const e = err instanceof HibpError ? err : new HibpError('internal', 'breached-password check failed');
            reportHibpError(e);
            if (!failOpen) return passwordPolicyViolationGeneric(HIBP_UNREACHABLE_REASON);
            break; // fail open (Kratos default), but keep a count already obtained for the other form
          }
          if (count > worst) worst = count;
        }
        if (worst > maxBreaches) return passwordTooManyBreaches(worst);
      }

      return null;
    },
  };
}
