import { memoryUsage } from 'node:process';
import { loadConfig } from '../../config/load-config.ts';
import type { HashersConfig } from '../../config/types.ts';
import { createPasswordHasher, HASH_LIMITS, type PasswordHasher } from '../hash/index.ts';
import { parseByteSize } from '../x/bytesize.ts';
import { formatDuration, parseDuration } from '../x/duration.ts';
import { parse, helpText, UsageError, type CommandSpec, type Parsed } from './args.ts';
import { FORMAT_OPTIONS, outputFormat, printRow, printTable } from './output.ts';

/**
 * `idflow hashers argon2 calibrate|hash|load-test`, as Kratos's cmd/hashers/argon2: the search runs idflow's own
 * password hasher (src/hash), so the numbers are those `idflow serve` will see on this machine.
 */

const CONFIG_OPTIONS = {
  config: { type: 'string', short: 'c' },
  parallelism: { type: 'string' },
  'salt-length': { type: 'string' },
  'key-length': { type: 'string' },
  'dedicated-memory': { type: 'string' },
  'min-duration': { type: 'string' },
  'expected-deviation': { type: 'string' },
} as const;

const CONFIG_HELP = `  -c, --config FILE             start from hashers.argon2 of this configuration (and HASHERS_ARGON2_* variables)
      --parallelism N           lanes per hash (1..${HASH_LIMITS.argon2Parallelism}; idflow refuses stored hashes with more)
      --salt-length N           salt bytes (default 16)
      --key-length N            key bytes (default 32)
      --dedicated-memory SIZE   memory the hashing may use in total (default 1GB)
      --min-duration D          the time one hash (~ a login) should take (default 500ms)
      --expected-deviation D    the deviation of that time that is still fine (default 500ms)`;

const SAMPLE_HELP = `      --sample-time D           load test: how long requests are spread over (default 20s, Kratos's fixed
                                third of a minute; idflow-only flag)`;

const FORMAT_HELP = `      --format F                yaml (default: a hashers: snippet for idflow.yml), json, json-pretty, or
                                table (Kratos's row: MEMORY, ITERATIONS, ...)
  -q, --quiet                   no progress on standard error`;

const calibrateSpec: CommandSpec = {
  name: 'hashers argon2 calibrate',
  summary: 'Compute Argon2 parameters for this machine (Kratos: kratos hashers argon2 calibrate).',
  usage: 'idflow hashers argon2 calibrate REQUESTS_PER_MINUTE [options]',
  options: {
    ...CONFIG_OPTIONS,
    ...FORMAT_OPTIONS,
    'probe-runs': { type: 'string', short: 'r' },
    'start-memory': { type: 'string', short: 'm' },
    'max-memory': { type: 'string' },
    'adjust-memory-by': { type: 'string' },
    'start-iterations': { type: 'string', short: 'i' },
    'sample-time': { type: 'string' },
  },
  help: `
Password hashing trades security against resources and login time. Like Kratos, calibrate raises the memory from
--start-memory by --adjust-memory-by until one hash takes longer than --min-duration, lowers it until it is
shorter again, then does the same with the iterations; then it runs up to five load tests of REQUESTS_PER_MINUTE
logins, adjusting memory and iterations until the mean time reaches --min-duration, the slowest and the deviation
stay within --expected-deviation and the memory within --dedicated-memory. Take a login of 0.5 to 1 s.

Options:
  -r, --probe-runs N            hashes per probe, their mean is the probe's time (default 2)
  -m, --start-memory SIZE       memory to start probing at (default 128MB)
      --max-memory SIZE         the most memory per hash (default 0: idflow's limit, ${HASH_LIMITS.argon2MemoryKiB / 1024 / 1024}GB)
      --adjust-memory-by SIZE   memory step while probing (default 512MB; halved near the lower bound)
  -i, --start-iterations N      iterations to start probing at (default 1; at most ${HASH_LIMITS.argon2Iterations}, idflow's limit)
${CONFIG_HELP}
${SAMPLE_HELP}
${FORMAT_HELP}

The search stays within idflow's limits for stored hashes (memory 8KB per lane to ${HASH_LIMITS.argon2MemoryKiB / 1024 / 1024}GB, iterations 1 to
${HASH_LIMITS.argon2Iterations}), so it always ends. Progress goes to standard error, the result to standard output. When no
load test settles, the measurements are printed as a table and the exit code is 1 (Kratos exits 0).`,
};

