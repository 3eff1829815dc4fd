import type { Express } from 'express';
import type { Registry } from '../../registry.ts';
import { createBaseApp } from '../base-app.ts';
import { bodyLimits, bodyParsers } from '../middleware/body.ts';
import { errorHandler, notFoundHandler } from '../middleware/errors.ts';
import { noStore } from '../middleware/no-store.ts';
import { corsMiddleware } from '../middleware/cors.ts';
import { healthRoutes } from '../health.routes.ts';
import { schemasRoutes } from './schemas.routes.ts';
import { selfServiceFlowRoutes } from './selfservice/flows.routes.ts';
import { sessionsRoutes, WHOAMI_PATH, whoamiHandler } from './sessions.routes.ts';
import { logoutRoutes } from './logout.routes.ts';
import { selfServiceErrorsRoutes } from './errors.routes.ts';
import { wellKnownRoutes } from './well-known.routes.ts';

export interface AppState {
  accepting: boolean;
}

export function createPublicApp(registry: Registry, state: AppState): Express {
  // Kratos runs CORS ahead of every route (and of CSRF): preflights end there.
  const cors = corsMiddleware(registry.config.serve.public.cors, {
    key: 'serve.public.cors', dev: registry.config.dev, warn: (message) => registry.logger.warn(message),
  });
  const prelude = [noStore(/^\/(self-service|sessions)(\/|$)/), ...(cors ? [cors] : [])];
  const app = createBaseApp(registry.metrics, registry.config.serve.public.trusted_proxies ?? [], 'serve.public.trusted_proxies', prelude);
  // The hottest route first, on the app's own router: no other router's layers to walk, no router of its own.
  app.all(WHOAMI_PATH, whoamiHandler(registry));
  app.use(healthRoutes({
    pingDatabase: () => pingDatabase(registry),
    isAcceptingTraffic: () => state.accepting,
    showDetails: false,
  }));
  app.use(bodyParsers(bodyLimits(registry.config.serve.public, '1MB', 1000)));
  app.use(schemasRoutes(registry.schemas));
  app.use(wellKnownRoutes(() => registry.config.selfservice.flows.settings.ui_url, () => registry.urls.public));
  app.use(sessionsRoutes(registry));
  app.use(selfServiceFlowRoutes(registry));
  app.use(logoutRoutes(registry));
  app.use(selfServiceErrorsRoutes({ errors: registry.store.errors, clock: registry.clock }));
  app.use(notFoundHandler);
  app.use(errorHandler(registry.logger));
  return app;
}

export function pingDatabase(registry: Registry): Promise<void> {
  return registry.store.ping();
}
