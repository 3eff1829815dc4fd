import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/x/paths.ts';

/** How messages name the built-in default config (where a file name would otherwise go). */
export const BUILT_IN_CONFIG_NAME = 'the built-in default config';

/** The local self-service UI the built-in config points at (Kratos quickstart's port). */
const UI = 'http://127.0.0.1:4455';

/**
 * The built-in config `idflow serve` uses when no `--config` is given (what `npm start` runs, with `--dev`):
 * SQLite under ./data, both APIs on 127.0.0.1, the bundled identity schema, a UI on 127.0.0.1:4455 and a local
 * mail catcher on 127.0.0.1:1025. It has no secrets, so it only starts with `--dev` (which generates them) or with
 * SECRETS_COOKIE / SECRETS_CIPHER in the environment.
 *
 * This is raw input (like a parsed kratos.yml): schema defaults and env overrides are applied by loadConfig.
 * Returns a fresh object on every call.
 */
export function defaultConfig(): Record<string, unknown> {
  return {
    dsn: 'sqlite://./data/idflow.sqlite?_fk=true&mode=rwc',
    serve: {
      public: { host: '127.0.0.1', port: 4433 },
      admin: { host: '127.0.0.1', port: 4434 },
      // idflow's own UI, where the ui_urls below point (`idflow serve --no-ui` turns it off).
      ui: { enabled: true, host: '127.0.0.1', port: 4455 },
    },
    identity: {
      default_schema_id: 'default',
      schemas: [{ id: 'default', url: pathToFileURL(join(packageRoot, 'schemas', 'default.schema.json')).href }],
    },
    selfservice: {
      default_browser_return_url: `${UI}/`,
      allowed_return_urls: [UI],
      flows: {
        error: { ui_url: `${UI}/error` },
        login: { ui_url: `${UI}/login` },
        registration: {
          ui_url: `${UI}/registration`,
          // As in Kratos's quickstart: signing up with a password signs the new identity in (native flows get a session token).
          after: { password: { hooks: [{ hook: 'session' }] } },
        },
        settings: { ui_url: `${UI}/settings` },
        recovery: { enabled: true, use: 'code', ui_url: `${UI}/recovery` },
        verification: { enabled: true, use: 'code', ui_url: `${UI}/verification` },
      },
    },
    courier: {
      smtp: { connection_uri: 'smtp://127.0.0.1:1025/?disable_starttls=true' },
    },
  };
}
