/** Visits a tree in source order: each fodder slot and each node, the node before its children. */
import type { ArgParam, Field, Node, Spec } from './ast.ts';
import type { Fodder } from './fodder.ts';

export interface Visitor {
  fodder?(fodder: Fodder): void;
  /** Called after the node's `open` fodder was visited and before its children; may return a replacement. */
  node?(node: Node): Node | void;
}

export interface File {
  body: Node;
  finalFodder: Fodder;
}

export function walkFile(file: File, visitor: Visitor): void {
  file.body = walk(file.body, visitor);
  visitor.fodder?.(file.finalFodder);
}

export function walk(node: Node, visitor: Visitor): Node {
  visitor.fodder?.(node.open);
  const current = visitor.node?.(node) ?? node;
  children(current, visitor);
  return current;
}

// Some fodder slots (after `.`, around `in super`, inside slices and `super[...]`, an import's path) are not
// visited: jsonnetfmt's passes skip them too, so blank lines there are kept as written, for instance.
function children(n: Node, v: Visitor): void {
  const fodder = (f: Fodder) => v.fodder?.(f);
  switch (n.type) {
    case 'apply':
      n.target = walk(n.target, v);
      params(n.fodderL, n.args, n.fodderR, v);
      if (n.tailstrict) fodder(n.tailstrictFodder);
      return;
    case 'apply_brace':
      n.left = walk(n.left, v);
      n.right = walk(n.right, v);
      return;
    case 'array':
      for (const e of n.elements) {
        e.expr = walk(e.expr, v);
        fodder(e.commaFodder);
      }
      fodder(n.closeFodder);
      return;
    case 'array_comprehension':
      n.body = walk(n.body, v);
      fodder(n.commaFodder);
      specs(n.specs, v);
      fodder(n.closeFodder);
      return;
    case 'assert':
      n.cond = walk(n.cond, v);
      if (n.message) {
        fodder(n.colonFodder);
        n.message = walk(n.message, v);
      }
      fodder(n.semicolonFodder);
      n.rest = walk(n.rest, v);
      return;
    case 'binary':
      n.left = walk(n.left, v);
      fodder(n.opFodder);
      n.right = walk(n.right, v);
      return;
    case 'conditional':
      n.cond = walk(n.cond, v);
      fodder(n.thenFodder);
      n.branchTrue = walk(n.branchTrue, v);
      if (n.branchFalse) {
        fodder(n.elseFodder);
        n.branchFalse = walk(n.branchFalse, v);
      }
      return;
    case 'error':
      n.expr = walk(n.expr, v);
      return;
    case 'function':
      params(n.parenLeftFodder, n.params, n.parenRightFodder, v);
      n.body = walk(n.body, v);
      return;
    case 'import':
      v.node?.(n.file);
      return;
    case 'in_super':
      n.element = walk(n.element, v);
      return;
    case 'index':
      n.target = walk(n.target, v);
      if (n.index) n.index = walk(n.index, v);
      if (n.end) n.end = walk(n.end, v);
      if (n.step) n.step = walk(n.step, v);
      return;
    case 'local':
      for (const b of n.binds) {
        fodder(b.varFodder);
        if (b.functionSugar) params(b.parenLeftFodder, b.params, b.parenRightFodder, v);
        fodder(b.opFodder);
        b.body = walk(b.body, v);
        fodder(b.closeFodder);
      }
      n.body = walk(n.body, v);
      return;
    case 'object':
      fields(n.fields, v);
      fodder(n.closeFodder);
      return;
    case 'object_comprehension':
      fields(n.fields, v);
      specs(n.specs, v);
      fodder(n.closeFodder);
      return;
    case 'parens':
      n.expr = walk(n.expr, v);
      fodder(n.closeFodder);
      return;
    case 'super_index':
      if (n.index) n.index = walk(n.index, v);
      return;
    case 'unary':
      n.expr = walk(n.expr, v);
      return;
    default:
      return;
  }
}

function params(left: Fodder, list: ArgParam[], right: Fodder, v: Visitor): void {
  v.fodder?.(left);
  for (const p of list) {
    v.fodder?.(p.idFodder);
    if (p.expr) {
      v.fodder?.(p.eqFodder);
      p.expr = walk(p.expr, v);
    }
    v.fodder?.(p.commaFodder);
  }
  v.fodder?.(right);
}

function specs(list: Spec[], v: Visitor): void {
  for (const s of list) {
    v.fodder?.(s.openFodder);
    if (s.kind === 'for') {
      v.fodder?.(s.varFodder);
      v.fodder?.(s.inFodder);
    }
    s.expr = walk(s.expr, v);
  }
}

function fields(list: Field[], v: Visitor): void {
  const fodder = (f: Fodder) => v.fodder?.(f);
  for (const f of list) {
    if (f.kind === 'local') {
      fodder(f.fodder1);
      fodder(f.fodder2);
    } else if (f.kind === 'assert') {
      fodder(f.fodder1);
    } else if (f.kind === 'id') {
      fodder(f.fodder1);
    } else if (f.kind === 'str') {
      f.expr1 = walk(f.expr1!, v);
    } else {
      fodder(f.fodder1);
      f.expr1 = walk(f.expr1!, v);
      fodder(f.fodder2);
    }
    if (f.kind === 'assert') {
      f.expr2 = walk(f.expr2, v);
      if (f.expr3) {
        fodder(f.opFodder);
        f.expr3 = walk(f.expr3, v);
      }
    } else {
      if (f.methodSugar) params(f.fodderL, f.params, f.fodderR, v);
      fodder(f.opFodder);
      f.expr2 = walk(f.expr2, v);
    }
    fodder(f.commaFodder);
  }
}
