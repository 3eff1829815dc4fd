import { createServer } from 'node:http';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../observability/logger.ts';
import { createMetrics } from '../../observability/metrics.ts';
import { Courier } from '../courier/courier.ts';
import { openStore } from '../persistence/open-store.ts';
import { parseDsn } from '../persistence/dsn.ts';
import { systemClock } from '../x/clock.ts';
import { parse, helpText, UsageError, type CommandSpec } from './args.ts';

export const courierSpec: CommandSpec = {
  name: 'courier',
  summary: 'Run the courier: deliver queued messages (e-mail by SMTP or HTTP) without serving the APIs.',
  usage: 'idflow courier watch [--config FILE] [--dev] [--expose-metrics-port PORT]',
  options: {
    config: { type: 'string', short: 'c' },
    dev: { type: 'boolean', default: false },
    'expose-metrics-port': { type: 'string' },
  },
  help: `
Subcommands:
  watch    poll the message queue and send what is due until SIGTERM/SIGINT

Options:
  -c, --config FILE               the same configuration as \`idflow serve\` (dsn, courier.*)
      --dev                       development mode (generated secrets when none are configured)
      --expose-metrics-port PORT  serve Prometheus metrics at http://<serve.admin.host>:PORT/metrics/prometheus
  -h, --help                      show this help

\`idflow serve\` runs the same sender by default; any number of senders may share one database: each message is
claimed by one of them (leased; a crashed sender's messages return to the queue when the lease runs out).`,
};

export async function courierCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(courierSpec, rest);
  if (args === 'help' || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(courierSpec));
    return 0;
  }
  if (sub !== 'watch') throw new UsageError(`unknown subcommand "courier ${sub}" (use watch)`);
  const metricsPort = args.values['expose-metrics-port'] as string | undefined;
  if (metricsPort !== undefined && !/^\d{1,5}$/.test(metricsPort)) throw new UsageError('--expose-metrics-port must be a port number');
  const file = args.values.config as string | undefined;
  const { config, warnings } = loadConfig({ file, env, dev: args.values.dev === true });
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  for (const warning of warnings) logger.warn(warning);
  const dsn = parseDsn(config.dsn);
  if (dsn.dialect === 'sqlite' && dsn.memory) throw new UsageError('courier watch needs a shared database; "memory" is private to one process');
  const { store } = await openStore(config.dsn, { migrations: file ? 'require' : 'auto' });
  const metrics = createMetrics({ defaultMetrics: true });
  let courier: Courier;
  try {
    courier = new Courier(config.courier, { queue: store.courier, clock: systemClock, logger, metrics, clientsHttp: config.clients.http });
    if (!courier.sender) throw new UsageError('no delivery is configured: set courier.smtp.connection_uri (or courier.delivery_strategy: http)');
  } catch (err) {
    await store.close();
    throw err;
  }
  const metricsServer = metricsPort === undefined ? undefined : createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics/prometheus' || req.url === '/admin/metrics/prometheus')) {
      metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      }, () => {
        res.writeHead(500).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  if (metricsServer) {
    await new Promise<void>((resolve, reject) => {
      metricsServer.once('error', reject);
      metricsServer.listen(Number(metricsPort), config.serve.admin.host, () => resolve());
    });
    logger.info('courier metrics listening', { port: Number(metricsPort) });
  }
  courier.start();
  logger.info('courier watching the message queue', { worker: courier.sender!.workerId });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('courier shutting down', { signal });
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  await courier.stop();
  metricsServer?.close();
  await store.close();
  logger.info('courier stopped');
  return 0;
}
