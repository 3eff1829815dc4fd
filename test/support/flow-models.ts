/**
 * User-level models of the self-service machines: what a client can do, what each effect answers for it, and how
 * to do the same thing over HTTP. Shared by the pure model tests and the HTTP replay.
 */
import { loginMachine } from '../../machines/login.machine.ts';
import { registrationMachine } from '../../machines/registration.machine.ts';
import { settingsMachine } from '../../machines/settings.machine.ts';
import { recoveryMachine } from '../../machines/recovery.machine.ts';
import { verificationMachine } from '../../machines/verification.machine.ts';
import type { AnyStateMachine } from 'xstate';
import type { MachineModelSpec } from './machine-model.ts';

const text = (id: number) => ({ id, text: '', type: 'error' as const });

/**
 * Web hooks before saving (the machines' `running_hooks` step): they let the flow pass, or stop it with their own
 * messages (`HOOK_REFUSAL`: the id and text a hook chose; see test/support/hook-receiver.ts, which answers so).
 */
const PASSED = { kind: 'passed' };
export const HOOK_REFUSAL = { id: 4000099, text: 'Refused by the hook.', type: 'error' as const };
const hooked = (context: Record<string, unknown>) => ((context.hooksBeforeSave as string[] | undefined) ?? []).length > 0;

export const loginModel: MachineModelSpec = {
  machine: loginMachine,
  // `aal2`: a session that proved its password steps up with the second factor (login?aal=aal2).
  openings: {
    api: { flowId: 'flow', flowType: 'api' },
    'api at aal2': { flowId: 'flow', flowType: 'api', requestedAal: 'aal2', identityId: 'identity' },
    'api with web hooks': { flowId: 'flow', flowType: 'api', hooksBeforeSave: ['password', 'code'] },
    'api at aal2 with web hooks': { flowId: 'flow', flowType: 'api', requestedAal: 'aal2', identityId: 'identity', hooksBeforeSave: ['totp', 'code'] },
    // An administrator's dry-run test login of an OpenID Connect provider (POST /admin/test-login-flows): a browser
    // flow marked refresh, as Kratos does.
    'browser test login': { flowId: 'flow', flowType: 'browser', refresh: true },
  },
  actions: {
    'submit the authenticator code': {
      submit: { method: 'totp', payload: { totp_code: '123456' } },
      outputs: { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'totp', aal: 'aal2' }, continueSession: { sessionId: 'session' }, runHooks: PASSED },
    },
    // A login web hook (can_interrupt) refuses this account: no session, the hook's message on the form.
    'submit the authenticator code of an account a hook refuses': {
      submit: { method: 'totp', payload: { totp_code: '123456' } },
      outputs: { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'totp', aal: 'aal2' }, continueSession: { sessionId: 'session' }, runHooks: { kind: 'rejected', messages: [HOOK_REFUSAL] } },
    },
    'submit the password of an account a hook refuses': {
      submit: { method: 'password', payload: { identifier: 'refused', password: 'secret' } },
      outputs: { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'password', aal: 'aal1' }, issueSession: { sessionId: 'session' }, runHooks: { kind: 'rejected', messages: [HOOK_REFUSAL] } },
    },
    // The browser goes through the provider; its answer is recorded, nobody signs in.
    'complete the test login at the provider': {
      submit: { method: 'oidc', payload: { provider: 'op1', callback: {} } },
      outputs: { authenticate: { kind: 'tested' } },
    },
    'submit a wrong authenticator code': {
      submit: { method: 'totp', payload: { totp_code: '000000' } },
      outputs: { authenticate: { kind: 'rejected', messages: [text(4000008)] } },
    },
    'submit correct password': {
      submit: { method: 'password', payload: { identifier: 'user', password: 'secret' } },
      outputs: { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'password', aal: 'aal1' }, issueSession: { sessionId: 'session' }, runHooks: PASSED },
    },
    'submit wrong password': {
      submit: { method: 'password', payload: { identifier: 'user', password: 'wrong' } },
      outputs: { authenticate: { kind: 'rejected', values: { identifier: 'user' }, messages: [text(4000006)] } },
    },
    'submit unknown method': {
      submit: { method: 'carrier-pigeon', payload: {} },
      outputs: { authenticate: { kind: 'rejected', messages: [text(4010002)] } },
    },
    // One-time codes: passwordless at aal1, a second factor at aal2 (the code goes to the session identity's address).
    'ask for a login code': {
      submit: { method: 'code', payload: { identifier: 'user' } },
      outputs: { authenticate: { kind: 'code_sent', values: { identifier: 'user' }, messages: [{ ...text(1010014), type: 'info' }] } },
    },
    'ask for a second-factor code': {
      submit: { method: 'code', payload: { address: 'user' } },
      outputs: { authenticate: { kind: 'code_sent', values: { identifier: 'user', channel: 'email' }, messages: [{ ...text(1010025), type: 'info' }] } },
    },
    'ask for the code again': {
      submit: { method: 'code', payload: { identifier: 'user', resend: 'code' } },
      outputs: (context) => ({
        authenticate: { kind: 'code_sent', values: context.values, messages: [{ ...text(context.requestedAal === 'aal2' ? 1010025 : 1010014), type: 'info' }] },
      }),
    },
    'submit a wrong login code': {
      submit: { method: 'code', payload: { identifier: 'user', code: '000000' } },
      outputs: (context) => ({ authenticate: { kind: 'rejected', values: context.values, messages: [text(4010008)] } }),
    },
    'submit the login code': {
      submit: { method: 'code', payload: { identifier: 'user', code: '123456' } },
      outputs: (context) => (context.requestedAal === 'aal2'
        ? { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'code', aal: 'aal2' }, continueSession: { sessionId: 'session' }, runHooks: PASSED }
        : { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'code', aal: 'aal1' }, issueSession: { sessionId: 'session' }, runHooks: PASSED }),
    },
  },
  availableIn: (state, context) => {
    const aal2 = (context as { requestedAal?: string }).requestedAal === 'aal2';
    if (state === 'sent_email') return ['submit the login code', 'submit a wrong login code', 'ask for the code again'];
    if (state !== 'choose_method') return [];
    if ((context as { refresh?: boolean }).refresh) return ['complete the test login at the provider'];
    const refusals = hooked(context) ? [aal2 ? 'submit the authenticator code of an account a hook refuses' : 'submit the password of an account a hook refuses'] : [];
    return aal2
      ? ['submit the authenticator code', 'submit a wrong authenticator code', 'submit unknown method', 'ask for a second-factor code', ...refusals]
      : ['submit correct password', 'submit wrong password', 'submit unknown method', 'ask for a login code', ...refusals];
  },
};

