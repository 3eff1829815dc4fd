// Reads the import graph of a set of folders with the TypeScript 7 parser and answers graph questions
// (strongly connected components) about it. Knows nothing about idflow's rules: those live in
// test/unit/architecture/import-rules.ts.
//
// TypeScript 7 has no in-process compiler API (no `ts.preProcessFile`); its parser runs in the native
// tsgo binary and `typescript/unstable/sync` hands back SourceFile trees over a pipe. A throwaway tsconfig
// with `noResolve` and `noLib` makes tsgo parse only the listed folders, which takes a few hundred ms.
import { isBuiltin } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { API } from 'typescript/unstable/sync';
import {
  isCallExpression,
  isExportDeclaration,
  isExternalModuleReference,
  isIdentifier,
  isImportDeclaration,
  isImportEqualsDeclaration,
  isLiteralTypeNode,
  isNoSubstitutionTemplateLiteral,
  isStringLiteral,
  isVariableStatement,
  SyntaxKind,
  type NoSubstitutionTemplateLiteral,
  type Node,
  type SourceFile,
  type StringLiteral,
} from 'typescript/unstable/ast';

/** How a module names another one. */
export type ImportForm =
  | 'import' // import x from 'm' / import 'm' / import type x from 'm'
  | 'export-from' // export { x } from 'm' / export * from 'm' / export type { x } from 'm'
  | 'dynamic' // import('m') as an expression
  | 'import-type' // import('m').T in a type position
  | 'import-equals'; // import x = require('m')

export type Target =
  | { kind: 'builtin'; name: string; prefixed: boolean }
  | { kind: 'package'; name: string }
  | { kind: 'file'; path: string }
  /** `import(expression)` whose module name the reader could not work out. */
  | { kind: 'computed'; expression: string };

export interface ImportEdge {
  /** Importing file, posix path relative to the root: `src/http/app.ts`. */
  from: string;
  /** The module name as written (or the value of the const it names). */
  specifier: string;
  target: Target;
  form: ImportForm;
  /** Erased from the emitted JavaScript: `import type`, `export type … from`, `import('m').T`. */
  typeOnly: boolean;
  /** 1-based line of the module name. */
  line: number;
}

export interface ImportGraph {
  /** Every parsed file, posix paths relative to the root, sorted. */
  files: string[];
  edges: ImportEdge[];
}

/**
 * Parses every `.ts` file under `dirs` (relative to `root`) and lists each import, re-export and
 * dynamic import. `import { type A } from 'm'` counts as a runtime import: under `verbatimModuleSyntax`
 * it is emitted as `import {} from 'm'`, which still loads `m`.
 */
