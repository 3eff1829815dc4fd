export * from './node.ts';
export { messageText, uiText, messageType, hasMessage, type MessageContext } from './messages.ts';
export { traitNodes, generatedLabel } from './trait-nodes.ts';
export { traitErrorText, attachTraitErrors, pointerToNodeName } from './trait-errors.ts';
