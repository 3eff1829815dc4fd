/**
 * A tiny self-service UI, shaped like Ory's kratos-selfservice-ui-node: it renders idflow's browser flows as plain
 * HTML forms so a real browser can drive them.
 *
 * - `/login`, `/registration`, `/settings`, `/recovery`, `/verification` `?flow=<id>`: the flow is fetched server-side
 *   from idflow's public API (`/self-service/<kind>/flows?id=`) with the browser's Cookie header forwarded and
 *   `Accept: application/json` (the reference UI's `frontend.get<Kind>Flow({ id, cookie })`), then rendered as
 *   `<form action="{ui.action}" method="{ui.method}">` holding every node (see `nodeHtml`); `ui.messages` and node
 *   messages are rendered as text (settings: one form per method group). Without `?flow=`, or when the flow can't be
 *   read (CSRF mismatch, expired, unknown), the browser is sent to `/self-service/<kind>/browser` to start a new one,
 *   keeping `?return_to=`, as the Ory UI's `redirectOnSoftError` does. Every such server-side call is logged in
 *   `apiCalls` with its status, so a test can tell "the flow was read" from "the UI silently started over".
 *   `&checkbox=plain` renders checkboxes without a `value` attribute (a browser then submits `on`), as a UI that does
 *   not follow Ory's `value="true"` convention would.
 * - `/spa`: an "SPA mode" page with no server-side rendering: its script (`window.spa.call`) talks to idflow with the
 *   browser's own `fetch()` (`credentials: 'include'`, `Accept: application/json`). idflow has no CORS, so this server
 *   also tunnels `/self-service/*` and `/sessions/*` to idflow byte for byte (status and raw headers, every
 *   `Set-Cookie` included), as `ory tunnel` does for SPAs: the page and the API share an origin.
 * - `/error?id=<id>`: the stored error from `/self-service/errors`.
 * - `/welcome`: "welcome", the identity from `/sessions/whoami` and a logout link from `/self-service/logout/browser`
 *   (both fetched server-side with the forwarded cookies). Any query (a `return_to` target) is ignored.
 * - `/logged-out`: a plain page.
 *
 * idflow and this UI share the host 127.0.0.1 on different ports; cookies ignore ports, so the browser sends idflow's
 * cookies here too and the UI can forward them.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml } from '../../src/http/ui/html.ts';

export { escapeHtml };

type Json = any;

export interface UiServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** Points the UI at idflow's public API (known only after idflow started with this UI's URLs in its config). */
  setPublicUrl(publicUrl: string): void;
  /** Every request the UI served, as `METHOD path?query` (for diagnostics). */
  requests: string[];
  /** Every server-side call the UI made to idflow, in order; `error` is the error id of a non-200 JSON answer. */
  apiCalls: Array<{ path: string; status: number; error?: string }>;
  close(): Promise<void>;
}

export interface RenderOptions {
  /** Checkboxes without `value` (the browser then submits `on`) instead of `value="true"`. */
  plainCheckboxes?: boolean;
}

const FLOW_PAGES = new Set(['login', 'registration', 'settings', 'recovery', 'verification']);
/** Paths the SPA tunnel forwards to idflow. */
const TUNNELLED = /^\/(self-service|sessions)\//;


/**
 * After the page (and the async webauthn.js) loaded, nodes' triggers are wired as Ory's UIs do: a click on a node with
 * `onclickTrigger` calls `window[trigger]()`, a node with `onloadTrigger` calls it at once.
 */
