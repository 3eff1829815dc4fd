import type { Request, Response } from 'express';
import { badRequest } from '../../errors/kratos-error.ts';
import { queryString } from '../middleware/request-context.ts';

import type { PageTokenSealer } from '../../x/page-token.ts';

export function parsePageSize(req: Request, fallback: number, max: number): number {
  const raw = queryString(req, 'page_size') ?? queryString(req, 'per_page');
  if (raw === undefined) return fallback;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1) throw badRequest('page_size must be a positive integer.');
  return Math.min(size, max);
}

/** Kratos-style `Link` header with rel="first" and, when more rows exist, rel="next". */
export function paginationLinks(base: URL, req: Request, pageSize: number, nextToken: string | undefined): string {
  const make = (token?: string) => {
    const url = new URL(base);
    for (const [key, value] of Object.entries(req.query)) {
      if (key === 'page_token' || key === 'page_size' || key === 'per_page' || key === 'page') continue;
      for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string') url.searchParams.append(key, v);
    }
    url.searchParams.set('page_size', String(pageSize));
    if (token) url.searchParams.set('page_token', token);
    return url.toString();
  };
  const links = [`<${make()}>; rel="first"`];
  if (nextToken) links.push(`<${make(nextToken)}>; rel="next"`);
  return links.join(',');
}

/**
 * One keyset page by ascending id: opens `page_token` (sealed for `context`, so a token works only for the list it
 * came from), loads one row more than the page to know whether a next page exists, and sets the `Link` header.
 */
export async function keysetPage<T extends { id: string }>(
  req: Request,
  res: Response,
  options: { tokens: PageTokenSealer; context: string; base: URL; fallback: number; max: number },
  load: (page: { afterId?: string; limit: number }) => Promise<T[]>,
): Promise<T[]> {
  const pageSize = parsePageSize(req, options.fallback, options.max);
  const token = queryString(req, 'page_token');
  const afterId = token ? (await options.tokens.open<{ after: string }>(options.context, token)).after : undefined;
  const rows = await load({ afterId, limit: pageSize + 1 });
  const page = rows.slice(0, pageSize);
  const next = rows.length > pageSize ? await options.tokens.seal(options.context, { after: page[page.length - 1].id }) : undefined;
  res.setHeader('Link', paginationLinks(options.base, req, pageSize, next));
  return page;
}
