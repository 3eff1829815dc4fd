import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../observability/logger.ts';
import { createRegistry } from '../registry.ts';
import { startServer } from '../server.ts';
import { lowerBackgroundThreads } from '../x/background-threads.ts';
import { releaseStartupMemory } from '../x/release-memory.ts';
import { access } from 'node:fs/promises';
import { parse, helpText, type CommandSpec } from './args.ts';

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'Run the public (4433) and admin (4434) APIs.',
  usage: 'idflow serve [--config FILE] [--dev] [--no-ui] [--inspect URL]',
  options: {
    config: { type: 'string', short: 'c' },
    dev: { type: 'boolean', default: false },
    'no-ui': { type: 'boolean', default: false },
    'watch-courier': { type: 'boolean' },
    inspect: { type: 'string' },
  },
  help: `
Options:
  -c, --config FILE   kratos.yml-style configuration (YAML or JSON). Without it idflow runs its built-in
                      default: SQLite under ./data/ (migrated automatically), 127.0.0.1:4433 and :4434.
      --dev           development mode: plain-HTTP cookies and generated secrets when none are configured.
                      Without --dev, secrets.cookie (or secrets.default) and secrets.cipher are required.
      --no-ui         do not serve idflow's self-service UI (serve.ui; on in the built-in default config, at
                      http://127.0.0.1:4455, where its ui_urls point)
      --watch-courier accepted for Kratos compatibility: serve always runs the courier's sender
                      (\`idflow courier watch\` runs more senders on their own; they share the queue safely)
      --inspect URL   stream every flow machine to the Stately inspector's WebSocket at URL (e.g.
                      ws://localhost:8080 from @statelyai/inspect/server); submit payloads are left out.
                      Development only.
  -h, --help          show this help

Every configuration key can be overridden by an environment variable: the key path upper-cased with dots as
underscores, e.g. DSN, SERVE_PUBLIC_PORT, LOG_LEVEL, COURIER_SMTP_CONNECTION_URI.`,
};

export async function serveCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const args = parse(serveSpec, argv);
  if (args === 'help') {
    process.stdout.write(helpText(serveSpec));
    return 0;
  }
  const file = args.values.config as string | undefined;
  const { config, warnings } = loadConfig({ file, env, dev: args.values.dev === true });
  if (args.values['no-ui'] === true) config.serve.ui.enabled = false;
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  for (const warning of warnings) logger.warn(warning);
  const registry = await createRegistry(config, { logger, migrations: file ? 'require' : 'auto', inspectUrl: args.values.inspect as string | undefined });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(registry);
  } catch (err) {
    // The database pool, the hash workers and the courier would keep the process alive: a failed start exits.
    await registry.close().catch(() => undefined);
    throw err;
  }
  // libuv starts its thread pool (where native password hashes run) on first use: start it, then lower every
  // thread but the event loop's (src/x/background-threads.ts).
  await access(process.execPath);
  logger.debug('lowered the scheduling priority of background threads', { threads: lowerBackgroundThreads() });
  void releaseStartupMemory();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutting down', { signal });
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      server.close().then(resolve, (err) => {
        logger.error('shutdown failed', { err });
        resolve();
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  return 0;
}