export function readImportGraph(root: string, dirs: readonly string[]): ImportGraph {
  const absRoot = path.resolve(root);
  const scratch = mkdtempSync(path.join(tmpdir(), 'import-graph-'));
  const tsconfig = path.join(scratch, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        noResolve: true,
        noLib: true,
        types: [],
        noEmit: true,
        allowImportingTsExtensions: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
      },
      include: dirs.map((dir) => `${toPosix(path.join(absRoot, dir))}/**/*.ts`),
    }),
  );
  const api = new API({ cwd: absRoot });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [tsconfig] });
    const project = snapshot.getProject(tsconfig) ?? snapshot.getProjects()[0];
    if (!project) throw new Error(`tsgo opened no project for ${tsconfig}`);
    const files: string[] = [];
    const edges: ImportEdge[] = [];
    for (const fileName of project.program.getSourceFileNames()) {
      const rel = toPosix(path.relative(absRoot, fileName));
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const sourceFile = project.program.getSourceFile(fileName);
      if (!sourceFile) continue;
      files.push(rel);
      edges.push(...importsOf(sourceFile, rel));
    }
    files.sort();
    return { files, edges };
  } finally {
    api.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function importsOf(sourceFile: SourceFile, from: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const lineOf = (node: Node) => sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
  // `imports` holds the module-name literal of every import, re-export, import() call and import type.
  for (const literal of sourceFile.imports) {
    if (!isStringLiteralLike(literal)) continue;
    const specifier = literal.text;
    const { form, typeOnly } = formOf(literal);
    edges.push({ from, specifier, target: resolveTarget(from, specifier), form, typeOnly, line: lineOf(literal) });
  }
  // import(NAME) with a non-literal argument is absent from `imports`; find it so it cannot dodge the rules.
  if (/\bimport\s*\(\s*[^'"`\s]/.test(sourceFile.text)) {
    const constants = topLevelStringConstants(sourceFile);
    const visit = (node: Node): void => {
      if (isCallExpression(node) && node.expression.kind === SyntaxKind.ImportKeyword) {
        const argument = node.arguments[0];
        if (argument && !isStringLiteralLike(argument)) {
          const value = isIdentifier(argument) ? constants.get(argument.text) : undefined;
          const expression = argument.getText(sourceFile);
          edges.push({
            from,
            specifier: value ?? expression,
            target: value === undefined ? { kind: 'computed', expression } : resolveTarget(from, value),
            form: 'dynamic',
            typeOnly: false,
            line: lineOf(argument),
          });
        }
      }
      node.forEachChild(visit);
    };
    sourceFile.forEachChild(visit);
  }
  return edges;
}

function formOf(literal: Node): { form: ImportForm; typeOnly: boolean } {
  const parent = literal.parent;
  if (isImportDeclaration(parent)) {
    return { form: 'import', typeOnly: parent.importClause?.phaseModifier === SyntaxKind.TypeKeyword };
  }
  if (isExportDeclaration(parent)) return { form: 'export-from', typeOnly: parent.isTypeOnly };
  if (isExternalModuleReference(parent) && isImportEqualsDeclaration(parent.parent)) {
    return { form: 'import-equals', typeOnly: parent.parent.isTypeOnly };
  }
  if (isLiteralTypeNode(parent)) return { form: 'import-type', typeOnly: true };
  return { form: 'dynamic', typeOnly: false };
}

function topLevelStringConstants(sourceFile: SourceFile): Map<string, string> {
  const constants = new Map<string, string>();
  for (const statement of sourceFile.statements) {
    if (!isVariableStatement(statement)) continue;
    for (const { name, initializer } of statement.declarationList.declarations) {
      if (isIdentifier(name) && initializer && isStringLiteralLike(initializer)) constants.set(name.text, initializer.text);
    }
  }
  return constants;
}

function isStringLiteralLike(node: Node): node is StringLiteral | NoSubstitutionTemplateLiteral {
  return isStringLiteral(node) || isNoSubstitutionTemplateLiteral(node);
}

/** What a module name points at: a Node built-in, a package (by name, without subpath) or a file. */
export function resolveTarget(from: string, specifier: string): Target {
  if (specifier.startsWith('node:')) return { kind: 'builtin', name: specifier.slice(5), prefixed: true };
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    return { kind: 'file', path: path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)) };
  }
  if (isBuiltin(specifier)) return { kind: 'builtin', name: specifier, prefixed: false };
  return { kind: 'package', name: packageName(specifier) };
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export interface Component {
  /** Members, sorted. */
  files: string[];
  /** The edges that stay inside the component, sorted by from then to. */
  edges: Array<{ from: string; to: string }>;
}

/**
 * Strongly connected components with more than one file (or a file importing itself), over the file
 * edges that `include` keeps. Every edge listed in a component lies on at least one cycle.
 */
export function cyclicComponents(edges: readonly ImportEdge[], include: (edge: ImportEdge) => boolean): Component[] {
  const next = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (edge.target.kind !== 'file' || !include(edge)) continue;
    if (!next.has(edge.from)) next.set(edge.from, new Set());
    next.get(edge.from)!.add(edge.target.path);
  }
  // Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: Component[] = [];
  let counter = 0;
  const nodes = [...new Set([...next.keys(), ...[...next.values()].flatMap((set) => [...set])])].sort();
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; children: string[]; at: number }> = [];
    const enter = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: [...(next.get(node) ?? [])].sort(), at: 0 });
    };
    enter(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.at < frame.children.length) {
        const child = frame.children[frame.at]!;
        frame.at += 1;
        if (!index.has(child)) enter(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.push(member);
      } while (member !== frame.node);
      const selfLoop = next.get(frame.node)?.has(frame.node) ?? false;
      if (members.length === 1 && !selfLoop) continue;
      const inside = new Set(members);
      const internal = members
        .flatMap((from) => [...(next.get(from) ?? [])].filter((to) => inside.has(to)).map((to) => ({ from, to })))
        .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
      components.push({ files: members.sort(), edges: internal });
    }
  }
  return components.sort((a, b) => a.files[0]!.localeCompare(b.files[0]!));
}

/** A shortest cycle that uses the edge `from → to` inside a component, for messages: [from, to, …, from]. */
export function cycleThrough(component: Component, from: string, to: string): string[] {
  const next = new Map<string, string[]>();
  for (const edge of component.edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const previous = new Map<string, string>([[to, to]]);
  const queue = [to];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === from) {
      const path = [node];
      while (path[0] !== to) path.unshift(previous.get(path[0]!)!);
      return [from, ...path];
    }
    for (const child of next.get(node) ?? []) {
      if (!previous.has(child)) {
        previous.set(child, node);
        queue.push(child);
      }
    }
  }
  return [from, to];
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
