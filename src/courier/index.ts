export { Courier, workerSettings, type CourierDeps, type MessageDraft } from './courier.ts';
export { CourierSender, type SenderOptions } from './sender.ts';
export type { ClaimedMessage } from '../persistence/store.ts';
export { TEMPLATE_TYPES, TemplateSet, type TemplateData, type TemplateType, type RenderedMessage } from './templates.ts';
export { assertRecipient, isValidRecipient, recipientProblem } from './recipient.ts';
export { backoffDelay, nominalDelay, retryHorizonMs, shouldAbandon, type RetryPolicy } from './backoff.ts';
export { DeliveryError, type OutgoingMessage, type Transport } from './transports/transport.ts';
export { toMessageJson, type MessageJson } from './message-json.ts';
