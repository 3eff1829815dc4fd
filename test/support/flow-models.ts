/**
 * User-level models of the self-service machines: what a client can do, what each effect answers for it, and how
 * to do the same thing over HTTP. Shared by the pure model tests and the HTTP replay.
 */
import { loginMachine } from '../../machines/login.machine.ts';
import { registrationMachine } from '../../machines/registration.machine.ts';
import { settingsMachine } from '../../machines/settings.machine.ts';
import type { MachineModelSpec } from './machine-model.ts';

const text = (id: number) => ({ id, text: '', type: 'error' as const });

export const loginModel: MachineModelSpec = {
  machine: loginMachine,
  openings: { api: { flowId: 'flow', flowType: 'api' } },
  actions: {
    'submit correct password': {
      submit: { method: 'password', payload: { identifier: 'user', password: 'secret' } },
      outputs: { authenticate: { kind: 'authenticated', identityId: 'identity', method: 'password', aal: 'aal1' }, issueSession: { sessionId: 'session' } },
    },
    'submit wrong password': {
      submit: { method: 'password', payload: { identifier: 'user', password: 'wrong' } },
      outputs: { authenticate: { kind: 'rejected', values: { identifier: 'user' }, messages: [text(4000006)] } },
    },
    'submit unknown method': {
      submit: { method: 'carrier-pigeon', payload: {} },
      outputs: { authenticate: { kind: 'rejected', messages: [text(4010002)] } },
    },
  },
  availableIn: (state) => (state === 'choose_method' ? ['submit correct password', 'submit wrong password', 'submit unknown method'] : []),
};

export const registrationModel: MachineModelSpec = {
  machine: registrationMachine,
  openings: {
    'with session hook': { flowId: 'flow', flowType: 'api', issueSession: true },
    'without session hook': { flowId: 'flow', flowType: 'api', issueSession: false },
  },
  actions: {
    'submit profile traits': {
      submit: { method: 'profile', payload: { traits: { email: 'user' } } },
      outputs: { register: { kind: 'next_screen', screen: 'credential-selection', values: { traits: { email: 'user' } } } },
    },
    'go back to the traits': {
      submit: { method: 'profile', payload: { screen: 'previous', traits: { email: 'user' } } },
      outputs: { register: { kind: 'next_screen', values: { traits: { email: 'user' } } } },
    },
    'submit invalid traits': {
      submit: { method: 'profile', payload: { traits: { email: 'not an e-mail' } } },
      outputs: { register: { kind: 'rejected', values: { traits: { email: 'not an e-mail' } }, fieldMessages: { 'traits.email': [text(4000004)] } } },
    },
    'submit password for a taken e-mail': {
      submit: { method: 'password', payload: { traits: { email: 'taken' }, password: 'secret' } },
      outputs: { register: { kind: 'rejected', values: { traits: { email: 'taken' } }, messages: [text(4000007)] } },
    },
    'submit valid password': {
      submit: { method: 'password', payload: { traits: { email: 'user' }, password: 'secret' } },
      outputs: { register: { kind: 'registered', identityId: 'identity', method: 'password' }, issueSession: { sessionId: 'session' } },
    },
  },
  availableIn: (state) => (state === 'choose_method'
    ? ['submit profile traits', 'go back to the traits', 'submit invalid traits', 'submit password for a taken e-mail', 'submit valid password']
    : []),
};

export const settingsModel: MachineModelSpec = {
  machine: settingsMachine,
  openings: { api: { flowId: 'flow', flowType: 'api', identityId: 'identity' } },
  actions: {
    'change the name': {
      submit: { method: 'profile', payload: { traits: { email: 'user', name: { first: 'New' } } } },
      outputs: { applySettings: { kind: 'updated', method: 'profile' } },
    },
    'submit invalid traits': {
      submit: { method: 'profile', payload: { traits: { email: 'not an e-mail' } } },
      outputs: { applySettings: { kind: 'rejected', values: { traits: { email: 'not an e-mail' } }, fieldMessages: { 'traits.email': [text(4000004)] } } },
    },
    'change the password': {
      submit: { method: 'password', payload: { password: 'new secret' } },
      outputs: { applySettings: { kind: 'updated', method: 'password' } },
    },
    'reuse the current password': {
      submit: { method: 'password', payload: { password: 'current secret' } },
      outputs: { applySettings: { kind: 'rejected', fieldMessages: { password: [text(4000039)] } } },
    },
  },
  availableIn: () => ['change the name', 'submit invalid traits', 'change the password', 'reuse the current password'],
};

export const FLOW_MODELS = { login: loginModel, registration: registrationModel, settings: settingsModel };
