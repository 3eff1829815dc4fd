import { describe, expect, it } from 'vitest';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { AddressInfo } from 'node:net';
import { sequence } from '../../../src/http/middleware/sequence.ts';

/** An app with `sequence(...handlers)` as its first layer, a route at /r and an error handler; answers one GET. */
async function get(handlers: RequestHandler[], path = '/r'): Promise<{ status: number; body: string; ran: string[] }> {
  const ran: string[] = [];
  const app = express();
  app.use((req, _res, next) => {
    (req as unknown as { ran: string[] }).ran = ran;
    next();
  });
  app.use(sequence(...handlers));
  app.get('/r', (_req, res) => {
    ran.push('route');
    res.send('ok');
  });
  app.use(((err, _req, res, _next) => {
    ran.push('error handler');
    res.status(400).send(String((err as Error).message));
  }) as ErrorRequestHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return { status: response.status, body: await response.text(), ran };
  } finally {
    server.close();
  }
}

const step = (name: string, then: (next: (err?: unknown) => void) => void = (next) => next()): RequestHandler =>
  (req, _res, next) => {
    (req as unknown as { ran: string[] }).ran.push(name);
    then(next);
  };

describe('sequence: middleware as one router layer', () => {
  it('runs every handler in order, then the routes', async () => {
    expect(await get([step('a'), step('b'), step('c')])).toEqual({ status: 200, body: 'ok', ran: ['a', 'b', 'c', 'route'] });
  });

  it('a handler that passes an error ends the sequence and reaches the error handler, as separate layers would', async () => {
    const failing = step('b', (next) => next(new Error('refused')));
    expect(await get([step('a'), failing, step('c')])).toEqual({ status: 400, body: 'refused', ran: ['a', 'b', 'error handler'] });
  });

  it('a handler that throws reaches the error handler too', async () => {
    const throwing: RequestHandler = () => {
      throw new Error('thrown');
    };
    expect(await get([step('a'), throwing, step('c')])).toEqual({ status: 400, body: 'thrown', ran: ['a', 'error handler'] });
  });

  it('a handler that answers ends the request there', async () => {
    const answering: RequestHandler = (_req, res) => {
      res.status(204).end();
    };
    expect(await get([step('a'), answering, step('c')])).toEqual({ status: 204, body: '', ran: ['a'] });
  });

  it('a handler may call next later (asynchronously)', async () => {
    const later = step('b', (next) => setImmediate(next));
    expect(await get([step('a'), later, step('c')])).toEqual({ status: 200, body: 'ok', ran: ['a', 'b', 'c', 'route'] });
  });
});