const hashSpec: CommandSpec = {
  name: 'hashers argon2 hash',
  summary: 'Hash passwords to benchmark Argon2 parameters (Kratos: kratos hashers argon2 hash).',
  usage: 'idflow hashers argon2 hash PASSWORD... [--parallel] [options]',
  options: { ...CONFIG_OPTIONS, memory: { type: 'string' }, iterations: { type: 'string' }, parallel: { type: 'boolean', default: false } },
  help: `
Prints the time each hash took and the total; the hashes themselves are not printed.

Options:
      --parallel                hash all passwords at once
      --memory SIZE             memory per hash (default hashers.argon2.memory, 19MB)
      --iterations N            iterations (default hashers.argon2.iterations, 2)
${CONFIG_HELP}`,
};

const loadTestSpec: CommandSpec = {
  name: 'hashers argon2 load-test',
  summary: 'Simulate REQUESTS_PER_MINUTE logins (Kratos: kratos hashers argon2 load-test).',
  usage: 'idflow hashers argon2 load-test REQUESTS_PER_MINUTE [options]',
  options: { ...CONFIG_OPTIONS, ...FORMAT_OPTIONS, memory: { type: 'string' }, iterations: { type: 'string' }, 'sample-time': { type: 'string' } },
  help: `
Hashes REQUESTS_PER_MINUTE / 3 passwords at random times over the sample time and prints the total, mean,
deviation, fastest and slowest time and the most memory used. Exit code 1 when it takes longer than the sample
time plus --min-duration and --expected-deviation, or uses more than --dedicated-memory.

Options:
      --memory SIZE             memory per hash (default hashers.argon2.memory, 19MB)
      --iterations N            iterations (default hashers.argon2.iterations, 2)
${CONFIG_HELP}
${SAMPLE_HELP}
      --format F                table (default), json, json-pretty, yaml
  -q, --quiet                   no progress on standard error`,
};

const USAGE = `Helpers around password hashing (Kratos: kratos hashers).

Usage:
  idflow hashers argon2 calibrate REQUESTS_PER_MINUTE [options]
  idflow hashers argon2 hash PASSWORD... [options]
  idflow hashers argon2 load-test REQUESTS_PER_MINUTE [options]

Run \`idflow hashers argon2 <command> --help\` for a command's options.
`;

/** Argon2 parameters in the units the search uses: memory in KiB, times in milliseconds. */
interface Argon2Settings {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  saltLength: number;
  keyLength: number;
  durationMs: number;
  deviationMs: number;
  dedicatedKiB: number;
}

interface LoadResult {
  totalMs: number;
  meanMs: number;
  stdDevMs: number;
  minMs: number;
  maxMs: number;
  maxMemKiB: number;
}