const TRIGGERS = `<script>window.addEventListener('load', () => {
  document.querySelectorAll('[data-onclick-trigger]').forEach((el) => el.addEventListener('click', () => window[el.dataset.onclickTrigger]()));
  document.querySelectorAll('[data-onload-trigger]').forEach((el) => window[el.dataset.onloadTrigger]());
});</script>`;

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}${TRIGGERS}</body></html>`;
}

/** Messages as `<p data-message-id data-message-type data-context>text</p>` (context as JSON, for assertions). */
function messagesHtml(messages: Json[] | undefined, className: string): string {
  return (messages ?? [])
    .map((m) => `<p class="${className}" data-message-id="${escapeHtml(m.id)}" data-message-type="${escapeHtml(m.type)}"`
      + `${m.context ? ` data-context="${escapeHtml(JSON.stringify(m.context))}"` : ''}>${escapeHtml(m.text)}</p>`)
    .join('');
}

/** A node value as an HTML attribute, the way a browser stringifies it (arrays comma-joined, objects as JSON). */
function inputValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * One UI node as HTML, for every node type Kratos sends:
 * - input: `hidden` as a bare `<input>`; `submit`/`button` as `<button type="submit" name value formnovalidate>`
 *   (idflow validates, not the browser: Kratos's own e2e strips `required`/`type` to reach the server the same way);
 *   `checkbox` as `<input type="checkbox" value="true">`, checked when the node's value is `true` (or without `value`
 *   with `plainCheckboxes`); any other type as a labelled `<input>` with name, type, value, required, disabled,
 *   autocomplete, pattern and maxlength.
 * - text: `<p class="text" id data-text-id>`; a (anchor): `<a id href>` titled by `attributes.title`; img:
 *   `<img id src width height alt="{label}">`;
 *   script: `<script src async …>` as the Ory UIs inject it; div: `<div id>`.
 * Labels carry `data-label-id` (the message id of `meta.label`). Each node and its messages sit in
 * `<div class="node" data-node="{name or id}">`, so a test can ask for the messages of one node.
 */
export function nodeHtml(node: Json, options: RenderOptions = {}): string {
  const a = node.attributes ?? {};
  return `<div class="node" data-node="${escapeHtml(a.node_type === 'input' ? a.name : a.id)}">${nodeElementHtml(node, options)}</div>`;
}

function nodeElementHtml(node: Json, options: RenderOptions): string {
  const a = node.attributes ?? {};
  const labelMessage = node.meta?.label;
  const label = labelMessage?.text;
  const labelId = labelMessage?.id !== undefined ? ` data-label-id="${escapeHtml(labelMessage.id)}"` : '';
  const messages = messagesHtml(node.messages, 'node-message');
  const group = ` data-group="${escapeHtml(node.group)}"`;
  switch (a.node_type) {
    case 'input': {
      if (a.type === 'submit' || a.type === 'button') {
        // A `button` (WebAuthn / passkey triggers) does not submit: the page wires its `onclickTrigger` (see page()).
        const trigger = a.onclickTrigger ? ` data-onclick-trigger="${escapeHtml(a.onclickTrigger)}"` : '';
        return `<button type="${a.type === 'button' ? 'button' : 'submit'}" name="${escapeHtml(a.name)}" value="${escapeHtml(inputValue(a.value))}" formnovalidate${group}${labelId}${trigger}`
          + `${a.disabled ? ' disabled' : ''}>${escapeHtml(label ?? a.value)}</button>${messages}`;
      }
      const checkbox = a.type === 'checkbox';
      const value = checkbox ? (options.plainCheckboxes ? undefined : 'true') : inputValue(a.value);
      const attrs = [
        `name="${escapeHtml(a.name)}"`,
        `type="${escapeHtml(a.type)}"`,
        value !== undefined ? `value="${escapeHtml(value)}"` : '',
        checkbox && a.value === true ? 'checked' : '',
        a.required ? 'required' : '',
        a.disabled ? 'disabled' : '',
        a.autocomplete ? `autocomplete="${escapeHtml(a.autocomplete)}"` : '',
        a.pattern ? `pattern="${escapeHtml(a.pattern)}"` : '',
        a.maxlength ? `maxlength="${escapeHtml(a.maxlength)}"` : '',
        a.onloadTrigger ? `data-onload-trigger="${escapeHtml(a.onloadTrigger)}"` : '',
      ].filter(Boolean).join(' ') + group;
      if (a.type === 'hidden') return `<input ${attrs}>${messages}`;
      return `<label${labelId}>${label ? `<span>${escapeHtml(label)}</span>` : ''}<input ${attrs}></label>${messages}`;
    }
    case 'text':
      return `<p class="text" id="${escapeHtml(a.id)}" data-text-id="${escapeHtml(a.text?.id)}"${group}${labelId}>${escapeHtml(a.text?.text)}</p>${messages}`;
    case 'a':
      return `<a id="${escapeHtml(a.id)}" href="${escapeHtml(a.href)}" data-title-id="${escapeHtml(a.title?.id)}"${group}>${escapeHtml(a.title?.text)}</a>${messages}`;
    case 'img':
      return `<img id="${escapeHtml(a.id)}" src="${escapeHtml(a.src)}" width="${escapeHtml(a.width)}" height="${escapeHtml(a.height)}" alt="${escapeHtml(label)}"${group}${labelId}>${messages}`;
    case 'script':
      return `<script src="${escapeHtml(a.src)}" id="${escapeHtml(a.id)}" type="${escapeHtml(a.type)}" async`
        + `${a.integrity ? ` integrity="${escapeHtml(a.integrity)}"` : ''}${a.crossorigin ? ` crossorigin="${escapeHtml(a.crossorigin)}"` : ''}`
        + `${a.referrerpolicy ? ` referrerpolicy="${escapeHtml(a.referrerpolicy)}"` : ''}${a.nonce ? ` nonce="${escapeHtml(a.nonce)}"` : ''}></script>${messages}`;
    case 'div':
      return `<div id="${escapeHtml(a.id)}" class="${escapeHtml(a.class)}"${group}></div>${messages}`;
    default:
      return messages;
  }
}

/**
 * The flow as HTML. Most flows are one form; settings gets one form per method group (each carrying the
 * default-group nodes such as csrf_token), as the Ory UIs do, so saving the profile doesn't need the password field.
 * `#flow-meta` carries the flow's id, state and return_to.
 */
