import type { CredentialJson, CredentialType, IdentityJson, IdentityRecord } from './identity.ts';

export interface IdentityJsonOptions {
  /** `<public base>/schemas/<base64url(id)>` builder. */
  schemaUrl: (schemaId: string) => string;
  /** Admin views include metadata_admin. */
  admin: boolean;
  /**
   * Which credentials to show: `false` none; `'types'` every type without config;
   * an array: every type, with config only for the listed types.
   */
  credentials: false | 'types' | CredentialType[];
}

const iso = (date: Date) => date.toISOString();

/** Kratos's identity JSON; hashes appear only for explicitly requested credential types. */
export function toIdentityJson(record: IdentityRecord, options: IdentityJsonOptions): IdentityJson {
  const json: IdentityJson = {
    id: record.id,
    schema_id: record.schemaId,
    schema_url: options.schemaUrl(record.schemaId),
    state: record.state,
    ...(record.stateChangedAt ? { state_changed_at: iso(record.stateChangedAt) } : {}),
    traits: record.traits,
    verifiable_addresses: record.verifiableAddresses.map((a) => ({
      id: a.id, value: a.value, verified: a.verified, via: a.via, status: a.status,
      ...(a.verifiedAt ? { verified_at: iso(a.verifiedAt) } : {}),
      created_at: iso(a.createdAt), updated_at: iso(a.updatedAt),
    })),
    recovery_addresses: record.recoveryAddresses.map((a) => ({
      id: a.id, value: a.value, via: a.via, created_at: iso(a.createdAt), updated_at: iso(a.updatedAt),
    })),
    metadata_public: record.metadataPublic ?? null,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    organization_id: record.organizationId ?? null,
  };
  if (record.externalId) json.external_id = record.externalId;
  if (options.admin) json.metadata_admin = record.metadataAdmin ?? null;
  if (options.credentials !== false) {
    const withConfig = Array.isArray(options.credentials) ? options.credentials : [];
    const credentials: Partial<Record<CredentialType, CredentialJson>> = {};
    for (const cred of record.credentials) {
      credentials[cred.type] = {
        type: cred.type,
        identifiers: cred.identifiers,
        ...(withConfig.includes(cred.type) ? { config: publicCredentialConfig(cred.type, cred.config) } : {}),
        version: cred.version,
        created_at: iso(cred.createdAt),
        updated_at: iso(cred.updatedAt),
      };
    }
    json.credentials = credentials;
  }
  return json;
}

/** OIDC configs expose only provider/subject (never stored tokens). */
function publicCredentialConfig(type: CredentialType, config: Record<string, unknown>): Record<string, unknown> {
  if (type === 'oidc' || type === 'saml') {
    const providers = (config.providers as Array<Record<string, unknown>> | undefined) ?? [];
    return {
      providers: providers.map((p) => ({
        subject: p.subject, provider: p.provider,
        ...(p.organization ? { organization: p.organization } : {}),
        ...(p.use_auto_link !== undefined ? { use_auto_link: p.use_auto_link } : {}),
      })),
    };
  }
  return config;
}
