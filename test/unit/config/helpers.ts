import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { stringify } from 'yaml';

export const COOKIE_SECRET = 'cookie-secret-at-least-16-chars';
export const CIPHER_SECRET = '0123456789abcdef0123456789abcdef'; // exactly 32

const dir = mkdtempSync(join(tmpdir(), 'idflow-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a fresh temp file ending in `name` and returns its path. */
export function tempFile(name: string, text: string): string {
  // Test files share this module (vitest runs them unisolated): another file's afterAll may have removed the folder.
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${Math.random().toString(36).slice(2)}-${name}`);
  writeFileSync(file, text);
  return file;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(target: Obj, patch: Obj): Obj {
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete target[key];
    else if (isObj(value) && isObj(target[key])) merge(target[key] as Obj, value);
    else target[key] = value;
  }
  return target;
}

/** A minimal valid config (with secrets); `patch` is deep-merged in (undefined deletes a key). */
export function minimalConfig(patch: Obj = {}): Obj {
  return merge(
    {
      dsn: 'memory',
      identity: { schemas: [{ id: 'default', url: 'file:///etc/idflow/identity.schema.json' }] },
      selfservice: { default_browser_return_url: 'http://127.0.0.1:4455/' },
      secrets: { cookie: [COOKIE_SECRET], cipher: [CIPHER_SECRET] },
    },
    patch,
  );
}

/** Writes minimalConfig(patch) as a YAML file named `name` and returns its path. */
export function yamlFile(patch: Obj = {}, name = 'kratos.yml'): string {
  return tempFile(name, stringify(minimalConfig(patch)));
}
