import { loadConfig } from '../../config/load-config.ts';
import { openOrm } from '../persistence/orm.ts';
import { parseDsn } from '../persistence/dsn.ts';
import { cleanupSql } from '../persistence/sql/cleanup.ts';
import { parseDuration } from '../x/duration.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';

export const cleanupSpec: CommandSpec = {
  name: 'cleanup',
  summary: 'Delete expired flows (with their history), codes, token exchanges, sessions and delivered courier messages.',
  usage: 'idflow cleanup sql [DSN] [-e] [--config FILE] [--keep-last DURATION] [--batch-size N] [--sleep DURATION]',
  options: {
    'read-from-env': { type: 'boolean', short: 'e', default: false },
    config: { type: 'string', short: 'c' },
    'keep-last': { type: 'string' },
    'batch-size': { type: 'string', short: 'b' },
    sleep: { type: 'string' },
  },
  help: `
As Kratos's \`kratos cleanup sql\`. Rows whose end (expiry; delivery for courier messages) lies more than
--keep-last in the past are deleted, --batch-size rows per statement (short transactions: requests keep running),
pausing --sleep between statements. Queued, failing and abandoned courier messages are kept.

Options:
  -e, --read-from-env      read the DSN from the environment variable DSN
  -c, --config FILE        read dsn and database.cleanup.* from this configuration
      --keep-last DURATION keep rows that ended less than this ago (default 0s, or database.cleanup.keep_last)
  -b, --batch-size N       rows per statement (default 100, or database.cleanup.batch_size)
      --sleep DURATION     pause between statements (default 0s, or database.cleanup.sleep.tables)

The database is the DSN argument, else DSN from the environment (-e), else dsn from --config.
Run it as often as you like; back up the database before the first run.`,
};

export async function cleanupCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(cleanupSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(cleanupSpec));
    return 0;
  }
  if (sub !== 'sql') throw new UsageError(`unknown subcommand "cleanup ${sub}" (use sql)`);
  const configured = typeof args.values.config === 'string' ? loadConfig({ file: args.values.config, env, dev: true }).config : undefined;
  let dsn: string | undefined = args.positionals[0];
  if (!dsn && (args.values['read-from-env'] || (!configured && env.DSN))) {
    if (!env.DSN) throw new UsageError('DSN is not set in the environment');
    dsn = env.DSN;
  }
  dsn ??= configured?.dsn;
  if (!dsn) throw new UsageError('give a DSN, -e with DSN in the environment, or --config FILE');
  const defaults = configured?.database?.cleanup;
  const duration = (flag: string, fallback: string) => {
    const text = (args.values[flag] as string | undefined) ?? fallback;
    try {
      return parseDuration(text);
    } catch {
      throw new UsageError(`--${flag}: "${text}" is not a duration (e.g. 24h, 30m, 500ms)`);
    }
  };
  const keepLastMs = duration('keep-last', defaults?.keep_last ?? '0s');
  const sleepMs = duration('sleep', defaults?.sleep?.tables ?? '0s');
  const batchText = (args.values['batch-size'] as string | undefined) ?? String(defaults?.batch_size ?? 100);
  const batchSize = Number(batchText);
  if (!/^\d+$/.test(batchText) || batchSize < 1) throw new UsageError(`--batch-size: "${batchText}" is not a positive integer`);
  const { dialect } = parseDsn(dsn);
  const orm = await openOrm(dsn);
  try {
    const deleted = await cleanupSql(orm, { dialect, keepLastMs, batchSize, sleepMs, now: new Date() });
    for (const [table, rows] of Object.entries(deleted)) process.stdout.write(`${table}\t${rows}\n`);
    process.stdout.write(`Deleted ${Object.values(deleted).reduce((a, b) => a + b, 0)} row(s).\n`);
    return 0;
  } finally {
    await orm.close(true);
  }
}
