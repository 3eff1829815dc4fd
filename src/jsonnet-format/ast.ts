/**
 * The Jsonnet syntax tree as written (no desugaring): every node keeps the fodder before each of its tokens, so the
 * printer can reproduce comments and line breaks. `open` is the fodder before a node's first token; infix nodes
 * (binary, apply, index, `in super`) have an empty `open` and their first token's fodder is that of their left side.
 */
import type { Fodder } from './fodder.ts';

/** `id=expr` arguments, `id` parameters, `id=default` parameters. */
export interface ArgParam {
  idFodder: Fodder;
  id?: string;
  eqFodder: Fodder;
  expr?: Node;
  commaFodder: Fodder;
}

export interface Bind {
  varFodder: Fodder;
  name: string;
  functionSugar: boolean;
  parenLeftFodder: Fodder;
  params: ArgParam[];
  trailingComma: boolean;
  parenRightFodder: Fodder;
  opFodder: Fodder;
  body: Node;
  /** Before the `,` or `;` after this bind. */
  closeFodder: Fodder;
}

export type Visibility = ':' | '::' | ':::';

/**
 * An object member. `id`: `<fodder1> id`; `str`: `<expr1>` (a string literal); `expr`: `<fodder1> [ <expr1>
 * <fodder2> ]`; each then `[<fodderL> ( params <fodderR> )] <opFodder> [+]:[:[:]] <expr2>`. `local`: `<fodder1>
 * local <fodder2> id [params] <opFodder> = <expr2>`. `assert`: `<fodder1> assert <expr2> [<opFodder> : <expr3>]`.
 */
export interface Field {
  kind: 'id' | 'str' | 'expr' | 'local' | 'assert';
  fodder1: Fodder;
  fodder2: Fodder;
  fodderL: Fodder;
  fodderR: Fodder;
  hide: Visibility;
  superSugar: boolean;
  methodSugar: boolean;
  expr1?: Node;
  id?: string;
  params: ArgParam[];
  trailingComma: boolean;
  opFodder: Fodder;
  expr2: Node;
  expr3?: Node;
  commaFodder: Fodder;
}

export interface Spec {
  kind: 'for' | 'if';
  openFodder: Fodder;
  varFodder: Fodder;
  name?: string;
  inFodder: Fodder;
  expr: Node;
}

export type StringStyle = 'single' | 'double' | 'block' | 'verbatim_single' | 'verbatim_double';
export type ImportKind = 'import' | 'importstr' | 'importbin';

interface Of<T extends string> {
  type: T;
  open: Fodder;
}

export interface Str extends Of<'string'> {
  /** As written between the quotes (escapes kept), except verbatim strings and text blocks: their value. */
  value: string;
  style: StringStyle;
  blockIndent: string;
  blockTermIndent: string;
  chomp: boolean;
}

export type Node =
  | (Of<'apply'> & { target: Node; fodderL: Fodder; args: ArgParam[]; trailingComma: boolean; fodderR: Fodder; tailstrict: boolean; tailstrictFodder: Fodder })
  | (Of<'apply_brace'> & { left: Node; right: Node })
  | (Of<'array'> & { elements: { expr: Node; commaFodder: Fodder }[]; trailingComma: boolean; closeFodder: Fodder })
  | (Of<'array_comprehension'> & { body: Node; commaFodder: Fodder; trailingComma: boolean; specs: Spec[]; closeFodder: Fodder })
  | (Of<'assert'> & { cond: Node; colonFodder: Fodder; message?: Node; semicolonFodder: Fodder; rest: Node })
  | (Of<'binary'> & { left: Node; opFodder: Fodder; op: string; right: Node })
  | (Of<'conditional'> & { cond: Node; thenFodder: Fodder; branchTrue: Node; elseFodder: Fodder; branchFalse?: Node })
  | Of<'dollar'>
  | (Of<'error'> & { expr: Node })
  | (Of<'function'> & { parenLeftFodder: Fodder; params: ArgParam[]; trailingComma: boolean; parenRightFodder: Fodder; body: Node })
  | (Of<'import'> & { kind: ImportKind; file: Str })
  | (Of<'in_super'> & { element: Node; inFodder: Fodder; superFodder: Fodder })
  | (Of<'index'> & {
    target: Node; dotFodder: Fodder; id?: string; idFodder: Fodder;
    isSlice: boolean; index?: Node; endColonFodder: Fodder; end?: Node; stepColonFodder: Fodder; step?: Node;
  })
  | (Of<'local'> & { binds: Bind[]; body: Node })
  | (Of<'literal'> & { text: 'true' | 'false' | 'null' | 'self' })
  | (Of<'number'> & { text: string })
  | Str
  | (Of<'object'> & { fields: Field[]; trailingComma: boolean; closeFodder: Fodder })
  | (Of<'object_comprehension'> & { fields: Field[]; trailingComma: boolean; specs: Spec[]; closeFodder: Fodder })
  | (Of<'parens'> & { expr: Node; closeFodder: Fodder })
  | (Of<'super_index'> & { dotFodder: Fodder; id?: string; idFodder: Fodder; index?: Node })
  | (Of<'unary'> & { op: string; expr: Node })
  | (Of<'var'> & { name: string });

export type NodeOf<T extends Node['type']> = Extract<Node, { type: T }>;

/** The left operand of an infix node, else undefined. */
export function leftOf(node: Node): Node | undefined {
  switch (node.type) {
    case 'apply': return node.target;
    case 'apply_brace': return node.left;
    case 'binary': return node.left;
    case 'index': return node.target;
    case 'in_super': return node.element;
    default: return undefined;
  }
}

/** The node whose `open` fodder comes first in the text of `node`. */
export function leftmost(node: Node): Node {
  let current = node;
  for (let left = leftOf(current); left; left = leftOf(current)) current = left;
  return current;
}

/** The fodder before the first token of `node`. */
export const openFodder = (node: Node): Fodder => leftmost(node).open;
