/**
 * Every UI message Kratos defines (`text/id.go`), with the type, English text and context keys its
 * constructor in `text/message_*.go` gives it. A text is a pure function of the message context (and of
 * `now`, where Kratos computes it from the clock); `null` marks the ids Kratos declares but never renders.
 * Build messages with `message()` (./message.ts), not from this table.
 */
import {
  goFixed2, goMinutesBetween, goTitle, goUtcTimeString, goValue, type UnixNanos,
} from './go-fmt.ts';
import { MessageId } from './ids.ts';

export type MessageType = 'info' | 'error' | 'success';
export type MessageContext = Record<string, unknown>;

/** How a text reads its context: one accessor per Go verb Kratos formats with. */
export interface TemplateArgs {
  /** `%s` of a Go string; the first key present wins. */
  str(...keys: string[]): string;
  /** `%q` of a Go string; the first key present wins. */
  quoted(...keys: string[]): string;
  /** `%d` of a Go int. */
  int(key: string): string;
  /** `%v` (float64 in Kratos's validation messages, `any` for `expected`). */
  value(key: string): string;
  /** A Go []string; missing or null is empty. */
  strings(key: string): string[];
  /** The raw context value. */
  raw(key: string): unknown;
  /** A time.Time: RFC 3339 text or a Date under a key, Unix seconds under a key ending in `_unix`. */
  time(...keys: string[]): UnixNanos;
  /** The `now` option (Kratos's clock). */
  now(): UnixNanos;
}

export type Template = (c: TemplateArgs) => string;

export interface CatalogEntry {
  readonly type: MessageType;
  /** The keys Kratos puts in the message's `context`, in its order; empty when it sends none. */
  readonly context: readonly string[];
  /** Kratos's English text; null when Kratos declares the id but no constructor renders it. */
  readonly text: string | Template | null;
}

function entry(type: MessageType) {
  return (text: string | Template, context: readonly string[] = []): CatalogEntry => Object.freeze({ type, text, context: Object.freeze([...context]) });
}
const info = entry('info');
const success = entry('success');
const error = entry('error');
/** Declared in `text/id.go` (a range root or a reserved id) without a constructor: Kratos sends no such message. */
const none = (type: MessageType): CatalogEntry => Object.freeze({ type, text: null, context: Object.freeze([]) });

const EXPIRED_AT = ['expired_at', 'expired_at_unix'];
/** `The <flow> flow expired %.2f minutes ago` — `c.Now().Sub(expiredAt).Minutes()`. */
const expired = (flow: string): Template => (c) =>
  `The ${flow} flow expired ${goFixed2(goMinutesBetween(c.time(...EXPIRED_AT), c.now()))} minutes ago, please try again.`;

const CREDENTIAL_WORDING: ReadonlyMap<string, string> = new Map([
  ['password', 'your password'], ['oidc', 'social sign in'], ['saml', 'social sign in'],
  ['webauthn', 'your passkey or a security key'], ['passkey', 'your passkey'],
]);

/** NewErrorValidationDuplicateCredentialsWithHints: the identifier, the ways to sign in, the social providers. */
const duplicateWithHints: Template = (c) => {
  const hint = c.str('credential_identifier_hint');
  let reason = `You tried signing in with ${hint === '' ? 'an email, phone, or username' : hint} which is already in use by another account.`;
  const types = c.strings('available_credential_types');
  if (types.length > 0) {
    let readable = types.map((t) => CREDENTIAL_WORDING.get(t)).filter((w): w is string => w !== undefined);
    if (readable.length === 0) readable = [...types]; // "show at least some hint"
    readable = [...new Set(readable)];
    if (readable.length > 1) readable[readable.length - 1] = `or ${readable[readable.length - 1]}`;
    reason += ` You can sign in using ${readable.join(', ')}.`;
  }
  const providers = c.strings('available_oidc_providers').map((p) => (/[{}]/.test(p) ? p : goTitle(p)));
  if (providers.length > 0) reason += ` You can sign in using one of the following social sign in providers: ${providers.join(', ')}.`;
  return reason;
};

