/** Jsonnet's grammar (the full language, not desugared), producing the tree in ast.ts. */
import type { ArgParam, Bind, Field, Node, NodeOf, Spec, Str, Visibility } from './ast.ts';
import type { Fodder } from './fodder.ts';
import { JsonnetSyntaxError, lex, type Token, type TokenKind } from './lexer.ts';
import { unescapeJsonnet } from './strings.ts';

const BINARY_PRECEDENCE: Record<string, number> = {
  '*': 5, '/': 5, '%': 5,
  '+': 6, '-': 6,
  '<<': 7, '>>': 7,
  '>': 8, '>=': 8, '<': 8, '<=': 8, in: 8,
  '==': 9, '!=': 9,
  '&': 10, '^': 11, '|': 12, '&&': 13, '||': 14,
};
const UNARY = new Set(['!', '~', '+', '-']);
const APPLY_PRECEDENCE = 2;
const UNARY_PRECEDENCE = 4;
const MAX_PRECEDENCE = 15;

export interface Parsed {
  body: Node;
  /** Fodder after the last token (comments at the end of the file). */
  finalFodder: Fodder;
}

const describe = (t: Token) =>
  t.kind === 'end of file' ? 'end of file'
  : t.kind === 'identifier' || t.kind === 'number' || t.kind === 'operator' ? `${t.kind} "${t.data}"`
  : t.kind.startsWith('string') || t.kind.startsWith('verbatim') ? 'a string'
  : `"${t.kind}"`;

