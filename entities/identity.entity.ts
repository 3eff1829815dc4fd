import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const Identity = defineEntity({
  name: 'Identity',
  tableName: 'identities',
  properties: {
    id: p.uuid().primary(),
    schemaId: p.string().length(2048),
    state: p.string().length(32).$type<'active' | 'inactive'>(),
    stateChangedAt: p.datetime().nullable(),
    traits: p.json<Record<string, unknown>>(),
    metadataPublic: p.json<unknown>().nullable(),
    metadataAdmin: p.json<unknown>().nullable(),
    externalId: p.string().length(255).nullable().unique(),
    organizationId: p.uuid().nullable(),
    createdAt: p.datetime().index(),
    updatedAt: p.datetime(),
    /**
     * whoami's read model, written with every change of the identity (src/session/identity-read-model.ts): the
     * identity's JSON as a session shows it, without `id`, `schema_id` and `schema_url`. Null for rows written before
     * it existed (or cleared after editing the identity's rows by hand): the lookup then reads the identity's rows.
     */
    publicJson: p.text().nullable(),
  },
});
export type IdentityRow = InferEntity<typeof Identity>;

export const IdentityCredential = defineEntity({
  name: 'IdentityCredential',
  tableName: 'identity_credentials',
  uniques: [{ properties: ['identity', 'type'] }],
  properties: {
    id: p.uuid().primary(),
    identity: () => p.manyToOne(Identity).mapToPk().deleteRule('cascade'),
    type: p.string().length(32),
    config: p.json<Record<string, unknown>>(),
    version: p.integer().default(0),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type IdentityCredentialRow = InferEntity<typeof IdentityCredential>;

/** One row per identifier; the unique (type, identifier) index is the arbiter of identifier uniqueness. */
export const CredentialIdentifier = defineEntity({
  name: 'CredentialIdentifier',
  tableName: 'identity_credential_identifiers',
  uniques: [{ name: 'identity_credential_identifiers_type_identifier_uq', properties: ['type', 'identifier'] }],
  properties: {
    id: p.uuid().primary(),
    credential: () => p.manyToOne(IdentityCredential).mapToPk().deleteRule('cascade'),
    identity: () => p.manyToOne(Identity).mapToPk().deleteRule('cascade').index(),
    type: p.string().length(32),
    identifier: p.string().length(512),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type CredentialIdentifierRow = InferEntity<typeof CredentialIdentifier>;

export const VerifiableAddress = defineEntity({
  name: 'VerifiableAddress',
  tableName: 'identity_verifiable_addresses',
  uniques: [{ name: 'identity_verifiable_addresses_via_value_uq', properties: ['via', 'value'] }],
  properties: {
    id: p.uuid().primary(),
    identity: () => p.manyToOne(Identity).mapToPk().deleteRule('cascade').index(),
    via: p.string().length(16).$type<'email' | 'sms'>(),
    value: p.string().length(400),
    verified: p.boolean().default(false),
    verifiedAt: p.datetime().nullable(),
    status: p.string().length(16).$type<'pending' | 'sent' | 'completed'>(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type VerifiableAddressRow = InferEntity<typeof VerifiableAddress>;

export const RecoveryAddress = defineEntity({
  name: 'RecoveryAddress',
  tableName: 'identity_recovery_addresses',
  uniques: [{ name: 'identity_recovery_addresses_via_value_uq', properties: ['via', 'value'] }],
  properties: {
    id: p.uuid().primary(),
    identity: () => p.manyToOne(Identity).mapToPk().deleteRule('cascade').index(),
    via: p.string().length(16).$type<'email' | 'sms'>(),
    value: p.string().length(400),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type RecoveryAddressRow = InferEntity<typeof RecoveryAddress>;
