/**
 * Kratos's session token exchange (`return_session_token_exchange_code=true`, `GET /sessions/token-exchange`): a
 * native app that signs in through the system browser (an OpenID Connect provider) cannot receive the session token
 * in that browser. It gets an init code with the API flow; when the flow issues a session through the provider's
 * callback, the browser is sent to the app's return_to with a return_to code; both codes together, once and within
 * a few minutes, give the app the session token.
 *
 * Only SHA-256 hashes of the codes are stored. The session's token is never stored either: the exchange gives the
 * session a new token and returns that (the one issued with the session was never shown to anyone).
 */
import { KratosError } from '../errors/kratos-error.ts';
import type { Store, TokenExchangeRecord } from '../persistence/store.ts';
import type { Clock } from '../x/clock.ts';
import { randomAlphanumeric } from '../x/random.ts';
import type { SessionService } from './session-service.ts';
import type { SessionWithIdentity } from './session.ts';
import { hashToken } from './token-hash.ts';

/** Kratos's codes: 64 alphanumerics each. */
const CODE_LENGTH = 64;
/** How long the codes may be exchanged once the session exists (the app is waiting for its return_to). */
export const EXCHANGE_WINDOW_MS = 5 * 60 * 1000;

export interface TokenExchangeDeps {
  store: Store;
  sessions: SessionService;
  clock: Clock;
}

export const newExchangeCode = (): string => randomAlphanumeric(CODE_LENGTH);
export const hashExchangeCode = (code: string): Promise<string> => hashToken(code);

/** A new exchange for an API flow: the stored row and the init code (shown once, in the flow's creation answer). */
export async function startTokenExchange(flow: { id: string; expiresAt: Date }, now: Date): Promise<{ record: TokenExchangeRecord; initCode: string }> {
  const initCode = newExchangeCode();
  return {
    initCode,
    record: {
      id: crypto.randomUUID(), flowId: flow.id, initCodeHash: await hashExchangeCode(initCode), returnToCodeHash: null, sessionId: null,
      expiresAt: flow.expiresAt, usedAt: null, createdAt: now, updatedAt: now,
    },
  };
}

const noSessionYet = () => new KratosError(404, undefined, { reason: 'no session yet for this "code"' });

/** `GET /sessions/token-exchange`: the session and a fresh token for it, once. */
export async function exchangeSessionToken(deps: TokenExchangeDeps, initCode: string, returnToCode: string): Promise<{ token: string; session: SessionWithIdentity }> {
  if (initCode === '' || returnToCode === '') {
    throw new KratosError(400, undefined, { reason: '"init_code" and "return_to_code" query params must be set' });
  }
  const now = deps.clock.now();
  const found = await deps.store.tokenExchanges.findByInitCodeHash(await hashExchangeCode(initCode));
  const returnHash = await hashExchangeCode(returnToCode);
  // Both codes must match (the return_to code's hash compared in constant time), the session exist, the window be open.
  if (!found || found.sessionId === null || found.returnToCodeHash === null || !sameHash(found.returnToCodeHash, returnHash)
    || found.usedAt !== null || found.expiresAt.getTime() < now.getTime()) {
    throw noSessionYet();
  }
  const stored = await deps.sessions.get(found.sessionId);
  const session = stored ? (await deps.sessions.attachIdentities([stored]))[0] : undefined;
  if (!session || !deps.sessions.isActive(session)) throw noSessionYet();
  const { patch, token } = await deps.sessions.newToken();
  await deps.store.transaction(async (tx) => {
    // Single use: of two concurrent exchanges only one marks the row used.
    if (!(await tx.tokenExchanges.markUsed(found.id, now))) throw noSessionYet();
    await tx.sessions.update(session.id, patch, now);
  });
  return { token, session };
}

function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