export const registrationModel: MachineModelSpec = {
  machine: registrationMachine,
  openings: {
    'with session hook': { flowId: 'flow', flowType: 'api', sessionAfter: ['password', 'code'] },
    'without session hook': { flowId: 'flow', flowType: 'api', sessionAfter: [] },
    'with web hooks': { flowId: 'flow', flowType: 'api', sessionAfter: ['password', 'code'], hooksBeforeSave: ['password', 'code'] },
  },
  actions: {
    'submit profile traits': {
      submit: { method: 'profile', payload: { traits: { email: 'user' } } },
      outputs: { register: { kind: 'next_screen', screen: 'credential-selection', values: { traits: { email: 'user' } }, messages: [{ ...text(1040009), type: 'info' }] } },
    },
    'go back to the traits': {
      submit: { method: 'profile', payload: { screen: 'previous', traits: { email: 'user' } } },
      outputs: { register: { kind: 'next_screen', values: { traits: { email: 'user' } } } },
    },
    'submit invalid traits': {
      submit: { method: 'profile', payload: { traits: { email: 'not an e-mail' } } },
      outputs: { register: { kind: 'rejected', values: { traits: { email: 'not an e-mail' } }, fieldMessages: { 'traits.email': [text(4000040)] } } },
    },
    'submit password for a taken e-mail': {
      submit: { method: 'password', payload: { traits: { email: 'taken' }, password: 'secret' } },
      outputs: { register: { kind: 'rejected', values: { traits: { email: 'taken' } }, messages: [text(4000007)] } },
    },
    'submit valid password': {
      submit: { method: 'password', payload: { traits: { email: 'user' }, password: 'secret' } },
      outputs: { register: { kind: 'registered', identityId: 'identity', method: 'password' }, issueSession: { sessionId: 'session' }, runHooks: PASSED },
    },
    // A registration web hook (can_interrupt) refuses the address: its message on the e-mail field, no identity.
    'submit a password sign-up a hook refuses': {
      submit: { method: 'password', payload: { traits: { email: 'refused' }, password: 'secret' } },
      outputs: {
        register: { kind: 'registered', identityId: 'identity', method: 'password' },
        runHooks: { kind: 'rejected', values: { traits: { email: 'refused' } }, fieldMessages: { 'traits.email': [HOOK_REFUSAL] } },
      },
    },
    'ask for a sign-up code': {
      submit: { method: 'code', payload: { traits: { email: 'user' } } },
      outputs: { register: { kind: 'code_sent', values: { traits: { email: 'user' } }, messages: [{ ...text(1040005), type: 'info' }] } },
    },
    'ask for the sign-up code again': {
      submit: { method: 'code', payload: { traits: { email: 'user' }, resend: 'code' } },
      outputs: { register: { kind: 'code_sent', values: { traits: { email: 'user' } }, messages: [{ ...text(1040005), type: 'info' }] } },
    },
    'submit a wrong sign-up code': {
      submit: { method: 'code', payload: { traits: { email: 'user' }, code: '000000' } },
      outputs: { register: { kind: 'rejected', values: { traits: { email: 'user' } }, messages: [text(4040003)] } },
    },
    // Profile-first: back from the code form to the choice of credentials.
    'go back from the code form': {
      submit: { method: 'profile', payload: { screen: 'credential-selection', traits: { email: 'user' } } },
      outputs: { register: { kind: 'next_screen', screen: 'credential-selection', values: { traits: { email: 'user' } } } },
    },
    'submit the sign-up code': {
      submit: { method: 'code', payload: { traits: { email: 'user' }, code: '123456' } },
      outputs: { register: { kind: 'registered', identityId: 'identity', method: 'code' }, issueSession: { sessionId: 'session' }, runHooks: PASSED },
    },
  },
  availableIn: (state, context) => (state === 'choose_method'
    ? ['submit profile traits', 'go back to the traits', 'submit invalid traits', 'submit password for a taken e-mail', 'submit valid password', 'ask for a sign-up code',
      ...(hooked(context) ? ['submit a password sign-up a hook refuses'] : [])]
    : state === 'sent_email'
      ? ['ask for the sign-up code again', 'submit a wrong sign-up code', 'go back from the code form', 'submit the sign-up code']
      : []),
};

