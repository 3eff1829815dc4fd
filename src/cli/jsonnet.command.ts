import { readFileSync, writeFileSync } from 'node:fs';
import { checkJsonnet, formatJsonnet, jsonnetEvaluatorProblem } from '../hooks/jsonnet.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';
import { printErrors } from './output.ts';

const FORMAT_REFUSAL = 'the Jsonnet evaluator idflow uses (libjsonnet through @hanazuki/node-jsonnet) has no formatter; use jsonnetfmt (go-jsonnet, or the jsonnet release) instead';

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
linter, which also reports unused variables and some type errors; idflow's evaluator has no linter.
${formatJsonnet ? '' : `
format is not available: ${FORMAT_REFUSAL}. It exits 1.
`}
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
  if (sub === 'format' && !formatJsonnet) throw new Error(`format: ${FORMAT_REFUSAL}`);
  const missing = jsonnetEvaluatorProblem();
  if (missing) throw new Error(missing);

  const failed = new Map<string, string>();
  for (const file of files) {
    try {
      const source = read(file);
      if (sub === 'lint') {
        const problem = await checkJsonnet(source, file);
        if (problem) failed.set(file, problem);
      } else {
        const formatted = await formatJsonnet!(source, file);
        if (args.values.write) writeFileSync(file, formatted);
        else process.stdout.write(formatted.endsWith('\n') ? formatted : formatted + '\n');
      }
    } catch (err) {
      failed.set(file, (err as Error).message.split('\n')[0]);
    }
  }
  printErrors(failed);
  return failed.size > 0 ? 1 : 0;
}
