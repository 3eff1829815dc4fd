import { afterEach, describe, expect, it, vi } from 'vitest';
import { Courier } from '../../../src/courier/courier.ts';
import type { Transport } from '../../../src/courier/transports/transport.ts';
import { loadConfig } from '../../../config/load-config.ts';
import { createLogger } from '../../../observability/logger.ts';
import { systemClock } from '../../../src/x/clock.ts';

function courierWithSender(): Courier {
  const { config } = loadConfig({ env: {}, dev: true, overrides: { dsn: 'memory', courier: { smtp: { connection_uri: 'smtp://127.0.0.1:1/' } } } });
  const logger = createLogger({ level: 'error', format: 'json', write: () => {} });
  const transport = { close: async () => {} } as unknown as Transport;
  return new Courier(config.courier, { queue: {} as never, clock: systemClock, logger, transport });
}

describe('courier wake', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // A mail queued for a known address must not make work that runs right after that request (it can be timed).
  it('wakes the sender at the next 100 ms mark of the clock, once for every wake in that slot', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(1_000_030);
    const courier = courierWithSender();
    const wake = vi.spyOn(courier.sender!, 'wake').mockImplementation(() => {});
    courier.wake();
    vi.advanceTimersByTime(40);
    courier.wake();
    vi.advanceTimersByTime(29);
    expect(wake).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1); // 1_000_100
    expect(wake).toHaveBeenCalledTimes(1);
    courier.wake(); // a new slot: the next mark
    vi.advanceTimersByTime(99);
    expect(wake).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(wake).toHaveBeenCalledTimes(2);
  });

  it('wakes nothing once stopped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const courier = courierWithSender();
    const wake = vi.spyOn(courier.sender!, 'wake').mockImplementation(() => {});
    courier.wake();
    await courier.stop();
    vi.advanceTimersByTime(200);
    expect(wake).not.toHaveBeenCalled();
  });
});