export function parse(source: string): Parsed {
  const tokens = lex(source);
  let next = 0;
  const peek = () => tokens[next];
  const peekAt = (offset: number) => tokens[Math.min(next + offset, tokens.length - 1)];
  const pop = () => tokens[next < tokens.length - 1 ? next++ : next];
  const fail = (t: Token, message: string): never => {
    throw new JsonnetSyntaxError(t.line, t.column, message);
  };
  const unexpected = (t: Token, while_: string): never => fail(t, `unexpected ${describe(t)} while ${while_}`);
  const expect = (kind: TokenKind, data?: string): Token => {
    const t = pop();
    if (t.kind !== kind || (data !== undefined && t.data !== data)) fail(t, `expected ${data ? `"${data}"` : kind === 'identifier' ? 'an identifier' : `"${kind}"`} but got ${describe(t)}`);
    return t;
  };
  const isOp = (t: Token, data: string) => t.kind === 'operator' && t.data === data;

  /** `(a, b=1, ...)` after the `(`; returns the `)`. */
  function args(list: ArgParam[], what: string): { close: Token; trailingComma: boolean } {
    let gotComma = false;
    for (let first = true; ; first = false) {
      if (peek().kind === ')') return { close: pop(), trailingComma: gotComma };
      if (!first && !gotComma) fail(peek(), `expected a comma before next ${what}`);
      const arg: ArgParam = { idFodder: [], eqFodder: [], commaFodder: [] };
      if (peek().kind === 'identifier' && isOp(peekAt(1), '=')) {
        const id = pop();
        arg.idFodder = id.fodder;
        arg.id = id.data;
        arg.eqFodder = pop().fodder;
      }
      arg.expr = expression(MAX_PRECEDENCE);
      gotComma = peek().kind === ',';
      if (gotComma) arg.commaFodder = pop().fodder;
      list.push(arg);
    }
  }

  function params(what: string): { params: ArgParam[]; trailingComma: boolean; closeFodder: Fodder } {
    const list: ArgParam[] = [];
    const { close, trailingComma } = args(list, what);
    for (const p of list) {
      if (p.id !== undefined) continue;
      if (p.expr!.type !== 'var') throw new JsonnetSyntaxError(close.line, close.column, `could not parse a ${what} here: a parameter is a name or name=default`);
      p.id = p.expr!.name;
      p.idFodder = p.expr!.open;
      p.expr = undefined;
    }
    return { params: list, trailingComma, closeFodder: close.fodder };
  }

  function bind(binds: Bind[]): Token {
    const name = expect('identifier');
    if (binds.some((b) => b.name === name.data)) fail(name, `duplicate local var: ${name.data}`);
    const b: Bind = {
      varFodder: name.fodder, name: name.data, functionSugar: false, parenLeftFodder: [], params: [], trailingComma: false,
      parenRightFodder: [], opFodder: [], body: undefined!, closeFodder: [],
    };
    if (peek().kind === '(') {
      b.parenLeftFodder = pop().fodder;
      const p = params('function parameter');
      Object.assign(b, { functionSugar: true, params: p.params, trailingComma: p.trailingComma, parenRightFodder: p.closeFodder });
    }
    b.opFodder = expect('operator', '=').fodder;
    b.body = expression(MAX_PRECEDENCE);
    const delim = pop();
    b.closeFodder = delim.fodder;
    binds.push(b);
    return delim;
  }

  function specs(end: '}' | ']', forFodder: Fodder, list: Spec[]): Token {
    for (;;) {
      const name = expect('identifier');
      const inToken = expect('in');
      list.push({ kind: 'for', openFodder: forFodder, varFodder: name.fodder, name: name.data, inFodder: inToken.fodder, expr: expression(MAX_PRECEDENCE) });
      let t = pop();
      for (; t.kind === 'if'; t = pop()) list.push({ kind: 'if', openFodder: t.fodder, varFodder: [], inFodder: [], expr: expression(MAX_PRECEDENCE) });
      if (t.kind === end) return t;
      if (t.kind !== 'for') fail(t, `expected for, if or "${end}" after for clause, got ${describe(t)}`);
      forFodder = t.fodder;
    }
  }

  const stringNode = (t: Token): Str => {
    if (t.kind === 'string_single' || t.kind === 'string_double') {
      try {
        unescapeJsonnet(t.data);
      } catch (err) {
        fail(t, (err as Error).message);
      }
    }
    return stringLiteral(t);
  };
  const stringLiteral = (t: Token): Str => ({
    type: 'string', open: t.fodder, value: t.data, blockIndent: t.blockIndent, blockTermIndent: t.blockTermIndent, chomp: t.chomp,
    style: ({ string_single: 'single', string_double: 'double', string_block: 'block', verbatim_single: 'verbatim_single', verbatim_double: 'verbatim_double' } as const)[t.kind as 'string_single'],
  });
  const isStringToken = (t: Token) => t.kind.startsWith('string_') || t.kind.startsWith('verbatim_');

  /** After the `{`. */
  function objectRest(brace: Token): { node: Node; end: Token } {
    const fields: Field[] = [];
    const names = new Set<string>();
    const locals = new Set<string>();
    let gotComma = false;
    let t = pop();
    for (let first = true; ; first = false) {
      if (t.kind === '}') return { node: { type: 'object', open: brace.fodder, fields, trailingComma: gotComma, closeFodder: t.fodder }, end: t };
      if (t.kind === 'for') {
        const members = fields.filter((f) => f.kind !== 'local');
        if (members.some((f) => f.kind === 'assert')) fail(t, 'object comprehension cannot have asserts');
        if (members.length !== 1) fail(t, 'object comprehension can only have one field');
        if (members[0].hide !== ':') fail(t, 'object comprehensions cannot have hidden fields');
        if (members[0].kind !== 'expr') fail(t, 'object comprehensions can only have [e] fields');
        const list: Spec[] = [];
        const last = specs('}', t.fodder, list);
        return { node: { type: 'object_comprehension', open: brace.fodder, fields, trailingComma: gotComma, specs: list, closeFodder: last.fodder }, end: last };
      }
      if (!first && !gotComma) fail(t, 'expected a comma before next field');
      gotComma = false;
      const field: Field = {
        kind: 'id', fodder1: [], fodder2: [], fodderL: [], fodderR: [], hide: ':', superSugar: false, methodSugar: false,
        params: [], trailingComma: false, opFodder: [], expr2: undefined!, commaFodder: [],
      };
      const methodParams = () => {
        if (peek().kind !== '(') return;
        field.fodderL = pop().fodder;
        const p = params(field.kind === 'local' ? 'function parameter' : 'method parameter');
        Object.assign(field, { methodSugar: true, params: p.params, trailingComma: p.trailingComma, fodderR: p.closeFodder });
      };
      if (t.kind === 'local') {
        field.kind = 'local';
        field.fodder1 = t.fodder;
        const name = expect('identifier');
        if (locals.has(name.data)) fail(name, `duplicate local var: ${name.data}`);
        locals.add(name.data);
        field.fodder2 = name.fodder;
        field.id = name.data;
        field.hide = ':::';
        methodParams();
        field.opFodder = expect('operator', '=').fodder;
        field.expr2 = expression(MAX_PRECEDENCE);
      } else if (t.kind === 'assert') {
        field.kind = 'assert';
        field.fodder1 = t.fodder;
        field.hide = ':::';
        field.expr2 = expression(MAX_PRECEDENCE);
        if (isOp(peek(), ':')) {
          field.opFodder = pop().fodder;
          field.expr3 = expression(MAX_PRECEDENCE);
        }
      } else if (t.kind === 'identifier' || t.kind === '[' || isStringToken(t)) {
        if (t.kind === 'identifier') {
          field.fodder1 = t.fodder;
          field.id = t.data;
        } else if (t.kind === '[') {
          field.kind = 'expr';
          field.fodder1 = t.fodder;
          field.expr1 = expression(MAX_PRECEDENCE);
          field.fodder2 = expect(']').fodder;
        } else {
          field.kind = 'str';
          field.expr1 = stringNode(t);
        }
        methodParams();
        const op = expect('operator');
        const match = /^(\+?)(:{1,3})$/.exec(op.data);
        if (!match) fail(op, `expected one of :, ::, :::, +:, +::, +:::, got: ${op.data}`);
        field.superSugar = match![1] === '+';
        field.hide = match![2] as Visibility;
        field.opFodder = op.fodder;
        if (field.methodSugar && field.superSugar) fail(op, `cannot use +: syntax sugar in a method: ${t.data}`);
        if (field.kind !== 'expr') {
          if (names.has(t.data)) fail(t, `duplicate field: ${t.data}`);
          names.add(t.data);
        }
        field.expr2 = expression(MAX_PRECEDENCE);
      } else {
        unexpected(t, 'parsing field definition');
      }
      t = pop();
      if (t.kind === ',') {
        field.commaFodder = t.fodder;
        t = pop();
        gotComma = true;
      }
      fields.push(field);
    }
  }

  function terminal(): Node {
    const t = pop();
    switch (t.kind) {
      case 'operator': {
        if (!UNARY.has(t.data)) fail(t, `not a unary operator: ${t.data}`);
        return { type: 'unary', open: t.fodder, op: t.data, expr: expression(UNARY_PRECEDENCE) };
      }
      case '{': return objectRest(t).node;
      case '[': {
        if (peek().kind === ']') return { type: 'array', open: t.fodder, elements: [], trailingComma: false, closeFodder: pop().fodder };
        const first = expression(MAX_PRECEDENCE);
        let commaFodder: Fodder = [];
        let gotComma = false;
        if (peek().kind === ',') {
          commaFodder = pop().fodder;
          gotComma = true;
        }
        if (peek().kind === 'for') {
          const forToken = pop();
          const list: Spec[] = [];
          const last = specs(']', forToken.fodder, list);
          return { type: 'array_comprehension', open: t.fodder, body: first, commaFodder, trailingComma: gotComma, specs: list, closeFodder: last.fodder };
        }
        const elements = [{ expr: first, commaFodder }];
        for (;;) {
          if (peek().kind === ']') return { type: 'array', open: t.fodder, elements, trailingComma: gotComma, closeFodder: pop().fodder };
          if (!gotComma) fail(peek(), 'expected a comma before next array element');
          const expr = expression(MAX_PRECEDENCE);
          gotComma = peek().kind === ',';
          elements.push({ expr, commaFodder: gotComma ? pop().fodder : [] });
        }
      }
      case '(': {
        const expr = expression(MAX_PRECEDENCE);
        return { type: 'parens', open: t.fodder, expr, closeFodder: expect(')').fodder };
      }
      case 'number': return { type: 'number', open: t.fodder, text: t.data };
      case 'string_single': case 'string_double': case 'string_block': case 'verbatim_single': case 'verbatim_double':
        return stringNode(t);
      case 'true': case 'false': case 'null': case 'self':
        return { type: 'literal', open: t.fodder, text: t.kind };
      case '$': return { type: 'dollar', open: t.fodder };
      case 'identifier': return { type: 'var', open: t.fodder, name: t.data };
      case 'super': {
        const after = pop();
        if (after.kind === '.') {
          const id = expect('identifier');
          return { type: 'super_index', open: t.fodder, dotFodder: after.fodder, id: id.data, idFodder: id.fodder };
        }
        if (after.kind === '[') {
          const index = expression(MAX_PRECEDENCE);
          return { type: 'super_index', open: t.fodder, dotFodder: after.fodder, index, idFodder: expect(']').fodder };
        }
        return fail(t, 'expected . or [ after super');
      }
      case 'end of file': return fail(t, 'unexpected end of file');
      default: return unexpected(t, 'parsing terminal');
    }
  }

  /** Constructs that extend as far right as possible (no closing token), or undefined. */
  function greedy(): Node | undefined {
    const begin = peek();
    switch (begin.kind) {
      case 'assert': {
        pop();
        const cond = expression(MAX_PRECEDENCE);
        let colonFodder: Fodder = [];
        let message: Node | undefined;
        if (isOp(peek(), ':')) {
          colonFodder = pop().fodder;
          message = expression(MAX_PRECEDENCE);
        }
        const semicolonFodder = expect(';').fodder;
        return { type: 'assert', open: begin.fodder, cond, colonFodder, message, semicolonFodder, rest: expression(MAX_PRECEDENCE) };
      }
      case 'error':
        pop();
        return { type: 'error', open: begin.fodder, expr: expression(MAX_PRECEDENCE) };
      case 'if': {
        pop();
        const cond = expression(MAX_PRECEDENCE);
        const thenFodder = expect('then').fodder;
        const branchTrue = expression(MAX_PRECEDENCE);
        if (peek().kind !== 'else') return { type: 'conditional', open: begin.fodder, cond, thenFodder, branchTrue, elseFodder: [] };
        const elseFodder = pop().fodder;
        return { type: 'conditional', open: begin.fodder, cond, thenFodder, branchTrue, elseFodder, branchFalse: expression(MAX_PRECEDENCE) };
      }
      case 'function': {
        pop();
        const paren = pop();
        if (paren.kind !== '(') fail(paren, `expected "(" but got ${describe(paren)}`);
        const p = params('function parameter');
        return {
          type: 'function', open: begin.fodder, parenLeftFodder: paren.fodder, params: p.params, trailingComma: p.trailingComma,
          parenRightFodder: p.closeFodder, body: expression(MAX_PRECEDENCE),
        };
      }
      case 'import': case 'importstr': case 'importbin': {
        pop();
        const fileToken = peek();
        const file = expression(MAX_PRECEDENCE);
        if (file.type !== 'string') fail(fileToken, 'computed imports are not allowed');
        if ((file as Str).style === 'block') fail(fileToken, 'cannot use text blocks in import statements');
        return { type: 'import', open: begin.fodder, kind: begin.kind, file: file as Str };
      }
      case 'local': {
        pop();
        const binds: Bind[] = [];
        for (;;) {
          const delim = bind(binds);
          if (delim.kind === ';') break;
          if (delim.kind !== ',') fail(delim, `expected , or ; but got ${describe(delim)}`);
        }
        return { type: 'local', open: begin.fodder, binds, body: expression(MAX_PRECEDENCE) };
      }
      default:
        return undefined;
    }
  }

  function expression(maxPrecedence: number): Node {
    const greedyNode = greedy();
    if (greedyNode) return greedyNode;
    let lhs = terminal();
    for (;;) {
      const t = peek();
      let precedence: number;
      if (t.kind === 'operator' || t.kind === 'in') {
        // A `:` ends the condition of an assert or a slice's part.
        if (t.data === ':' || t.data === '::') return lhs;
        if (BINARY_PRECEDENCE[t.data] === undefined) fail(t, `not a binary operator: ${t.data}`);
        precedence = BINARY_PRECEDENCE[t.data];
      } else if (t.kind === '.' || t.kind === '[' || t.kind === '(' || t.kind === '{') {
        precedence = APPLY_PRECEDENCE;
      } else {
        return lhs;
      }
      if (precedence >= maxPrecedence) return lhs;
      const op = pop();
      if (op.kind === '[') lhs = indexRest(lhs, op);
      else if (op.kind === '.') {
        const id = expect('identifier');
        lhs = { type: 'index', open: [], target: lhs, dotFodder: op.fodder, id: id.data, idFodder: id.fodder, isSlice: false, endColonFodder: [], stepColonFodder: [] };
      } else if (op.kind === '(') {
        const list: ArgParam[] = [];
        const { close, trailingComma } = args(list, 'function argument');
        let named = false;
        for (const a of list) {
          if (a.id !== undefined) named = true;
          else if (named) fail(close, 'positional argument after a named argument is not allowed');
        }
        const tailstrict = peek().kind === 'tailstrict';
        const tailstrictFodder = tailstrict ? pop().fodder : [];
        lhs = { type: 'apply', open: [], target: lhs, fodderL: op.fodder, args: list, trailingComma, fodderR: close.fodder, tailstrict, tailstrictFodder };
      } else if (op.kind === '{') {
        lhs = { type: 'apply_brace', open: [], left: lhs, right: objectRest(op).node };
      } else if (op.kind === 'in' && peek().kind === 'super') {
        lhs = { type: 'in_super', open: [], element: lhs, inFodder: op.fodder, superFodder: pop().fodder };
      } else {
        lhs = { type: 'binary', open: [], left: lhs, opFodder: op.fodder, op: op.data, right: expression(precedence) };
      }
    }
  }

  /** After `target[`: an index or a slice `[a:b:c]` (each part optional). */
  function indexRest(target: Node, bracket: Token): NodeOf<'index'> {
    const node: NodeOf<'index'> = { type: 'index', open: [], target, dotFodder: bracket.fodder, idFodder: [], isSlice: false, endColonFodder: [], stepColonFodder: [] };
    if (peek().kind === ']') unexpected(peek(), 'parsing index');
    const isColon = (tok: Token) => tok.kind === 'operator' && (tok.data === ':' || tok.data === '::');
    if (!isColon(peek())) node.index = expression(MAX_PRECEDENCE);
    if (isOp(peek(), '::')) {
      node.isSlice = true;
      node.endColonFodder = pop().fodder;
      if (peek().kind !== ']') node.step = expression(MAX_PRECEDENCE);
    } else if (peek().kind !== ']') {
      node.isSlice = true;
      const colon = pop();
      if (!isOp(colon, ':')) unexpected(colon, 'parsing slice');
      node.endColonFodder = colon.fodder;
      if (!isOp(peek(), ':') && peek().kind !== ']') node.end = expression(MAX_PRECEDENCE);
      if (peek().kind !== ']') {
        const second = pop();
        if (!isOp(second, ':')) unexpected(second, 'parsing slice');
        node.stepColonFodder = second.fodder;
        if (peek().kind !== ']') node.step = expression(MAX_PRECEDENCE);
      }
    }
    node.idFodder = expect(']').fodder;
    return node;
  }

  const body = expression(MAX_PRECEDENCE);
  if (peek().kind !== 'end of file') fail(peek(), `did not expect ${describe(peek())}`);
  return { body, finalFodder: peek().fodder };
}
