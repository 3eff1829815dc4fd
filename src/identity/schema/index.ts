export { loadIdentitySchemas, loadIdentitySchema, readSchemaSource, displayUrl, type LoadIdentitySchemasOptions } from './load.ts';
export { IdentitySchemaRegistry, encodeSchemaId, decodeSchemaId, schemaUrl, unknownSchemaError } from './registry.ts';
export { IdentitySchema, type IdentitySchemaInit } from './identity-schema.ts';
export { normalizeIdentifier, type IdentifierKind } from './normalize.ts';
export { isStrictEmail, isTel, parsePhone } from './formats.ts';
export { checkSchemaDocument, EXTENSION_KEY } from './meta.ts';
export type { TraitError, ExtractedTraits, ExtractedAddress, CodeIdentifier, AddressVia } from './types.ts';
