import { UsageError } from './args.ts';
import { version } from '../version.ts';

const USAGE = `idflow ${version} — a headless identity server speaking Ory Kratos's API

Usage:
  idflow serve [--config FILE] [--dev]       run the public and admin APIs
  idflow migrate sql [DSN] [--yes]           apply database migrations
  idflow migrate status [DSN]                show applied and pending migrations
  idflow cleanup sql [DSN] [--keep-last D]   delete expired flows, sessions, codes and delivered mail
  idflow courier watch [--config FILE]       deliver queued messages (without the APIs)
  idflow identities import [FILE...]         import identities through the admin API (stdin without FILE)
  idflow identities list|get ID...|delete ID...|patch ID...   read, delete or JSON-Patch identities
  idflow hashers argon2 calibrate REQ_PER_MIN   compute Argon2 parameters for this machine
  idflow jsonnet lint FILE...                check Jsonnet mappers and web hook bodies
  idflow machines export [--format json|mermaid]   export the flow machines
  idflow flows history|replay ID             a flow's audit trail; replay it in the Stately inspector
  idflow version                             print the version

Run \`idflow <command> --help\` for a command's options.
`;

type Command = (argv: string[], env: Record<string, string | undefined>) => Promise<number>;

// Commands load their modules on demand, so `idflow version` doesn't pay for the ORM and the HTTP stack.
const COMMANDS: Record<string, Command> = {
  serve: async (argv, env) => (await import('./serve.command.ts')).serveCommand(argv, env),
  migrate: async (argv, env) => (await import('./migrate.command.ts')).migrateCommand(argv, env),
  cleanup: async (argv, env) => (await import('./cleanup.command.ts')).cleanupCommand(argv, env),
  courier: async (argv, env) => (await import('./courier.command.ts')).courierCommand(argv, env),
  identities: async (argv, env) => (await import('./identities.command.ts')).identitiesCommand(argv, env),
  hashers: async (argv, env) => (await import('./hashers.command.ts')).hashersCommand(argv, env),
  jsonnet: async (argv) => (await import('./jsonnet.command.ts')).jsonnetCommand(argv),
  machines: async (argv) => (await import('./machines.command.ts')).machinesCommand(argv),
  flows: async (argv, env) => (await import('./flows.command.ts')).flowsCommand(argv, env),
  version: async (argv) => {
    if (argv.includes('--help') || argv.includes('-h')) process.stdout.write('Print the version.\n\nUsage:\n  idflow version\n');
    else process.stdout.write(`${version}\n`);
    return 0;
  },
};

/** Runs the CLI; exit code 0 on success, 1 with a one-line reason on stderr otherwise. */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}" (see \`idflow --help\`)`);
    return await command(rest, env);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`idflow ${name}: ${message.split('\n')[0]}\n`);
    return 1;
  }
}