export async function hashersCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [algorithm, sub, ...rest] = argv;
  if (algorithm === undefined || algorithm === '--help' || algorithm === '-h' || ((sub === undefined || sub === '--help' || sub === '-h') && algorithm === 'argon2')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (algorithm !== 'argon2') throw new UsageError(`unknown hasher "${algorithm}" (idflow calibrates argon2; bcrypt has one cost parameter)`);
  const spec = sub === 'calibrate' ? calibrateSpec : sub === 'hash' ? hashSpec : sub === 'load-test' ? loadTestSpec : undefined;
  if (!spec) throw new UsageError(`unknown subcommand "hashers argon2 ${sub}" (use calibrate, hash or load-test)`);
  const args = parse(spec, rest);
  if (args === 'help') {
    process.stdout.write(helpText(spec));
    return 0;
  }
  const progress = (text: string) => { if (args.values.quiet !== true) process.stderr.write(text); };
  if (sub === 'hash') return hash(args, env);
  const requestsPerMinute = positiveInt(args.positionals[0], 'REQUESTS_PER_MINUTE', 0);
  if (args.positionals.length !== 1) throw new UsageError(`${sub} takes one argument, REQUESTS_PER_MINUTE`);
  const sampleMs = duration(args.values['sample-time'], 20_000, '--sample-time');
  const rawFormat = String(args.values.format);
  const format = outputFormat(args.values);

  if (sub === 'load-test') {
    const settings = baseSettings(args, env);
    progress('The hashing configuration used is:\n');
    if (format === 'table' && args.values.quiet !== true) printRow(format, settingsRow(settings));
    const result = await loadTest(settings, requestsPerMinute, sampleMs, progress);
    printRow(format, resultRow(result));
    return 0;
  }

  const settings = baseSettings(args, env);
  const floorKiB = 8 * settings.parallelism;
  const maxKiB = Math.min(HASH_LIMITS.argon2MemoryKiB, byteSizeKiB(args.values['max-memory'], 0, '--max-memory') || HASH_LIMITS.argon2MemoryKiB);
  let adjustKiB = byteSizeKiB(args.values['adjust-memory-by'], 512 * 1024, '--adjust-memory-by');
  if (adjustKiB < 1) throw new UsageError('--adjust-memory-by must be at least 1KB');
  settings.memoryKiB = byteSizeKiB(args.values['start-memory'], 128 * 1024, '--start-memory');
  settings.iterations = positiveInt(args.values['start-iterations'] as string | undefined ?? '1', '--start-iterations', 1);
  if (settings.memoryKiB < floorKiB || settings.memoryKiB > maxKiB) throw new UsageError(`--start-memory must lie between ${kib(floorKiB)} and ${kib(maxKiB)}`);
  if (settings.iterations > HASH_LIMITS.argon2Iterations) throw new UsageError(`--start-iterations must be at most ${HASH_LIMITS.argon2Iterations}`);
  const runs = positiveInt(args.values['probe-runs'] as string | undefined ?? '2', '--probe-runs', 1);
  const target = settings.durationMs;
  const probe = () => probeMs(settings, runs, progress);

  progress(`Increasing memory to get over ${ms(target)}:\n`);
  for (;;) {
    const took = await probe();
    progress(`  took ${ms(took)} with ${kib(settings.memoryKiB)} of memory\n`);
    if (took > target) {
      while (settings.memoryKiB - adjustKiB < floorKiB && adjustKiB > 1) adjustKiB = Math.floor(adjustKiB / 2);
      settings.memoryKiB = Math.max(floorKiB, settings.memoryKiB - adjustKiB);
      break;
    }
    if (settings.memoryKiB >= maxKiB) {
      progress('  ouch, hit the memory limit there\n');
      break;
    }
    settings.memoryKiB = Math.min(maxKiB, settings.memoryKiB + adjustKiB);
  }
  progress(`Decreasing memory to get under ${ms(target)}:\n`);
  for (;;) {
    const took = await probe();
    progress(`  took ${ms(took)} with ${kib(settings.memoryKiB)} of memory\n`);
    if (took < target) break;
    while (settings.memoryKiB - adjustKiB < floorKiB && adjustKiB > 1) adjustKiB = Math.floor(adjustKiB / 2);
    if (settings.memoryKiB - adjustKiB < floorKiB) {
      progress(`  reached the least memory Argon2 allows, ${kib(floorKiB)}\n`);
      break;
    }
    settings.memoryKiB -= adjustKiB;
  }
  progress(`Settled on ${kib(settings.memoryKiB)} of memory.\n`);

  progress(`Increasing iterations to get over ${ms(target)}:\n`);
  for (;;) {
    const took = await probe();
    progress(`  took ${ms(took)} with ${settings.iterations} iterations\n`);
    if (took > target) {
      if (settings.iterations > 1) settings.iterations -= 1;
      break;
    }
    if (settings.iterations >= HASH_LIMITS.argon2Iterations) {
      progress(`  hit idflow's iteration limit, ${HASH_LIMITS.argon2Iterations}\n`);
      break;
    }
    settings.iterations += 1;
  }
  progress(`Decreasing iterations to get under ${ms(target)}:\n`);
  for (;;) {
    const took = await probe();
    progress(`  took ${ms(took)} with ${settings.iterations} iterations\n`);
    // Stop at 1 as well: 1 may have been just under the target and a bit over on another run.
    if (took < target || settings.iterations === 1) break;
    settings.iterations -= 1;
  }
  progress(`Settled on ${settings.iterations} iterations.\n`);

  const results: Array<{ result: LoadResult; memoryKiB: number; iterations: number }> = [];
  for (let round = 0; round < 5; round++) {
    progress(`\nRunning load test to simulate ${requestsPerMinute} login requests per minute.\n`);
    const result = await loadTest(settings, requestsPerMinute, sampleMs, progress);
    results.push({ result, memoryKiB: settings.memoryKiB, iterations: settings.iterations });
    progress(`The load test result is: mean ${ms(result.meanMs)}, deviation ${ms(result.stdDevMs)}, slowest ${ms(result.maxMs)}, memory ${kib(result.maxMemKiB)}\n`);
    const slower = () => {
      if (settings.iterations > 1) {
        settings.iterations--;
        progress(`Decreasing iterations to ${settings.iterations}\n`);
      } else {
        settings.memoryKiB = Math.max(floorKiB, settings.memoryKiB - 64 * 1024);
        progress(`Decreasing memory to ${kib(settings.memoryKiB)}\n`);
      }
    };
    if (result.meanMs < settings.durationMs) {
      progress(`The mean was ${ms(settings.durationMs - result.meanMs)} under the minimal duration of ${ms(settings.durationMs)}, going to increase the hash cost.\n`);
      if (result.maxMemKiB + 64 * 1024 < maxKiB && settings.memoryKiB + 64 * 1024 <= maxKiB) {
        settings.memoryKiB += 64 * 1024;
        progress(`Increasing memory to ${kib(settings.memoryKiB)}\n`);
      } else if (settings.iterations < HASH_LIMITS.argon2Iterations) {
        settings.iterations++;
        progress(`Increasing iterations to ${settings.iterations}\n`);
      } else {
        progress('Memory and iterations are at their limits.\n');
      }
    } else if (result.maxMemKiB > settings.dedicatedKiB) {
      progress(`The required memory was ${kib(result.maxMemKiB - settings.dedicatedKiB)} more than the maximum allowed of ${kib(settings.dedicatedKiB)}.\n`);
      settings.memoryKiB = Math.max(floorKiB, settings.memoryKiB - Math.ceil((result.maxMemKiB - settings.dedicatedKiB) / Math.max(1, requestsPerMinute)));
      progress(`Decreasing memory to ${kib(settings.memoryKiB)}\n`);
    } else if (result.maxMs > settings.deviationMs + settings.durationMs) {
      progress(`The longest request took ${ms(result.maxMs - settings.deviationMs - settings.durationMs)} longer than the longest acceptable time of ${ms(settings.deviationMs + settings.durationMs)}, going to decrease the hash cost.\n`);
      slower();
    } else if (result.stdDevMs > settings.deviationMs) {
      progress(`The deviation was ${ms(result.stdDevMs - settings.deviationMs)} more than the expected deviation of ${ms(settings.deviationMs)}.\n`);
      slower();
    } else {
      progress('These values look good to me.\n\n');
      printRow(rawFormat === 'default' && args.values.quiet !== true ? 'yaml' : format, settingsRow(settings));
      return 0;
    }
  }
  process.stderr.write('Could not automatically determine good parameters. Have a look at all the measurements taken and select acceptable values yourself.\n');
  printTable(format, {
    header: [...RESULT_HEADER, 'MEMORY PARAM', 'ITERATIONS PARAM'],
    rows: results.map((r) => [...resultRow(r.result).columns, kib(r.memoryKiB), String(r.iterations)]),
    value: results.map((r) => ({ ...resultRow(r.result).value as object, memory: kib(r.memoryKiB), iterations: r.iterations })),
  });
  return 1;
}

