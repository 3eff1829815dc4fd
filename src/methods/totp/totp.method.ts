import type { IdentityRecord } from '../../identity/identity.ts';
import { MessageId } from '../../text/ids.ts';
import { message, type UiMessage } from '../../text/message.ts';
import { imageNode, inputNode, submitNode, textNode } from '../../ui/node.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { problemsToMessages } from '../form-messages.ts';
import type { Json, Method, MethodContext, NodesResult, Outcome } from '../method.ts';
import { hasTotp, lastUsedStep, openTotpUrl, sealTotpUrl, totpCredential, type IdentityCredential, type TotpCipher } from './credential.ts';
import { generateTotpSecret, parseTotpUrl, totpUrl, verifyTotp } from './otp.ts';
import { QR_SIZE, qrDataUrl } from './qr.ts';

export { TOTP_URL_PURPOSE, sealTotpUrl, type TotpCredentialConfig } from './credential.ts';
export { parseTotpUrl, type TotpKey } from './otp.ts';
export { totpAccountName } from './account-name.ts';

export interface TotpMethodDeps {
  cipher: TotpCipher;
  /** `selfservice.methods.totp.config.issuer`, or the public base URL's hostname. */
  issuer: string;
  /** The key's account name: the trait marked `totp.account_name` (see `totpAccountName`), else the identity id. */
  accountName(identity: IdentityRecord): string;
}

/** The method's internal state in a settings flow: the key waiting for its first code (Kratos: `totp_url`). */
interface TotpInternal {
  totp_url: string;
}

const METHOD = 'totp';
const LOGIN_SCHEMA = 'methods/totp/login.json';
const SETTINGS_SCHEMA = 'methods/totp/settings.json';
const CODE = 'totp_code';
const UNLINK = 'totp_unlink';
const SETUP_EXPIRED = 'The TOTP setup expired; reload the settings page.';

/** The pending key of a settings flow, when its internal state holds a valid one. */
function pendingUrl(internal: Json | undefined): string | undefined {
  if (!internal || typeof internal !== 'object' || Array.isArray(internal)) return undefined;
  const url = (internal as Partial<TotpInternal>).totp_url;
  return typeof url === 'string' && parseTotpUrl(url) ? url : undefined;
}

const wrongCode = (): UiMessage => message(MessageId.ErrorValidationTOTPVerifierWrong);

/**
 * The TOTP method (Kratos `strategy/totp`): an authenticator app as second factor. Settings shows a new key (QR code
 * and secret) until a code for it is entered, then only "unlink"; login at aal2 asks for a code.
 *
 * Beyond Kratos: the stored otpauth URL is sealed with the credential cipher, and a time step that has logged in
 * once is refused afterwards (`last_used_step`), so a code can not be replayed within its window.
 */
