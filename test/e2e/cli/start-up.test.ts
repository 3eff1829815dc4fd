/**
 * Issue 15, "Start-up": `idflow serve` with a port already in use printed the error and then hung (the database
 * pool, hash workers and courier kept the process alive); it now exits 1 within seconds naming the port and its
 * config key. An unreachable database is named too (DSN password redacted).
 */
import { describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli, type CliResult } from '../../support/cli.ts';

/** Runs the built CLI; kills it and reports `code: null` when it has not exited within `limitMs`. */
function runWithin(args: string[], env: Record<string, string>, limitMs: number): Promise<CliResult & { ms: number }> {
  const started = performance.now();
  const child = spawnCli(args, { env, cwd: mkdtempSync(join(tmpdir(), 'idflow-startup-')) });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr, ms: performance.now() - started });
  }));
}

function listening(): Promise<Server & { port: number }> {
  const server = createServer();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(Object.assign(server, { port: (server.address() as { port: number }).port }))));
}

describe('idflow serve start-up failures', () => {
  for (const which of ['public', 'admin', 'ui'] as const) {
    it(`exits 1 within seconds naming the port when serve.${which}.port is taken`, async () => {
      const holder = await listening();
      try {
        const env = { SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', SERVE_UI_PORT: '0', [`SERVE_${which.toUpperCase()}_PORT`]: String(holder.port) };
        const result = await runWithin(['serve', '--dev'], env, 15_000);
        expect(result.code, result.stderr).toBe(1);
        expect(result.ms).toBeLessThan(10_000);
        expect(result.stderr).toContain(`idflow serve: port ${holder.port} on 127.0.0.1 is already in use (serve.${which}.port)`);
      } finally {
        holder.close();
      }
    });
  }

  it('exits 1 within seconds naming an unreachable database, without its password', async () => {
    const closed = await listening();
    const port = closed.port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runWithin(['serve', '--dev'], { DSN: `postgres://idflow:hunter2-secret@127.0.0.1:${port}/idflow`, SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', SERVE_UI_PORT: '0' }, 20_000);
    expect(result.code, result.stderr).toBe(1);
    expect(result.ms).toBeLessThan(15_000);
    expect(result.stderr).toContain(`can not reach the database postgres://idflow:***@127.0.0.1:${port}/idflow`);
    expect(result.stderr + result.stdout).not.toContain('hunter2-secret');
  });

  it('refuses a cockroach:// DSN at start-up, naming CockroachDB and why (it is untested), without its password', async () => {
    for (const scheme of ['cockroach', 'cockroachdb']) {
      const dsn = `${scheme}://root:hunter2-secret@127.0.0.1:26257/defaultdb?sslmode=disable`;
      const serve = await runWithin(['serve', '--dev'], { DSN: dsn, SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', SERVE_UI_PORT: '0' }, 20_000);
      expect(serve.code, serve.stderr).toBe(1);
      expect(serve.stderr).toContain(`CockroachDB (${scheme}://) is not supported by idflow: it is untested`);
      expect(serve.stderr).toContain('use PostgreSQL (postgres://)');
      expect(serve.stderr + serve.stdout).not.toContain('hunter2-secret');
      // The other commands that take a DSN refuse it the same way.
      for (const args of [['migrate', 'sql', dsn, '--yes'], ['cleanup', 'sql', dsn]]) {
        const result = await runWithin(args, {}, 20_000);
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr).toContain(`CockroachDB (${scheme}://) is not supported`);
        expect(result.stderr).not.toContain('hunter2-secret');
      }
    }
  });
});
