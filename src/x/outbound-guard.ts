/**
 * `clients.http.disallow_private_ip_ranges` (Kratos): outgoing requests may not reach loopback, private, link-local,
 * carrier-grade NAT, multicast or reserved addresses, unless their URL is listed, exactly, in
 * `private_ip_exception_urls`. The check is made on the address actually connected to (a `lookup` for the socket),
 * not on a resolution made beforehand, so a name that resolves to a public address once and to a private one the
 * next time (DNS rebinding) gains nothing. Literal IP hosts never pass through `lookup` and are checked up front.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(network, prefix, 'ipv6');

/** Whether an IP address is in a range that a guarded request may not reach. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? blocked.check(mapped[1], 'ipv4') : blocked.check(address, 'ipv6');
  }
  return true; // not an address: refuse rather than guess
}

export class PrivateAddressError extends Error {
  constructor(host: string) {
    super(`${host} is in a private IP range (clients.http.disallow_private_ip_ranges)`);
    this.name = 'PrivateAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export interface OutboundGuard {
  /** Throws PrivateAddressError when `url` is refused before any connection (literal private IP host). */
  assertUrl(url: URL): void;
  /** A socket `lookup` that fails for private addresses; undefined when the guard is off or `url` is exempt. */
  lookupFor(url: URL): ((hostname: string, options: LookupOptions, callback: LookupCallback) => void) | undefined;
}

export function createOutboundGuard(config: { disallow_private_ip_ranges?: boolean; private_ip_exception_urls?: string[] }): OutboundGuard {
  const on = config.disallow_private_ip_ranges === true;
  const exempt = new Set(config.private_ip_exception_urls ?? []);
  const guarded = (url: URL) => on && !exempt.has(url.toString()) && !exempt.has(url.href.replace(/\/$/, ''));
  return {
    assertUrl(url) {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (guarded(url) && isIP(host) && isPrivateAddress(host)) throw new PrivateAddressError(host);
    },
    lookupFor(url) {
      if (!guarded(url)) return undefined;
      return (hostname, options, callback) => {
        dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
          if (err) return callback(err, []);
          const list = addresses as LookupAddress[];
          const refused = list.find((a) => isPrivateAddress(a.address));
          if (refused || list.length === 0) return callback(Object.assign(new PrivateAddressError(hostname), { code: 'EPRIVATEADDRESS' }), []);
          if (options.all) return callback(null, list);
          callback(null, list[0].address, list[0].family);
        });
      };
    },
  };
}
