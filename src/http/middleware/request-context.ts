import type { EntityManager } from '@mikro-orm/core';
import type { Request, RequestHandler, Response } from 'express';
import type { Orm } from '../../persistence/orm.ts';

/** Every request gets its own forked EntityManager: no entity state leaks between requests. */
export function forkEntityManager(orm: Orm): RequestHandler {
  return (_req, res, next) => {
    res.locals.em = orm.em.fork();
    next();
  };
}

export function em(res: Response): EntityManager {
  return res.locals.em as EntityManager;
}

/** Query parameter as a single string (Express may give arrays). */
export function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function queryList(req: Request, name: string): string[] {
  const value = req.query[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}
