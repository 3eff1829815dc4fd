export { MessageId, messageIdName, isMessageId, type MessageIdName } from './ids.ts';
export { CATALOG, type CatalogEntry, type MessageContext, type MessageType, type Template, type TemplateArgs } from './catalog.ts';
export { message, plainLabel, renderText, catalogEntry, hasText, type UiMessage, type MessageOptions, type RenderOptions } from './message.ts';