export const settingsModel: MachineModelSpec = {
  machine: settingsMachine,
  openings: {
    api: { flowId: 'flow', flowType: 'api', identityId: 'identity' },
    'api with web hooks': { flowId: 'flow', flowType: 'api', identityId: 'identity', hooksBeforeSave: ['profile', 'password', 'lookup_secret'] },
  },
  actions: {
    'change the name': {
      submit: { method: 'profile', payload: { traits: { email: 'user', name: { first: 'New' } } } },
      outputs: { applySettings: { kind: 'updated', method: 'profile', messages: [{ ...text(1050001), type: 'success' }] }, runHooks: PASSED },
    },
    // A settings web hook (can_interrupt) refuses the new name: its message on the form, nothing saved.
    'change the name to one a hook refuses': {
      submit: { method: 'profile', payload: { traits: { email: 'user', name: { first: 'Refused' } } } },
      outputs: (context) => ({
        applySettings: { kind: 'updated', method: 'profile', messages: [{ ...text(1050001), type: 'success' }] },
        runHooks: { kind: 'rejected', values: context.values, messages: [HOOK_REFUSAL] },
      }),
    },
    'submit invalid traits': {
      submit: { method: 'profile', payload: { traits: { email: 'not an e-mail' } } },
      outputs: { applySettings: { kind: 'rejected', values: { traits: { email: 'not an e-mail' } }, fieldMessages: { 'traits.email': [text(4000040)] } } },
    },
    'change the password': {
      submit: { method: 'password', payload: { password: 'new secret' } },
      outputs: { applySettings: { kind: 'updated', method: 'password', messages: [{ ...text(1050001), type: 'success' }] }, runHooks: PASSED },
    },
    'reuse the current password': {
      submit: { method: 'password', payload: { password: 'current secret' } },
      outputs: { applySettings: { kind: 'rejected', fieldMessages: { password: [text(4000039)] } } },
    },
    // The change waits for a re-authentication (privileged_session_max_age passed).
    'change the password with an old login': {
      submit: { method: 'password', payload: { password: 'new secret' } },
      outputs: { applySettings: { kind: 'needs_refresh' } },
    },
    // New backup codes are shown to be confirmed; nothing is saved yet.
    'generate backup codes': {
      submit: { method: 'lookup_secret', payload: { lookup_secret_regenerate: true } },
      outputs: { applySettings: { kind: 'next_screen' } },
    },
  },
  // Backup codes are asked for on the form as it first shows (fewer generated paths; the transition is the same).
  // With web hooks only what reaches them (the other actions behave alike either way; fewer paths to traverse).
  availableIn: (state, context) => (hooked(context)
    ? ['change the name', 'change the password', 'change the name to one a hook refuses']
    : ['change the name', 'submit invalid traits', 'change the password', 'reuse the current password', 'change the password with an old login',
      ...(state === 'show_form' ? ['generate backup codes'] : [])]),
};

