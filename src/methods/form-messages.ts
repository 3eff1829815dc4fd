/** Turning payload and trait problems into Kratos's node messages; shared by every method. */
import type { UiMessage } from '../../machines/flow-types.ts';
import type { DuplicateAccountHints } from '../identity/identity-service.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { TraitError } from '../identity/schema/index.ts';
import { MessageId } from '../text/ids.ts';
import { message } from '../text/message.ts';
import { pointerToNodeName, traitErrorText } from '../ui/trait-errors.ts';
import type { PayloadProblem } from '../x/body-validator.ts';
import { CONTROL_CHARACTER_REASON, IDENTIFIER_FORMAT } from '../x/control-characters.ts';
import type { Outcome } from './method.ts';

export interface FormMessages {
  fieldMessages: Record<string, UiMessage[]>;
  messages: UiMessage[];
}

/** JSON-schema payload problems as node messages (required → 4000002, type → 4000026 ...). */
export function problemsToMessages(problems: PayloadProblem[], payload: Record<string, unknown>): FormMessages {
  const fieldMessages: Record<string, UiMessage[]> = {};
  const messages: UiMessage[] = [];
  for (const p of problems) {
    let found: UiMessage;
    const property = p.field.split('.').pop() ?? p.field;
    const value = p.field.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), payload);
    if (p.keyword === 'required' || (p.keyword === 'minLength' && value === '')) found = message(MessageId.ErrorValidationRequired, { property });
    else if (p.keyword === 'type') {
      found = message(MessageId.ErrorValidationWrongType, {
        allowed_types: [p.params.type].flat(), actual_type: Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value,
      });
    } else if (p.keyword === 'maxLength') {
      found = message(MessageId.ErrorValidationMaxLength, { max_length: p.params.limit, actual_length: typeof value === 'string' ? [...value].length : 0 });
    } else if (p.keyword === 'minLength') {
      found = message(MessageId.ErrorValidationMinLength, { min_length: p.params.limit, actual_length: typeof value === 'string' ? [...value].length : 0 });
    } else if (p.keyword === 'format' && p.params.format === IDENTIFIER_FORMAT) {
      found = message(MessageId.ErrorValidationGeneric, { reason: CONTROL_CHARACTER_REASON });
    } else found = message(MessageId.ErrorValidationGeneric, { reason: p.message });
    if (p.field && p.field !== 'method') (fieldMessages[p.field] ??= []).push(found);
    else messages.push(found);
  }
  return { fieldMessages, messages };
}

/** Trait validation errors as node messages (`/traits/email` → node `traits.email`), every field at once. */
export function traitMessages(errors: TraitError[]): Record<string, UiMessage[]> {
  const fieldMessages: Record<string, UiMessage[]> = {};
  for (const error of errors) {
    const text = traitErrorText(error);
    (fieldMessages[pointerToNodeName(error.pointer)] ??= []).push({ id: text.id, text: text.text, type: text.type, ...(text.context ? { context: text.context } : {}) });
  }
  return fieldMessages;
}

/** Merges message maps (several checks reporting on the same form). */
export function mergeFieldMessages(...maps: Array<Record<string, UiMessage[]>>): Record<string, UiMessage[]> {
  const out: Record<string, UiMessage[]> = {};
  for (const map of maps) for (const [name, list] of Object.entries(map)) (out[name] ??= []).push(...list);
  return out;
}

/**
 * An account with these identifiers exists: Kratos's 4000007, or with login hints (when the clashing account can be
 * described) 4000028 naming how it signs in.
 */
export function duplicateAccountMessage(hints: DuplicateAccountHints | undefined): UiMessage {
  const described = hints && (hints.available_credential_types.length > 0 || hints.credential_identifier_hint !== '');
  return described ? message(MessageId.ErrorValidationDuplicateCredentialsWithHints, { ...hints }) : message(MessageId.ErrorValidationDuplicateCredentials);
}

/** How a method answers a sign-up whose identifiers belong to an account already. */
export interface SignUpClashDeps {
  /**
   * `security.account_enumeration.mitigate` (and no `login_hints`, which ask to name the account): answer as for a new
   * sign-up, create nothing, tell the owner. Otherwise Kratos's 4000007 (4000028 with hints).
   */
  mitigate: boolean;
  duplicateHints?(record: IdentityRecord): Promise<DuplicateAccountHints | undefined>;
}

/** The outcome of a sign-up that clashes with an existing account (see SignUpClashDeps). */
export async function signUpClash(deps: SignUpClashDeps, record: IdentityRecord, method: string, values: Record<string, unknown>): Promise<Outcome> {
  if (deps.mitigate) return { kind: 'registered', identityId: record.id, method, existingAccount: true, changes: { identity: { record, isNew: true } } };
  return { kind: 'rejected', values, messages: [duplicateAccountMessage(await deps.duplicateHints?.(record))] };
}
