/**
 * message(): Kratos's exact texts for given contexts (one or more per id range), context pass-through, the
 * clock, and the programming errors it refuses. Expected strings are written out from Kratos's formats in
 * text/message_*.go (the `1.00 minutes` cases are the examples Kratos's cmd/clidoc renders for its docs).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { UiMessage as MachineUiMessage } from '../../../machines/flow-types.ts';
import type { UiText } from '../../../src/ui/node.ts';
import { MessageId } from '../../../src/text/ids.ts';
import { message, plainLabel, renderText, type UiMessage } from '../../../src/text/message.ts';

const at = (iso: string) => new Date(iso);
/** cmd/clidoc: a second before 2020-01-01 01:00 UTC, and a clock one minute later. */
const aSecondAgo = '2020-01-01T00:59:59Z';
const docNow = at('2020-01-01T01:00:59Z');

describe('Kratos texts by range', () => {
  it.each<[string, MessageId, Record<string, unknown> | undefined, string]>([
    // 101xxxx login
    ['1010002', MessageId.InfoSelfServiceLoginWith, { provider: 'Google', provider_id: 'google' }, 'Sign in with Google'],
    ['1010016', MessageId.InfoSelfServiceLoginLink, {
      duplicateIdentifier: 'ada@example.com', provider: 'GitHub', newLoginUrl: 'https://x/l', duplicate_identifier: 'ada@example.com',
      new_login_url: 'https://x/l', available_credential_types: ['password'], available_providers: ['github'],
    }, 'You tried to sign in with "ada@example.com", but that email is already used by another account. Sign in to your account with one of the options below to add your account "ada@example.com" at "GitHub" as another way to sign in.'],
    ['1010023', MessageId.InfoSelfServiceLoginAAL2CodeAddress, { address: 'ada@example.com', channel: 'email' }, 'Send code to ada@example.com'],
    ['1010025', MessageId.InfoSelfServiceLoginCodeSentForAuthenticatedUser, undefined, 'A code was sent to your address. If you didn\'t receive it, please try again.'],
    // 104xxxx registration
    ['1040002', MessageId.InfoSelfServiceRegistrationWith, { provider: 'GitHub', provider_id: 'github' }, 'Sign up with GitHub'],
    ['1040008', MessageId.InfoSelfServiceRegistrationBack, undefined, 'Back'],
    // 105xxxx settings
    ['1050003', MessageId.InfoSelfServiceSettingsUpdateUnlinkOidc, { provider: 'Google' }, 'Unlink Google'],
    ['1050014', MessageId.InfoSelfServiceSettingsLookupSecretUsed, { used_at: aSecondAgo, used_at_unix: 1577840399 }, 'Secret was used at 2020-01-01 00:59:59 +0000 UTC'],
    ['1050014 ns', MessageId.InfoSelfServiceSettingsLookupSecretUsed, { used_at: '2021-06-01T14:00:00.50000000+02:00' }, 'Secret was used at 2021-06-01 12:00:00.5 +0000 UTC'],
    ['1050014 unix', MessageId.InfoSelfServiceSettingsLookupSecretUsed, { used_at_unix: 1577840399 }, 'Secret was used at 2020-01-01 00:59:59 +0000 UTC'],
    ['1050015', MessageId.InfoSelfServiceSettingsLookupSecretList, {
      secrets: [
        { id: 1050009, text: 'a1b2', type: 'info', context: { secret: 'a1b2' } },
        { id: 1050014, text: 'Secret was used at 2020-01-01 00:59:59 +0000 UTC', type: 'info', context: { used_at: aSecondAgo } },
        { id: 1050009, text: 'c3d4', type: 'info', context: { secret: 'c3d4' } },
      ],
    }, 'a1b2, used, c3d4'],
    ['1050018', MessageId.InfoSelfServiceSettingsRemoveWebAuthn, { display_name: 'YubiKey 5', added_at: aSecondAgo, added_at_unix: 1577840399 }, 'Remove security key "YubiKey 5"'],
    // 106xxxx recovery
    ['1060004', MessageId.InfoSelfServiceRecoveryMessageMaskedWithCodeSent, { masked_address: 'a***@example.com' },
      'A recovery code has been sent to a***@example.com. If you have not received it, check the spelling of the address and make sure to use the address you registered with.'],
    ['1060006', MessageId.InfoSelfServiceRecoveryAskToChooseAddress, undefined, 'How do you want to recover your account?'],
    // 107xxxx node labels
    ['1070002', MessageId.InfoNodeLabelGenerated, { title: 'E-Mail', name: 'traits.email' }, 'E-Mail'],
    ['1070015', MessageId.InfoNodeLabelCaptcha, undefined, 'Please complete the captcha challenge to continue.'],
    // 108xxxx verification
    ['1080004', MessageId.InfoSelfServiceVerificationPhoneWithCodeSent, undefined,
      'A text message containing a verification code has been sent to the phone number you provided. If you have not received a text message, check the spelling of the number and make sure to use the number you registered with.'],
    // 400xxxx validation
    ['4000002', MessageId.ErrorValidationRequired, { property: 'email' }, 'Property email is missing.'],
    ['4000003', MessageId.ErrorValidationMinLength, { min_length: 5, actual_length: 3 }, 'length must be >= 5, but got 3'],
    ['4000004', MessageId.ErrorValidationInvalidFormat, { pattern: '^[a-z]+\\d$' }, 'does not match pattern "^[a-z]+\\\\d$"'],
    ['4000004 quote', MessageId.ErrorValidationInvalidFormat, { pattern: 'a"b\tc' }, 'does not match pattern "a\\"b\\tc"'],
    ['4000018', MessageId.ErrorValidationMinimum, { minimum: 5, actual: 3 }, 'must be >= 5 but found 3'],
    ['4000018 float', MessageId.ErrorValidationMinimum, { minimum: 1000000, actual: 0.5 }, 'must be >= 1e+06 but found 0.5'],
    ['4000021', MessageId.ErrorValidationExclusiveMaximum, { maximum: 5, actual: 5 }, 'must be < 5 but found 5'],
    ['4000022', MessageId.ErrorValidationMultipleOf, { base: 7, actual: 3 }, '3 not multipleOf 7'],
    ['4000025', MessageId.ErrorValidationUniqueItems, { index_a: 0, index_b: 2 }, 'items at index 0 and 2 are equal'],
    ['4000026', MessageId.ErrorValidationWrongType, { allowed_types: ['string', 'null'], actual_type: 'number' }, 'expected string or null, but got number'],
    ['4000029', MessageId.ErrorValidationConst, { expected: '"foo"' }, 'must be equal to constant "foo"'],
    ['4000033', MessageId.ErrorValidationPasswordMaxLength, { max_length: 72, actual_length: 80 }, 'The password must be at most 72 characters long, but got 80.'],
    ['4000034', MessageId.ErrorValidationPasswordTooManyBreaches, { breaches: 101 }, 'The password has been found in data breaches and must no longer be used.'],
    ['4000040', MessageId.ErrorValidationEmail, { value: 'nope' }, 'Enter a valid email address'],
    // 401xxxx
    ['4010002', MessageId.ErrorValidationLoginNoStrategyFound, undefined, 'Could not find a strategy to log you in with. Did you fill out the form correctly?'],
    ['4010006', MessageId.ErrorValidationVerificationNoStrategyFound, undefined, 'Could not find a strategy to verify your account with. Did you fill out the form correctly?'],
    // 404xxxx
    ['4040002', MessageId.ErrorValidateionRegistrationRetrySuccess, undefined, 'The request was already completed successfully and can not be retried.'],
    ['4040003', MessageId.ErrorValidationRegistrationCodeInvalidOrAlreadyUsed, undefined, 'The registration code is invalid or has already been used. Please try again.'],
    // 405xxxx
    ['4050002', MessageId.ErrorValidationSettingsTooManyAddressChanges, undefined, 'You can only change one address at a time. Please update each address separately.'],
    // 406xxxx
    ['4060001', MessageId.ErrorValidationRecoveryRetrySuccess, undefined, 'The request was already completed successfully and can not be retried.'],
    ['4060004', MessageId.ErrorValidationRecoveryTokenInvalidOrAlreadyUsed, undefined, 'The recovery token is invalid or has already been used. Please retry the flow.'],
    // 407xxxx
    ['4070002', MessageId.ErrorValidationVerificationRetrySuccess, undefined, 'The request was already completed successfully and can not be retried.'],
    ['4070006', MessageId.ErrorValidationVerificationCodeInvalidOrAlreadyUsed, undefined, 'The verification code is invalid or has already been used. Please try again.'],
    // 500xxxx system
    ['5000001', MessageId.ErrorSystemGeneric, { reason: 'Something broke.' }, 'Something broke.'],
    ['5000003', MessageId.ErrorSystemOrganizationNoSSOProvidersAvailable, undefined,
      'Your organization requires SSO authentication, but no SSO provider is configured. Please contact the system administrator.'],
  ])('%s', (_label, id, context, text) => {
    expect(message(id, context).text).toBe(text);
  });
});

