/**
 * The bucket a client address is counted in: an IPv4 address as it is, an IPv6 address by its /64 network (one
 * subscriber usually holds a whole /64, so counting single addresses lets a client rotate past every limit), an
 * IPv4-mapped IPv6 address as its IPv4 address; any spelling of one address (upper case, compressed, leading zeros,
 * a zone) is the same bucket. Better Auth GHSA-p6v2-xcpg-h6xw: a limiter keyed on the address text was bypassed so.
 */
import { isIP } from 'node:net';

function ipv6Groups(text: string): number[] | undefined {
  let address = text;
  const groups: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two groups.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  let tail: number[] = [];
  if (v4) {
    const parts = v4[2].split('.').map(Number);
    tail = [(parts[0] << 8) | parts[1], (parts[2] << 8) | parts[3]];
    address = v4[1].endsWith('::') ? v4[1] : v4[1].slice(0, -1);
  }
  const [head, rest] = address.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = [...parse(rest ?? ''), ...tail];
  const missing = 8 - left.length - right.length;
  if (rest === undefined && missing !== 0) return undefined;
  if (missing < 0) return undefined;
  groups.push(...left, ...new Array<number>(rest === undefined ? 0 : missing).fill(0), ...right);
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The counting bucket of a client address; undefined when there is none (a Unix socket) or it does not parse. */
export function addressBucket(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const text = ip.trim().replace(/%.*$/, '').toLowerCase();
  const family = isIP(text);
  if (family === 4) return text.split('.').map((part) => String(Number(part))).join('.');
  if (family !== 6) return undefined;
  const groups = ipv6Groups(text);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
