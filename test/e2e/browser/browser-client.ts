/**
 * A cookie-jar "browser" for idflow's browser flows: no Accept header = an HTML client (form posts, 303s), `Accept:
 * application/json` = an SPA. Every JSON body a helper returns has already been checked against Kratos's OpenAPI
 * document by the caller-supplied operation id.
 */
import { expect } from 'vitest';
import { CookieJar } from '../../support/cookie-jar.ts';
import { expectResponse } from '../../support/openapi.ts';

export type Json = any;

export type FlowKind = 'login' | 'registration' | 'settings';

const GET_OPERATION: Record<FlowKind, string> = { login: 'getLoginFlow', registration: 'getRegistrationFlow', settings: 'getSettingsFlow' };
const INIT_OPERATION: Record<FlowKind, string> = { login: 'createBrowserLoginFlow', registration: 'createBrowserRegistrationFlow', settings: 'createBrowserSettingsFlow' };
const UPDATE_OPERATION: Record<FlowKind, string> = { login: 'updateLoginFlow', registration: 'updateRegistrationFlow', settings: 'updateSettingsFlow' };

export const operations = { get: GET_OPERATION, init: INIT_OPERATION, update: UPDATE_OPERATION };

export function node(flow: Json, name: string): Json {
  return flow.ui.nodes.find((n: Json) => n.attributes.name === name);
}

export function csrfOf(flow: Json): string {
  const value = node(flow, 'csrf_token')?.attributes.value;
  expect(typeof value).toBe('string');
  return value as string;
}

export function messageIds(list: Array<{ id: number }> | undefined): number[] {
  return (list ?? []).map((m) => m.id);
}

/** JSON body or undefined for an empty body; throws on a non-JSON body. */
export async function bodyOf(res: Response): Promise<Json> {
  const text = await res.text();
  if (text === '') return undefined;
  return JSON.parse(text);
}

export class Browser {
  readonly jar = new CookieJar();
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  url(path: string): string {
    return path.startsWith('http') ? path : `${this.base}${path}`;
  }

  /** An HTML navigation (no Accept header). */
  navigate(path: string): Promise<Response> {
    return this.jar.fetch(this.url(path));
  }

  /** An SPA read (`Accept: application/json`). */
  getJson(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.jar.fetch(this.url(path), { headers: { accept: 'application/json', ...headers } });
  }

  /** An HTML form post (application/x-www-form-urlencoded, no Accept header). */
  submitForm(action: string, fields: Record<string, string>): Promise<Response> {
    return this.jar.fetch(this.url(action), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** An SPA submit (JSON in, JSON out). */
  submitJson(action: string, body: unknown): Promise<Response> {
    return this.jar.fetch(this.url(action), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  }

  sessionCookie(): string | undefined {
    return this.jar.get('ory_kratos_session');
  }

  /** HTML init: 303 to the UI with `?flow=`; returns the flow id and the Location. */
  async startHtml(kind: FlowKind, query = ''): Promise<{ id: string; location: string; res: Response }> {
    const res = await this.navigate(`/self-service/${kind}/browser${query}`);
    expect(res.status, `init ${kind} (HTML)`).toBe(303);
    const location = res.headers.get('location')!;
    const id = new URL(location).searchParams.get('flow');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    return { id: id!, location, res };
  }

  /** Reads a browser flow by id as the SPA / the UI server would (with this jar's cookies), schema-checked. */
  async readFlow(kind: FlowKind, id: string): Promise<Json> {
    const res = await this.getJson(`/self-service/${kind}/flows?id=${id}`);
    const body = await bodyOf(res);
    expectResponse(GET_OPERATION[kind], res.status, body);
    expect(res.status, `read ${kind} flow: ${JSON.stringify(body)}`).toBe(200);
    return body;
  }

  /** JSON init of a browser flow (200 flow), schema-checked. */
  async startJson(kind: FlowKind, query = ''): Promise<Json> {
    const res = await this.getJson(`/self-service/${kind}/browser${query}`);
    const body = await bodyOf(res);
    expectResponse(INIT_OPERATION[kind], res.status, body);
    expect(res.status, `init ${kind} (JSON): ${JSON.stringify(body)}`).toBe(200);
    expect(body.type).toBe('browser');
    return body;
  }

  /** Logs in with a JSON browser client; returns the success body (schema-checked). */
  async loginJson(identifier: string, password: string, query = ''): Promise<Json> {
    const flow = await this.startJson('login', query);
    const res = await this.submitJson(flow.ui.action, { method: 'password', identifier, password, csrf_token: csrfOf(flow) });
    const body = await bodyOf(res);
    expectResponse('updateLoginFlow', res.status, body);
    expect(res.status, `login: ${JSON.stringify(body)}`).toBe(200);
    return body;
  }

  /** whoami with this jar; returns status and schema-checked body. */
  async whoami(cookieOverride?: string): Promise<{ status: number; body: Json }> {
    const res = cookieOverride === undefined
      ? await this.getJson('/sessions/whoami')
      : await fetch(this.url('/sessions/whoami'), { headers: { accept: 'application/json', cookie: cookieOverride } });
    const body = await bodyOf(res);
    expectResponse('toSession', res.status, body);
    return { status: res.status, body };
  }
}
