import type { Express } from 'express';
import type { Registry } from '../../registry.ts';
import { createBaseApp } from '../base-app.ts';
import { bodyLimits, bodyParsers } from '../middleware/body.ts';
import { errorHandler, notFoundHandler } from '../middleware/errors.ts';
import { noStore } from '../middleware/no-store.ts';
import { corsMiddleware } from '../middleware/cors.ts';
import { healthRoutes } from '../health.routes.ts';
import { pingDatabase, type AppState } from '../public/public-app.ts';
import { schemasRoutes } from '../public/schemas.routes.ts';
import { identitiesRoutes } from './identities.routes.ts';
import { adminSessionsRoutes } from './sessions.routes.ts';
import { adminRecoveryRoutes } from './recovery.routes.ts';
import { courierRoutes } from './courier.routes.ts';
import { adminFlowsRoutes, adminTestLoginRoutes } from './flows.routes.ts';
import { metricsRoutes } from './metrics.routes.ts';

const UNPREFIXED = /^\/(health|version|metrics)(\/|$)/;

export function createAdminApp(registry: Registry, state: AppState): Express {
  const app = createBaseApp(registry.metrics, registry.config.serve.admin.trusted_proxies ?? [], 'serve.admin.trusted_proxies');
  // Kratos's admin server answers both /admin/... and the legacy unprefixed paths.
  app.use((req, _res, next) => {
    if (!req.url.startsWith('/admin/') && req.url !== '/admin' && !UNPREFIXED.test(req.url)) req.url = '/admin' + req.url;
    next();
  });
  // Kratos itself has no admin CORS any more; idflow's schema keeps Kratos's older `serve.admin.cors`, applied alike.
  const cors = corsMiddleware(registry.config.serve.admin.cors, {
    key: 'serve.admin.cors', dev: registry.config.dev, warn: (message) => registry.logger.warn(message),
  });
  if (cors) app.use(cors);
  // Every admin answer about identities, sessions, recovery codes and links, and courier messages.
  app.use(noStore(/^\/admin\/(identities|sessions|recovery|courier|flows|test-login-flows)(\/|$)/));
  const health = healthRoutes({
    pingDatabase: () => pingDatabase(registry),
    isAcceptingTraffic: () => state.accepting,
    showDetails: true,
  });
  app.use(health);
  app.use('/admin', health);
  app.use(metricsRoutes(registry.metrics.registry));
  app.use(bodyParsers(bodyLimits(registry.config.serve.admin, '5MB', 50000, true)));
  app.use('/admin', schemasRoutes(registry.schemas));
  app.use(identitiesRoutes({
    identities: registry.identities,
    repository: registry.store.identities,
    pageTokens: registry.pageTokens,
    schemaUrl: registry.schemaUrl,
    adminBaseUrl: () => registry.urls.admin,
    guard: registry.guard,
  }));
  app.use(adminSessionsRoutes(registry));
  app.use(adminRecoveryRoutes(registry));
  app.use(adminFlowsRoutes(registry.store.flows));
  app.use(adminTestLoginRoutes(registry.flowService, () => new URL('admin/test-login-flows', registry.urls.admin).toString()));
  app.use(courierRoutes({ pageTokens: registry.pageTokens, messages: registry.store.courier, adminBaseUrl: () => registry.urls.admin }));
  app.use(notFoundHandler);
  app.use(errorHandler(registry.logger));
  return app;
}
