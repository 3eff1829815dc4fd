import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli } from '../../support/cli.ts';
import { version } from '../../../src/version.ts';

describe('idflow CLI', () => {
  it('prints the version and help for every command', async () => {
    expect(await runCli(['version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    for (const args of [['--help'], ['serve', '--help'], ['migrate', '--help'], ['identities', '--help'], ['version', '--help']]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage:/);
    }
  });

  it('exits 1 with a one-line reason on errors', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('unknown command');

    const dir = mkdtempSync(join(tmpdir(), 'idflow-cli-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'serve:\n  public:\n    port: "abc"\ndsn: memory\n');
    const badConfig = await runCli(['serve', '--config', bad]);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain('serve.public.port');
    expect(badConfig.stderr.trim().split('\n')).toHaveLength(1);

    const noSecrets = join(dir, 'nosecrets.yml');
    writeFileSync(noSecrets, 'dsn: memory\nidentity:\n  default_schema_id: default\n  schemas:\n    - id: default\n      url: base64://eyJ0eXBlIjoib2JqZWN0IiwicHJvcGVydGllcyI6eyJ0cmFpdHMiOnsidHlwZSI6Im9iamVjdCIsInByb3BlcnRpZXMiOnsiZW1haWwiOnsidHlwZSI6InN0cmluZyJ9fX19fQ\nselfservice:\n  default_browser_return_url: http://127.0.0.1:4455/\n');
    const refused = await runCli(['serve', '--config', noSecrets]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/secrets/);
  });

  it('migrates a database with `migrate sql --yes`, idempotently, and serve refuses a non-migrated one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idflow-cli-'));
    const dsn = `sqlite://${join(dir, 'db.sqlite')}?_fk=true&mode=rwc`;
    const status = await runCli(['migrate', 'status', dsn]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^pending\s+Migration/m);

    const config = join(dir, 'idflow.yml');
    writeFileSync(config, [
      `dsn: "${dsn}"`,
      'serve: { public: { host: 127.0.0.1, port: 0 }, admin: { host: 127.0.0.1, port: 0 } }',
      'secrets: { cookie: ["0123456789abcdef0123"], cipher: ["0123456789abcdef0123456789abcdef"] }',
      'identity:', '  default_schema_id: default', '  schemas:', `    - { id: default, url: "file://${join(process.cwd(), 'schemas/default.schema.json')}" }`,
      'selfservice: { default_browser_return_url: "http://127.0.0.1:4455/" }',
    ].join('\n'));
    const notMigrated = await runCli(['serve', '--config', config]);
    expect(notMigrated.code).toBe(1);
    expect(notMigrated.stderr).toContain('idflow migrate sql');

    const withoutYes = await runCli(['migrate', 'sql', dsn]);
    expect(withoutYes.code).toBe(1);
    expect(withoutYes.stderr).toContain('--yes');

    const first = await runCli(['migrate', 'sql', dsn, '--yes']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Applied \d+ migration/);
    const second = await runCli(['migrate', 'sql', '-e', '--yes'], { env: { DSN: dsn } });
    expect(second).toMatchObject({ code: 0 });
    expect(second.stdout).toContain('up to date');
  });

  it('serves the built-in default config on SQLite under ./data and shuts down gracefully on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'idflow-start-'));
    const child = spawnCli(['serve', '--dev'], { cwd, env: { SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', SERVE_UI_PORT: '0', LOG_LEVEL: 'info' } });
    let stderr = '';
    const adminUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000);
      child.stderr!.on('data', (d) => {
        stderr += d;
        const match = /"msg":"admin API listening","address":"([^"]+)"/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.on('exit', () => reject(new Error(`server exited: ${stderr}`)));
    });
    expect(stderr).toMatch(/dev mode/i);
    expect(existsSync(join(cwd, 'data', 'idflow.sqlite'))).toBe(true);
    // The built-in config serves idflow's own UI; its start page works (and offers the development mail viewer).
    let uiUrl: string | undefined;
    for (let i = 0; i < 100 && !uiUrl; i++) {
      uiUrl = /"msg":"self-service UI listening","address":"([^"]+)"/.exec(stderr)?.[1];
      if (!uiUrl) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const home = await fetch(`${uiUrl}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('href="/mail"');

    // A request whose body is still arriving when SIGTERM comes must be completed, not dropped.
    const body = JSON.stringify({ schema_id: 'default', traits: { email: 'in-flight@example.com' } });
    const url = new URL('/admin/identities', adminUrl);
    const { request } = await import('node:http');
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    expect(await inFlight).toBe(201);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).toContain('server stopped');
  });
});