const SENT = { recovery: 1060003, verification: 1080003 };
const INVALID = { recovery: 4060006, verification: 4070006 };

/** Recovery and verification share one machine shape, so one model describes both. */
function challengeModel(kind: 'recovery' | 'verification', machine: AnyStateMachine): MachineModelSpec {
  const sent = { kind: 'code_sent', values: { email: 'user' }, messages: [{ ...text(SENT[kind]), type: 'info' }] };
  return {
    machine,
    openings: { api: { flowId: 'flow', flowType: 'api' } },
    actions: {
      'submit a known address': { submit: { method: 'code', payload: { email: 'user' } }, outputs: { sendCode: sent } },
      // An administrator's recovery code (no message); verification's is sign-up's Verifier hook, which says it was sent.
      'a code is issued out of band': {
        event: { type: 'challenge.issued', values: { email: 'user' }, messages: kind === 'verification' ? [{ ...text(SENT.verification), type: 'info' }] : [] },
        outputs: {},
      },
      'submit an unknown address': { submit: { method: 'code', payload: { email: 'nobody' } }, outputs: { sendCode: { ...sent, values: { email: 'nobody' } } } },
      'submit an invalid address': {
        submit: { method: 'code', payload: { email: 'not an e-mail' } },
        outputs: { sendCode: { kind: 'rejected', fieldMessages: { email: [text(4000040)] } } },
      },
      // The resend button carries the address the flow already knows.
      'ask for a new code': {
        submit: { method: 'code', payload: { email: 'user' } },
        outputs: (context) => ({ sendCode: { ...sent, values: { email: (context.values as { email?: string }).email ?? 'user' } } }),
      },
      'ask for a new code for an invalid address': {
        submit: { method: 'code', payload: { email: 'not an e-mail' } },
        outputs: (context) => ({ sendCode: { kind: 'rejected', values: context.values, fieldMessages: { email: [text(4000040)] } } }),
      },
      'submit a wrong code': {
        submit: { method: 'code', payload: { code: '000000' } },
        outputs: (context) => ({ checkCode: { kind: 'rejected', values: context.values, messages: [text(INVALID[kind])] } }),
      },
      // Kratos counts code submissions on the flow; the one after max_submissions ends it (a new flow takes over).
      'use up the attempts with wrong codes': {
        submit: { method: 'code', payload: { code: '000000' } },
        outputs: { checkCode: { kind: 'exhausted', messages: [] } },
      },
      'submit the mailed code': {
        submit: { method: 'code', payload: { code: '123456' } },
        outputs: {
          checkCode: { kind: 'challenge_passed', identityId: 'identity', method: 'code', messages: kind === 'verification' ? [{ ...text(1080002), type: 'success' }] : [] },
          issueSession: { sessionId: 'session', continueFlowId: 'settings' },
        },
      },
    },
    stateKey: (context) => ((context.values as { email?: string } | undefined)?.email === 'nobody' ? 'unknown address' : 'known address'),
    // No mail with a code reaches an unknown address, so a client can't submit one for it.
    availableIn: (state, context) => (state === 'choose_method'
      ? ['submit a known address', 'submit an unknown address', 'submit an invalid address', 'a code is issued out of band']
      : state === 'sent_email'
        ? ['ask for a new code', 'ask for a new code for an invalid address', 'submit a wrong code', 'use up the attempts with wrong codes',
          ...((context.values as { email?: string } | undefined)?.email === 'nobody' ? [] : ['submit the mailed code'])]
        : []),
  };
}

export const recoveryModel = challengeModel('recovery', recoveryMachine);
export const verificationModel = challengeModel('verification', verificationMachine);

export const FLOW_MODELS = { login: loginModel, registration: registrationModel, settings: settingsModel, recovery: recoveryModel, verification: verificationModel };
