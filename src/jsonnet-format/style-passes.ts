/**
 * The rewrites jsonnetfmt applies (with its default options) before it re-indents and prints: each is a pass over
 * the whole tree, in the order `format.ts` runs them.
 */
import { openFodder, type ArgParam, type Field } from './ast.ts';
import { concatFodder, countNewlines, ensureCleanNewline, hasNewline, moveFodderFront, type Fodder } from './fodder.ts';
import { isKeyword } from './lexer.ts';
import { escapeJsonnet, unescapeJsonnet } from './strings.ts';
import { walkFile, type File } from './walk.ts';

export const MAX_BLANK_LINES = 2;

export function removeInitialNewlines(file: File): void {
  const fodder = openFodder(file.body);
  while (fodder.length > 0 && fodder[0].kind === 'line_end') fodder.shift();
}

export function limitBlankLines(file: File): void {
  walkFile(file, {
    fodder: (fodder) => {
      for (const f of fodder) if (f.kind !== 'interstitial' && f.blanks > MAX_BLANK_LINES) f.blanks = MAX_BLANK_LINES;
    },
  });
}

const fieldOpenFodder = (field: Field): Fodder => (field.kind === 'str' ? field.expr1!.open : field.fodder1);
const argOpenFodder = (p: ArgParam): Fodder => (p.id !== undefined ? p.idFodder : openFodder(p.expr!));

/**
 * A bracketed list is either all on one line or has a line break before each element and before its closing
 * bracket: one line break in those places expands it. Only the list's own places count, not those in its elements.
 */
export function expandBrokenLists(file: File): void {
  const expandIf = (places: Fodder[]) => {
    if (places.some((f) => countNewlines(f) > 0)) for (const f of places) ensureCleanNewline(f);
  };
  const params = (list: ArgParam[], close: Fodder) => {
    // f(1, 2,\n 3): a break between arguments puts each on its own line.
    const between = list.slice(1).map(argOpenFodder);
    expandIf(between);
    // f(\n 1, 2, 3): a break after ( or before ) puts both on their own lines.
    if (list.length > 0) expandIf([argOpenFodder(list[0]), close]);
  };
  walkFile(file, {
    node: (n) => {
      switch (n.type) {
        case 'array':
          expandIf([...n.elements.map((e) => openFodder(e.expr)), n.closeFodder]);
          break;
        case 'object':
          expandIf([...n.fields.map(fieldOpenFodder), n.closeFodder]);
          for (const f of n.fields) if (f.methodSugar) params(f.params, f.fodderR);
          break;
        case 'object_comprehension':
          expandIf([...n.fields.map(fieldOpenFodder), ...n.specs.map((s) => s.openFodder), n.closeFodder]);
          for (const f of n.fields) if (f.methodSugar) params(f.params, f.fodderR);
          break;
        case 'array_comprehension':
          expandIf([openFodder(n.body), ...n.specs.map((s) => s.openFodder), n.closeFodder]);
          break;
        case 'local':
          if (n.binds.some((b) => countNewlines(b.varFodder) > 0)) for (const b of n.binds.slice(1)) ensureCleanNewline(b.varFodder);
          for (const b of n.binds) if (b.functionSugar) params(b.params, b.parenRightFodder);
          break;
        case 'parens':
          expandIf([openFodder(n.expr), n.closeFodder]);
          break;
        case 'apply':
          params(n.args, n.fodderR);
          break;
        case 'function':
          params(n.params, n.parenRightFodder);
          break;
      }
    },
  });
}

/** A trailing comma exactly when the closing bracket is on its own line; none in comprehensions. */
export function fixTrailingCommas(file: File): void {
  type List = { trailingComma: boolean };
  const fix = (list: List, lastComma: Fodder, close: Fodder) => {
    const needed = hasNewline(close) || hasNewline(lastComma);
    if (list.trailingComma) {
      // Either way, a comma stays on the line of the element before it.
      if (!needed || hasNewline(lastComma)) moveFodderFront(close, lastComma);
      if (!needed) list.trailingComma = false;
    } else if (needed) {
      list.trailingComma = true;
    }
  };
  const remove = (list: List, lastComma: Fodder, target: Fodder) => {
    if (!list.trailingComma) return;
    list.trailingComma = false;
    target.splice(0, target.length, ...concatFodder(lastComma, target));
    lastComma.length = 0;
  };
  walkFile(file, {
    node: (n) => {
      if (n.type === 'array' && n.elements.length > 0) fix(n, n.elements[n.elements.length - 1].commaFodder, n.closeFodder);
      else if (n.type === 'object' && n.fields.length > 0) fix(n, n.fields[n.fields.length - 1].commaFodder, n.closeFodder);
      else if (n.type === 'array_comprehension') remove(n, n.commaFodder, n.specs[0].openFodder);
      else if (n.type === 'object_comprehension') remove(n, n.fields[n.fields.length - 1].commaFodder, n.closeFodder);
    },
  });
}

