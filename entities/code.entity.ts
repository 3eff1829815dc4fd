import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One-time codes and link tokens of recovery, verification, login and registration flows. Only an HMAC of the secret is stored.
 * A code is bound to its flow and to the address it was sent to; failed attempts are counted per address, so
 * asking for a new code (or a new flow) never resets them.
 */
export const SelfServiceCode = defineEntity({
  name: 'SelfServiceCode',
  tableName: 'selfservice_codes',
  indexes: [{ properties: ['purpose', 'address', 'createdAt'] }],
  properties: {
    id: p.uuid().primary(),
    flowId: p.uuid().index(),
    purpose: p.string().length(16).$type<'recovery' | 'verification' | 'login' | 'registration'>(),
    kind: p.string().length(8).$type<'code' | 'link'>(),
    via: p.string().length(16).$type<'email' | 'sms'>(),
    address: p.string().length(400),
    identityId: p.uuid().nullable(),
    secretHmac: p.string().length(128),
    failedAttempts: p.integer().default(0),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type SelfServiceCodeRow = InferEntity<typeof SelfServiceCode>;
