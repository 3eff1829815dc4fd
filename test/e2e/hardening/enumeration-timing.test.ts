/**
 * Issue 15, "Account enumeration — timing": login, recovery and verification take as long for an identifier nobody has
 * as for one that exists (STYLE.md #8: same work and answer for unknown accounts). A wrong password reads one row
 * and verifies one hash either way (a known identifier's identity is read while the hash runs); a code sent to an
 * unknown address loads an identity of an id nobody has and writes the rendered mail, dropped in the same transaction.
 *
 * 50 tries each, known and unknown interleaved (so drift of the machine — other test files, the garbage collector,
 * PostgreSQL's checkpoints — falls on both alike), over HTTP. The bound on the difference of the two medians is
 * relative to their spread: the standard error of a median of n samples is about 1.253·σ/√n, and σ ≈ IQR/1.349, so the
 * difference of two medians of 50 has a standard error of about 0.19·IQR. A gap within 0.75·IQR (four standard
 * errors) is noise; a systematic gap of a few milliseconds with a spread of a few milliseconds (a hash skipped, a row
 * or a mail not written) is not. One millisecond is always allowed (timer resolution, scheduling).
 *
 * A gap beyond the bound is measured once more, and only a second one fails: with the whole suite running beside
 * these tries the noise is heavy-tailed, and in two CI runs of 2026-12-08 one comparison of the eight went just past
 * four standard errors (11.53 ms against 10.98, 4.60 against 4.56); a systematic difference is past the bound in both
 * measurements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const TRIES = 50;
const PASSWORD = 'correct horse battery staple';
const random = () => Math.random().toString(36).slice(2, 10);

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo);
}

interface Summary { median: number; iqr: number }
function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), iqr: quantile(sorted, 0.75) - quantile(sorted, 0.25) };
}

/** One try: `prepare` (untimed: a new flow) returns the timed submission. */
type Try = (i: number) => Promise<() => Promise<void>>;

/** Runs known and unknown tries alternately (which goes first alternates too) and compares their medians. */
async function compare(known: Try, unknown: Try): Promise<{ known: Summary; unknown: Summary; gap: number; bound: number }> {
  const times = { known: [] as number[], unknown: [] as number[] };
  // Two warm-up rounds (JIT, connection pools, the dummy hash) are not measured.
  for (let i = -2; i < TRIES; i++) {
    const order: Array<'known' | 'unknown'> = i % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known'];
    for (const which of order) {
      const submit = await (which === 'known' ? known : unknown)(i + 1000);
      const started = performance.now();
      await submit();
      if (i >= 0) times[which].push(performance.now() - started);
    }
  }
  const k = summarize(times.known);
  const u = summarize(times.unknown);
  const gap = Math.abs(k.median - u.median);
  const bound = Math.max(1, 0.75 * ((k.iqr + u.iqr) / 2));
  return { known: k, unknown: u, gap, bound };
}

/** compare, and once more when the first gap is beyond its bound (see the header): the second result stands. */
async function compareTwice(known: Try, unknown: Try): ReturnType<typeof compare> {
  const first = await compare(known, unknown);
  return first.gap <= first.bound ? first : compare(known, unknown);
}

const fmt = (r: Awaited<ReturnType<typeof compare>>) =>
  `known median ${r.known.median.toFixed(2)} ms (IQR ${r.known.iqr.toFixed(2)}), unknown ${r.unknown.median.toFixed(2)} ms (IQR ${r.unknown.iqr.toFixed(2)}): gap ${r.gap.toFixed(2)} ms, bound ${r.bound.toFixed(2)} ms`;

for (const db of testDatabases()) {
  describe(`account enumeration timing (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    const known: string[] = [];

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        hashers: { algorithm: 'argon2', argon2: { memory: '2MB', iterations: 1, parallelism: 1 } },
        selfservice: {
          methods: { password: { config: { haveibeenpwned_enabled: false } }, code: { passwordless_enabled: true } },
          flows: { recovery: { enabled: true, use: 'code' }, verification: { enabled: true, use: 'code' } },
        },
      });
      for (let i = 0; i < 8; i++) {
        const address = `known${i}.${random()}@example.com`;
        const res = await fetch(`${server.adminUrl}/admin/identities`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ schema_id: 'default', traits: { email: address }, credentials: { password: { config: { password: PASSWORD } } } }),
        });
        expect(res.status).toBe(201);
        known.push(address);
      }
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function submit(kind: string, body: Record<string, unknown>, expected: number): Promise<() => Promise<void>> {
      const flow = await (await fetch(`${server.publicUrl}/self-service/${kind}/api`)).json();
      return async () => {
        const res = await fetch(`${server.publicUrl}/self-service/${kind}?flow=${flow.id}`, {
          method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body),
        });
        await res.arrayBuffer();
        expect(res.status).toBe(expected);
      };
    }
    const someKnown = (i: number) => known[Math.abs(i) % known.length];
    const nobody = () => `nobody.${random()}@example.com`;

    it('login with a wrong password: known and unknown identifiers', async () => {
      const r = await compareTwice(
        (i) => submit('login', { method: 'password', identifier: someKnown(i), password: 'not the password' }, 400),
        () => submit('login', { method: 'password', identifier: nobody(), password: 'not the password' }, 400),
      );
      expect(r.gap, fmt(r)).toBeLessThanOrEqual(r.bound);
    });

    // A sign-up with an identifier that exists (mitigated): hashed, a verification flow and a mail like a new sign-up's.
    it('registration: an identifier that exists and a new one', { timeout: 120_000 }, async () => {
      const r = await compareTwice(
        (i) => submit('registration', { method: 'password', traits: { email: someKnown(i) }, password: `${PASSWORD} ${i}` }, 200),
        (i) => submit('registration', { method: 'password', traits: { email: `newcomer.${random()}@example.com` }, password: `${PASSWORD} ${i}` }, 200),
      );
      expect(r.gap, fmt(r)).toBeLessThanOrEqual(r.bound);
    });

    it('login code sent to a known and to an unknown identifier', async () => {
      const r = await compareTwice(
        (i) => submit('login', { method: 'code', identifier: someKnown(i) }, 400),
        () => submit('login', { method: 'code', identifier: nobody() }, 400),
      );
      expect(r.gap, fmt(r)).toBeLessThanOrEqual(r.bound);
      const recipients = (await (await fetch(`${server.adminUrl}/admin/courier/messages?page_size=1000`)).json()).map((m: { recipient: string }) => m.recipient) as string[];
      expect(recipients.filter((to) => to.startsWith('nobody.'))).toEqual([]);
    });

    for (const kind of ['recovery', 'verification']) {
      it(`${kind} code sent to a known and to an unknown address`, async () => {
        const r = await compareTwice(
          (i) => submit(kind, { method: 'code', email: someKnown(i) }, 200),
          () => submit(kind, { method: 'code', email: nobody() }, 200),
        );
        expect(r.gap, fmt(r)).toBeLessThanOrEqual(r.bound);
        // The unknown addresses' mails were dropped: none is in the outbox, the known ones' are.
        const recipients = (await (await fetch(`${server.adminUrl}/admin/courier/messages?page_size=1000`)).json()).map((m: { recipient: string }) => m.recipient) as string[];
        expect(recipients.filter((to) => to.startsWith('nobody.'))).toEqual([]);
        expect(recipients.filter((to) => to.startsWith('known')).length).toBeGreaterThanOrEqual(TRIES);
      });
    }
  });
}
