import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from './registry.ts';
import { applyBaseUrls, configuredBaseUrl, defaultBaseUrl } from './registry.ts';
import { createPublicApp, type AppState } from './http/public/public-app.ts';
import { createAdminApp } from './http/admin/admin-app.ts';
import { createUiApp } from './http/ui/ui-app.ts';
import { capConnectionsPerIp, serverTimeouts } from './http/connection-limits.ts';
import { startCleanupJob, type CleanupJob } from './persistence/cleanup-job.ts';

export interface RunningServer {
  publicUrl: string;
  adminUrl: string;
  /** idflow's own self-service UI, when `serve.ui.enabled`. */
  uiUrl?: string;
  /** The in-process cleanup job, when `database.cleanup.interval` is set. */
  cleanup?: CleanupJob;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then closes the database. */
  close(drainMs?: number): Promise<void>;
}

/** Listens, or fails with a one-line reason naming the address and the config key (`serve.public.port`). */
function listen(server: Server, host: string, port: number, key: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EACCES' ? 'may not be used by this user' : `can not be listened on (${err.message})`;
      reject(new Error(`port ${port} on ${host} ${why} (${key})`, { cause: err }));
    };
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    });
  });
}

export interface StartServerOptions {
  /** Run the courier's sender in this process (default true; `idflow courier watch` runs it on its own). */
  watchCourier?: boolean;
}

export async function startServer(registry: Registry, options: StartServerOptions = {}): Promise<RunningServer> {
  const { config, logger } = registry;
  const state: AppState = { accepting: true };
  const publicServer = createServer(serverTimeouts(config.serve.public), createPublicApp(registry, state));
  const adminServer = createServer(serverTimeouts(config.serve.admin), createAdminApp(registry, state));
  capConnectionsPerIp(publicServer, config.serve.public.max_connections_per_ip ?? 256);
  capConnectionsPerIp(adminServer, config.serve.admin.max_connections_per_ip ?? 256);
  const uiServer = config.serve.ui?.enabled ? createServer(serverTimeouts(config.serve.public), createUiApp(registry)) : undefined;
  const pub = await listen(publicServer, config.serve.public.host, config.serve.public.port, 'serve.public.port');
  let adm: AddressInfo;
  let ui: AddressInfo | undefined;
  try {
    adm = await listen(adminServer, config.serve.admin.host, config.serve.admin.port, 'serve.admin.port');
    if (uiServer) ui = await listen(uiServer, config.serve.ui.host, config.serve.ui.port, 'serve.ui.port');
  } catch (err) {
    publicServer.close();
    adminServer.close();
    throw err;
  }
  await applyBaseUrls(registry, {
    public: configuredBaseUrl(config, 'public') ?? defaultBaseUrl(config, 'public', pub.port),
    admin: configuredBaseUrl(config, 'admin') ?? defaultBaseUrl(config, 'admin', adm.port),
  });
  const publicUrl = `http://${formatHost(pub.address)}:${pub.port}`;
  const adminUrl = `http://${formatHost(adm.address)}:${adm.port}`;
  logger.info('public API listening', { address: publicUrl, base_url: registry.urls.public });
  logger.info('admin API listening', { address: adminUrl, base_url: registry.urls.admin });
  const uiUrl = ui ? `http://${formatHost(ui.address)}:${ui.port}` : undefined;
  if (uiUrl) logger.info('self-service UI listening', { address: uiUrl });
  if (options.watchCourier !== false) registry.courier.start();
  const cleanup = startCleanupJob(registry);

  let closing: Promise<void> | undefined;
  const servers = [publicServer, adminServer, ...(uiServer ? [uiServer] : [])];
  return {
    publicUrl,
    adminUrl,
    uiUrl,
    cleanup,
    close(drainMs = 30_000) {
      closing ??= (async () => {
        state.accepting = false;
        const stopped = Promise.all(servers.map((server) => new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        })));
        const timer = setTimeout(() => {
          logger.warn('requests still running after the drain period; closing their connections');
          for (const server of servers) server.closeAllConnections();
        }, drainMs);
        const idle = setInterval(() => {
          for (const server of servers) server.closeIdleConnections();
        }, 100);
        await stopped;
        clearTimeout(timer);
        clearInterval(idle);
        // Running sends finish; messages claimed but not attempted go back to the queue.
        await registry.courier.stop();
        await cleanup?.stop();
        await registry.close();
        logger.info('server stopped');
      })();
      return closing;
    },
  };
}

function formatHost(address: string): string {
  if (address === '0.0.0.0' || address === '::') return '127.0.0.1';
  return address.includes(':') ? `[${address}]` : address;
}
