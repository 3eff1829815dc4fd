/**
 * The older message API, kept for its callers: every text and type comes from the catalog in src/text/.
 * New code builds messages with `message(MessageId.X, context, { now })` from src/text/message.ts, which throws
 * on ids Kratos does not define and on contexts that lack what the text needs; these functions never throw.
 */
import { catalogEntry, hasText, MessageId, renderText } from '../text/index.ts';
import type { UiText, UiTextType } from './node.ts';

export type MessageContext = Record<string, unknown>;

/**
 * Renders the English text for a message id; ids without a text fall back to the context's `reason`, or ''.
 * Clock-based texts (flow expired N minutes ago …) are rendered against the current time.
 */
export function messageText(id: number, context: MessageContext = {}): string {
  const legacy = legacyText(id, context);
  if (legacy !== undefined) return legacy;
  const text = renderText(id, context, { lenient: true, now: new Date() });
  if (text !== undefined) return text;
  return typeof context.reason === 'string' ? context.reason : '';
}

/**
 * idflow reports a failed JSON-schema `format` with id 4000004 and `{format, value}`, which Kratos never does
 * (it sends 4000040/4000041 or 4000001); until those callers move to Kratos's ids this keeps their text.
 */
function legacyText(id: number, context: MessageContext): string | undefined {
  if (id !== MessageId.ErrorValidationInvalidFormat || context.pattern !== undefined || context.format === undefined) return undefined;
  return `"${plain(context.value)}" is not valid "${plain(context.format)}"`;
}

function plain(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function hasMessage(id: number): boolean {
  return hasText(id);
}

/** The type Kratos gives the message; for a number Kratos does not define: 4xxxxxx/5xxxxxx errors, else info. */
export function messageType(id: number): UiTextType {
  return catalogEntry(id)?.type ?? (id >= MessageId.ErrorValidation ? 'error' : 'info');
}

/** A UiText for `id`; `context` is omitted when empty. */
export function uiText(id: number, context?: MessageContext, type: UiTextType = messageType(id), text?: string): UiText {
  const out: UiText = { id, text: text ?? messageText(id, context ?? {}), type };
  if (context && Object.keys(context).length > 0) out.context = context;
  return out;
}
