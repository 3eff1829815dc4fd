/**
 * Control characters in user input. A NUL can not be stored in PostgreSQL text or jsonb at all, and control
 * characters in an identifier make look-alike accounts and break logs and mail headers, so identifiers and
 * addresses refuse every C0 control, DEL and C1 control; free text refuses C0 controls and DEL except tab, line
 * feed and carriage return, which a multi-line field may carry.
 */
const IDENTIFIER_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const FREE_TEXT_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export const CONTROL_CHARACTER_REASON = 'The value contains a control character, which is not allowed.';

/** The JSON Schema `format` (payload schemas under schemas/methods/) of a login identifier or an address. */
export const IDENTIFIER_FORMAT = 'identifier';

export function hasIdentifierControl(value: string): boolean {
  return IDENTIFIER_CONTROL.test(value);
}

export function hasFreeTextControl(value: string): boolean {
  return FREE_TEXT_CONTROL.test(value);
}
