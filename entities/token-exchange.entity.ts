import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Kratos's session token exchangers (`session_token_exchanges`): a native app that signs in through a browser gets an
 * init code when it creates the flow and a return_to code when the browser comes back; both together, once, give it
 * the session token. Only SHA-256 hashes of the codes are stored; the row follows the flow when an OpenID Connect
 * login continues as a sign-up.
 */
export const SessionTokenExchange = defineEntity({
  name: 'SessionTokenExchange',
  tableName: 'session_token_exchanges',
  properties: {
    id: p.uuid().primary(),
    flowId: p.uuid().index(),
    initCodeHash: p.string().length(64).unique(),
    returnToCodeHash: p.string().length(64).nullable(),
    sessionId: p.uuid().nullable(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type SessionTokenExchangeRow = InferEntity<typeof SessionTokenExchange>;
