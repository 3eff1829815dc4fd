/** What the bench files share: waiting for a spawned server's line, and whoami's latency histogram from /metrics. */
import { spawn, type ChildProcess } from 'node:child_process';

export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
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

/** Cumulative bucket counts of `idflow_http_request_duration_seconds` for GET /sessions/whoami with status 200. */
export async function whoamiBuckets(adminAddress: string): Promise<Map<number, number>> {
  const text = await fetch(`${adminAddress}/admin/metrics/prometheus`).then((r) => r.text());
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('idflow_http_request_duration_seconds_bucket{')) continue;
    if (!line.includes('route="/sessions/whoami"') || !line.includes('status_code="200"') || !line.includes('method="GET"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le) buckets.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return buckets;
}

/** An Express 5 hello-world route in a process of its own (the baseline whoami is compared with); it prints its port. */
export function spawnHello(root: string): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', `
    import express from 'express';
    const app = express();
    app.disable('x-powered-by');
    app.get('/hello', (_req, res) => res.json({ hello: 'world' }));
    const server = app.listen(0, '127.0.0.1', () => console.log('hello listening on ' + server.address().port));
  `], { cwd: root });
}
