import type { AnyStateMachine } from 'xstate';
import { loginMachine } from '../../machines/login.machine.ts';
import { registrationMachine } from '../../machines/registration.machine.ts';
import { settingsMachine } from '../../machines/settings.machine.ts';
import { recoveryMachine } from '../../machines/recovery.machine.ts';
import { verificationMachine } from '../../machines/verification.machine.ts';
import type { FlowKind } from '../persistence/store.ts';

/** One machine per flow kind; the flow object is its persisted snapshot. */
export const FLOW_MACHINES: Record<FlowKind, AnyStateMachine> = {
  login: loginMachine,
  registration: registrationMachine,
  settings: settingsMachine,
  recovery: recoveryMachine,
  verification: verificationMachine,
};
