import express, { type RequestHandler } from 'express';
import { parseByteSize } from '../../x/bytesize.ts';

/** JSON and form bodies up to `limit`; JSON is parsed strictly (objects and arrays only). */
export function bodyParsers(limit: string): RequestHandler[] {
  const bytes = parseByteSize(limit);
  return [
    express.json({ limit: bytes, strict: true, type: ['application/json', 'application/*+json'] }),
    express.urlencoded({ limit: bytes, extended: false, parameterLimit: 1000 }),
  ];
}
