import { IdentitySchema } from '../../../src/identity/schema/index.ts';

/** Builds a draft-07 identity schema around the given traits properties. */
export function schemaDoc(
  traitsProps: Record<string, unknown>,
  extra: { required?: string[]; additionalProperties?: boolean; root?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const traits: Record<string, unknown> = { type: 'object', properties: traitsProps };
  if (extra.required) traits.required = extra.required;
  if (extra.additionalProperties !== undefined) traits.additionalProperties = extra.additionalProperties;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { traits },
    ...(extra.root ?? {}),
  };
}

export function makeSchema(raw: Record<string, unknown>, id = 'test'): IdentitySchema {
  return new IdentitySchema({ id, url: 'base64://', raw });
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
