/**
 * Sets the indentation of every line break, tracking the column as the printer will write: a construct whose first
 * inner element starts on its line has the rest lined up with it; one that starts on a new line indents by 2 from
 * the enclosing construct's base. Text blocks are re-indented to their enclosing base + 2.
 */
import { leftOf, leftmost, openFodder, type ArgParam, type Field, type Node, type Spec } from './ast.ts';
import type { Fodder } from './fodder.ts';
import { codePoints } from './strings.ts';
import type { File } from './walk.ts';

export const INDENT = 2;
const PAD_ARRAYS = false;
const PAD_OBJECTS = true;

/** `base`: where a new level of nesting starts from; `lineUp`: the column that continuation lines line up with. */
interface Indent {
  base: number;
  lineUp: number;
}

const sameLine = (first: Fodder) => first.length === 0 || first[0].kind === 'interstitial';
/** Line up with `column` when the first inner element stays on this line, else indent one level. */
const nested = (first: Fodder, outer: Indent, column: number): Indent =>
  sameLine(first) ? { base: outer.base, lineUp: column } : { base: outer.base + INDENT, lineUp: outer.base + INDENT };
/** Like `nested`, but deeper levels also start from `column`. */
const nestedStrong = (first: Fodder, outer: Indent, column: number): Indent =>
  sameLine(first) ? { base: column, lineUp: column } : { base: outer.base + INDENT, lineUp: outer.base + INDENT };
/** Line up with `column` when on the same line, else keep the outer indentation. */
const aligned = (first: Fodder, outer: Indent, column: number): Indent => (sameLine(first) ? { base: outer.base, lineUp: column } : outer);
const alignedStrong = (first: Fodder, outer: Indent, column: number): Indent => (sameLine(first) ? { base: column, lineUp: column } : outer);

const byteLength = (s: string) => new TextEncoder().encode(s).length;
const argFirstFodder = (a: ArgParam): Fodder => (a.id !== undefined ? a.idFodder : openFodder(a.expr!));
const HIDE_WIDTH = { ':': 1, '::': 2, ':::': 3 } as const;

