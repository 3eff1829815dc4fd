/**
 * `idflow hashers argon2 calibrate|hash|load-test` (Kratos's cmd/hashers/argon2) as the real CLI process. Not a
 * speed test: the targets are chosen so the search's outcome does not depend on this machine's speed (0s: every
 * probe is too slow, so the search walks down to Argon2's least memory; 1h: every probe is too fast, so it walks up
 * to the bounds), and the tests assert that it ends, stays within its bounds and prints a configuration idflow loads.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../../config/load-config.ts';
import { createPasswordHasher, HASH_LIMITS } from '../../../src/hash/index.ts';
import { runCli } from '../../support/cli.ts';

type Json = any;

describe('idflow hashers argon2', () => {
  it('calibrate walks down to the least memory and iterations for a 0s target and prints a hashers: snippet idflow loads', async () => {
    const result = await runCli(['hashers', 'argon2', 'calibrate', '60', '--min-duration', '0s', '--expected-deviation', '1h',
      '--start-memory', '64KB', '--adjust-memory-by', '32KB', '--sample-time', '50ms', '--probe-runs', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Settled on 8KB of memory.');
    expect(result.stderr).toContain('These values look good to me.');
    const snippet = parseYaml(result.stdout) as Json;
    expect(snippet).toEqual({
      hashers: {
        algorithm: 'argon2',
        argon2: { memory: '8KB', iterations: 1, parallelism: 1, salt_length: 16, key_length: 32, expected_duration: '0h', expected_deviation: '1h', dedicated_memory: '1GB' },
      },
    });

    // The snippet is a valid configuration, and a hasher built from it hashes and verifies.
    const { config } = loadConfig({ dev: true, env: {}, overrides: snippet });
    const hasher = createPasswordHasher(config.hashers);
    try {
      const hash = await hasher.hash('a calibrated passphrase');
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
      expect(await hasher.verify('a calibrated passphrase', hash)).toBe(true);
    } finally {
      await hasher.close();
    }
  });

  it('calibrate stops at --max-memory and at idflow\'s iteration limit for a 1h target, prints the measurements and exits 1', async () => {
    const result = await runCli(['hashers', 'argon2', 'calibrate', '60', '--min-duration', '1h', '--max-memory', '256KB',
      '--start-memory', '64KB', '--adjust-memory-by', '64KB', '--start-iterations', String(HASH_LIMITS.argon2Iterations - 1),
      '--sample-time', '20ms', '-r', '1', '--format', 'json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ouch, hit the memory limit there');
    expect(result.stderr).toContain(`hit idflow's iteration limit, ${HASH_LIMITS.argon2Iterations}`);
    expect(result.stderr).toContain('Could not automatically determine good parameters');
    const rounds = JSON.parse(result.stdout) as Json[];
    expect(rounds).toHaveLength(5);
    for (const round of rounds) expect(round).toMatchObject({ memory: '256KB', iterations: HASH_LIMITS.argon2Iterations, median_request_time: expect.any(String) });
  });

  it('calibrate --format table prints Kratos\'s row; load-test prints its measurements', async () => {
    const table = await runCli(['hashers', 'argon2', 'calibrate', '60', '--min-duration', '0s', '--expected-deviation', '1h',
      '--start-memory', '16KB', '--adjust-memory-by', '8KB', '--sample-time', '10ms', '-r', '1', '--format', 'table']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^MEMORY\t+8KB\t+\nITERATIONS\t+1\t+\nPARALLELISM\t+1\t+\nSALT LENGTH\t+16\t+\nKEY LENGTH\t+32\t+\n/);

    // --quiet: no progress, and a row prints its first column, as cmdx does.
    const quiet = await runCli(['hashers', 'argon2', 'load-test', '60', '--memory', '64KB', '--iterations', '1', '--expected-deviation', '1h', '--sample-time', '10ms', '-q']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^[0-9.]+(µs|ms|s)\n$/);
    const row = await runCli(['hashers', 'argon2', 'load-test', '60', '--memory', '64KB', '--iterations', '1', '--expected-deviation', '1h', '--sample-time', '10ms']);
    expect(row.code, row.stderr).toBe(0);
    expect(row.stdout).toMatch(/^MEMORY\t+64KB\t+\n/m);
    expect(row.stdout).toMatch(/^TOTAL SAMPLE TIME\t+\S+\t+\nMEDIAN REQUEST TIME\t+\S+/m);

  });

  it('has help; exits 1 with a one-line reason on bad arguments', async () => {
    const help = await runCli(['hashers', 'argon2', 'calibrate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--start-memory SIZE');
    for (const args of [['calibrate', 'many'], ['calibrate', '60', '--parallelism', '17'], ['calibrate', '60', '--start-memory', 'lots'], ['hash']]) {
      const bad = await runCli(['hashers', 'argon2', ...args]);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect((await runCli(['hashers', 'bcrypt', 'calibrate', '60'])).code).toBe(1);
  });

  it('hash prints the time of each hash, never the password or the hash', async () => {
    const result = await runCli(['hashers', 'argon2', 'hash', 'first secret', 'second secret', '--memory', '64KB', '--iterations', '1', '--parallel']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^password [01]: \S+\npassword [01]: \S+\ntotal: \S+\n$/);
    expect(result.stdout + result.stderr).not.toMatch(/secret|\$argon2/);
  });
});
