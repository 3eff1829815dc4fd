/** Kratos's identity JSON (section 3.5) and the credential types idflow knows. */
export type CredentialType =
  | 'password' | 'oidc' | 'totp' | 'lookup_secret' | 'webauthn' | 'code' | 'passkey' | 'profile' | 'saml';

export const CREDENTIAL_TYPES: readonly CredentialType[] = [
  'password', 'oidc', 'totp', 'lookup_secret', 'webauthn', 'code', 'passkey', 'profile', 'saml',
];

export type IdentityState = 'active' | 'inactive';

export interface VerifiableAddressJson {
  id: string;
  value: string;
  verified: boolean;
  via: 'email' | 'sms';
  status: 'pending' | 'sent' | 'completed';
  verified_at?: string;
  created_at: string;
  updated_at: string;
}

export interface RecoveryAddressJson {
  id: string;
  value: string;
  via: 'email' | 'sms';
  created_at: string;
  updated_at: string;
}

export interface CredentialJson {
  type: CredentialType;
  identifiers: string[];
  config?: Record<string, unknown>;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface IdentityJson {
  id: string;
  schema_id: string;
  schema_url: string;
  state: IdentityState;
  state_changed_at?: string;
  traits: Record<string, unknown>;
  verifiable_addresses: VerifiableAddressJson[];
  recovery_addresses: RecoveryAddressJson[];
  metadata_public: unknown;
  metadata_admin?: unknown;
  credentials?: Partial<Record<CredentialType, CredentialJson>>;
  created_at: string;
  updated_at: string;
  organization_id: string | null;
  external_id?: string;
}

/** An identity as loaded from storage, with everything needed to serialize or authenticate it. */
export interface IdentityRecord {
  id: string;
  schemaId: string;
  state: IdentityState;
  stateChangedAt: Date | null;
  traits: Record<string, unknown>;
  metadataPublic: unknown;
  metadataAdmin: unknown;
  externalId: string | null;
  organizationId: string | null;
  createdAt: Date;
  updatedAt: Date;
  verifiableAddresses: Array<{
    id: string; value: string; via: 'email' | 'sms'; verified: boolean; verifiedAt: Date | null;
    status: 'pending' | 'sent' | 'completed'; createdAt: Date; updatedAt: Date;
  }>;
  recoveryAddresses: Array<{ id: string; value: string; via: 'email' | 'sms'; createdAt: Date; updatedAt: Date }>;
  credentials: Array<{
    id: string; type: CredentialType; identifiers: string[]; config: Record<string, unknown>;
    version: number; createdAt: Date; updatedAt: Date;
  }>;
}
