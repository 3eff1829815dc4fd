import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Identity } from './identity.entity.ts';

export interface AuthenticationMethodRecord {
  method: string;
  aal: 'aal1' | 'aal2' | 'aal3';
  completed_at: string;
  provider?: string;
}

export interface SessionDeviceRecord {
  id: string;
  ip_address?: string;
  user_agent?: string;
  location?: string;
}

/** Only SHA-256 hashes of the session and logout tokens are stored: a database leak yields no usable session. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.uuid().primary(),
    tokenHash: p.string().length(64).unique(),
    logoutTokenHash: p.string().length(64).unique(),
    identity: () => p.manyToOne(Identity).mapToPk().deleteRule('cascade').index(),
    active: p.boolean(),
    aal: p.string().length(8).$type<'aal0' | 'aal1' | 'aal2' | 'aal3'>(),
    authenticationMethods: p.json<AuthenticationMethodRecord[]>(),
    devices: p.json<SessionDeviceRecord[]>(),
    authenticatedAt: p.datetime(),
    issuedAt: p.datetime(),
    expiresAt: p.datetime(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type SessionRow = InferEntity<typeof Session>;
