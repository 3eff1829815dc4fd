/**
 * `idflow jsonnet format` (Kratos: `kratos format jsonnet`, go-jsonnet's formatter with its default options): the
 * output of jsonnetfmt with indent 2, at most 2 blank lines, single quotes preferred, `//` comments, no padding in
 * arrays, padding in objects, unquoted field names where possible, sorted top imports and a final newline.
 * Pure TypeScript: it needs no Jsonnet evaluator.
 */
import { JsonnetSyntaxError } from './lexer.ts';
import { parse } from './parser.ts';
import { fixIndentation } from './indentation.ts';
import { print } from './printer.ts';
import { sortImports } from './sort-imports.ts';
import {
  expandBrokenLists, fixTrailingCommas, limitBlankLines, preferSingleQuotes, prettyFieldNames, removeInitialNewlines,
  removeNestedParens, removeRedundantSliceColon, slashComments, usePlusObjectSugar,
} from './style-passes.ts';

export type FormatResult = { ok: true; text: string } | { ok: false; problem: string };

/** Formats a Jsonnet program; a syntax error is `FILE:line:column: message`. */
export function formatJsonnet(source: string, filename: string): FormatResult {
  let file;
  try {
    file = parse(source);
  } catch (err) {
    if (err instanceof JsonnetSyntaxError) return { ok: false, problem: `${filename}:${err.line}:${err.column}: ${err.message}` };
    throw err;
  }
  sortImports(file);
  removeInitialNewlines(file);
  limitBlankLines(file);
  expandBrokenLists(file);
  fixTrailingCommas(file);
  removeNestedParens(file);
  usePlusObjectSugar(file);
  removeRedundantSliceColon(file);
  prettyFieldNames(file);
  preferSingleQuotes(file);
  slashComments(file);
  fixIndentation(file);
  // No blank lines at the end of the file.
  const last = file.finalFodder[file.finalFodder.length - 1];
  if (last) last.blanks = 0;
  return { ok: true, text: print(file) };
}
