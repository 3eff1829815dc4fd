/** Public types of the identity schema module. */

export type AddressVia = 'email' | 'sms';

/** One validation problem of an identity's traits, addressed by JSON pointer into the identity document. */
export interface TraitError {
  /** e.g. "/traits/email"; "/traits" for problems with the traits object itself. */
  pointer: string;
  /** Readable English text (the same as `messageText(id, context)`). */
  message: string;
  /** Kratos UI message id (4000001 generic, 4000002 required, 4000003 min length, ...). */
  id: number;
  context: Record<string, unknown>;
}

export interface CodeIdentifier {
  value: string;
  via: AddressVia;
}

export interface ExtractedAddress {
  value: string;
  via: AddressVia;
}

/** What the `ory.sh/kratos` extension derives from an identity's traits (normalised and de-duplicated). */
export interface ExtractedTraits {
  identifiers: {
    password: string[];
    webauthn: string[];
    code: CodeIdentifier[];
    passkeyDisplayName?: string;
    totpAccountName?: string;
  };
  verifiableAddresses: ExtractedAddress[];
  recoveryAddresses: ExtractedAddress[];
  /** Values of fields marked `organizations.matcher: email_domain` (normalised e-mail addresses). */
  organizationMatchers: string[];
}
