/** The set of configured identity schemas, looked up by id (or by base64url of the id, as `GET /schemas/{id}` allows). */
import { KratosError } from '../../errors/kratos-error.ts';
import type { IdentitySchema } from './identity-schema.ts';

/** base64url without padding of the UTF-8 id (Go's base64.RawURLEncoding), as used in `schema_url`. */
export function encodeSchemaId(id: string): string {
  const bytes = new TextEncoder().encode(id);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes base64url (padding optional); undefined when it is not base64url of valid UTF-8. */
export function decodeSchemaId(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(encoded)) return undefined;
  const unpadded = encoded.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  const b64 = unpadded.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (unpadded.length % 4)) % 4);
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function unknownSchemaError(id: string): KratosError {
  return new KratosError(400, undefined, {
    reason: `The identity schema with ID "${id}" is unknown.`,
    debug: `identity schema "${id}" is not configured in identity.schemas`,
  });
}

export class IdentitySchemaRegistry {
  readonly defaultId: string;
  private readonly byId: Map<string, IdentitySchema>;

  constructor(schemas: IdentitySchema[], defaultId: string) {
    this.byId = new Map(schemas.map((s) => [s.id, s]));
    if (this.byId.size !== schemas.length) throw new Error('identity schema ids must be unique');
    if (!this.byId.has(defaultId)) {
      throw new Error(`identity.default_schema_id "${defaultId}" is not among identity.schemas`);
    }
    this.defaultId = defaultId;
  }

  /** The default schema. */
  get default(): IdentitySchema {
    return this.byId.get(this.defaultId)!;
  }

  /** Ids in configuration order. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** All schemas in configuration order as `GET /schemas` lists them: `{id, schema}` with the raw JSON. */
  list(): { id: string; schema: object }[] {
    return [...this.byId.values()].map((s) => ({ id: s.id, schema: s.raw }));
  }

  all(): IdentitySchema[] {
    return [...this.byId.values()];
  }

  get(id: string): IdentitySchema | undefined {
    return this.byId.get(id);
  }

  /** Like get(); an unknown id is a 400 Kratos error. An empty id means the default schema (as in Kratos). */
  require(id: string): IdentitySchema {
    const s = this.byId.get(id === '' ? this.defaultId : id);
    if (!s) throw unknownSchemaError(id);
    return s;
  }

  /**
   * `GET /schemas/{id}`: the id is base64url of the schema id (what `schema_url` carries) or, for older links,
   * the plain id. The decoded form is tried first, like Kratos.
   */
  getByIdOrEncoded(idOrEncoded: string): IdentitySchema | undefined {
    const decoded = decodeSchemaId(idOrEncoded);
    if (decoded !== undefined) {
      const s = this.byId.get(decoded);
      if (s) return s;
    }
    return this.byId.get(idOrEncoded);
  }

  /** `<public base>/schemas/<base64url(id)>`. */
  schemaUrl(publicBaseUrl: string, id: string): string {
    return schemaUrl(publicBaseUrl, id);
  }
}

export function schemaUrl(publicBaseUrl: string, id: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/schemas/${encodeSchemaId(id)}`;
}
