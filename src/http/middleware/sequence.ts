import type { NextFunction, RequestHandler } from 'express';

/**
 * Middleware run one after the other as ONE layer of the router: each layer the router walks costs every request
 * (matching, its `next`), and whoami, the hot path, walks all that run ahead of it. Behaves as the same handlers
 * mounted one by one would: the first that passes an error (or does not call `next`) ends the sequence, and what it
 * passes goes to the router. For middleware that settles through `next` (not through a returned promise).
 */
export function sequence(...handlers: RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0];
  return (req, res, next) => {
    let at = 0;
    const step: NextFunction = (err?: unknown) => {
      if (err !== undefined || at === handlers.length) {
        next(err);
        return;
      }
      void handlers[at++](req, res, step);
    };
    step();
  };
}