export function renderFlow(kind: string, flow: Json, options: RenderOptions = {}): string {
  const ui = flow.ui;
  const nodes = ui.nodes as Json[];
  const form = (id: string, list: Json[]) =>
    `<form id="${escapeHtml(id)}" action="${escapeHtml(ui.action)}" method="${escapeHtml(String(ui.method).toLowerCase())}">`
    + list.map((n) => nodeHtml(n, options)).join('')
    + '</form>';
  let forms: string;
  if (kind === 'settings') {
    const defaults = nodes.filter((n) => n.group === 'default');
    const groups = [...new Set(nodes.map((n) => n.group as string).filter((g) => g !== 'default'))];
    forms = groups.map((g) => form(`flow-${g}`, [...defaults, ...nodes.filter((n) => n.group === g)])).join('');
  } else {
    forms = form('flow', nodes);
  }
  const meta = `<div id="flow-meta" data-flow-id="${escapeHtml(flow.id)}" data-state="${escapeHtml(flow.state)}" data-return-to="${escapeHtml(flow.return_to)}"></div>`;
  return page(kind, `<h1>${escapeHtml(kind)}</h1>${meta}<div id="messages">${messagesHtml(ui.messages, 'ui-message')}</div>${forms}`);
}

/**
 * The SPA page: no flow rendering, just `window.spa.call(path, { method, json, form })`, which fetches `path` (same
 * origin, tunnelled to idflow) with `credentials: 'include'` and `Accept: application/json` and resolves to
 * `{ status, url, body }` (body parsed as JSON when it is JSON). `form` is a list of `[key, value]` pairs sent as
 * application/x-www-form-urlencoded (repeated keys allowed).
 */
function spaPage(): string {
  const script = `
window.spa = {
  async call(path, options = {}) {
    const headers = { Accept: 'application/json' };
    let body;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      body = new URLSearchParams(options.form);
    }
    const res = await fetch(path, { method: options.method || 'GET', headers, body, credentials: 'include' });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch {}
    return { status: res.status, url: res.url, body: parsed };
  },
};
document.getElementById('ready').textContent = 'ready';`;
  return page('spa', `<h1>spa</h1><p id="ready"></p><script>${script}</script>`);
}

