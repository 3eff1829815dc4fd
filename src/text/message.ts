/**
 * Builds Kratos UI messages (`{id, text, type, context?}`) from the catalog: the one way code makes one.
 * An id Kratos does not define, or never renders, is a programming error and throws, as does a context that
 * lacks what the text needs or a clock-based text without `now`.
 */
import { CATALOG, type CatalogEntry, type MessageContext, type MessageType, type TemplateArgs } from './catalog.ts';
import {
  GO_ZERO_TIME, goQuote, goValue, nanosOfDate, nanosOfRfc3339, nanosOfUnixSeconds, type UnixNanos,
} from './go-fmt.ts';
import { MessageId, messageIdName } from './ids.ts';

/** Kratos's `uiText`; the same shape as `UiText` (src/ui/node.ts) and `UiMessage` (machines/flow-types.ts). */
export interface UiMessage {
  id: number;
  text: string;
  type: MessageType;
  context?: Record<string, unknown>;
}

export interface MessageOptions {
  /** Kratos's clock, for the texts it computes from it (flow expired N minutes ago, recovery's time left). */
  now?: Date;
}

export interface RenderOptions extends MessageOptions {
  /**
   * Render what the context allows instead of throwing: missing values become empty (a missing time is Go's
   * zero time). Only for the older `uiText`/`messageText` API in src/ui/messages.ts.
   */
  lenient?: boolean;
}

/** The catalog entry of a Kratos message id, or undefined for a number that is not one. */
export function catalogEntry(id: number): CatalogEntry | undefined {
  return Object.hasOwn(CATALOG, id) ? (CATALOG as Readonly<Record<number, CatalogEntry>>)[id] : undefined;
}

/** Whether Kratos renders a text for `id` (false for unknown ids and for declared-only ids such as range roots). */
export function hasText(id: number): boolean {
  const text = catalogEntry(id)?.text;
  return text !== undefined && text !== null;
}

/** The UI message `id` with Kratos's text and type for `context`; the context is kept when it has keys. */
export function message(id: MessageId, context?: MessageContext, options: MessageOptions = {}): UiMessage {
  const entry = catalogEntry(id);
  const text = renderText(id, context ?? {}, options);
  if (entry === undefined || text === undefined) throw new Error(`${describe(id)} has no text in Kratos's catalog`);
  const out: UiMessage = { id, text, type: entry.type };
  if (context !== undefined && Object.keys(context).length > 0) out.context = { ...context };
  return out;
}

/**
 * A node label with a text of the caller's (id 1070000, `InfoNodeLabel`): Kratos labels each masked recovery
 * address this way, without a context.
 */
export function plainLabel(text: string): UiMessage {
  return { id: MessageId.InfoNodeLabel, text, type: 'info' };
}

/**
 * Kratos's text for `id` and `context`, or undefined when the catalog has none (unknown or declared-only id).
 * Throws, unless `lenient`, when the context lacks what the text needs or a clock-based text has no `now`.
 */
export function renderText(id: number, context: MessageContext, options: RenderOptions = {}): string | undefined {
  const entry = catalogEntry(id);
  if (entry === undefined) {
    if (options.lenient) return undefined;
    throw new Error(`${describe(id)} is not a Kratos message id (text/id.go)`);
  }
  if (entry.text === null || typeof entry.text === 'string') return entry.text ?? undefined;
  return entry.text(args(id, context, options));
}

function describe(id: number): string {
  const name = messageIdName(id);
  return name ? `message ${id} (${name})` : `message ${id}`;
}

function args(id: number, context: MessageContext, options: RenderOptions): TemplateArgs {
  const lenient = options.lenient === true;
  const fail = (problem: string): never => {
    throw new Error(`${describe(id)}: ${problem}`);
  };
  const first = (keys: string[]): [string, unknown] | undefined => {
    for (const key of keys) if (context[key] !== undefined) return [key, context[key]];
    return undefined;
  };
  const str = (keys: string[]): string => {
    const found = first(keys);
    if (found === undefined) return lenient ? '' : fail(`context.${keys[0]} is required`);
    const [key, value] = found;
    if (typeof value === 'string') return value;
    return lenient ? goValue(value) : fail(`context.${key} must be a string`);
  };
  return {
    str: (...keys) => str(keys),
    quoted: (...keys) => goQuote(str(keys)),
    int(key) {
      const value = context[key];
      if (typeof value === 'number' && Number.isInteger(value)) return String(value);
      if (typeof value === 'bigint') return String(value);
      if (lenient) return value === undefined ? '' : goValue(value);
      return fail(value === undefined ? `context.${key} is required` : `context.${key} must be an integer`);
    },
    value(key) {
      const value = context[key];
      if (value === undefined) return lenient ? '' : fail(`context.${key} is required`);
      return goValue(value);
    },
    strings(key) {
      const value = context[key];
      if (value === undefined || value === null) return [];
      if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : goValue(v)));
      return lenient ? [goValue(value)] : fail(`context.${key} must be a list of strings`);
    },
    raw: (key) => context[key],
    time(...keys) {
      for (const key of keys) {
        const t = timeOf(key, context[key]);
        if (t !== undefined) return t;
        if (context[key] !== undefined && !lenient) fail(`context.${key} is not a time (RFC 3339 text, a Date, or Unix seconds under *_unix)`);
      }
      return lenient ? GO_ZERO_TIME : fail(`context.${keys[0]} is required`);
    },
    now() {
      const now = options.now;
      if (now instanceof Date && !Number.isNaN(now.getTime())) return nanosOfDate(now);
      if (lenient) return GO_ZERO_TIME;
      return fail(now === undefined ? 'the text depends on the clock: pass options.now' : 'options.now is not a valid Date');
    },
  };
}

function timeOf(key: string, value: unknown): UnixNanos | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : nanosOfDate(value);
  if (typeof value === 'string') return nanosOfRfc3339(value);
  if (typeof value === 'number' && key.endsWith('_unix') && Number.isFinite(value)) return nanosOfUnixSeconds(value);
  return undefined;
}
