import type { AnyStateMachine } from 'xstate';
import { loginMachine } from '../../machines/login.machine.ts';
import { registrationMachine } from '../../machines/registration.machine.ts';
import { settingsMachine } from '../../machines/settings.machine.ts';
import { recoveryMachine } from '../../machines/recovery.machine.ts';
import { verificationMachine } from '../../machines/verification.machine.ts';
import type { FlowKind } from '../../entities/index.ts';

export type MachineFlowKind = Extract<FlowKind, 'login' | 'registration' | 'settings'>;

export type ChallengeFlowKind = Extract<FlowKind, 'recovery' | 'verification'>;

export const FLOW_MACHINES: Record<MachineFlowKind | ChallengeFlowKind, AnyStateMachine> = {
  login: loginMachine,
  registration: registrationMachine,
  settings: settingsMachine,
  recovery: recoveryMachine,
  verification: verificationMachine,
};
