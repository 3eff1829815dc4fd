/**
 * whoami is the hottest path of any deployment. This bench runs idflow (compiled, one process, SQLite file) and
 * an Express hello-world route (one process) side by side and loads each with autocannon (50 connections, this
 * process) in the same run, so the ratio is comparable across machines. Target: whoami >= 0.6x the hello-world
 * requests per second, p99 < 5 ms.
 */
import autocannon from 'autocannon';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no match for ${pattern} in: ${buffer}`)), 30_000);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = pattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`process exited ${code}: ${buffer}`)));
  });
}

async function load(url: string, headers: Record<string, string> = {}) {
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers }); // warm-up
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

export default async function run(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'idflow-bench-'));
  const dsn = `sqlite://${join(dir, 'bench.sqlite')}?_fk=true`;
  const config = join(dir, 'idflow.yml');
  writeFileSync(config, [
    `dsn: "${dsn}"`,
    'serve: { public: { host: 127.0.0.1, port: 0 }, admin: { host: 127.0.0.1, port: 0 } }',
    'secrets: { cookie: ["bench-cookie-secret-0123456789"], cipher: ["0123456789abcdef0123456789abcdef"] }',
    'identity: { default_schema_id: default, schemas: [{ id: default, url: "file://' + join(root, 'schemas/default.schema.json') + '" }] }',
    'selfservice: { default_browser_return_url: "http://127.0.0.1:4455/", methods: { password: { config: { haveibeenpwned_enabled: false } } }, flows: { registration: { after: { password: { hooks: [{ hook: session }] } } } } }',
    'log: { level: warning }',
  ].join('\n'));
  execFileSync(process.execPath, [join(root, 'dist/src/main.js'), 'migrate', 'sql', dsn, '--yes'], { stdio: 'ignore' });

  const idflow = spawn(process.execPath, [join(root, 'dist/src/main.js'), 'serve', '--config', config], { env: { ...process.env, LOG_LEVEL: 'info' } });
  const hello = spawn(process.execPath, ['--input-type=module', '-e', `
    import express from 'express';
    const app = express();
    app.disable('x-powered-by');
    app.get('/hello', (_req, res) => res.json({ hello: 'world' }));
    const server = app.listen(0, '127.0.0.1', () => console.log('hello listening on ' + server.address().port));
  `], { cwd: root });
  try {
    const [, publicAddress] = await waitForLine(idflow, /"msg":"public API listening","address":"([^"]+)"/);
    const [, helloPort] = await waitForLine(hello, /hello listening on (\d+)/);

    const flow = await fetch(`${publicAddress}/self-service/registration/api`).then((r) => r.json()) as { id: string };
    const registered = await fetch(`${publicAddress}/self-service/registration?flow=${flow.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'password', traits: { email: 'bench@example.com' }, password: 'bench passphrase 12345' }),
    }).then((r) => r.json()) as { session_token: string };

    const baseline = await load(`http://127.0.0.1:${helloPort}/hello`);
    const whoami = await load(`${publicAddress}/sessions/whoami`, { 'x-session-token': registered.session_token });
    const ratio = whoami.rps / baseline.rps;
    console.log(`connections ${CONNECTIONS}, ${DURATION} s each`);
    console.log(`express hello-world   ${baseline.rps.toFixed(0).padStart(7)} req/s   p50 ${baseline.p50} ms   p99 ${baseline.p99} ms`);
    console.log(`idflow /sessions/whoami ${whoami.rps.toFixed(0).padStart(5)} req/s   p50 ${whoami.p50} ms   p99 ${whoami.p99} ms`);
    console.log(`ratio ${ratio.toFixed(2)}x (target >= 0.60x), p99 ${whoami.p99} ms (target < 5 ms): ${ratio >= 0.6 && whoami.p99 < 5 ? 'met' : 'NOT met'}`);
  } finally {
    idflow.kill('SIGTERM');
    hello.kill('SIGTERM');
  }
}
