import type { RequestHandler } from 'express';

/**
 * `Cache-Control: no-store` on every response whose path matches, before any route runs, so redirects and errors
 * carry it too: flows, sessions and identities hold CSRF tokens, session data and personal data that neither a
 * browser's cache nor a shared proxy may keep (OWASP ASVS 8.2.1; Kratos sets it on its flow and whoami answers).
 */
export function noStore(paths: RegExp): RequestHandler {
  return (req, res, next) => {
    if (paths.test(req.path)) res.setHeader('Cache-Control', 'no-store');
    next();
  };
}
