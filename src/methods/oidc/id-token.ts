/**
 * Verifies an id_token a native app got from the provider's own SDK and submitted to a flow (Kratos ProcessIDToken,
 * token_verifier.go): signature by the provider's published keys, issuer, audience (the client id or one of
 * `additional_id_token_audiences`), expiry, then the nonce rules. Only presets with a fixed issuer and key set accept
 * one (Kratos's IDTokenVerifier: google, apple); any other provider refuses it.
 *
 * Nothing here logs: the token and its claims never leave this module except as the verified claims.
 */
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { UpstreamError } from './relying-party.ts';

type KeySet = ReturnType<typeof createRemoteJWKSet>;

export interface IdTokenCheck {
  /** The provider's issuer and where its keys are (a discovered `jwks_uri` when the preset's issuer was overridden). */
  issuer: string;
  jwksUri: () => Promise<string>;
  audiences: string[];
  /** Kratos NonceValidationSkipper: whether a token without a nonce is accepted (Google always, Apple unless the device supports nonces). */
  canSkipNonce(claims: Record<string, unknown>): boolean;
}

const keySets = new Map<string, KeySet>();

function keySet(uri: string): KeySet {
  let set = keySets.get(uri);
  if (!set) {
    // jose caches the keys and refetches on an unknown `kid` (rate-limited by its cooldown).
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: 10_000 });
    keySets.set(uri, set);
  }
  return set;
}

/** The verified claims; an UpstreamError with Kratos's reason otherwise. */
export async function verifyIdToken(check: IdTokenCheck, token: string, nonce: string): Promise<Record<string, unknown>> {
  let claims: Record<string, unknown>;
  try {
    const uri = await check.jwksUri();
    // Wall-clock time, as the provider's: the token is the provider's statement, not a flow of ours.
    ({ payload: claims } = await jwtVerify(token, keySet(uri), { issuer: check.issuer, audience: check.audiences }));
  } catch (err) {
    if (err instanceof UpstreamError) throw err;
    throw new UpstreamError(`Could not verify id_token: ${reason(err)}`);
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new UpstreamError('The id_token claims were invalid: the subject is missing.');
  const inToken = typeof claims.nonce === 'string' ? claims.nonce : '';
  if (inToken === '') {
    if (!check.canSkipNonce(claims)) throw new UpstreamError('No nonce was included in the id_token but is required by the provider');
  } else if (nonce === '') {
    throw new UpstreamError('No nonce was provided but is required by the provider');
  } else if (nonce !== inToken) {
    throw new UpstreamError('The supplied nonce does not match the nonce from the id_token');
  }
  return claims;
}

/** jose's fixed texts (never the token or a claim's value). */
function reason(err: unknown): string {
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the "${err.claim}" claim is not the expected one`;
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'the signature was not made by the provider\'s keys';
  if (err instanceof joseErrors.JOSEError) return err.code;
  return 'the provider\'s keys could not be fetched';
}
