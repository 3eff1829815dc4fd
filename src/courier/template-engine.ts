/**
 * A small renderer for the subset of Go's text/template that courier templates use, so the Kratos template
 * files (`email.body.gotmpl`, ...) of an existing deployment keep working:
 *
 *   {{ .To }}  {{ .RecoveryCode }}  {{ .Identity.traits.email }}   a value (a field, then map keys)
 *   {{ if .X }} ... {{ else if .Y }} ... {{ else }} ... {{ end }}   (also `if not .X`)
 *   {{- ... -}}                                                   trims the whitespace beside the action
 *   {{/* comment *\/}}
 *
 * Anything else (pipelines, functions, `define`/`template`, variables) is refused when the template is compiled,
 * with the template's name and the offending action, so an unsupported override fails at start-up, not at send time.
 *
 * Values are inserted as they are (plaintext, subject) or HTML-escaped (`escape: 'html'`); the caller chooses.
 * A field the template's message type does not have is refused at compile time (`fields`); a missing map key
 * renders as nothing.
 */

export type Path = string[];

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; path: Path }
  | { kind: 'if'; branches: Array<{ negate: boolean; path: Path; body: Node[] }>; otherwise: Node[] };

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface CompileOptions {
  /** Names for messages ("recovery_code/valid/email.body.gotmpl"). */
  name: string;
  /** Top-level fields the data has (Go names, e.g. `RecoveryCode`); others are refused. */
  fields?: readonly string[];
}

export interface CompiledTemplate {
  readonly name: string;
  render(data: Record<string, unknown>, options: { escape: 'html' | 'none' }): string;
}

const ACTION = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
const FIELD_PATH = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+$|^\.$/;

/** `RecoveryURL` -> `recovery_url`, `ExpiresInMinutes` -> `expires_in_minutes`. */
export function snakeCase(goName: string): string {
  return goName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function parsePath(expr: string, options: CompileOptions): Path {
  if (!FIELD_PATH.test(expr)) throw new TemplateError(`${options.name}: unsupported template action {{ ${expr} }} (only fields like {{ .To }}, if/else/end and comments are supported)`);
  if (expr === '.') throw new TemplateError(`${options.name}: {{ . }} is not supported; name a field such as {{ .To }}`);
  const path = expr.slice(1).split('.');
  if (options.fields && !options.fields.includes(path[0])) {
    throw new TemplateError(`${options.name}: this message has no field .${path[0]} (it has ${options.fields.map((f) => '.' + f).join(', ')})`);
  }
  return path;
}

/** Compiles a template; throws TemplateError naming the template and the problem. */
export function compileTemplate(source: string, options: CompileOptions): CompiledTemplate {
  type Frame = { nodes: Node[]; ifNode?: Extract<Node, { kind: 'if' }>; inElse?: boolean };
  const root: Node[] = [];
  const stack: Frame[] = [{ nodes: root }];
  const current = () => stack[stack.length - 1];
  let pos = 0;
  let trimNext = false;
  ACTION.lastIndex = 0;
  for (let match = ACTION.exec(source); match; match = ACTION.exec(source)) {
    let text = source.slice(pos, match.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (match[1]) text = text.replace(/\s+$/, '');
    if (text) current().nodes.push({ kind: 'text', text });
    pos = match.index + match[0].length;
    trimNext = Boolean(match[3]);
    const inner = match[2].trim();
    if (inner.startsWith('/*')) {
      if (!inner.endsWith('*/')) throw new TemplateError(`${options.name}: unterminated comment`);
      continue;
    }
    const words = inner.split(/\s+/);
    const keyword = words[0];
    if (keyword === 'if' || (keyword === 'else' && words[1] === 'if')) {
      const rest = keyword === 'if' ? words.slice(1) : words.slice(2);
      const negate = rest[0] === 'not';
      const exprWords = negate ? rest.slice(1) : rest;
      if (exprWords.length !== 1) throw new TemplateError(`${options.name}: unsupported condition {{ ${inner} }} (use {{ if .Field }} or {{ if not .Field }})`);
      const branch = { negate, path: parsePath(exprWords[0], options), body: [] as Node[] };
      if (keyword === 'if') {
        const ifNode: Extract<Node, { kind: 'if' }> = { kind: 'if', branches: [branch], otherwise: [] };
        current().nodes.push(ifNode);
        stack.push({ nodes: branch.body, ifNode });
      } else {
        const frame = current();
        if (!frame.ifNode || frame.inElse) throw new TemplateError(`${options.name}: {{ else if }} without a matching {{ if }}`);
        frame.ifNode.branches.push(branch);
        frame.nodes = branch.body;
      }
      continue;
    }
    if (keyword === 'else' && words.length === 1) {
      const frame = current();
      if (!frame.ifNode || frame.inElse) throw new TemplateError(`${options.name}: {{ else }} without a matching {{ if }}`);
      frame.inElse = true;
      frame.nodes = frame.ifNode.otherwise;
      continue;
    }
    if (keyword === 'end' && words.length === 1) {
      if (stack.length === 1) throw new TemplateError(`${options.name}: {{ end }} without a matching {{ if }}`);
      stack.pop();
      continue;
    }
    if (words.length !== 1) throw new TemplateError(`${options.name}: unsupported template action {{ ${inner} }} (only fields like {{ .To }}, if/else/end and comments are supported)`);
    current().nodes.push({ kind: 'value', path: parsePath(inner, options) });
  }
  if (stack.length > 1) throw new TemplateError(`${options.name}: {{ if }} without {{ end }}`);
  let tail = source.slice(pos);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  if (tail.includes('{{')) throw new TemplateError(`${options.name}: unterminated action`);
  if (tail) root.push({ kind: 'text', text: tail });
  return {
    name: options.name,
    render: (data, renderOptions) => renderNodes(root, data, renderOptions.escape),
  };
}

/** Looks a Go-style path up: the first segment is a Go field name (`RecoveryURL` -> `recovery_url`), then map keys. */
export function lookup(data: Record<string, unknown>, path: Path): unknown {
  const [first, ...rest] = path;
  let value: unknown = Object.hasOwn(data, first) ? data[first] : data[snakeCase(first)];
  for (const key of rest) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** Escapes for HTML text and quoted attribute values (as Go's html/template does for these characters). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

function renderNodes(nodes: Node[], data: Record<string, unknown>, escape: 'html' | 'none'): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'value') {
      const text = stringify(lookup(data, node.path));
      out += escape === 'html' ? escapeHtml(text) : text;
    } else {
      const branch = node.branches.find((b) => truthy(lookup(data, b.path)) !== b.negate);
      out += renderNodes(branch ? branch.body : node.otherwise, data, escape);
    }
  }
  return out;
}