/** ((e)) becomes (e). */
export function removeNestedParens(file: File): void {
  walkFile(file, {
    node: (n) => {
      if (n.type !== 'parens' || n.expr.type !== 'parens') return;
      const inner = n.expr;
      n.expr = inner.expr;
      moveFodderFront(openFodder(inner.expr), inner.open);
      moveFodderFront(n.closeFodder, inner.closeFodder);
    },
  });
}

/** `a + { ... }` becomes `a { ... }` when `a` is a variable or an index. */
export function usePlusObjectSugar(file: File): void {
  walkFile(file, {
    node: (n) => {
      if (n.type !== 'binary' || n.op !== '+' || n.right.type !== 'object') return;
      if (n.left.type !== 'var' && n.left.type !== 'index') return;
      moveFodderFront(n.right.open, n.opFodder);
      return { type: 'apply_brace', open: n.open, left: n.left, right: n.right };
    },
  });
}

/** `a[b:c:]` loses its last colon. */
export function removeRedundantSliceColon(file: File): void {
  walkFile(file, {
    node: (n) => {
      if (n.type === 'index' && n.isSlice && !n.step && n.stepColonFodder.length > 0) moveFodderFront(n.idFodder, n.stepColonFodder);
    },
  });
}

const isIdentifier = (s: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !isKeyword(s);

/** `a['b']` becomes `a.b`, `{ ['b']: 1 }` and `{ 'b': 1 }` become `{ b: 1 }`. */
export function prettyFieldNames(file: File): void {
  walkFile(file, {
    node: (n) => {
      if (n.type === 'index') {
        if (!n.isSlice && n.index?.type === 'string' && isIdentifier(n.index.value)) {
          n.id = n.index.value;
          n.idFodder = n.index.open;
          n.index = undefined;
        }
      } else if (n.type === 'object') {
        for (const field of n.fields) unquoteField(field);
      }
    },
  });
}

function unquoteField(field: Field): void {
  if (field.kind === 'expr' && field.expr1!.type === 'string') {
    field.kind = 'str';
    moveFodderFront(field.expr1!.open, field.fodder1);
    moveFodderFront(field.methodSugar ? field.fodderL : field.opFodder, field.fodder2);
  }
  if (field.kind === 'str' && field.expr1!.type === 'string' && isIdentifier(field.expr1!.value)) {
    field.kind = 'id';
    field.id = field.expr1!.value;
    field.fodder1 = field.expr1!.open;
    field.expr1 = undefined;
  }
}

/** Single quotes, unless the text has single quotes and no double ones; left alone when it has both. */
export function preferSingleQuotes(file: File): void {
  walkFile(file, {
    node: (n) => {
      if (n.type !== 'string' || (n.style !== 'single' && n.style !== 'double')) return;
      const text = unescapeJsonnet(n.value);
      const singles = text.includes("'");
      const doubles = text.includes('"');
      if (singles && doubles) return;
      const single = !singles;
      n.value = escapeJsonnet(text, single);
      n.style = single ? 'single' : 'double';
    },
  });
}

/** `#` comments become `//`, except a `#!` line that starts the file. */
export function slashComments(file: File): void {
  let first = true;
  walkFile(file, {
    fodder: (fodder) => {
      for (const f of fodder) {
        if (f.kind !== 'interstitial' && f.comment.length === 1) {
          const c = f.comment[0];
          if (c.startsWith('#') && !(first && c.startsWith('#!'))) f.comment[0] = '//' + c.slice(1);
        }
        first = false;
      }
    },
  });
}

