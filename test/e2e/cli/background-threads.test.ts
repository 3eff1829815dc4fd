/**
 * `idflow serve` gives the event loop the cores first: once it listens, every thread of the process but the main one
 * (libuv's pool, where native password hashes run; V8's helpers) runs at nice 10, the main thread at the default 0.
 * Linux only (elsewhere a nice value is per process and nothing is changed).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli, repoRoot } from '../../support/cli.ts';
import { TEST_SECRETS } from '../../support/server.ts';
import { BACKGROUND_NICE } from '../../../src/x/background-threads.ts';

/** Each thread's nice value, read from /proc/<pid>/task/<tid>/stat (field 19). */
function niceByThread(pid: number): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      nice.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return nice;
}

describe.skipIf(process.platform !== 'linux')('idflow serve: background threads yield to the event loop', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  it('runs every thread but the main one at nice 10 once it listens, and hashes passwords on them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idflow-threads-'));
    const config = join(dir, 'idflow.yml');
    writeFileSync(config, JSON.stringify({
      dsn: `sqlite://${join(dir, 'db.sqlite')}?_fk=true`,
      serve: { public: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, ui: { enabled: false } },
      secrets: TEST_SECRETS,
      identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: `file://${join(repoRoot, 'schemas/default.schema.json')}` }] },
      selfservice: { default_browser_return_url: 'http://127.0.0.1:4455/', methods: { password: { config: { haveibeenpwned_enabled: false } } } },
      log: { level: 'debug' },
    }));
    const dsn = `sqlite://${join(dir, 'db.sqlite')}?_fk=true`;
    expect((await runCli(['migrate', 'sql', dsn, '--yes'])).code).toBe(0);
    child = spawnCli(['serve', '--config', config]);
    let stderr = '';
    child.stdout!.resume();
    const publicUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not start: ${stderr}`)), 30_000);
      child!.stderr!.on('data', (d) => {
        stderr += d;
        const url = /"msg":"public API listening","address":"([^"]+)"/.exec(stderr)?.[1];
        if (url && stderr.includes('lowered the scheduling priority of background threads')) {
          clearTimeout(timer);
          resolve(url);
        }
      });
      child!.on('exit', (code) => reject(new Error(`exited (${code}): ${stderr}`)));
    });
    const pid = child.pid!;
    // A sign-up hashes a password on the thread pool, which the priority must already cover.
    const flow = await (await fetch(`${publicUrl}/self-service/registration/api`)).json() as { id: string };
    const signUp = await fetch(`${publicUrl}/self-service/registration?flow=${flow.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'password', traits: { email: 'threads@example.com' }, password: 'a background threads passphrase 9' }),
    });
    expect(signUp.status).toBe(200);

    const nice = niceByThread(pid);
    expect(nice.get(pid)).toBe(0);
    const others = [...nice].filter(([tid]) => tid !== pid);
    // libuv's pool (4 threads) and V8's platform workers at least
    expect(others.length).toBeGreaterThanOrEqual(4);
    expect(others.filter(([, value]) => value !== BACKGROUND_NICE)).toEqual([]);
    const logged = /"msg":"lowered the scheduling priority of background threads"[^\n]*"threads":(\d+)/.exec(stderr);
    expect(Number(logged?.[1])).toBeGreaterThanOrEqual(4);
  });
});