async function hash(args: Parsed, env: Record<string, string | undefined>): Promise<number> {
  if (args.positionals.length === 0) throw new UsageError('hash needs at least one PASSWORD');
  const settings = baseSettings(args, env);
  const hasher = hasherFor(settings);
  try {
    const start = performance.now();
    const one = async (password: string, i: number) => {
      const began = performance.now();
      await hasher.hash(password);
      process.stdout.write(`password ${i}: ${ms(performance.now() - began)}\n`);
    };
    if (args.values.parallel) await Promise.all(args.positionals.map(one));
    else for (const [i, password] of args.positionals.entries()) await one(password, i);
    process.stdout.write(`total: ${ms(performance.now() - start)}\n`);
  } finally {
    await hasher.close();
  }
  return 0;
}

/** hashers.argon2 from --config (or the built-in defaults and HASHERS_ARGON2_* variables), then the flags. */
function baseSettings(args: Parsed, env: Record<string, string | undefined>): Argon2Settings {
  const file = args.values.config as string | undefined;
  const { argon2 } = loadConfig({ file, env, dev: true }).config.hashers;
  const settings: Argon2Settings = {
    memoryKiB: byteSizeKiB(args.values.memory, Math.floor(parseByteSize(argon2.memory) / 1024), '--memory'),
    iterations: positiveInt(args.values.iterations as string | undefined ?? String(argon2.iterations), '--iterations', 1),
    parallelism: positiveInt(args.values.parallelism as string | undefined ?? String(argon2.parallelism), '--parallelism', 1),
    saltLength: positiveInt(args.values['salt-length'] as string | undefined ?? String(argon2.salt_length), '--salt-length', 16),
    keyLength: positiveInt(args.values['key-length'] as string | undefined ?? String(argon2.key_length), '--key-length', 16),
    durationMs: duration(args.values['min-duration'], parseDuration(argon2.expected_duration), '--min-duration'),
    deviationMs: duration(args.values['expected-deviation'], parseDuration(argon2.expected_deviation), '--expected-deviation'),
    dedicatedKiB: byteSizeKiB(args.values['dedicated-memory'], Math.floor(parseByteSize(argon2.dedicated_memory) / 1024), '--dedicated-memory'),
  };
  if (settings.parallelism > HASH_LIMITS.argon2Parallelism) throw new UsageError(`--parallelism must be at most ${HASH_LIMITS.argon2Parallelism} (idflow refuses stored hashes with more lanes)`);
  if (settings.iterations > HASH_LIMITS.argon2Iterations) throw new UsageError(`--iterations must be at most ${HASH_LIMITS.argon2Iterations}`);
  if (settings.memoryKiB < 8 * settings.parallelism || settings.memoryKiB > HASH_LIMITS.argon2MemoryKiB) throw new UsageError(`--memory must lie between ${kib(8 * settings.parallelism)} and ${kib(HASH_LIMITS.argon2MemoryKiB)}`);
  return settings;
}

