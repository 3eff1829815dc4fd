/**
 * Identity schemas for tests: a person identified by an e-mail trait (titled, so the identifier's label is checked),
 * with the `ory.sh/kratos` extension a test needs on it, optional further traits, and the `base64://` URL a config
 * takes it by.
 */
export interface PersonSchemaOptions {
  /** The `ory.sh/kratos` extension of the e-mail trait (credentials, verification, recovery). */
  email: Record<string, unknown>;
  emailTitle?: string;
  /** `minLength` of the e-mail (none when undefined). */
  emailMinLength?: number;
  /** Further traits, after `email`. */
  traits?: Record<string, unknown>;
  required?: string[];
}

export function personSchema(name: string, options: PersonSchemaOptions): Record<string, unknown> {
  return {
    $id: `https://idflow.test/schemas/${name}.schema.json`,
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Person',
    type: 'object',
    properties: {
      traits: {
        type: 'object',
        properties: {
          email: {
            type: 'string',
            format: 'email',
            title: options.emailTitle ?? 'Your e-mail address',
            ...(options.emailMinLength !== undefined ? { minLength: options.emailMinLength } : {}),
            'ory.sh/kratos': options.email,
          },
          ...options.traits,
        },
        required: options.required ?? ['email'],
        additionalProperties: false,
      },
    },
  };
}

/** The schema as a config takes it: `base64://<JSON>`. */
export const schemaUrl = (schema: Record<string, unknown>) => `base64://${Buffer.from(JSON.stringify(schema)).toString('base64')}`;
