import type { IdentityRecord } from '../../src/identity/identity.ts';

/** A bare active identity record (a fresh id, an email trait, no credentials or addresses) created at `at`. */
export function identityRecord(at: Date, overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  const id = crypto.randomUUID();
  return {
    id, schemaId: 'default', state: 'active', stateChangedAt: null, traits: { email: `${id}@example.com` }, metadataPublic: null,
    metadataAdmin: null, externalId: null, organizationId: null, createdAt: at, updatedAt: at,
    verifiableAddresses: [], recoveryAddresses: [], credentials: [], ...overrides,
  };
}
