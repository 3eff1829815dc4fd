/**
 * idflow's own self-service UI (`serve.ui`): server-rendered pages that read flows from idflow's public API the way
 * Ory's kratos-selfservice-ui-node does — the browser's cookies forwarded, `Accept: application/json` — and render
 * them with ui-pages.ts. Forms post to the public API itself, which redirects back here. A flow that can't be read
 * (expired, another browser's, unknown) starts a new one. `/mail` lists what the courier queued, with `--dev` only.
 */
import express, { type Express, type Request, type Response } from 'express';
import type { Registry } from '../../registry.ts';
import { errorPage, flowPage, homePage, layout, mailPage, type FlowPageKind } from './ui-pages.ts';
import { html, type Html } from './html.ts';

type Json = any;
const FLOW_KINDS: readonly FlowPageKind[] = ['login', 'registration', 'settings', 'recovery', 'verification'];
/** Query parameters a flow's init endpoint takes that the UI passes through. */
const INIT_PARAMS = ['return_to', 'aal', 'refresh', 'via', 'login_challenge', 'organization'];

interface ApiAnswer {
  status: number;
  body: Json;
}

export function createUiApp(registry: Pick<Registry, 'urls' | 'config' | 'courier'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' });
    next();
  });

  const publicUrl = (path: string) => new URL(path.replace(/^\//, ''), registry.urls.public).toString();
  /** A GET on the public API as the browser (its cookies), JSON wanted. */
  async function api(req: Request, path: string): Promise<ApiAnswer> {
    const res = await fetch(publicUrl(path), { headers: { accept: 'application/json', ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}) }, redirect: 'manual' });
    const text = await res.text();
    let body: Json;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  }
  const send = (res: Response, status: number, page: Html) => res.status(status).type('html').send(page.text);
  const signedIn = async (req: Request) => (await api(req, '/sessions/whoami')).status === 200;

  app.get('/', async (req, res) => {
    const whoami = await api(req, '/sessions/whoami');
    if (whoami.status === 403 && whoami.body?.error?.id === 'session_aal2_required') return res.redirect(303, '/login?aal=aal2');
    send(res, 200, homePage(whoami.status === 200 ? whoami.body : undefined, { mailViewer: registry.config.dev }));
  });

  for (const kind of FLOW_KINDS) {
    app.get(`/${kind}`, async (req, res) => {
      const flowId = typeof req.query.flow === 'string' ? req.query.flow : undefined;
      const init = () => {
        const params = new URLSearchParams();
        for (const key of INIT_PARAMS) if (typeof req.query[key] === 'string') params.set(key, req.query[key] as string);
        const query = params.toString();
        res.redirect(303, publicUrl(`/self-service/${kind}/browser${query ? `?${query}` : ''}`));
      };
      if (!flowId) return init();
      const flow = await api(req, `/self-service/${kind}/flows?id=${encodeURIComponent(flowId)}`);
      if (flow.status === 200) return send(res, 200, flowPage(kind, flow.body, kind === 'settings' || (await signedIn(req))));
      // Kratos's answers that send the browser on (a settings flow that needs a login first, aal2 ...).
      const to = flow.body?.redirect_browser_to ?? flow.body?.error?.details?.redirect_to;
      if (typeof to === 'string' && /^https?:\/\//.test(to)) return res.redirect(303, to);
      // Expired, unknown or another browser's flow: start over, as Ory's UI does.
      return init();
    });
  }

  app.get('/error', async (req, res) => {
    const id = typeof req.query.id === 'string' ? req.query.id : '';
    const error = id ? await api(req, `/self-service/errors?id=${encodeURIComponent(id)}`) : undefined;
    send(res, 200, errorPage(error?.status === 200 ? error.body : undefined));
  });

  app.get('/logout', async (req, res) => {
    const logout = await api(req, '/self-service/logout/browser');
    if (logout.status === 200 && typeof logout.body?.logout_url === 'string') return res.redirect(303, logout.body.logout_url);
    res.redirect(303, '/');
  });

  app.get('/logged-out', (_req, res) => res.redirect(303, '/'));

  app.get('/mail', async (_req, res) => {
    if (!registry.config.dev) return send(res, 404, layout('Not found', html`<h1>Not found</h1>`));
    const list = await registry.courier.queue.list({ limit: 50 });
    send(res, 200, mailPage(list));
  });

  app.use((_req: Request, res: Response) => send(res, 404, layout('Not found', html`<h1>Not found</h1><p><a href="/">Start over</a></p>`)));
  return app;
}
