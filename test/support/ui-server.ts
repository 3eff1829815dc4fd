/**
 * A tiny self-service UI, shaped like Ory's kratos-selfservice-ui-node: it renders idflow's browser flows as plain
 * HTML forms so a real browser can drive them.
 *
 * - `/registration?flow=<id>`, `/login?flow=<id>`, `/settings?flow=<id>`: the flow is fetched server-side from idflow's
 *   public API (`/self-service/<kind>/flows?id=`) with the browser's Cookie header forwarded and
 *   `Accept: application/json`, then rendered as `<form action="{ui.action}" method="{ui.method}">` with one `<input>`
 *   per input node (name, type, value, required) and submit nodes as `<button name value>`; `ui.messages` and node
 *   messages are rendered as text (settings: one form per method group). Without `?flow=`, or when the flow can't be read (CSRF mismatch, expired, unknown),
 *   the browser is sent to `/self-service/<kind>/browser` to start a new one, as the Ory UI does.
 * - `/error?id=<id>`: the stored error from `/self-service/errors`.
 * - `/welcome`: "welcome", the identity from `/sessions/whoami` and a logout link from `/self-service/logout/browser`
 *   (both fetched server-side with the forwarded cookies).
 * - `/logged-out`: a plain page.
 *
 * idflow and this UI share the host 127.0.0.1 on different ports; cookies ignore ports, so the browser sends idflow's
 * cookies here too and the UI can forward them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = any;

export interface UiServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** Points the UI at idflow's public API (known only after idflow started with this UI's URLs in its config). */
  setPublicUrl(publicUrl: string): void;
  /** Every request the UI served, as `METHOD path?query` (for diagnostics). */
  requests: string[];
  close(): Promise<void>;
}

const FLOW_PAGES = new Set(['login', 'registration', 'settings']);

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

function messagesHtml(messages: Json[] | undefined, className: string): string {
  return (messages ?? [])
    .map((m) => `<p class="${className}" data-message-id="${escapeHtml(m.id)}" data-message-type="${escapeHtml(m.type)}">${escapeHtml(m.text)}</p>`)
    .join('');
}

/** One UI node as HTML: inputs, submit buttons, and text for the other node types. */
function nodeHtml(node: Json): string {
  const a = node.attributes ?? {};
  const label = node.meta?.label?.text;
  const messages = messagesHtml(node.messages, 'node-message');
  if (a.node_type === 'input') {
    if (a.type === 'submit' || a.type === 'button') {
      return `<button type="submit" name="${escapeHtml(a.name)}" value="${escapeHtml(a.value)}" data-group="${escapeHtml(node.group)}">${escapeHtml(label ?? a.value)}</button>${messages}`;
    }
    const attrs = [
      `name="${escapeHtml(a.name)}"`,
      `type="${escapeHtml(a.type)}"`,
      a.value !== undefined && a.value !== null ? `value="${escapeHtml(a.value)}"` : '',
      a.required ? 'required' : '',
      a.disabled ? 'disabled' : '',
      a.autocomplete ? `autocomplete="${escapeHtml(a.autocomplete)}"` : '',
      a.pattern ? `pattern="${escapeHtml(a.pattern)}"` : '',
      `data-group="${escapeHtml(node.group)}"`,
    ].filter(Boolean).join(' ');
    if (a.type === 'hidden') return `<input ${attrs}>${messages}`;
    return `<label>${label ? `<span>${escapeHtml(label)}</span>` : ''}<input ${attrs}></label>${messages}`;
  }
  if (a.node_type === 'text') return `<p class="text" id="${escapeHtml(a.id)}">${escapeHtml(a.text?.text)}</p>${messages}`;
  if (a.node_type === 'a') return `<a id="${escapeHtml(a.id)}" href="${escapeHtml(a.href)}">${escapeHtml(a.title?.text)}</a>${messages}`;
  return messages;
}

/**
 * The flow as HTML. Login and registration are one form; settings gets one form per method group (each carrying the
 * default-group nodes such as csrf_token), as the Ory UIs do, so saving the profile doesn't need the password field.
 */
export function renderFlow(kind: string, flow: Json): string {
  const ui = flow.ui;
  const nodes = ui.nodes as Json[];
  const form = (id: string, list: Json[]) =>
    `<form id="${escapeHtml(id)}" action="${escapeHtml(ui.action)}" method="${escapeHtml(String(ui.method).toLowerCase())}">`
    + list.map(nodeHtml).join('')
    + '</form>';
  let forms: string;
  if (kind === 'settings') {
    const defaults = nodes.filter((n) => n.group === 'default');
    const groups = [...new Set(nodes.map((n) => n.group as string).filter((g) => g !== 'default'))];
    forms = groups.map((g) => form(`flow-${g}`, [...defaults, ...nodes.filter((n) => n.group === g)])).join('');
  } else {
    forms = form('flow', nodes);
  }
  return page(kind, `<h1>${escapeHtml(kind)}</h1><div id="messages">${messagesHtml(ui.messages, 'ui-message')}</div>${forms}`);
}

export async function startUiServer(): Promise<UiServer> {
  let publicUrl: string | undefined;
  const requests: string[] = [];

  const api = (path: string, req: IncomingMessage) => {
    if (!publicUrl) throw new Error('ui-server: setPublicUrl() was not called');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.headers.cookie) headers.cookie = req.headers.cookie;
    return fetch(new URL(path.replace(/^\//, ''), publicUrl), { headers, redirect: 'manual' });
  };
  const send = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  };
  const redirect = (res: ServerResponse, to: string) => {
    res.writeHead(303, { location: to });
    res.end();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const name = url.pathname.replace(/^\//, '');

    if (FLOW_PAGES.has(name)) {
      const id = url.searchParams.get('flow');
      const init = new URL(`self-service/${name}/browser`, publicUrl).toString();
      if (!id) return redirect(res, init);
      const flowRes = await api(`/self-service/${name}/flows?id=${encodeURIComponent(id)}`, req);
      if (flowRes.status !== 200) {
        // Expired, unknown or not this browser's flow: start over, as the Ory UI does.
        await flowRes.body?.cancel();
        return redirect(res, init);
      }
      return send(res, 200, renderFlow(name, await flowRes.json()));
    }

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
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
