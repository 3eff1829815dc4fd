/** Writes the tree back as text, with its fodder: the last step, after the passes decided every line break. */
import { leftOf, type ArgParam, type Field, type Node, type Spec } from './ast.ts';
import type { Fodder } from './fodder.ts';
import type { File } from './walk.ts';

const PAD_ARRAYS = false;
const PAD_OBJECTS = true;

export function print(file: File): string {
  let out = '';

  /**
   * `spaceBefore`: a space goes before anything else printed; `separateToken`: a space follows a trailing
   * interstitial comment. `final`: the last element's blank lines and indentation are not written.
   */
  const fill = (fodder: Fodder, spaceBefore: boolean, separateToken: boolean, final = false) => {
    let lastIndent = 0;
    fodder.forEach((f, i) => {
      const skipTrailing = final && i === fodder.length - 1;
      if (f.kind === 'interstitial') {
        if (spaceBefore) out += ' ';
        out += f.comment[0];
        spaceBefore = true;
        return;
      }
      if (f.kind === 'line_end') {
        if (f.comment.length > 0) out += '  ' + f.comment[0];
        out += '\n';
      } else {
        f.comment.forEach((line, j) => {
          // The first line is already indented; empty lines get no indentation.
          if (line.length > 0) out += (j > 0 ? ' '.repeat(lastIndent) : '') + line;
          out += '\n';
        });
      }
      if (!skipTrailing) out += '\n'.repeat(f.blanks) + ' '.repeat(f.indent);
      lastIndent = f.indent;
      spaceBefore = false;
    });
    if (separateToken && spaceBefore) out += ' ';
  };

  const params = (left: Fodder, list: ArgParam[], trailingComma: boolean, right: Fodder) => {
    fill(left, false, false);
    out += '(';
    list.forEach((p, i) => {
      if (i > 0) out += ',';
      fill(p.idFodder, i > 0, true);
      out += p.id;
      if (p.expr) {
        fill(p.eqFodder, false, false);
        out += '=';
        expr(p.expr, false);
      }
      fill(p.commaFodder, false, false);
    });
    if (trailingComma) out += ',';
    fill(right, false, false);
    out += ')';
  };

  const specs = (list: Spec[]) => {
    for (const s of list) {
      fill(s.openFodder, true, true);
      if (s.kind === 'for') {
        out += 'for';
        fill(s.varFodder, true, true);
        out += s.name;
        fill(s.inFodder, true, true);
        out += 'in';
      } else {
        out += 'if';
      }
      expr(s.expr, true);
    }
  };

  const fields = (list: Field[], spaceBefore: boolean) => {
    list.forEach((f, i) => {
      if (i > 0) out += ',';
      const space = i > 0 || spaceBefore;
      if (f.kind === 'local') {
        fill(f.fodder1, space, true);
        out += 'local';
        fill(f.fodder2, true, true);
        out += f.id;
        if (f.methodSugar) params(f.fodderL, f.params, f.trailingComma, f.fodderR);
        fill(f.opFodder, true, true);
        out += '=';
        expr(f.expr2, true);
      } else if (f.kind === 'assert') {
        fill(f.fodder1, space, true);
        out += 'assert';
        expr(f.expr2, true);
        if (f.expr3) {
          fill(f.opFodder, true, true);
          out += ':';
          expr(f.expr3, true);
        }
      } else {
        if (f.kind === 'id') {
          fill(f.fodder1, space, true);
          out += f.id;
        } else if (f.kind === 'str') {
          expr(f.expr1!, space);
        } else {
          fill(f.fodder1, space, true);
          out += '[';
          expr(f.expr1!, false);
          fill(f.fodder2, false, false);
          out += ']';
        }
        if (f.methodSugar) params(f.fodderL, f.params, f.trailingComma, f.fodderR);
        fill(f.opFodder, false, false);
        out += (f.superSugar ? '+' : '') + f.hide;
        expr(f.expr2, true);
      }
      fill(f.commaFodder, false, false);
    });
  };

  function expr(n: Node, spaceBefore: boolean): void {
    fill(n.open, spaceBefore, !leftOf(n));
    switch (n.type) {
      case 'apply':
        expr(n.target, spaceBefore);
        fill(n.fodderL, false, false);
        out += '(';
        n.args.forEach((a, i) => {
          if (i > 0) out += ',';
          let space = i > 0;
          if (a.id !== undefined) {
            fill(a.idFodder, space, true);
            out += a.id + '=';
            space = false;
          }
          expr(a.expr!, space);
          fill(a.commaFodder, false, false);
        });
        if (n.trailingComma) out += ',';
        fill(n.fodderR, false, false);
        out += ')';
        if (n.tailstrict) {
          fill(n.tailstrictFodder, true, true);
          out += 'tailstrict';
        }
        return;
      case 'apply_brace':
        expr(n.left, spaceBefore);
        expr(n.right, true);
        return;
      case 'array':
        out += '[';
        n.elements.forEach((e, i) => {
          if (i > 0) out += ',';
          expr(e.expr, i > 0 || PAD_ARRAYS);
          fill(e.commaFodder, false, false);
        });
        if (n.trailingComma) out += ',';
        fill(n.closeFodder, n.elements.length > 0, PAD_ARRAYS);
        out += ']';
        return;
      case 'array_comprehension':
        out += '[';
        expr(n.body, PAD_ARRAYS);
        fill(n.commaFodder, false, false);
        if (n.trailingComma) out += ',';
        specs(n.specs);
        fill(n.closeFodder, true, PAD_ARRAYS);
        out += ']';
        return;
      case 'assert':
        out += 'assert';
        expr(n.cond, true);
        if (n.message) {
          fill(n.colonFodder, true, true);
          out += ':';
          expr(n.message, true);
        }
        fill(n.semicolonFodder, false, false);
        out += ';';
        expr(n.rest, true);
        return;
      case 'binary':
        expr(n.left, spaceBefore);
        fill(n.opFodder, true, true);
        out += n.op;
        expr(n.right, true);
        return;
      case 'conditional':
        out += 'if';
        expr(n.cond, true);
        fill(n.thenFodder, true, true);
        out += 'then';
        expr(n.branchTrue, true);
        if (n.branchFalse) {
          fill(n.elseFodder, true, true);
          out += 'else';
          expr(n.branchFalse, true);
        }
        return;
      case 'dollar':
        out += '$';
        return;
      case 'error':
        out += 'error';
        expr(n.expr, true);
        return;
      case 'function':
        out += 'function';
        params(n.parenLeftFodder, n.params, n.trailingComma, n.parenRightFodder);
        expr(n.body, true);
        return;
      case 'import':
        out += n.kind;
        expr(n.file, true);
        return;
      case 'in_super':
        expr(n.element, true);
        fill(n.inFodder, true, true);
        out += 'in';
        fill(n.superFodder, true, true);
        out += 'super';
        return;
      case 'index':
        expr(n.target, spaceBefore);
        fill(n.dotFodder, false, false);
        if (n.id !== undefined) {
          out += '.';
          fill(n.idFodder, false, false);
          out += n.id;
          return;
        }
        out += '[';
        if (n.isSlice) {
          if (n.index) expr(n.index, false);
          fill(n.endColonFodder, false, false);
          out += ':';
          if (n.end) expr(n.end, false);
          if (n.step || n.stepColonFodder.length > 0) {
            fill(n.stepColonFodder, false, false);
            out += ':';
            if (n.step) expr(n.step, false);
          }
        } else {
          expr(n.index!, false);
        }
        fill(n.idFodder, false, false);
        out += ']';
        return;
      case 'local':
        out += 'local';
        n.binds.forEach((b, i) => {
          if (i > 0) out += ',';
          fill(b.varFodder, true, true);
          out += b.name;
          if (b.functionSugar) params(b.parenLeftFodder, b.params, b.trailingComma, b.parenRightFodder);
          fill(b.opFodder, true, true);
          out += '=';
          expr(b.body, true);
          fill(b.closeFodder, false, false);
        });
        out += ';';
        expr(n.body, true);
        return;
      case 'literal':
      case 'number':
        out += n.text;
        return;
      case 'string':
        out += printString(n);
        return;
      case 'object':
        out += '{';
        fields(n.fields, PAD_OBJECTS);
        if (n.trailingComma) out += ',';
        fill(n.closeFodder, n.fields.length > 0, PAD_OBJECTS);
        out += '}';
        return;
      case 'object_comprehension':
        out += '{';
        fields(n.fields, PAD_OBJECTS);
        if (n.trailingComma) out += ',';
        specs(n.specs);
        fill(n.closeFodder, true, PAD_OBJECTS);
        out += '}';
        return;
      case 'parens':
        out += '(';
        expr(n.expr, false);
        fill(n.closeFodder, false, false);
        out += ')';
        return;
      case 'super_index':
        out += 'super';
        fill(n.dotFodder, false, false);
        if (n.id !== undefined) {
          out += '.';
          fill(n.idFodder, false, false);
          out += n.id;
        } else {
          out += '[';
          expr(n.index!, false);
          fill(n.idFodder, false, false);
          out += ']';
        }
        return;
      case 'unary':
        out += n.op;
        expr(n.expr, false);
        return;
      case 'var':
        out += n.name;
        return;
    }
  }

  expr(file.body, false);
  fill(file.finalFodder, true, false, true);
  const last = file.finalFodder[file.finalFodder.length - 1];
  if (!last || last.kind === 'interstitial') out += '\n';
  return out;
}

function printString(n: Extract<Node, { type: 'string' }>): string {
  switch (n.style) {
    case 'single': return `'${n.value}'`;
    case 'double': return `"${n.value}"`;
    case 'verbatim_single': return `@'${n.value.replaceAll("'", "''")}'`;
    case 'verbatim_double': return `@"${n.value.replaceAll('"', '""')}"`;
    case 'block': {
      // Lines are re-indented, blank lines stay empty, carriage returns go (the output has \n line ends); as in
      // jsonnetfmt, a line after a \r\n blank line is indented all the same.
      const text = n.value;
      let body = text.startsWith('\n') ? '' : n.blockIndent;
      for (let i = 0; i < text.length; i++) {
        if (text[i] === '\r') continue;
        body += text[i];
        if (text[i] === '\n' && i + 1 < text.length && text[i + 1] !== '\n') body += n.blockIndent;
      }
      return `|||${n.chomp ? '-' : ''}\n${body}${n.blockTermIndent}|||`;
    }
  }
}
