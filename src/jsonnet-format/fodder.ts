/**
 * Fodder: what lies between two tokens (line breaks, blank lines, comments), kept so the formatter can put it back.
 * The model is jsonnetfmt's, so that the same input gives the same output:
 * - `line_end`: the next thing starts on a new line; may carry one comment that ends the current line.
 * - `interstitial`: a `/* ... *\/` comment that begins and ends on one line, flowing between tokens.
 * - `paragraph`: one or more comment lines (a `//` or `#` comment alone on its line, or a multi-line C comment).
 * `blanks` and `indent` describe the vertical space and indentation of whatever follows a line end or paragraph.
 */
export type FodderKind = 'line_end' | 'interstitial' | 'paragraph';

export interface FodderElement {
  kind: FodderKind;
  blanks: number;
  indent: number;
  comment: string[];
}

export type Fodder = FodderElement[];

export const element = (kind: FodderKind, blanks: number, indent: number, comment: string[] = []): FodderElement =>
  ({ kind, blanks, indent, comment });

export const cloneFodder = (fodder: Fodder): Fodder => fodder.map((f) => ({ ...f, comment: [...f.comment] }));

/** Whether the fodder ends with a line break (so whatever follows starts a line). */
export const endsWithNewline = (fodder: Fodder): boolean =>
  fodder.length > 0 && fodder[fodder.length - 1].kind !== 'interstitial';

export const hasNewline = (fodder: Fodder): boolean => fodder.some((f) => f.kind !== 'interstitial');

/** Appends one element, merging consecutive line ends and putting a line end before a paragraph that needs one. */
export function pushFodder(fodder: Fodder, next: FodderElement): void {
  if (endsWithNewline(fodder) && next.kind === 'line_end') {
    if (next.comment.length > 0) {
      fodder.push(element('paragraph', next.blanks, next.indent, [...next.comment]));
    } else {
      const last = fodder[fodder.length - 1];
      last.indent = next.indent;
      last.blanks += next.blanks;
    }
    return;
  }
  if (!endsWithNewline(fodder) && next.kind === 'paragraph') fodder.push(element('line_end', 0, next.indent));
  fodder.push({ ...next, comment: [...next.comment] });
}

export function concatFodder(a: Fodder, b: Fodder): Fodder {
  if (a.length === 0) return cloneFodder(b);
  if (b.length === 0) return cloneFodder(a);
  const result = cloneFodder(a);
  pushFodder(result, b[0]);
  result.push(...cloneFodder(b.slice(1)));
  return result;
}

/** Moves all of `from` to the front of `to` (in place on both). */
export function moveFodderFront(to: Fodder, from: Fodder): void {
  const merged = concatFodder(from, to);
  to.splice(0, to.length, ...merged);
  from.length = 0;
}

export function ensureCleanNewline(fodder: Fodder): void {
  if (!endsWithNewline(fodder)) pushFodder(fodder, element('line_end', 0, 0));
}

export function countNewlines(fodder: Fodder): number {
  let sum = 0;
  for (const f of fodder) {
    if (f.kind === 'line_end') sum += 1;
    else if (f.kind === 'paragraph') sum += f.comment.length + f.blanks;
  }
  return sum;
}
