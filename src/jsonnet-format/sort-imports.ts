/**
 * Sorts the imports at the top of a file (`local x = import 'path';` before anything else) by path, within each
 * group: groups are separated by blank lines or comment lines, and comments on an import's line move with it.
 */
import { leftmost, type Bind, type Node, type NodeOf } from './ast.ts';
import { concatFodder, element, ensureCleanNewline, pushFodder, type Fodder } from './fodder.ts';
import type { File } from './walk.ts';

interface ImportBind {
  /** The imported path as written. */
  key: string;
  /** Comments after the import, up to its line's end; they stay with it. */
  adjacent: Fodder;
  bind: Bind;
}

type Local = NodeOf<'local'>;

const importsOnly = (node: Node): Local | undefined =>
  node.type === 'local' && node.binds.every((b) => !b.functionSugar && b.body.type === 'import' && b.body.kind === 'import') ? node : undefined;

export function sortImports(file: File): void {
  const local = importsOnly(file.body);
  if (local) file.body = group(local, [], local.open);
}

/**
 * Splits the fodder between two tokens: what belongs to the first (up to and including its line end) and what to
 * the second (blank lines and later comments).
 */
function splitFodder(fodder: Fodder): [Fodder, Fodder] {
  const afterPrevious: Fodder = [];
  const beforeNext: Fodder = [];
  let second = false;
  for (const f of fodder) {
    if (second) {
      pushFodder(beforeNext, f);
      continue;
    }
    afterPrevious.push({ ...f, comment: [...f.comment] });
    if (f.kind !== 'interstitial') {
      second = true;
      if (f.blanks > 0) {
        afterPrevious[afterPrevious.length - 1].blanks = 0;
        beforeNext.push(element('line_end', f.blanks, f.indent));
      }
    }
  }
  return [afterPrevious, beforeNext];
}

/** Whether the import group ends after this local: no import follows, or a blank line or comment line does. */
function groupEndsAfter(local: Local): boolean {
  const next = importsOnly(local.body);
  if (!next) return true;
  let newline = false;
  for (const f of next.open) {
    if (newline || f.blanks > 0) return true;
    if (f.kind !== 'interstitial') newline = true;
  }
  return false;
}

function group(local: Local, imports: ImportBind[], groupOpen: Fodder): Node {
  const [adjacent, beforeNext] = splitFodder(leftmost(local.body).open);
  ensureCleanNewline(adjacent);
  imports.push(...importBinds(local.binds, adjacent));
  if (!groupEndsAfter(local)) return group(local.body as Local, imports, groupOpen);

  // Shadowed names (`local a = import 'b'; local a = import 'a';`) keep their order: it changes the meaning.
  if (new Set(imports.map((i) => i.bind.name)).size === imports.length) imports.sort((a, b) => compareCodePoints(a.key, b.key));
  ensureCleanNewline(beforeNext);
  const nextOpen = concatFodder(imports[imports.length - 1].adjacent, beforeNext);
  const nextGroup = importsOnly(local.body);
  let rest: Node;
  if (nextGroup) {
    rest = group(nextGroup, [], nextOpen);
  } else {
    rest = local.body;
    leftmost(rest).open = nextOpen;
  }
  // One `local` per import.
  for (let i = imports.length - 1; i >= 0; i--) {
    rest = { type: 'local', open: i === 0 ? groupOpen : imports[i - 1].adjacent, binds: [imports[i].bind], body: rest };
  }
  return rest;
}

function importBinds(binds: Bind[], after: Fodder): ImportBind[] {
  const result: ImportBind[] = [];
  let before = binds[0].varFodder;
  binds.forEach((bind, i) => {
    let adjacent = after;
    let beforeNext: Fodder = [];
    if (i < binds.length - 1) [adjacent, beforeNext] = splitFodder(binds[i + 1].varFodder);
    else adjacent = concatFodder(after, []);
    ensureCleanNewline(adjacent);
    result.push({ key: (bind.body as NodeOf<'import'>).file.value, adjacent, bind: { ...bind, varFodder: before } });
    before = beforeNext;
  });
  return result;
}

/** By Unicode code point ("Z" < "a"), as jsonnetfmt does; JavaScript's < compares UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