function toHashersConfig(s: Argon2Settings): HashersConfig {
  return {
    algorithm: 'argon2',
    argon2: {
      memory: kib(s.memoryKiB), iterations: s.iterations, parallelism: s.parallelism, salt_length: s.saltLength, key_length: s.keyLength,
      expected_duration: configDuration(s.durationMs), expected_deviation: configDuration(s.deviationMs), dedicated_memory: kib(s.dedicatedKiB),
    },
    bcrypt: { cost: 12 },
  };
}

function hasherFor(s: Argon2Settings): PasswordHasher {
  return createPasswordHasher(toHashersConfig(s));
}

/** The mean time of `runs` hashes with these settings (Kratos's probe). */
async function probeMs(s: Argon2Settings, runs: number, progress: (text: string) => void): Promise<number> {
  const hasher = hasherFor(s);
  try {
    await hasher.warm();
    const start = performance.now();
    for (let i = 0; i < runs; i++) {
      const began = performance.now();
      await hasher.hash('password');
      progress(`    took ${ms(performance.now() - began)} in try ${i}\n`);
    }
    return (performance.now() - start) / runs;
  } finally {
    await hasher.close();
  }
}

/** Kratos's runLoadTest: requests/3 hashes at random moments of the sample time, all at once where they overlap. */
async function loadTest(s: Argon2Settings, requestsPerMinute: number, sampleMs: number, progress: (text: string) => void): Promise<LoadResult> {
  const count = Math.max(1, Math.round(requestsPerMinute * sampleMs / 60_000));
  progress(`It takes about ${ms(sampleMs)} to collect all necessary data, please be patient.\n`);
  const hasher = hasherFor(s);
  const limitMs = (sampleMs + s.durationMs + s.deviationMs) * 1.1;
  const memory: number[] = [];
  const sampleMemory = () => memory.push(Math.ceil(memoryUsage.rss() / 1024));
  const sampler = setInterval(sampleMemory, Math.min(1000, Math.max(10, sampleMs / 10)));
  const start = performance.now();
  let deadline: NodeJS.Timeout | undefined;
  try {
    await hasher.warm();
    const times = Promise.all(Array.from({ length: count }, async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * sampleMs));
      const began = performance.now();
      await hasher.hash('password');
      sampleMemory();
      return performance.now() - began;
    }));
    const timedOut = new Promise<'timeout'>((resolve) => { deadline = setTimeout(() => resolve('timeout'), limitMs); });
    const outcome = await Promise.race([times, timedOut]);
    if (outcome === 'timeout') {
      throw new Error(`the hashing load test took too long: ${requestsPerMinute} logins per minute with a minimal time of ${ms(s.durationMs)} need more CPU or memory, or a lower hash cost (memory and iterations)`);
    }
    const maxMemKiB = Math.max(...memory);
    if (maxMemKiB > s.dedicatedKiB * 1.1) {
      throw new Error(`the hashing load test exceeded the memory limit of ${kib(s.dedicatedKiB)}: dedicate more memory, or lower the hash cost (memory and iterations)`);
    }
    const mean = outcome.reduce((a, b) => a + b, 0) / outcome.length;
    return {
      totalMs: performance.now() - start,
      meanMs: mean,
      stdDevMs: Math.sqrt(outcome.reduce((a, t) => a + (t - mean) ** 2, 0) / outcome.length),
      minMs: Math.min(...outcome),
      maxMs: Math.max(...outcome),
      maxMemKiB,
    };
  } finally {
    clearInterval(sampler);
    clearTimeout(deadline);
    await hasher.close();
  }
}

