import type { Clock } from '../../src/x/clock.ts';

/** A clock tests move by hand: lifespans and expiry are tested by advancing it, never by sleeping. */
export class TestClock implements Clock {
  #offsetMs = 0;

  /** Real time plus every advance so far (so servers and databases still see plausible timestamps). */
  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  advance(ms: number): void {
    this.#offsetMs += ms;
  }
}
