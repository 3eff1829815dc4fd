import { loadConfig } from '../../config/load-config.ts';
import { openOrm } from '../persistence/orm.ts';
import { migrateUp, migrationStatus } from '../persistence/migrate.ts';
import { parseDsn } from '../persistence/dsn.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';

export const migrateSpec: CommandSpec = {
  name: 'migrate',
  summary: 'Apply or inspect database migrations.',
  usage: 'idflow migrate sql [DSN] [--yes] [-e] [--config FILE]\n  idflow migrate status [DSN] [-e] [--config FILE]',
  options: {
    yes: { type: 'boolean', short: 'y', default: false },
    'read-from-env': { type: 'boolean', short: 'e', default: false },
    config: { type: 'string', short: 'c' },
  },
  help: `
Subcommands:
  sql      apply every pending migration (idempotent); asks for --yes before changing the database
  status   list applied and pending migrations

The database is the DSN argument, else DSN from the environment (-e), else dsn from --config.
DSNs: memory, sqlite://PATH?..., postgres://..., postgresql://... (cockroach:// is refused)`,
};

function resolveDsn(values: Record<string, unknown>, positionals: string[], env: Record<string, string | undefined>): string {
  if (positionals[0]) return positionals[0];
  if (values['read-from-env'] || (!values.config && env.DSN)) {
    if (!env.DSN) throw new UsageError('DSN is not set in the environment');
    return env.DSN;
  }
  if (typeof values.config === 'string') return loadConfig({ file: values.config, env, dev: true }).config.dsn;
  throw new UsageError('give a DSN, -e with DSN in the environment, or --config FILE');
}

export async function migrateCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(migrateSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(migrateSpec));
    return 0;
  }
  if (sub !== 'sql' && sub !== 'status') throw new UsageError(`unknown subcommand "migrate ${sub}" (use sql or status)`);
  const positionals = sub === 'sql' && args.positionals[0] === 'up' ? args.positionals.slice(1) : args.positionals;
  const dsn = resolveDsn(args.values, positionals, env);
  parseDsn(dsn);
  const orm = await openOrm(dsn);
  try {
    const status = await migrationStatus(orm);
    if (sub === 'status') {
      for (const name of status.executed) process.stdout.write(`applied  ${name}\n`);
      for (const name of status.pending) process.stdout.write(`pending  ${name}\n`);
      return 0;
    }
    if (status.pending.length === 0) {
      process.stdout.write('The database is up to date; nothing to apply.\n');
      return 0;
    }
    if (args.values.yes !== true) {
      throw new UsageError(`${status.pending.length} migration(s) pending; re-run with --yes to apply them`);
    }
    const applied = await migrateUp(orm);
    for (const name of applied) process.stdout.write(`applied  ${name}\n`);
    process.stdout.write(`Applied ${applied.length} migration(s).\n`);
    return 0;
  } finally {
    await orm.close(true);
  }
}