const RESULT_HEADER = ['TOTAL SAMPLE TIME', 'MEDIAN REQUEST TIME', 'STANDARD DEVIATION', 'MIN REQUEST TIME', 'MAX REQUEST TIME', 'MEMORY USED'];

function resultRow(r: LoadResult) {
  return {
    header: RESULT_HEADER,
    columns: [ms(r.totalMs), ms(r.meanMs), ms(r.stdDevMs), ms(r.minMs), ms(r.maxMs), kib(r.maxMemKiB)],
    value: { total_time: ms(r.totalMs), median_request_time: ms(r.meanMs), std_deviation: ms(r.stdDevMs), min_request_time: ms(r.minMs), max_request_time: ms(r.maxMs), mem_used: kib(r.maxMemKiB) },
  };
}

/** Kratos's argon2 row; json and yaml print a `hashers:` snippet idflow (and Kratos) load as configuration. */
function settingsRow(s: Argon2Settings) {
  const { argon2 } = toHashersConfig(s);
  return {
    header: ['MEMORY', 'ITERATIONS', 'PARALLELISM', 'SALT LENGTH', 'KEY LENGTH', 'EXPECTED DURATION', 'EXPECTED DEVIATION', 'DEDICATED MEMORY'],
    columns: [argon2.memory, String(argon2.iterations), String(argon2.parallelism), String(argon2.salt_length), String(argon2.key_length), argon2.expected_duration, argon2.expected_deviation, argon2.dedicated_memory],
    value: { hashers: { algorithm: 'argon2', argon2 } },
  };
}

function positiveInt(text: unknown, name: string, min: number): number {
  if (typeof text !== 'string' || !/^[0-9]+$/.test(text) || Number(text) < min) throw new UsageError(`${name} must be a whole number of at least ${min}, not "${String(text)}"`);
  return Number(text);
}

function byteSizeKiB(text: unknown, fallbackKiB: number, name: string): number {
  if (text === undefined) return fallbackKiB;
  try {
    return Math.floor(parseByteSize(String(text)) / 1024);
  } catch {
    throw new UsageError(`${name} must be a size such as 64MB or 512KB, not "${String(text)}"`);
  }
}

function duration(text: unknown, fallbackMs: number, name: string): number {
  if (text === undefined) return fallbackMs;
  try {
    return parseDuration(String(text));
  } catch {
    throw new UsageError(`${name} must be a duration such as 500ms or 1s, not "${String(text)}"`);
  }
}

/** A size as the config writes it: whole MB where it divides, else KB. */
function kib(value: number): string {
  if (value > 0 && value % (1024 * 1024) === 0) return `${value / 1024 / 1024}GB`;
  return value % 1024 === 0 ? `${value / 1024}MB` : `${value}KB`;
}

/** A time for people: Go's style (1.234ms, 2.5s). */
function ms(value: number): string {
  if (value < 1) return `${Math.round(value * 1000)}µs`;
  if (value < 1000) return `${Number(value.toFixed(3))}ms`;
  return `${Number((value / 1000).toFixed(3))}s`;
}

/** A duration the config schema accepts (whole units only). */
function configDuration(value: number): string {
  return Number.isInteger(value) ? formatDuration(value) : `${Math.round(value * 1000)}us`;
}
