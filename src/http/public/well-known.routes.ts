import { Router } from 'express';

/**
 * `GET /.well-known/change-password` (W3C "A Well-Known URL for Changing Passwords"; Kratos's
 * getWellKnownChangePassword): password managers send people here to change a password. 303 to the settings UI, or
 * to the settings flow's browser start when no UI is configured — as Kratos does.
 */
export function wellKnownRoutes(settingsUi: () => string | undefined, publicBaseUrl: () => string): Router {
  const router = Router();
  router.get('/.well-known/change-password', (_req, res) => {
    res.redirect(303, settingsUi() || new URL('self-service/settings/browser', publicBaseUrl()).toString());
  });
  return router;
}
