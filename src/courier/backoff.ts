/**
 * Retry schedule of failed deliveries.
 *
 * After the n-th failed attempt of a message the next attempt waits
 *   min(initial · 2^(n−1), max) · (1 + U[0, 0.2))
 * i.e. with the defaults (1 s, 1 h): 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048 s, then hourly — never less
 * than the nominal delay, up to 20 % more so that messages failing together don't retry in lockstep.
 *
 * A failing message is abandoned only when BOTH budgets are spent: it has failed more than
 * `courier.message_retries` times (Kratos's key, default 5) AND it is at least `courier.worker.retry.min_age` old
 * (idflow, default 24 h). Kratos abandons on the count alone while polling every second, so its defaults give
 * up after ~6 s of SMTP outage; here an outage shorter than min_age never abandons mail (about 36 attempts over the
 * first day with the defaults), and `min_age: 0s` restores the count-only rule.
 *
 * Long backoffs don't delay mail after an outage: while the server is away the sender probes it every 15
 * pull_waits, and once it answers (or any delivery succeeds) every queued message is made due at once.
 */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  /** Retries after the first attempt that are always made (courier.message_retries). */
  retries: number;
  /** A failing message younger than this is never abandoned. */
  minAgeMs: number;
  /** Largest extra fraction added at random (0.2). */
  jitter?: number;
}

/** Nominal delay (no jitter) after the `failures`-th failed attempt (1-based). */
export function nominalDelay(policy: RetryPolicy, failures: number): number {
  const exponent = Math.max(0, failures - 1);
  if (exponent >= 52) return policy.maxMs;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}

export function backoffDelay(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const nominal = nominalDelay(policy, failures);
  return Math.round(nominal * (1 + (policy.jitter ?? 0.2) * random()));
}

/** Whether a message that just failed its `sendCount`-th attempt and was created `ageMs` ago is given up. */
export function shouldAbandon(policy: RetryPolicy, sendCount: number, ageMs: number): boolean {
  return sendCount > policy.retries && ageMs >= policy.minAgeMs;
}

/** When (nominally, from the first attempt) a message that always fails is abandoned, for start-up logging. */
export function retryHorizonMs(policy: RetryPolicy): number {
  let elapsed = 0;
  for (let failures = 1; failures < 100_000; failures++) {
    if (shouldAbandon(policy, failures, elapsed)) return elapsed;
    elapsed += nominalDelay(policy, failures);
  }
  return elapsed;
}
