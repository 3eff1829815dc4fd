import { readFileSync, writeFileSync } from 'node:fs';
import { checkJsonnet, jsonnetEvaluatorProblem } from '../hooks/jsonnet.ts';
import { formatJsonnet } from '../jsonnet-format/format.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';
import { printErrors } from './output.ts';

export const jsonnetSpec: CommandSpec = {
  name: 'jsonnet',
  summary: 'Check Jsonnet files: web hook bodies, claims mappers (Kratos: kratos lint jsonnet, kratos format jsonnet).',
  usage: 'idflow jsonnet lint FILE...\n  idflow jsonnet format [--write] FILE...',
  options: {
    write: { type: 'boolean', short: 'w', default: false },
  },
  help: `
Options:
  -w, --write                   format: write the result back to each file instead of standard output

lint parses each file and runs libjsonnet's static analysis (syntax, unknown variables, self or super outside an
object) without evaluating it, so mappers that read std.extVar('claims') or take function(ctx) are checked as
they are. It prints "FILE: problem" for each file with issues and exits 1 if any had one. Kratos runs go-jsonnet's
linter, which also reports unused variables and some type errors; idflow's evaluator has no linter. lint needs the
optional Jsonnet package (npm run jsonnet:install).

format rewrites each file as jsonnetfmt does with its default options (what Kratos's format uses): 2-space
indentation, at most 2 blank lines, single quotes unless double ones need fewer escapes, // comments, spaces inside
{ } but not [ ], unquoted field names, sorted imports at the top. It prints the result (or, with --write, writes
each file back) and needs no Jsonnet package. A file with a syntax error is reported as "FILE: FILE:LINE:COLUMN:
problem" and left as it is; the exit code is then 1.

FILE is a path; let the shell expand patterns (Kratos expands Go globs itself).`,
};

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export async function jsonnetCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(jsonnetSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(jsonnetSpec));
    return 0;
  }
  if (sub !== 'lint' && sub !== 'format') throw new UsageError(`unknown subcommand "jsonnet ${sub}" (use lint or format)`);
  const files = args.positionals;
  if (files.length === 0) throw new UsageError(`${sub} needs at least one FILE`);
  if (sub === 'lint') {
    const missing = jsonnetEvaluatorProblem();
    if (missing) throw new Error(missing);
  }

  const failed = new Map<string, string>();
  for (const file of files) {
    try {
      const source = read(file);
      if (sub === 'lint') {
        const problem = await checkJsonnet(source, file);
        if (problem) failed.set(file, problem);
      } else {
        const result = formatJsonnet(source, file);
        if (!result.ok) failed.set(file, result.problem);
        else if (args.values.write) {
          if (result.text !== source) writeFileSync(file, result.text);
        } else process.stdout.write(result.text);
      }
    } catch (err) {
      failed.set(file, (err as Error).message.split('\n')[0]);
    }
  }
  printErrors(failed);
  return failed.size > 0 ? 1 : 0;
}
