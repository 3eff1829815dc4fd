import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { ServeEndpointConfig } from '../../config/types.ts';
import { parseDuration } from '../x/duration.ts';

/**
 * Node's server timeouts from `serve.public` / `serve.admin`: a client that trickles its headers or body is answered
 * 408 and disconnected once `request_timeout` (or `headers_timeout`) has passed, instead of holding a connection.
 * Node checks running requests every `connectionsCheckingInterval`, so it follows the shortest timeout.
 */
export function serverTimeouts(serve: ServeEndpointConfig): ServerOptions {
  const requestTimeout = parseDuration(serve.request_timeout ?? '30s');
  const headers = parseDuration(serve.headers_timeout ?? '10s');
  // Node refuses a headers timeout longer than a (non-zero) request timeout.
  const headersTimeout = requestTimeout > 0 ? Math.min(headers, requestTimeout) : headers;
  const shortest = requestTimeout > 0 ? Math.min(requestTimeout, headersTimeout) : headersTimeout;
  return {
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: parseDuration(serve.keep_alive_timeout ?? '5s'),
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(shortest / 4))),
  };
}

/**
 * At most `max_connections_per_ip` open connections per client address (0: no cap); a further connection is closed
 * as soon as it is accepted, before a byte is read, so one client can not exhaust the server's sockets.
 */
export function capConnectionsPerIp(server: Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const count = open.get(ip) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(ip, count + 1);
    socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left <= 0) open.delete(ip);
      else open.set(ip, left);
    });
  });
}
