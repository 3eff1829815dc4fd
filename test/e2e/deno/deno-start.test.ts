/**
 * idflow on Deno (issue 18): `deno task start` (deno.json) serves the default SQLite configuration through the same
 * node_modules as Node (libsql is a Node-API add-on, which Deno loads), and a person can register, log in and ask
 * whoami. Skipped, with the reason printed, only where no deno can be had; CI must run it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/cli.ts';
import { findDeno } from '../../support/deno.ts';

const found = await findDeno();
const missing = 'missing' in found ? found.missing : undefined;
if (missing) {
  if (process.env.CI) throw new Error(`CI runs the Deno smoke test: ${missing}`);
  console.warn(`Skipping the Deno smoke test: ${missing}`);
}

describe.skipIf(missing)('idflow on Deno: deno task start', () => {
  let child: ChildProcess;
  let dir: string;
  let stderr = '';
  let publicUrl = '';

  /**
   * `deno task start` until idflow listens. Deno 2.9.6 itself, on a DENO_DIR it has never used, sometimes never gets
   * there: seen here in four of seven first runs, the `deno run` process with its main thread in a futex wait and no
   * output for minutes, its stack holding the URL of node_modules/generator-function/require.mjs (a `require()` of an
   * ES module, from get-intrinsic under Express's qs, that Deno's synchronous loader deadlocks on while its cache is
   * cold); every other start took 1.5-2 s. So a start that shows nothing for START_MS is stopped and tried once more
   * (README: the same advice for users), and the first attempt's output is kept for the report.
   */
  const START_MS = 50_000;
  async function start(): Promise<string> {
    stderr = '';
    child = spawn((found as { deno: string }).deno, ['task', 'start'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DENO_DIR: process.env.DENO_DIR ?? join(repoRoot, 'node_modules', '.cache', 'deno-dir'),
        NO_COLOR: '1',
        // Deno's own check for a newer release would look up and call dl.deno.land: traffic off this machine.
        DENO_NO_UPDATE_CHECK: '1',
        // the default configuration (SQLite), in a file of this test's own and on ports the OS picks
        DSN: `sqlite://${join(dir, 'idflow.sqlite')}`,
        SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', SERVE_UI_PORT: '0',
        SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED: 'false', // no network here
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`idflow did not start on Deno within ${START_MS} ms: ${stderr}`)), START_MS);
      const onData = (d: Buffer) => {
        stderr += d;
        const match = /"msg":"public API listening","address":"([^"]+)"/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`deno exited (${code}): ${stderr}`));
      });
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idflow-deno-'));
    try {
      publicUrl = await start();
    } catch (first) {
      if (child.exitCode !== null) throw first; // deno itself gave up: that is an answer, not a stall
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      console.warn(`Deno start-up stalled; trying once more. ${(first as Error).message}`);
      publicUrl = await start();
    }
  }, 2 * START_MS + 10_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function call(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const res = await fetch(publicUrl + path, { ...init, headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...init.headers } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  it('registers, logs in and answers whoami, on the SQLite default', async () => {
    expect(stderr).toContain('applied database migrations');
    const email = 'deno@example.com';
    const password = 'a deno passphrase 8812';
    const registration = await call('/self-service/registration/api');
    expect(registration.status).toBe(200);
    const registered = await call(`/self-service/registration?flow=${registration.body.id}`, {
      method: 'POST', body: JSON.stringify({ method: 'password', traits: { email }, password }),
    });
    expect(registered.status).toBe(200);
    expect(registered.body.identity.traits.email).toBe(email);

    const login = await call('/self-service/login/api');
    const loggedIn = await call(`/self-service/login?flow=${login.body.id}`, {
      method: 'POST', body: JSON.stringify({ method: 'password', identifier: email, password }),
    });
    expect(loggedIn.status).toBe(200);
    const token = loggedIn.body.session_token as string;
    expect(token).toMatch(/^ory_st_/);

    const whoami = await call('/sessions/whoami', { headers: { 'X-Session-Token': token } });
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({ active: true, identity: { id: registered.body.identity.id, traits: { email } } });
    expect((await call('/sessions/whoami', { headers: { 'X-Session-Token': 'ory_st_' + 'x'.repeat(32) } })).status).toBe(401);
  });
});