export function fixIndentation(file: File): void {
  let column = 0;

  /** Sets the indentation of the fodder's line breaks (the last one gets `last`) and moves the column past it. */
  const fill = (fodder: Fodder, spaceBefore: boolean, separateToken: boolean, allButLast: number, last = allButLast) => {
    const breaks = fodder.filter((f) => f.kind !== 'interstitial');
    breaks.forEach((f, i) => {
      f.indent = i === breaks.length - 1 ? last : allButLast;
    });
    for (const f of fodder) {
      if (f.kind === 'interstitial') {
        if (spaceBefore) column++;
        column += byteLength(f.comment[0]);
        spaceBefore = true;
      } else {
        column = f.indent;
        spaceBefore = false;
      }
    }
    if (separateToken && spaceBefore) column++;
  };

  const specs = (list: Spec[], indent: Indent) => {
    for (const s of list) {
      fill(s.openFodder, true, true, indent.lineUp);
      if (s.kind === 'for') {
        column += 3;
        fill(s.varFodder, true, true, indent.lineUp);
        column += codePoints(s.name!);
        fill(s.inFodder, true, true, indent.lineUp);
        column += 2;
      } else {
        column += 2;
      }
      expr(s.expr, nested(openFodder(s.expr), indent, column), true);
    }
  };

  const params = (left: Fodder, list: ArgParam[], trailingComma: boolean, right: Fodder, indent: Indent) => {
    fill(left, false, false, indent.lineUp);
    column++; // (
    const inner = nested(list.length === 0 ? right : list[0].idFodder, indent, column);
    list.forEach((p, i) => {
      if (i > 0) column++; // ,
      fill(p.idFodder, i > 0, true, inner.lineUp);
      column += codePoints(p.id!);
      if (p.expr) {
        fill(p.eqFodder, false, false, inner.lineUp);
        column++; // =
        expr(p.expr, inner, false);
      }
      fill(p.commaFodder, false, false, inner.lineUp);
    });
    if (trailingComma) column++;
    fill(right, false, false, inner.lineUp, indent.lineUp);
    column++; // )
  };

  const fieldParams = (f: Field, indent: Indent) => {
    if (f.methodSugar) params(f.fodderL, f.params, f.trailingComma, f.fodderR, indent);
  };

  const fields = (list: Field[], indent: Indent, spaceBefore: boolean) => {
    list.forEach((f, i) => {
      const space = i > 0 || spaceBefore;
      if (i > 0) column++; // ,
      switch (f.kind) {
        case 'local':
          fill(f.fodder1, space, true, indent.lineUp);
          column += 5; // local
          fill(f.fodder2, true, true, indent.lineUp);
          column += codePoints(f.id!);
          fieldParams(f, indent);
          fill(f.opFodder, true, true, indent.lineUp);
          column++; // =
          expr(f.expr2, nested(openFodder(f.expr2), indent, column), true);
          break;
        case 'assert': {
          fill(f.fodder1, space, true, indent.lineUp);
          column += 6; // assert
          const message = nested(openFodder(f.expr2), indent, column + 1);
          expr(f.expr2, indent, true);
          if (f.expr3) {
            fill(f.opFodder, true, true, message.lineUp);
            column++; // :
            expr(f.expr3, message, true);
          }
          break;
        }
        default:
          if (f.kind === 'id') {
            fill(f.fodder1, space, true, indent.lineUp);
            column += codePoints(f.id!);
          } else if (f.kind === 'str') {
            expr(f.expr1!, indent, space);
          } else {
            fill(f.fodder1, space, true, indent.lineUp);
            column++; // [
            expr(f.expr1!, indent, false);
            fill(f.fodder2, false, false, indent.lineUp);
            column++; // ]
          }
          fieldParams(f, indent);
          fill(f.opFodder, false, false, indent.lineUp);
          if (f.superSugar) column++;
          column += HIDE_WIDTH[f.hide];
          expr(f.expr2, nested(openFodder(f.expr2), indent, column), true);
      }
      fill(f.commaFodder, false, false, indent.lineUp);
    });
  };

  /** Whether an element after the first starts a line: then deeper levels start from the first one's column. */
  const laterOnNewLine = (firsts: Fodder[]) => firsts.slice(1).some((f) => f.some((e) => e.kind !== 'interstitial'));

  function expr(n: Node, indent: Indent, spaceBefore: boolean): void {
    fill(n.open, spaceBefore, !leftOf(n), indent.lineUp);
    switch (n.type) {
      case 'apply': {
        const target = aligned(openFodder(n.target), indent, column + (spaceBefore ? 1 : 0));
        expr(n.target, target, spaceBefore);
        fill(n.fodderL, false, false, target.lineUp);
        column++; // (
        const first = n.args.length === 0 ? n.fodderR : argFirstFodder(n.args[0]);
        const inner = laterOnNewLine(n.args.map(argFirstFodder)) ? nestedStrong(first, indent, column) : nested(first, indent, column);
        n.args.forEach((a, i) => {
          if (i > 0) column++; // ,
          let space = i > 0;
          if (a.id !== undefined) {
            fill(a.idFodder, space, false, inner.lineUp);
            column += codePoints(a.id) + 1; // id=
            space = false;
          }
          expr(a.expr!, inner, space);
          fill(a.commaFodder, false, false, inner.lineUp);
        });
        if (n.trailingComma) column++;
        fill(n.fodderR, false, false, inner.lineUp, indent.base);
        column++; // )
        if (n.tailstrict) {
          fill(n.tailstrictFodder, true, true, indent.base);
          column += 10;
        }
        return;
      }
      case 'apply_brace': {
        const inner = aligned(openFodder(n.left), indent, column + (spaceBefore ? 1 : 0));
        expr(n.left, inner, spaceBefore);
        expr(n.right, inner, true);
        return;
      }
      case 'array': {
        column++; // [
        const firsts = n.elements.map((e) => openFodder(e.expr));
        const first = n.elements.length > 0 ? firsts[0] : n.closeFodder;
        const start = column + (PAD_ARRAYS ? 1 : 0);
        const inner = laterOnNewLine(firsts) ? nestedStrong(first, indent, start) : nested(first, indent, start);
        n.elements.forEach((e, i) => {
          if (i > 0) column++;
          expr(e.expr, inner, i > 0 || PAD_ARRAYS);
          fill(e.commaFodder, false, false, inner.lineUp);
        });
        if (n.trailingComma) column++;
        fill(n.closeFodder, n.elements.length > 0, PAD_ARRAYS, inner.lineUp, indent.base);
        column++; // ]
        return;
      }
      case 'array_comprehension': {
        column++; // [
        const inner = nested(openFodder(n.body), indent, column + (PAD_ARRAYS ? 1 : 0));
        expr(n.body, inner, PAD_ARRAYS);
        fill(n.commaFodder, false, false, inner.lineUp);
        if (n.trailingComma) column++;
        specs(n.specs, inner);
        fill(n.closeFodder, true, PAD_ARRAYS, inner.lineUp, indent.base);
        column++; // ]
        return;
      }
      case 'assert': {
        column += 6;
        const inner = nested(openFodder(n.cond), indent, column + 1);
        expr(n.cond, inner, true);
        if (n.message) {
          fill(n.colonFodder, true, true, inner.lineUp);
          column++;
          expr(n.message, inner, true);
        }
        fill(n.semicolonFodder, false, false, inner.lineUp);
        column++;
        expr(n.rest, indent, true);
        return;
      }
      case 'binary': {
        // `a\n+ b` and `a +\nb` line up the operands from the first one's column.
        const strong = n.opFodder.some((f) => f.kind !== 'interstitial') || openFodder(n.right).some((f) => f.kind !== 'interstitial');
        const start = column + (spaceBefore ? 1 : 0);
        const inner = strong ? alignedStrong(openFodder(n.left), indent, start) : aligned(openFodder(n.left), indent, start);
        expr(n.left, inner, spaceBefore);
        fill(n.opFodder, true, true, inner.lineUp);
        column += n.op.length;
        expr(n.right, inner, true);
        return;
      }
      case 'conditional': {
        column += 2; // if
        expr(n.cond, nested(openFodder(n.cond), indent, column + 1), true);
        fill(n.thenFodder, true, true, indent.base);
        column += 4; // then
        expr(n.branchTrue, nested(openFodder(n.branchTrue), indent, column + 1), true);
        if (n.branchFalse) {
          fill(n.elseFodder, true, true, indent.base);
          column += 4; // else
          expr(n.branchFalse, nested(openFodder(n.branchFalse), indent, column + 1), true);
        }
        return;
      }
      case 'dollar':
        column++;
        return;
      case 'error':
        column += 5;
        expr(n.expr, nested(openFodder(n.expr), indent, column + 1), true);
        return;
      case 'function':
        column += 8;
        params(n.parenLeftFodder, n.params, n.trailingComma, n.parenRightFodder, indent);
        expr(n.body, nested(openFodder(n.body), indent, column + 1), true);
        return;
      case 'import':
        column += n.kind.length;
        expr(n.file, nested(n.file.open, indent, column + 1), true);
        return;
      case 'in_super':
        expr(n.element, indent, spaceBefore);
        fill(n.inFodder, true, true, indent.lineUp);
        column += 2;
        fill(n.superFodder, true, true, indent.lineUp);
        column += 5;
        return;
      case 'index': {
        expr(n.target, indent, spaceBefore);
        fill(n.dotFodder, false, false, indent.lineUp);
        if (n.id !== undefined) {
          const inner = nested(n.idFodder, indent, column);
          column++; // .
          fill(n.idFodder, false, false, inner.lineUp);
          column += codePoints(n.id);
          return;
        }
        column++; // [
        if (!n.isSlice) {
          const inner = nested(openFodder(n.index!), indent, column);
          expr(n.index!, inner, false);
          fill(n.idFodder, false, false, inner.lineUp, indent.base);
        } else {
          let inner: Indent = { base: 0, lineUp: 0 };
          const endColon = () => {
            inner = nested(n.endColonFodder, indent, column);
            fill(n.endColonFodder, false, false, inner.lineUp);
            column++; // :
          };
          if (n.index) {
            inner = nested(openFodder(n.index), indent, column);
            expr(n.index, inner, false);
          }
          if (n.end) {
            endColon();
            expr(n.end, inner, false);
          }
          if (n.step) {
            if (!n.end) endColon();
            fill(n.stepColonFodder, false, false, inner.lineUp);
            column++; // :
            expr(n.step, inner, false);
          }
          if (!n.index && !n.end && !n.step) endColon();
        }
        column++; // ]
        return;
      }
      case 'local': {
        column += 5; // local
        const inner = nested(n.binds[0].varFodder, indent, column + 1);
        n.binds.forEach((b, i) => {
          if (i > 0) column++; // ,
          fill(b.varFodder, true, true, inner.lineUp);
          column += codePoints(b.name);
          if (b.functionSugar) params(b.parenLeftFodder, b.params, b.trailingComma, b.parenRightFodder, inner);
          fill(b.opFodder, true, true, inner.lineUp);
          column++; // =
          const body = nested(openFodder(b.body), inner, column + 1);
          expr(b.body, body, true);
          fill(b.closeFodder, false, false, body.lineUp, indent.base);
        });
        column++; // ;
        expr(n.body, indent, true);
        return;
      }
      case 'literal':
        column += n.text.length;
        return;
      case 'number':
        column += n.text.length;
        return;
      case 'string':
        switch (n.style) {
          case 'single':
          case 'double':
            column += 2 + codePoints(n.value);
            return;
          case 'block':
            n.blockIndent = ' '.repeat(indent.base + INDENT);
            n.blockTermIndent = ' '.repeat(indent.base);
            column = indent.base + 3 + (n.chomp ? 1 : 0);
            return;
          default: {
            const quote = n.style === 'verbatim_single' ? "'" : '"';
            for (const c of n.value) column += c === quote ? 2 : 1;
            column += 3;
            return;
          }
        }
      case 'object':
      case 'object_comprehension': {
        column++; // {
        const first = n.fields.length === 0 ? n.closeFodder : n.fields[0].kind === 'str' ? openFodder(n.fields[0].expr1!) : n.fields[0].fodder1;
        const inner = nested(first, indent, column + (PAD_OBJECTS ? 1 : 0));
        fields(n.fields, inner, PAD_OBJECTS);
        if (n.trailingComma) column++;
        if (n.type === 'object_comprehension') {
          specs(n.specs, inner);
          fill(n.closeFodder, true, PAD_OBJECTS, inner.lineUp, indent.base);
        } else {
          fill(n.closeFodder, n.fields.length > 0, PAD_OBJECTS, inner.lineUp, indent.base);
        }
        column++; // }
        return;
      }
      case 'parens': {
        column++; // (
        const inner = nestedStrong(openFodder(n.expr), indent, column);
        expr(n.expr, inner, false);
        fill(n.closeFodder, false, false, inner.lineUp, indent.base);
        column++; // )
        return;
      }
      case 'super_index': {
        column += 5; // super
        fill(n.dotFodder, false, false, indent.lineUp);
        if (n.id !== undefined) {
          column++; // .
          fill(n.idFodder, false, false, nested(n.idFodder, indent, column).lineUp);
          column += codePoints(n.id);
        } else {
          column++; // [
          const inner = nested(openFodder(n.index!), indent, column);
          expr(n.index!, inner, false);
          fill(n.idFodder, false, false, inner.lineUp, indent.base);
          column++; // ]
        }
        return;
      }
      case 'unary': {
        column += n.op.length;
        const inner = nested(openFodder(n.expr), indent, column);
        // jsonnetfmt counts a space before a `$` operand here that it does not print; counted alike so lines match.
        expr(n.expr, inner, leftmost(n.expr).type === 'dollar');
        return;
      }
      case 'var':
        column += codePoints(n.name);
        return;
    }
  }

  expr(file.body, { base: 0, lineUp: 0 }, false);
  const breaks = file.finalFodder.filter((f) => f.kind !== 'interstitial');
  for (const f of breaks) f.indent = 0;
}