export function createTotpMethod(deps: TotpMethodDeps): Method {
  return {
    id: METHOD,
    group: 'totp',
    login: {
      aal: 'aal2',
      payloadSchema: LOGIN_SCHEMA,
      nodes(ctx: MethodContext): NodesResult {
        // Kratos's PopulateLoginMethod: aal2 flows only, and only for an identity that has the credential.
        if (ctx.flow.requestedAal !== 'aal2' || !totpCredential(ctx.identity)) return { nodes: [] };
        return {
          nodes: [
            inputNode('totp', CODE, 'text', { required: true, value: '', autocomplete: 'one-time-code', label: message(MessageId.InfoSelfServiceLoginTOTPLabel) }),
            submitNode('totp', 'method', METHOD, message(MessageId.InfoLoginTOTP)),
          ],
        };
      },
      async submit(ctx, payload): Promise<Outcome> {
        if (ctx.flow.requestedAal !== 'aal2') return { kind: 'rejected', messages: [message(MessageId.ErrorValidationLoginNoStrategyFound)] };
        const problems = payloadProblems(LOGIN_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const identity = ctx.identity;
        const credential = totpCredential(identity);
        if (!identity || !credential) return { kind: 'rejected', messages: [message(MessageId.ErrorValidationNoTOTPDevice)] };
        const url = await openTotpUrl(deps.cipher, identity.id, credential.config);
        const key = url === undefined ? undefined : parseTotpUrl(url);
        if (!key) return { kind: 'rejected', messages: [wrongCode()] };
        const step = await verifyTotp(key.secret, String(payload[CODE]), ctx.now, lastUsedStep(credential.config));
        if (step === undefined) return { kind: 'rejected', messages: [wrongCode()] };
        const used: IdentityCredential = { ...credential, config: { ...credential.config, last_used_step: step }, updatedAt: ctx.now };
        const record: IdentityRecord = { ...identity, credentials: identity.credentials.map((c) => (c === credential ? used : c)) };
        return {
          kind: 'authenticated',
          identityId: identity.id,
          method: METHOD,
          aal: 'aal2',
          changes: {
            identity: { record, isNew: false },
            // Two concurrent submits of the same code: only the one that still finds this config commits.
            consumes: { identityId: identity.id, type: 'totp', config: { ...credential.config } },
          },
        };
      },
    },
    settings: {
      payloadSchema: SETTINGS_SCHEMA,
      // Kratos: `totp_unlink=true` forces this method.
      claims: (body) => body.totp_unlink === true || body.totp_unlink === 'true',
      async nodes(ctx: MethodContext): Promise<NodesResult> {
        const identity = ctx.identity;
        if (!identity) return { nodes: [] };
        if (hasTotp(identity)) {
          const unlink = inputNode('totp', UNLINK, 'submit', { value: 'true', required: true, label: message(MessageId.InfoSelfServiceSettingsUpdateUnlinkTOTP) });
          return { nodes: [unlink] };
        }
        // A new key per settings flow (Kratos generates one each time the form is built); kept in the flow's
        // internal state until a code for it is entered, so re-rendering shows the same key.
        const url = pendingUrl(ctx.internal) ?? totpUrl({ issuer: deps.issuer, account: deps.accountName(identity), secret: generateTotpSecret() });
        const secret = parseTotpUrl(url)!.secret;
        const internal: TotpInternal = { totp_url: url };
        return {
          nodes: [
            imageNode('totp', 'totp_qr', await qrDataUrl(url), QR_SIZE, QR_SIZE, message(MessageId.InfoSelfServiceSettingsTOTPQRCode)),
            textNode('totp', 'totp_secret_key', message(MessageId.InfoSelfServiceSettingsTOTPSecret, { secret }), message(MessageId.InfoSelfServiceSettingsTOTPSecretLabel)),
            inputNode('totp', CODE, 'text', { required: true, label: message(MessageId.InfoNodeLabelVerifyOTP) }),
            submitNode('totp', 'method', METHOD, message(MessageId.InfoNodeLabelSave)),
          ],
          internal: { ...internal },
        };
      },
      async submit(ctx, payload): Promise<Outcome> {
        // Kratos checks the session's age first; the change is applied after re-authentication.
        if (!ctx.privileged) return { kind: 'needs_refresh' };
        const identity = ctx.identity;
        if (!identity) return { kind: 'rejected', messages: [message(MessageId.ErrorValidationGeneric, { reason: SETUP_EXPIRED })] };
        const problems = payloadProblems(SETTINGS_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const now = ctx.now;

        if (hasTotp(identity)) {
          // Kratos: without totp_unlink the identity is returned unchanged, and that is still a success.
          if (payload[UNLINK] !== true) return { kind: 'updated', method: METHOD };
          const record: IdentityRecord = { ...identity, credentials: identity.credentials.filter((c) => c.type !== 'totp'), updatedAt: now };
          return { kind: 'updated', method: METHOD, changes: { identity: { record, isNew: false } }, internal: null };
        }

        // Kratos answers a missing key with a 500 ("a code bug"); here the flow says to start over.
        const url = pendingUrl(ctx.internal);
        if (!url) return { kind: 'rejected', messages: [message(MessageId.ErrorValidationGeneric, { reason: SETUP_EXPIRED })] };
        const code = payload[CODE];
        if (typeof code !== 'string' || code === '') {
          return { kind: 'rejected', fieldMessages: { [CODE]: [message(MessageId.ErrorValidationRequired, { property: CODE })] } };
        }
        const step = await verifyTotp(parseTotpUrl(url)!.secret, code, now);
        if (step === undefined) return { kind: 'rejected', fieldMessages: { [CODE]: [wrongCode()] } };
        // The enrolment code's step counts as used: it can not log in afterwards.
        const config = { ...(await sealTotpUrl(deps.cipher, identity.id, url)), last_used_step: step };
        const credential: IdentityCredential = {
          id: crypto.randomUUID(), type: 'totp', identifiers: [identity.id], config, version: 0, createdAt: now, updatedAt: now,
        };
        const record: IdentityRecord = { ...identity, credentials: [...identity.credentials.filter((c) => c.type !== 'totp'), credential], updatedAt: now };
        return {
          kind: 'updated',
          method: METHOD,
          changes: { identity: { record, isNew: false }, sessionMethod: { method: METHOD, aal: 'aal2' } },
          // The key is spent; the next time the identity has no TOTP a new one is generated.
          internal: null,
        };
      },
    },
  };
}
