import { describe, expect, it } from 'vitest';
import { createOutboundGuard, isPrivateAddress, PrivateAddressError } from '../../../src/x/outbound-guard.ts';

describe('private-IP guard for outgoing requests', () => {
  it('knows the private, loopback, link-local, shared, reserved and multicast ranges, v4, v6 and v4-mapped', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
      '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fd00::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
    expect(isPrivateAddress('not-an-ip')).toBe(true);
  });

  it('is off by default, refuses literal private hosts when on, and exempts exactly the listed URLs', async () => {
    const off = createOutboundGuard({});
    expect(() => off.assertUrl(new URL('http://127.0.0.1/hook'))).not.toThrow();
    expect(off.lookupFor(new URL('http://localhost/hook'))).toBeUndefined();

    const on = createOutboundGuard({ disallow_private_ip_ranges: true, private_ip_exception_urls: ['http://127.0.0.1:9/allowed'] });
    expect(() => on.assertUrl(new URL('http://127.0.0.1:9/hook'))).toThrow(PrivateAddressError);
    expect(() => on.assertUrl(new URL('http://[::1]:9/hook'))).toThrow(PrivateAddressError);
    expect(() => on.assertUrl(new URL('http://127.0.0.1:9/allowed'))).not.toThrow();
    expect(() => on.assertUrl(new URL('http://127.0.0.1:9/Allowed'))).toThrow(PrivateAddressError);
    expect(on.lookupFor(new URL('http://127.0.0.1:9/allowed'))).toBeUndefined();

    const lookup = on.lookupFor(new URL('http://localhost:9/hook'))!;
    const result = await new Promise<{ err: NodeJS.ErrnoException | null }>((resolve) => lookup('localhost', {}, (err) => resolve({ err })));
    expect(result.err).toBeInstanceOf(PrivateAddressError);
  });
});