export async function startUiServer(): Promise<UiServer> {
  let publicUrl: string | undefined;
  const requests: string[] = [];
  const apiCalls: UiServer['apiCalls'] = [];

  const api = async (path: string, req: IncomingMessage) => {
    if (!publicUrl) throw new Error('ui-server: setPublicUrl() was not called');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.headers.cookie) headers.cookie = req.headers.cookie;
    const res = await fetch(new URL(path.replace(/^\//, ''), publicUrl), { headers, redirect: 'manual' });
    apiCalls.push({ path, status: res.status });
    return res;
  };
  const send = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  };
  const redirect = (res: ServerResponse, to: string) => {
    res.writeHead(303, { location: to });
    res.end();
  };

  /** Forwards the request to idflow unchanged (but for Host) and its answer back unchanged (raw headers). */
  const tunnel = (req: IncomingMessage, res: ServerResponse) => new Promise<void>((resolve, reject) => {
    if (!publicUrl) throw new Error('ui-server: setPublicUrl() was not called');
    const target = new URL((req.url ?? '/').replace(/^\//, ''), publicUrl);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && name !== 'host' && name !== 'connection') headers[name] = value;
    }
    headers.host = target.host;
    const upstream = httpRequest(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    req.pipe(upstream);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (TUNNELLED.test(url.pathname)) return tunnel(req, res);
    const name = url.pathname.replace(/^\//, '');

    if (FLOW_PAGES.has(name)) {
      const id = url.searchParams.get('flow');
      const returnTo = url.searchParams.get('return_to');
      const init = new URL(`self-service/${name}/browser${returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : ''}`, publicUrl).toString();
      if (!id) return redirect(res, init);
      const flowRes = await api(`/self-service/${name}/flows?id=${encodeURIComponent(id)}`, req);
      if (flowRes.status !== 200) {
        // Expired, unknown or not this browser's flow: start over, as the Ory UI does.
        const failed = await flowRes.json().catch(() => undefined);
        apiCalls[apiCalls.length - 1].error = failed?.error?.id ?? failed?.error?.reason;
        return redirect(res, init);
      }
      return send(res, 200, renderFlow(name, await flowRes.json(), { plainCheckboxes: url.searchParams.get('checkbox') === 'plain' }));
    }

    if (name === 'spa') return send(res, 200, spaPage());

    if (name === 'error') {
      const errRes = await api(`/self-service/errors?id=${encodeURIComponent(url.searchParams.get('id') ?? '')}`, req);
      const body = await errRes.text();
      return send(res, 200, page('error', `<h1>error</h1><pre id="error">${escapeHtml(body)}</pre>`));
    }

    if (name === 'welcome') {
      const who = await api('/sessions/whoami', req);
      const session = who.status === 200 ? await who.json() : undefined;
      if (who.status !== 200) await who.body?.cancel();
      const logout = session ? await api('/self-service/logout/browser', req) : undefined;
      const logoutUrl = logout?.status === 200 ? (await logout.json()).logout_url : undefined;
      if (logout && logout.status !== 200) await logout.body?.cancel();
      return send(res, 200, page('welcome', '<h1 id="welcome">welcome</h1>'
        + (session ? `<p id="identity" data-identity-id="${escapeHtml(session.identity.id)}">${escapeHtml(session.identity.traits.email)}</p>` : '<p id="anonymous">not signed in</p>')
        + (logoutUrl ? `<a id="logout" href="${escapeHtml(logoutUrl)}">Log out</a>` : '')));
    }

    if (name === 'logged-out') return send(res, 200, page('logged out', '<h1 id="logged-out">signed out</h1>'));
    send(res, 404, page('not found', '<h1>not found</h1>'));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, page('ui error', `<pre id="ui-error">${escapeHtml(err instanceof Error ? err.stack : err)}</pre>`));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setPublicUrl(value: string) {
      publicUrl = value.endsWith('/') ? value : `${value}/`;
    },
    requests,
    apiCalls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
