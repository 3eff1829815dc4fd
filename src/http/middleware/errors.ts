import type { ErrorRequestHandler, RequestHandler } from 'express';
import { KratosError, toKratosError } from '../../errors/kratos-error.ts';
import type { Logger } from '../../../observability/logger.ts';

interface BodyParserError { type?: string; status?: number; expose?: boolean }

/** Maps body-parser failures to Kratos errors: malformed JSON 400, too large 413, bad charset/encoding 415. */
function fromBodyParser(err: BodyParserError & Error): KratosError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new KratosError(400, undefined, { reason: 'Unable to decode the request body: it is not valid JSON.' });
    case 'entity.too.large':
      return new KratosError(413, undefined, { reason: 'The request body exceeds the size limit.' });
    case 'entity.shape.depth':
    case 'entity.shape.keys':
    case 'entity.shape.nul':
    case 'entity.shape.surrogate':
      return new KratosError(400, undefined, { reason: err.message });
    case 'parameters.too.many':
      return new KratosError(400, undefined, { reason: 'The request body has too many form fields.' });
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new KratosError(415, undefined, { reason: err.message });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new KratosError(400, undefined, { reason: 'The request body could not be read.' });
    default:
      return undefined;
  }
}

/** Express's router could not percent-decode a path parameter (invalid UTF-8, e.g. `%ED%A0%80`): the client's fault. */
function fromRouter(err: BodyParserError & Error): KratosError | undefined {
  if (err instanceof URIError && err.status === 400) {
    return new KratosError(400, undefined, { reason: 'The request path is not valid percent-encoded UTF-8.' });
  }
  return undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const kratos = fromBodyParser(err) ?? fromRouter(err) ?? toKratosError(err);
    if (kratos.status >= 500) {
      logger.error('request failed', { request_id: res.locals.requestId, method: req.method, route: req.route?.path, err: describe(err) });
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(kratos.headers ?? {})) res.setHeader(name, value);
    res.status(kratos.httpStatus ?? kratos.status).json(kratos.toJSON());
  };
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return { name: err.name, message: err.message, stack: err.stack?.split('\n').slice(0, 8).join('\n'), cause: err.cause instanceof Error ? err.cause.message : undefined };
  }
  return { value: String(err) };
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(new KratosError(404, undefined, { reason: 'The requested route does not exist.' }));
};
