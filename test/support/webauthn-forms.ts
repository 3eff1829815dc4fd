/**
 * The browser half of WebAuthn / passkey forms, done the way Kratos's `webauthn.js` does it, for HTTP tests with the
 * software authenticator (test/support/soft-authenticator.ts):
 *
 * - the options are read from the nodes: the trigger's `value` (`webauthn_login_trigger`, `webauthn_register_trigger`),
 *   `passkey_challenge`, or `passkey_create_data` (a `{credentialOptions, displayNameFieldName(s)}` wrapper in
 *   registration, a bare `{publicKey}` in settings);
 * - the credential is serialised as the script does (`{id, rawId, type, response: {...}}`, every binary field
 *   base64url; no transports, no clientExtensionResults, a missing user handle as `""`);
 * - the form is submitted with `form.submit()`: every input of the form with its value, but no button — so no
 *   `method` field.
 */
import type { SoftAuthenticationResponse, SoftRegistrationResponse } from './soft-authenticator.ts';

type Json = any;

/** What `__oryWebAuthnRegistration` / `__oryPasskey…Registration` write into the hidden result input. */
export function attestationJson(credential: SoftRegistrationResponse): string {
  return JSON.stringify({
    id: credential.id,
    rawId: credential.rawId,
    type: credential.type,
    response: { attestationObject: credential.response.attestationObject, clientDataJSON: credential.response.clientDataJSON },
  });
}

/** What `__oryWebAuthnLogin` / `__oryPasskeyLogin` write into the hidden result input. */
export function assertionJson(credential: SoftAuthenticationResponse): string {
  return JSON.stringify({
    id: credential.id,
    rawId: credential.rawId,
    type: credential.type,
    response: {
      authenticatorData: credential.response.authenticatorData,
      clientDataJSON: credential.response.clientDataJSON,
      signature: credential.response.signature,
      userHandle: credential.response.userHandle ?? '',
    },
  });
}

function inputNode(flow: Json, name: string): Json {
  const found = (flow.ui?.nodes ?? []).find((n: Json) => n.attributes?.name === name);
  if (!found) throw new Error(`the flow has no node "${name}": ${(flow.ui?.nodes ?? []).map((n: Json) => n.attributes?.name ?? n.attributes?.id).join(', ')}`);
  return found;
}

/** `JSON.parse(trigger.value).publicKey` (oryWebAuthnLogin / oryWebAuthnRegistration called without arguments). */
export function triggerOptions(flow: Json, trigger: 'webauthn_login_trigger' | 'webauthn_register_trigger'): Json {
  return JSON.parse(inputNode(flow, trigger).attributes.value).publicKey;
}

/** `JSON.parse(passkey_challenge.value).publicKey` (oryPasskeyLogin). */
export function passkeyChallenge(flow: Json): Json {
  return JSON.parse(inputNode(flow, 'passkey_challenge').attributes.value).publicKey;
}

/**
 * oryPasskeyRegistration: the wrapper's `credentialOptions.publicKey`, with `user.name` and `user.displayName` set to
 * the first non-empty form value among `displayNameFieldNames` (else `[displayNameFieldName]`).
 */
export function passkeyRegistrationOptions(flow: Json, formValues: Record<string, string>): Json {
  const data = JSON.parse(inputNode(flow, 'passkey_create_data').attributes.value);
  const names: string[] = Array.isArray(data.displayNameFieldNames) && data.displayNameFieldNames.length > 0 ? data.displayNameFieldNames : [data.displayNameFieldName];
  const displayName = names.map((n) => (n ? formValues[n] : undefined)).find((v) => typeof v === 'string' && v !== '') ?? '';
  const publicKey = data.credentialOptions.publicKey;
  publicKey.user.name = displayName;
  publicKey.user.displayName = displayName;
  return publicKey;
}

/** oryPasskeySettingsRegistration: `passkey_create_data` is a bare `{publicKey}` in settings. */
export function passkeySettingsOptions(flow: Json): Json {
  return JSON.parse(inputNode(flow, 'passkey_create_data').attributes.value).publicKey;
}

/**
 * The fields `form.submit()` posts for a form made of the nodes of `groups` (one form per method group, as Ory's UIs
 * render them): every input that is not a button, with its value (`""` when it has none), then `values` on top
 * (what the user typed, and the script's result field).
 */
export function formFields(flow: Json, groups: string[], values: Record<string, string> = {}): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const n of flow.ui?.nodes ?? []) {
    const a = n.attributes ?? {};
    if (n.type !== 'input' || !groups.includes(n.group) || a.type === 'submit' || a.type === 'button' || typeof a.name !== 'string') continue;
    fields[a.name] = a.value === undefined || a.value === null ? '' : String(a.value);
  }
  return { ...fields, ...values };
}
