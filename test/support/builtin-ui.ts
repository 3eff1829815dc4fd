import type { Overlay } from './server.ts';

/** A test server's config with idflow's own UI at `ui` (http://127.0.0.1:PORT) and every flow's ui_url pointing at it. */
export function builtInUiOverlay(ui: string): Overlay {
  return {
    serve: { ui: { enabled: true, host: '127.0.0.1', port: Number(new URL(ui).port) } },
    selfservice: {
      default_browser_return_url: `${ui}/`,
      allowed_return_urls: [ui],
      methods: { password: { config: { haveibeenpwned_enabled: false } } },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login` },
        registration: { ui_url: `${ui}/registration`, after: { password: { hooks: [{ hook: 'session' }] } } },
        settings: { ui_url: `${ui}/settings` },
        recovery: { enabled: true, use: 'code', ui_url: `${ui}/recovery` },
        verification: { enabled: true, use: 'code', ui_url: `${ui}/verification` },
      },
    },
  };
}
