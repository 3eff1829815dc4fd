import { Router } from 'express';
import { version } from '../version.ts';

export interface HealthDeps {
  /** Resolves when the database answers; rejects otherwise. */
  pingDatabase: () => Promise<void>;
  /** False once shutdown began, so load balancers stop sending traffic. */
  isAcceptingTraffic: () => boolean;
  /** Admin endpoints may say what failed; public ones don't. */
  showDetails: boolean;
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/health/alive', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const errors: Record<string, string> = {};
    if (!deps.isAcceptingTraffic()) errors.shutdown = 'the server is shutting down';
    try {
      await withTimeout(deps.pingDatabase(), 2000);
    } catch (err) {
      errors.database = deps.showDetails ? `the database is not reachable: ${(err as Error).message}` : 'the database is not reachable';
    }
    if (Object.keys(errors).length > 0) {
      res.status(503).json({ errors: deps.showDetails ? errors : Object.fromEntries(Object.keys(errors).map((k) => [k, 'not ready'])) });
      return;
    }
    res.json({ status: 'ok' });
  });
  router.get('/version', (_req, res) => {
    res.json({ version });
  });
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
