export { failure } from '../../support/sdk.ts';
/** Shared steps for the session e2e tests: identities, native and browser logins, raw whoami calls. */
import { expect } from 'vitest';
import { CookieJar } from '../../support/cookie-jar.ts';
import type { TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';

export type Json = any;

export const SESSION_COOKIE = 'ory_kratos_session';
export const TOKEN_SHAPE = /^ory_st_[A-Za-z0-9]{48}$/;

export async function createIdentity(server: TestServer, email: string, password: string): Promise<string> {
  const created = await server.identityApi.createIdentity({
    createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password } } } },
  });
  return created.id;
}

/** Native (api) login: the session token and the raw session JSON (validated). */
export async function nativeLogin(server: TestServer, identifier: string, password: string): Promise<{ token: string; session: Json }> {
  const flow = await server.frontendApi.createNativeLoginFlow();
  const res = await server.frontendApi.updateLoginFlowRaw({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier, password },
  });
  const body = await res.raw.json();
  expectResponse('updateLoginFlow', 200, body);
  expect(body.session_token).toMatch(TOKEN_SHAPE);
  return { token: body.session_token, session: body.session };
}

/**
 * Browser login through the JSON API of a browser flow (as a SPA does): the jar ends up holding the CSRF cookie
 * and the session cookie. Returns the jar and the session JSON.
 */
export async function browserLogin(server: TestServer, identifier: string, password: string): Promise<{ jar: CookieJar; session: Json }> {
  const jar = new CookieJar();
  const init = await jar.fetch(`${server.publicUrl}/self-service/login/browser`, { headers: { accept: 'application/json' } });
  expect(init.status).toBe(200);
  const flow = await init.json();
  const csrf = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
  const res = await jar.fetch(`${server.publicUrl}/self-service/login?flow=${flow.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ method: 'password', identifier, password, csrf_token: csrf }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  expectResponse('updateLoginFlow', 200, body);
  expect(jar.get(SESSION_COOKIE)).toBeTruthy();
  return { jar, session: body.session };
}

/** A raw whoami call; `body` is the parsed JSON (undefined for HEAD / empty bodies). */
export async function whoami(server: TestServer, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${server.publicUrl}/sessions/whoami`, { method, headers: { accept: 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** whoami must answer 401 in Kratos's shape: no error id (ory/kratos#4129). */
export async function expectWhoamiUnauthorized(server: TestServer, headers: Record<string, string>): Promise<void> {
  const res = await whoami(server, headers);
  expect(res.status, `whoami with ${JSON.stringify(headers)}`).toBe(401);
  expectResponse('toSession', 401, res.body);
  expect(res.body.error.id).toBeUndefined();
  expect(res.headers.get('x-kratos-authenticated-identity-id')).toBeNull();
}

export async function expectWhoamiOk(server: TestServer, token: string): Promise<Json> {
  const res = await whoami(server, { 'X-Session-Token': token });
  expect(res.status).toBe(200);
  expectResponse('toSession', 200, res.body);
  return res.body;
}

/** Follows `rel="next"` Link headers from `firstPath` on `base`, validating every page. */
export async function walkPages(base: string, firstPath: string, operationId: string, headers: Record<string, string> = {}): Promise<{ pages: Json[][]; links: string[] }> {
  const pages: Json[][] = [];
  const links: string[] = [];
  let url: string | undefined = `${base}${firstPath}`;
  while (url) {
    const res: Response = await fetch(url, { headers });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expectResponse(operationId, 200, body);
    pages.push(body);
    const link = res.headers.get('link') ?? '';
    links.push(link);
    const next: string | undefined = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
    url = next ? `${base}${new URL(next).pathname}${new URL(next).search}` : undefined;
    if (pages.length > 50) throw new Error('pagination does not end');
  }
  return { pages, links };
}

export function nextPageToken(link: string): string | undefined {
  const next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
  return next ? new URL(next).searchParams.get('page_token') ?? undefined : undefined;
}