describe('texts computed from the clock use `now`', () => {
  it.each<[string, MessageId, Record<string, unknown>, Date, string]>([
    ['4010001', MessageId.ErrorValidationLoginFlowExpired, { expired_at: aSecondAgo, expired_at_unix: 1577840399 }, docNow,
      'The login flow expired 1.00 minutes ago, please try again.'],
    ['4010001 unix only', MessageId.ErrorValidationLoginFlowExpired, { expired_at_unix: 1577840399 }, docNow,
      'The login flow expired 1.00 minutes ago, please try again.'],
    ['4040001 90 s', MessageId.ErrorValidationRegistrationFlowExpired, { expired_at: '2020-01-01T00:00:00Z' }, at('2020-01-01T00:01:30Z'),
      'The registration flow expired 1.50 minutes ago, please try again.'],
    // 7.5 s = 0.125 min: Go rounds the tie to even (JavaScript's toFixed would say 0.13).
    ['4050001 tie', MessageId.ErrorValidationSettingsFlowExpired, { expired_at: '2020-01-01T00:00:00Z' }, at('2020-01-01T00:00:07.500Z'),
      'The settings flow expired 0.12 minutes ago, please try again.'],
    ['4050001 tie up', MessageId.ErrorValidationSettingsFlowExpired, { expired_at: '2020-01-01T00:00:00Z' }, at('2020-01-01T00:00:22.500Z'),
      'The settings flow expired 0.38 minutes ago, please try again.'],
    // Nanoseconds of the stored time count: 0.3 s is 0.005 min (→ 0.01), a nanosecond less is not.
    ['4060005 ns', MessageId.ErrorValidationRecoveryFlowExpired, { expired_at: '2020-01-01T00:00:00.000000001Z' }, at('2020-01-01T00:00:00.300Z'),
      'The recovery flow expired 0.00 minutes ago, please try again.'],
    ['4060005 ms', MessageId.ErrorValidationRecoveryFlowExpired, { expired_at: '2020-01-01T00:00:00Z' }, at('2020-01-01T00:00:00.300Z'),
      'The recovery flow expired 0.01 minutes ago, please try again.'],
    ['4060005 Date', MessageId.ErrorValidationRecoveryFlowExpired, { expired_at: at('2020-01-01T00:00:00Z') }, at('2020-01-01T00:15:00Z'),
      'The recovery flow expired 15.00 minutes ago, please try again.'],
    ['4070005 not yet', MessageId.ErrorValidationVerificationFlowExpired, { expired_at: '2020-01-01T00:01:00Z' }, at('2020-01-01T00:00:00Z'),
      'The verification flow expired -1.00 minutes ago, please try again.'],
    ['1060001', MessageId.InfoSelfServiceRecoverySuccessful, {
      privilegedSessionExpiresAt: '2020-01-01T01:01:00Z', privileged_session_expires_at: '2020-01-01T01:01:00Z', privileged_session_expires_at_unix: 1577840460,
    }, at('2020-01-01T01:00:00Z'),
    'You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next 1.00 minutes.'],
    ['1060001 unix only', MessageId.InfoSelfServiceRecoverySuccessful, { privileged_session_expires_at_unix: 1577840400 + 15 * 60 }, at('2020-01-01T01:00:00Z'),
      'You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next 15.00 minutes.'],
  ])('%s', (_label, id, context, now, text) => {
    expect(message(id, context, { now }).text).toBe(text);
  });

  it('the text follows `now`, not the wall clock', () => {
    const context = { expired_at: '2020-01-01T00:00:00Z' };
    expect(message(MessageId.ErrorValidationLoginFlowExpired, context, { now: at('2020-01-01T00:02:00Z') }).text).toContain('expired 2.00 minutes');
    expect(message(MessageId.ErrorValidationLoginFlowExpired, context, { now: at('2020-01-01T00:03:00Z') }).text).toContain('expired 3.00 minutes');
  });

  it('refuses a clock-based text without a valid `now`', () => {
    const context = { expired_at: '2020-01-01T00:00:00Z' };
    expect(() => message(MessageId.ErrorValidationLoginFlowExpired, context)).toThrow(/options\.now/);
    expect(() => message(MessageId.ErrorValidationLoginFlowExpired, context, { now: new Date(Number.NaN) })).toThrow(/options\.now/);
    expect(() => message(MessageId.InfoSelfServiceRecoverySuccessful, { privileged_session_expires_at_unix: 1 })).toThrow(/options\.now/);
  });
});