/** NewInfoSelfServiceSettingsLookupSecretList: each code, or "used" for one that was (its message is 1050014). */
const lookupSecretList: Template = (c) => {
  const secrets = c.raw('secrets');
  if (!Array.isArray(secrets)) return c.strings('secrets').join(', ');
  return secrets.map((m: unknown) => {
    const item = (m ?? {}) as { id?: unknown; text?: unknown };
    return item.id === MessageId.InfoSelfServiceSettingsLookupSecretUsed ? 'used' : goValue(item.text ?? '');
  }).join(', ');
};

export const CATALOG = Object.freeze({
  [MessageId.InfoSelfServiceLoginRoot]: none('info'),
  [MessageId.InfoSelfServiceLogin]: info('Sign in'),
  [MessageId.InfoSelfServiceLoginWith]: info((c) => `Sign in with ${c.str('provider')}`, ['provider', 'provider_id']),
  [MessageId.InfoSelfServiceLoginReAuth]: info('Please confirm this action by verifying that it is you.'),
  [MessageId.InfoSelfServiceLoginMFA]: info('Please complete the second authentication challenge.'),
  [MessageId.InfoSelfServiceLoginVerify]: info('Verify'),
  [MessageId.InfoSelfServiceLoginTOTPLabel]: info('Authentication code'),
  [MessageId.InfoLoginLookupLabel]: info('Backup recovery code'),
  [MessageId.InfoSelfServiceLoginWebAuthn]: info('Sign in with a hardware key'),
  [MessageId.InfoLoginTOTP]: info('Use Authenticator'),
  [MessageId.InfoLoginLookup]: info('Use backup recovery code'),
  [MessageId.InfoSelfServiceLoginContinueWebAuthn]: info('Sign in with a hardware key'),
  [MessageId.InfoSelfServiceLoginWebAuthnPasswordless]: info('Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.'),
  [MessageId.InfoSelfServiceLoginContinue]: info('Continue'),
  [MessageId.InfoSelfServiceLoginCodeSent]: info('A code was sent to the address you provided. If you didn\'t receive it, please check the spelling of the address and try again.'),
  [MessageId.InfoSelfServiceLoginCode]: info('Send sign in code'),
  [MessageId.InfoSelfServiceLoginLink]: info((c) => {
    const duplicate = c.quoted('duplicate_identifier', 'duplicateIdentifier');
    return `You tried to sign in with ${duplicate}, but that email is already used by another account. Sign in to your account with one of the options below to add your account ${duplicate} at ${c.quoted('provider')} as another way to sign in.`;
  }, ['duplicateIdentifier', 'provider', 'newLoginUrl', 'duplicate_identifier', 'new_login_url', 'available_credential_types', 'available_providers']),
  [MessageId.InfoSelfServiceLoginAndLink]: info('Sign in and link'),
  [MessageId.InfoSelfServiceLoginWithAndLink]: info((c) => `Confirm with ${c.str('provider')}`, ['provider']),
  [MessageId.InfoSelfServiceLoginCodeMFA]: info('Request code to continue'),
  [MessageId.InfoSelfServiceLoginCodeMFAHint]: none('info'),
  [MessageId.InfoSelfServiceLoginPasskey]: info('Sign in with passkey'),
  [MessageId.InfoSelfServiceLoginPassword]: info('Sign in with password'),
  [MessageId.InfoSelfServiceLoginAAL2CodeAddress]: info((c) => `Send code to ${c.str('address')}`, ['address', 'channel']),
  [MessageId.InfoSelfServiceLoginDeviceAuthn]: info('Sign in with a hardware key'),
  [MessageId.InfoSelfServiceLoginCodeSentForAuthenticatedUser]: info('A code was sent to your address. If you didn\'t receive it, please try again.'),

  [MessageId.InfoSelfServiceLogout]: none('info'),

  [MessageId.InfoSelfServiceMFA]: none('info'),

  [MessageId.InfoSelfServiceRegistrationRoot]: none('info'),
  [MessageId.InfoSelfServiceRegistration]: info('Sign up'),
  [MessageId.InfoSelfServiceRegistrationWith]: info((c) => `Sign up with ${c.str('provider')}`, ['provider', 'provider_id']),
  [MessageId.InfoSelfServiceRegistrationContinue]: info('Continue'),
  [MessageId.InfoSelfServiceRegistrationRegisterWebAuthn]: info('Sign up with security key'),
  [MessageId.InfoSelfServiceRegistrationEmailWithCodeSent]: info('A code has been sent to the address(es) you provided. If you have not received a message, check the spelling of the address and retry the registration.'),
  [MessageId.InfoSelfServiceRegistrationRegisterCode]: info('Send sign up code'),
  [MessageId.InfoSelfServiceRegistrationRegisterPasskey]: info('Sign up with passkey'),
  [MessageId.InfoSelfServiceRegistrationBack]: info('Back'),
  [MessageId.InfoSelfServiceRegistrationChooseCredentials]: info('Please choose a credential to authenticate yourself with.'),

  [MessageId.InfoSelfServiceSettings]: none('info'),
  [MessageId.InfoSelfServiceSettingsUpdateSuccess]: success('Your changes have been saved!'),
  [MessageId.InfoSelfServiceSettingsUpdateLinkOidc]: info((c) => `Link ${c.str('provider')}`, ['provider']),
  [MessageId.InfoSelfServiceSettingsUpdateUnlinkOidc]: info((c) => `Unlink ${c.str('provider')}`, ['provider']),
  [MessageId.InfoSelfServiceSettingsUpdateUnlinkTOTP]: info('Unlink TOTP Authenticator App'),
  [MessageId.InfoSelfServiceSettingsTOTPQRCode]: info('Authenticator app QR code'),
  [MessageId.InfoSelfServiceSettingsTOTPSecret]: info((c) => c.str('secret'), ['secret']),
  [MessageId.InfoSelfServiceSettingsRevealLookup]: info('Reveal backup recovery codes'),
  [MessageId.InfoSelfServiceSettingsRegenerateLookup]: info('Generate new backup recovery codes'),
  [MessageId.InfoSelfServiceSettingsLookupSecret]: info((c) => c.str('secret'), ['secret']),
  [MessageId.InfoSelfServiceSettingsLookupSecretLabel]: info('These are your back up recovery codes. Please keep them in a safe place!'),
  [MessageId.InfoSelfServiceSettingsLookupConfirm]: info('Confirm backup recovery codes'),
  [MessageId.InfoSelfServiceSettingsRegisterWebAuthn]: info('Add security key'),
  [MessageId.InfoSelfServiceSettingsRegisterWebAuthnDisplayName]: info('Name of the security key'),
  [MessageId.InfoSelfServiceSettingsLookupSecretUsed]: info((c) => `Secret was used at ${goUtcTimeString(c.time('used_at', 'used_at_unix'))}`, ['used_at', 'used_at_unix']),
  [MessageId.InfoSelfServiceSettingsLookupSecretList]: info(lookupSecretList, ['secrets']),
  [MessageId.InfoSelfServiceSettingsDisableLookup]: info('Disable this method'),
  [MessageId.InfoSelfServiceSettingsTOTPSecretLabel]: info('This is your authenticator app secret. Use it if you can not scan the QR code.'),
  [MessageId.InfoSelfServiceSettingsRemoveWebAuthn]: info((c) => `Remove security key "${c.str('display_name')}"`, ['display_name', 'added_at', 'added_at_unix']),
  [MessageId.InfoSelfServiceSettingsRegisterPasskey]: info('Add passkey'),
  [MessageId.InfoSelfServiceSettingsRemovePasskey]: info((c) => `Remove passkey "${c.str('display_name')}"`, ['display_name', 'added_at', 'added_at_unix']),
  [MessageId.InfoSelfServiceSettingsRemoveDeviceAuthnKey]: none('info'),
  [MessageId.InfoSelfServiceSettingsDeviceAuthnNonce]: none('info'),
  [MessageId.InfoSelfServiceSettingsManagedByOrganization]: info('Your account is managed by your organization. To change these settings, contact your organization administrator.'),

  [MessageId.InfoSelfServiceRecovery]: none('info'),
  [MessageId.InfoSelfServiceRecoverySuccessful]: success((c) => {
    const left = goMinutesBetween(c.now(), c.time('privileged_session_expires_at', 'privilegedSessionExpiresAt', 'privileged_session_expires_at_unix'));
    return `You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next ${goFixed2(left)} minutes.`;
  }, ['privilegedSessionExpiresAt', 'privileged_session_expires_at', 'privileged_session_expires_at_unix']),
  [MessageId.InfoSelfServiceRecoveryEmailSent]: info('An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.'),
  [MessageId.InfoSelfServiceRecoveryEmailWithCodeSent]: info('An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.'),
  [MessageId.InfoSelfServiceRecoveryMessageMaskedWithCodeSent]: info((c) => `A recovery code has been sent to ${c.str('masked_address')}. If you have not received it, check the spelling of the address and make sure to use the address you registered with.`, ['masked_address']),
  [MessageId.InfoSelfServiceRecoveryAskForFullAddress]: info('Recover access to your account by providing your recovery address in full.'),
  [MessageId.InfoSelfServiceRecoveryAskToChooseAddress]: info('How do you want to recover your account?'),
  [MessageId.InfoSelfServiceRecoveryBack]: info('Back'),

  // Kratos labels masked recovery addresses with this id and the address as text: plainLabel() in ./message.ts.
  [MessageId.InfoNodeLabel]: none('info'),
  [MessageId.InfoNodeLabelInputPassword]: info('Password'),
  [MessageId.InfoNodeLabelGenerated]: info((c) => c.str('title'), ['title', 'name']),
  [MessageId.InfoNodeLabelSave]: info('Save'),
  [MessageId.InfoNodeLabelID]: info('ID'),
  [MessageId.InfoNodeLabelSubmit]: info('Submit'),
  [MessageId.InfoNodeLabelVerifyOTP]: info('Verify code'),
  [MessageId.InfoNodeLabelEmail]: info('Email'),
  [MessageId.InfoNodeLabelResendOTP]: info('Resend code'),
  [MessageId.InfoNodeLabelContinue]: info('Continue'),
  [MessageId.InfoNodeLabelRecoveryCode]: info('Recovery code'),
  [MessageId.InfoNodeLabelVerificationCode]: info('Verification code'),
  [MessageId.InfoNodeLabelRegistrationCode]: info('Registration code'),
  [MessageId.InfoNodeLabelLoginCode]: info('Login code'),
  [MessageId.InfoNodeLabelLoginAndLinkCredential]: info('Login and link credential'),
  [MessageId.InfoNodeLabelCaptcha]: info('Please complete the captcha challenge to continue.'),
  [MessageId.InfoNodeLabelRecoveryAddress]: info('Recovery address'),
  [MessageId.InfoNodeLabelPhoneNumber]: info('Phone number'),
  [MessageId.InfoNodeLabelEmailOrPhone]: info('Email or phone number'),

  [MessageId.InfoSelfServiceVerification]: none('info'),
  [MessageId.InfoSelfServiceVerificationEmailSent]: info('An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.'),
  [MessageId.InfoSelfServiceVerificationSuccessful]: success('You successfully verified your email address.'),
  [MessageId.InfoSelfServiceVerificationEmailWithCodeSent]: info('An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.'),
  [MessageId.InfoSelfServiceVerificationPhoneWithCodeSent]: info('A text message containing a verification code has been sent to the phone number you provided. If you have not received a text message, check the spelling of the number and make sure to use the number you registered with.'),
  [MessageId.InfoSelfServiceVerificationPhoneSuccessful]: success('You successfully verified your phone number.'),

  [MessageId.ErrorValidation]: none('error'),
  [MessageId.ErrorValidationGeneric]: error((c) => c.str('reason'), ['reason']),
  [MessageId.ErrorValidationRequired]: error((c) => `Property ${c.str('property')} is missing.`, ['property']),
  [MessageId.ErrorValidationMinLength]: error((c) => `length must be >= ${c.int('min_length')}, but got ${c.int('actual_length')}`, ['min_length', 'actual_length']),
  [MessageId.ErrorValidationInvalidFormat]: error((c) => `does not match pattern ${c.quoted('pattern')}`, ['pattern']),
  [MessageId.ErrorValidationPasswordPolicyViolationGeneric]: error((c) => `The password can not be used because ${c.str('reason')}.`, ['reason']),
  [MessageId.ErrorValidationInvalidCredentials]: error('The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.'),
  [MessageId.ErrorValidationDuplicateCredentials]: error('An account with the same identifier (email, phone, username, ...) exists already.'),
  [MessageId.ErrorValidationTOTPVerifierWrong]: error('The provided authentication code is invalid, please try again.'),
  [MessageId.ErrorValidationIdentifierMissing]: error('Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.'),
  [MessageId.ErrorValidationAddressNotVerified]: error('Account not active yet. Did you forget to verify your email address?'),
  [MessageId.ErrorValidationNoTOTPDevice]: error('You have no TOTP device set up.'),
  [MessageId.ErrorValidationLookupAlreadyUsed]: error('This backup recovery code has already been used.'),
  [MessageId.ErrorValidationNoWebAuthnDevice]: error('You have no WebAuthn device set up.'),
  [MessageId.ErrorValidationNoLookup]: error('You have no backup recovery codes set up.'),
  [MessageId.ErrorValidationSuchNoWebAuthnUser]: error('This account does not exist or has no security key set up.'),
  [MessageId.ErrorValidationLookupInvalid]: error('The backup recovery code is not valid.'),
  [MessageId.ErrorValidationMaxLength]: error((c) => `length must be <= ${c.int('max_length')}, but got ${c.int('actual_length')}`, ['max_length', 'actual_length']),
  [MessageId.ErrorValidationMinimum]: error((c) => `must be >= ${c.value('minimum')} but found ${c.value('actual')}`, ['minimum', 'actual']),
  [MessageId.ErrorValidationExclusiveMinimum]: error((c) => `must be > ${c.value('minimum')} but found ${c.value('actual')}`, ['minimum', 'actual']),
  [MessageId.ErrorValidationMaximum]: error((c) => `must be <= ${c.value('maximum')} but found ${c.value('actual')}`, ['maximum', 'actual']),
  [MessageId.ErrorValidationExclusiveMaximum]: error((c) => `must be < ${c.value('maximum')} but found ${c.value('actual')}`, ['maximum', 'actual']),
  [MessageId.ErrorValidationMultipleOf]: error((c) => `${c.value('actual')} not multipleOf ${c.value('base')}`, ['base', 'actual']),
  [MessageId.ErrorValidationMaxItems]: error((c) => `maximum ${c.int('max_items')} items allowed, but found ${c.int('actual_items')} items`, ['max_items', 'actual_items']),
  [MessageId.ErrorValidationMinItems]: error((c) => `minimum ${c.int('min_items')} items allowed, but found ${c.int('actual_items')} items`, ['min_items', 'actual_items']),
  [MessageId.ErrorValidationUniqueItems]: error((c) => `items at index ${c.int('index_a')} and ${c.int('index_b')} are equal`, ['index_a', 'index_b']),
  [MessageId.ErrorValidationWrongType]: error((c) => `expected ${c.strings('allowed_types').join(' or ')}, but got ${c.str('actual_type')}`, ['allowed_types', 'actual_type']),
  [MessageId.ErrorValidationDuplicateCredentialsOnOIDCLink]: error('An account with the same identifier (email, phone, username, ...) exists already. Please sign in to your existing account to link your social profile.'),
  [MessageId.ErrorValidationDuplicateCredentialsWithHints]: error(duplicateWithHints, ['available_credential_types', 'available_oidc_providers', 'credential_identifier_hint']),
  [MessageId.ErrorValidationConst]: error((c) => `must be equal to constant ${c.value('expected')}`, ['expected']),
  [MessageId.ErrorValidationConstGeneric]: error('const failed'),
  [MessageId.ErrorValidationPasswordIdentifierTooSimilar]: error('The password can not be used because it is too similar to the identifier.'),
  [MessageId.ErrorValidationPasswordMinLength]: error((c) => `The password must be at least ${c.int('min_length')} characters long, but got ${c.int('actual_length')}.`, ['min_length', 'actual_length']),
  [MessageId.ErrorValidationPasswordMaxLength]: error((c) => `The password must be at most ${c.int('max_length')} characters long, but got ${c.int('actual_length')}.`, ['max_length', 'actual_length']),
  [MessageId.ErrorValidationPasswordTooManyBreaches]: error('The password has been found in data breaches and must no longer be used.', ['breaches']),
  [MessageId.ErrorValidationNoCodeUser]: error('This account does not exist or has not setup sign in with code.'),
  [MessageId.ErrorValidationTraitsMismatch]: error('The provided traits do not match the traits previously associated with this flow.'),
  [MessageId.ErrorValidationAccountNotFound]: error('This account does not exist or has no login method configured.'),
  [MessageId.ErrorValidationCaptchaError]: error('Captcha verification failed, please try again.'),
  [MessageId.ErrorValidationPasswordNewSameAsOld]: error('The new password must be different from the old password.'),
  [MessageId.ErrorValidationEmail]: error('Enter a valid email address', ['value']),
  [MessageId.ErrorValidationPhone]: error('Enter a valid phone number', ['value']),
  [MessageId.ErrorValidationNoDeviceAuthnDevice]: error('You have no DeviceAuthn device set up.'),
  [MessageId.ErrorValidationWebAuthnVerifierWrong]: error('The provided web authn login is invalid, please try again.'),
  [MessageId.ErrorValidationDeviceAuthnVerifierWrong]: error('The provided DeviceAuthn signature is invalid.'),
  [MessageId.ErrorValidationDeviceAuthnRelaxedAttestationNoLongerValid]: error('This DeviceAuthn key can no longer be used because relaxed attestation is expired or disabled. Please enroll your device again.'),
  [MessageId.ErrorValidationDeviceAuthnKeyReenrollmentRequired]: error('This DeviceAuthn key was enrolled before user verification was introduced and can no longer be used. Please enroll your device again.'),

  [MessageId.ErrorValidationLogin]: none('error'),
  [MessageId.ErrorValidationLoginFlowExpired]: error(expired('login'), EXPIRED_AT),
  [MessageId.ErrorValidationLoginNoStrategyFound]: error('Could not find a strategy to log you in with. Did you fill out the form correctly?'),
  [MessageId.ErrorValidationRegistrationNoStrategyFound]: error('Could not find a strategy to sign you up with. Did you fill out the form correctly?'),
  [MessageId.ErrorValidationSettingsNoStrategyFound]: error('Could not find a strategy to update your settings. Did you fill out the form correctly?'),
  [MessageId.ErrorValidationRecoveryNoStrategyFound]: error('Could not find a strategy to recover your account with. Did you fill out the form correctly?'),
  [MessageId.ErrorValidationVerificationNoStrategyFound]: error('Could not find a strategy to verify your account with. Did you fill out the form correctly?'),
  [MessageId.ErrorValidationLoginRetrySuccess]: error('The request was already completed successfully and can not be retried.'),
  [MessageId.ErrorValidationLoginCodeInvalidOrAlreadyUsed]: error('The login code is invalid or has already been used. Please try again.'),
  [MessageId.ErrorValidationLoginLinkedCredentialsDoNotMatch]: error('Linked credentials do not match.'),
  [MessageId.ErrorValidationLoginAddressUnknown]: error('The address you entered does not match any known addresses in the current account.'),
  [MessageId.ErrorValidationIdentityDisabled]: error('This account has been disabled. Please contact support for assistance.'),

  [MessageId.ErrorValidationRegistration]: none('error'),
  [MessageId.ErrorValidationRegistrationFlowExpired]: error(expired('registration'), EXPIRED_AT),
  [MessageId.ErrorValidateionRegistrationRetrySuccess]: error('The request was already completed successfully and can not be retried.'),
  [MessageId.ErrorValidationRegistrationCodeInvalidOrAlreadyUsed]: error('The registration code is invalid or has already been used. Please try again.'),

  [MessageId.ErrorValidationSettings]: none('error'),
  [MessageId.ErrorValidationSettingsFlowExpired]: error(expired('settings'), EXPIRED_AT),
  [MessageId.ErrorValidationSettingsTooManyAddressChanges]: error('You can only change one address at a time. Please update each address separately.'),

  [MessageId.ErrorValidationRecovery]: none('error'),
  [MessageId.ErrorValidationRecoveryRetrySuccess]: error('The request was already completed successfully and can not be retried.'),
  [MessageId.ErrorValidationRecoveryStateFailure]: error('The recovery flow reached a failure state and must be retried.'),
  [MessageId.ErrorValidationRecoveryMissingRecoveryToken]: none('error'),
  [MessageId.ErrorValidationRecoveryTokenInvalidOrAlreadyUsed]: error('The recovery token is invalid or has already been used. Please retry the flow.'),
  [MessageId.ErrorValidationRecoveryFlowExpired]: error(expired('recovery'), EXPIRED_AT),
  [MessageId.ErrorValidationRecoveryCodeInvalidOrAlreadyUsed]: error('The recovery code is invalid or has already been used. Please try again.'),

  [MessageId.ErrorValidationVerification]: none('error'),
  [MessageId.ErrorValidationVerificationTokenInvalidOrAlreadyUsed]: error('The verification token is invalid or has already been used. Please retry the flow.'),
  [MessageId.ErrorValidationVerificationRetrySuccess]: error('The request was already completed successfully and can not be retried.'),
  [MessageId.ErrorValidationVerificationStateFailure]: error('The verification flow reached a failure state and must be retried.'),
  [MessageId.ErrorValidationVerificationMissingVerificationToken]: none('error'),
  [MessageId.ErrorValidationVerificationFlowExpired]: error(expired('verification'), EXPIRED_AT),
  [MessageId.ErrorValidationVerificationCodeInvalidOrAlreadyUsed]: error('The verification code is invalid or has already been used. Please try again.'),

  [MessageId.ErrorSystem]: none('error'),
  [MessageId.ErrorSystemGeneric]: error((c) => c.str('reason'), ['reason']),
  [MessageId.ErrorSystemNoAuthenticationMethodsAvailable]: error('No authentication methods are available. Please contact the system administrator.'),
  [MessageId.ErrorSystemOrganizationNoSSOProvidersAvailable]: error('Your organization requires SSO authentication, but no SSO provider is configured. Please contact the system administrator.'),
} satisfies Record<MessageId, CatalogEntry>);

