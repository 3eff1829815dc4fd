/**
 * English texts for Kratos UI message ids (`text/id.go`). Templates use `{key}` placeholders filled from the
 * message context; a function is used where the text depends on which context keys are present.
 */
import type { UiText, UiTextType } from './node.ts';

export type MessageContext = Record<string, unknown>;
type Template = string | ((ctx: MessageContext) => string);

function fmt(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(fmt).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const CATALOG: Record<number, Template> = {
  // Login (101xxxx)
  1010001: 'Sign in',
  1010003: 'Please confirm this action by verifying that it is you.',
  1010004: 'Please complete the second authentication challenge.',
  1010013: 'Continue',
  1010022: 'Sign in with password',
  // Registration (104xxxx)
  1040001: 'Sign up',
  1040003: 'Continue',
  // Settings (105xxxx)
  1050001: 'Your changes have been saved!',
  // Recovery (106xxxx)
  1060001: (c) => `You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next ${Math.max(0, Math.round((Number(c.privileged_session_expires_at_unix ?? 0) * 1000 - Date.now()) / 60000))} minutes.`,
  1060002: 'An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.',
  1060003: 'An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.',
  // Verification (108xxxx)
  1080001: 'An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.',
  1080002: 'You successfully verified your email address.',
  1080003: 'An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.',
  // Node labels (107xxxx)
  1070001: 'Password',
  1070002: (c) => fmt(c.title ?? c.name),
  1070003: 'Save',
  1070004: 'ID',
  1070005: 'Submit',
  1070007: 'Email',
  1070008: 'Resend code',
  1070009: 'Continue',
  1070010: 'Recovery code',
  1070011: 'Verification code',
  1070017: 'Phone number',
  1070018: 'Email or phone number',
  // Validation (400xxxx)
  4000001: '{reason}',
  4060001: 'The recovery flow has already been completed. Please start a new one.',
  4060002: 'The recovery flow reached a failure state and must be retried.',
  4060005: 'The recovery flow expired {expired_at}, please try again.',
  4060006: 'The recovery code is invalid or has already been used. Please try again.',
  4070002: 'The verification flow has already been completed. Please start a new one.',
  4070003: 'The verification flow reached a failure state and must be retried.',
  4070005: 'The verification flow expired {expired_at}, please try again.',
  4070006: 'The verification code is invalid or has already been used. Please try again.',
  4000002: 'Property {property} is missing.',
  4000003: 'length must be >= {min_length}, but got {actual_length}',
  4000004: (c) =>
    c.pattern !== undefined
      ? `does not match pattern "${fmt(c.pattern)}"`
      : `"${fmt(c.value)}" is not valid "${fmt(c.format)}"`,
  4000005: 'The password can not be used because {reason}.',
  4000006: 'The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.',
  4000007: 'An account with the same identifier (email, phone, username, ...) exists already.',
  4000017: 'length must be <= {max_length}, but got {actual_length}',
  4000018: 'must be >= {minimum} but found {actual}',
  4000019: 'must be > {minimum} but found {actual}',
  4000020: 'must be <= {maximum} but found {actual}',
  4000021: 'must be < {maximum} but found {actual}',
  4000022: '{actual} not multipleOf {base}',
  4000023: 'maximum {max_items} items allowed, but found {actual_items} items',
  4000024: 'minimum {min_items} items allowed, but found {actual_items} items',
  4000025: 'items at index {index_a} and {index_b} are equal',
  4000026: (c) => {
    const allowed = Array.isArray(c.allowed_types) ? c.allowed_types.map(fmt).join(' or ') : fmt(c.allowed_types);
    return `expected ${allowed}, but got ${fmt(c.actual_type)}`;
  },
  4000029: (c) => `must be equal to constant ${JSON.stringify(c.expected)}`,
  4000030: 'const failed',
  4000040: (c) => `"${fmt(c.value)}" is not a valid email address`,
  4000041: (c) => `"${fmt(c.value)}" is not a valid phone number`,
  // System (500xxxx)
  5000001: '{reason}',
};

/** Renders the English text for a message id; unknown ids fall back to the context's `reason`, or ''. */
export function messageText(id: number, context: MessageContext = {}): string {
  const tpl = CATALOG[id];
  if (tpl === undefined) return typeof context.reason === 'string' ? context.reason : '';
  if (typeof tpl === 'function') return tpl(context);
  return tpl.replace(/\{([a-z_]+)\}/g, (_m, key: string) => fmt(context[key]));
}

export function hasMessage(id: number): boolean {
  return id in CATALOG;
}

/** Message type implied by the id range: 4xxxxxx/5xxxxxx errors, everything else info. */
export function messageType(id: number): UiTextType {
  return id >= 4000000 ? 'error' : 'info';
}

/** A UiText for `id`; `context` is omitted when empty. */
export function uiText(id: number, context?: MessageContext, type: UiTextType = messageType(id), text?: string): UiText {
  const out: UiText = { id, text: text ?? messageText(id, context ?? {}), type };
  if (context && Object.keys(context).length > 0) out.context = context;
  return out;
}