describe('duplicate credentials with hints (4000028)', () => {
  const hints = (types: string[] | null, providers: string[] | null, hint: string) => message(MessageId.ErrorValidationDuplicateCredentialsWithHints, {
    available_credential_types: types, available_oidc_providers: providers, credential_identifier_hint: hint,
  }).text;

  it('title-cases real provider names', () => {
    expect(hints(null, ['google', 'github'], 'user@example.com')).toBe(
      'You tried signing in with user@example.com which is already in use by another account. You can sign in using one of the following social sign in providers: Google, Github.');
  });

  it('words the credential types, de-duplicated, the last one with "or"', () => {
    expect(hints(['password', 'oidc', 'saml', 'webauthn'], ['GitHub', '{custom}'], 'ada')).toBe(
      'You tried signing in with ada which is already in use by another account. You can sign in using your password, social sign in, or your passkey or a security key.'
      + ' You can sign in using one of the following social sign in providers: Github, {custom}.');
    expect(hints(['password'], [], '')).toBe(
      'You tried signing in with an email, phone, or username which is already in use by another account. You can sign in using your password.');
    expect(hints(['totp'], null, 'x')).toBe('You tried signing in with x which is already in use by another account. You can sign in using totp.');
  });
});

describe('message()', () => {
  it('gives Kratos\'s type', () => {
    expect(message(MessageId.InfoSelfServiceSettingsUpdateSuccess).type).toBe('success');
    expect(message(MessageId.InfoSelfServiceVerificationSuccessful).type).toBe('success');
    expect(message(MessageId.InfoNodeLabelSave).type).toBe('info');
    expect(message(MessageId.ErrorValidationInvalidCredentials).type).toBe('error');
  });

  it('passes the context through (a copy), and leaves it out when there is none', () => {
    const context = { property: 'email', extra: { nested: [1, 2] } };
    const m = message(MessageId.ErrorValidationRequired, context);
    expect(m).toEqual({ id: 4000002, text: 'Property email is missing.', type: 'error', context: { property: 'email', extra: { nested: [1, 2] } } });
    expect(m.context).not.toBe(context);
    expect(message(MessageId.ErrorValidationInvalidCredentials)).toEqual({
      id: 4000006, type: 'error',
      text: 'The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.',
    });
    expect('context' in message(MessageId.ErrorValidationInvalidCredentials, {})).toBe(false);
    expect(message(MessageId.ErrorValidationInvalidCredentials, { identifier: 'ada' }).context).toEqual({ identifier: 'ada' });
  });

  it('throws on a number that is not a Kratos message id', () => {
    expect(() => message(4000999 as MessageId)).toThrow(/not a Kratos message id/);
    expect(() => message(42 as MessageId)).toThrow(/not a Kratos message id/);
  });

  it('throws when the context lacks what the text needs, or has the wrong kind of value', () => {
    expect(() => message(MessageId.ErrorValidationRequired)).toThrow(/context\.property is required/);
    expect(() => message(MessageId.ErrorValidationMinLength, { min_length: 5 })).toThrow(/context\.actual_length is required/);
    expect(() => message(MessageId.ErrorValidationMinLength, { min_length: 5, actual_length: 2.5 })).toThrow(/must be an integer/);
    expect(() => message(MessageId.ErrorValidationGeneric, { reason: 42 })).toThrow(/must be a string/);
    expect(() => message(MessageId.ErrorValidationWrongType, { allowed_types: 'string', actual_type: 'number' })).toThrow(/list of strings/);
    expect(() => message(MessageId.ErrorValidationLoginFlowExpired, { expired_at: 'yesterday' }, { now: docNow })).toThrow(/not a time/);
    expect(() => message(MessageId.ErrorValidationLoginFlowExpired, {}, { now: docNow })).toThrow(/context\.expired_at is required/);
  });

  it('labels a node with a text of the caller\'s as Kratos labels masked recovery addresses', () => {
    expect(plainLabel('a***@example.com')).toEqual({ id: 1070000, text: 'a***@example.com', type: 'info' });
  });

  it('renders leniently only when asked', () => {
    expect(renderText(4000999, {}, { lenient: true })).toBeUndefined();
    expect(renderText(MessageId.ErrorValidationRequired, {}, { lenient: true })).toBe('Property  is missing.');
    expect(renderText(MessageId.InfoSelfServiceLoginRoot, {}, { lenient: true })).toBeUndefined();
    expect(() => renderText(MessageId.ErrorValidationRequired, {})).toThrow();
  });

  it('keeps the shape of UiText (src/ui) and UiMessage (machines)', () => {
    expectTypeOf<UiMessage>().toEqualTypeOf<UiText>();
    expectTypeOf<UiMessage>().toEqualTypeOf<MachineUiMessage>();
  });
});
