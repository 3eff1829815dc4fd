import express, { type RequestHandler } from 'express';
import type { ServeEndpointConfig } from '../../../config/types.ts';
import { parseByteSize } from '../../x/bytesize.ts';
import { jsonShapeProblem, type JsonShapeLimits, type JsonShapeProblem } from './json-shape.ts';

export interface BodyLimits extends JsonShapeLimits {
  /** Byte size ("1MB"); larger bodies are answered 413. */
  size: string;
}

/** The limits of one endpoint's config (`serve.public` / `serve.admin`), with the schema's defaults as fallback. */
export function bodyLimits(serve: ServeEndpointConfig, size: string, maxKeys: number, refuseNul = false): BodyLimits {
  return { size: serve.request_body_limit ?? size, maxDepth: serve.request_body_max_depth ?? 32, maxKeys: serve.request_body_max_keys ?? maxKeys, refuseNul };
}

/** A NUL anywhere in the URL (`%00`): no parameter of either API may carry one, and PostgreSQL can not compare it. */
export const refuseNulInUrl: RequestHandler = (req, _res, next) => {
  next(/%00/.test(req.url) ? new BodyShapeError('nul', 0, 'The request URL contains a NUL control character, which is not allowed.') : undefined);
};

/** Thrown from body-parser's `verify` hook; errors.ts answers it with a Kratos 400. */
export class BodyShapeError extends Error {
  readonly type: string;
  readonly status = 400;
  constructor(problem: JsonShapeProblem, limit: number, text?: string) {
    super(text ?? (problem === 'depth' ? `The request body is nested deeper than ${limit} levels.`
      : problem === 'keys' ? `The request body has more than ${limit} keys.`
        : problem === 'surrogate' ? 'The request body contains a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair), which is no text.'
          : 'The request body contains a NUL control character, which is not allowed.'));
    this.type = `entity.shape.${problem}`;
  }
}

/**
 * JSON and form bodies up to `limits.size`; JSON is parsed strictly (objects and arrays only) and only when its
 * nesting depth and member count are within the limits; forms carry at most `maxKeys` fields (and never nest).
 */
export function bodyParsers(limits: BodyLimits): RequestHandler[] {
  const bytes = parseByteSize(limits.size);
  return [
    express.json({
      limit: bytes,
      strict: true,
      type: ['application/json', 'application/*+json'],
      verify: (_req, _res, buf) => {
        const problem = jsonShapeProblem(buf, limits);
        if (problem) throw new BodyShapeError(problem, problem === 'depth' ? limits.maxDepth : limits.maxKeys);
      },
    }),
    express.urlencoded({ limit: bytes, extended: false, parameterLimit: limits.maxKeys }),
  ];
}
