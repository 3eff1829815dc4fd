import { Identity, IdentityCredential, CredentialIdentifier, VerifiableAddress, RecoveryAddress } from './identity.entity.ts';
import { Session } from './session.entity.ts';
import { Flow, FlowTransition, SelfServiceError } from './flow.entity.ts';
import { CourierMessage, CourierDispatch } from './courier.entity.ts';
import { SelfServiceCode } from './code.entity.ts';
import { SessionTokenExchange } from './token-exchange.entity.ts';
import { RateLimit } from './rate-limit.entity.ts';

export * from './identity.entity.ts';
export * from './session.entity.ts';
export * from './flow.entity.ts';
export * from './courier.entity.ts';
export * from './code.entity.ts';
export * from './token-exchange.entity.ts';
export * from './rate-limit.entity.ts';

export const allEntities = [
  Identity, IdentityCredential, CredentialIdentifier, VerifiableAddress, RecoveryAddress,
  Session, Flow, FlowTransition, SelfServiceError, CourierMessage, CourierDispatch, SelfServiceCode, SessionTokenExchange, RateLimit,
];
