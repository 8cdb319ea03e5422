// Node only: connections that must reach the public internet only. An ad-hoc
// slide URL (an id a client made up, under an --allow prefix) must not lead the
// server to its own network: loopback, private (RFC 1918, unique-local),
// link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast,
// unspecified. The check is on the addresses a name resolves to, at connect
// time (the lookup the socket uses), so a public-looking name that resolves to
// a private address (DNS rebinding included) is refused as well as a literal.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { PRIVATE_ADDRESS } from './private-address.js';

export { PRIVATE_ADDRESS } from './private-address.js';

const V4_BLOCKED: [number, number][] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local (cloud metadata)
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // 192.0.0/24 IETF protocol assignments
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // 198.18/15 benchmarking
  [0xe0000000, 4], // 224/4 multicast
  [0xf0000000, 4], // 240/4 reserved, broadcast
];

function v4(ip: string): number {
  return ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

/** True for an address on the public internet (not loopback, private, link-local, ...). */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) {
    const n = v4(ip);
    return !V4_BLOCKED.some(([base, bits]) => (n >>> (32 - bits)) === (base >>> (32 - bits)));
  }
  if (family === 6) {
    const a = ip.toLowerCase();
    const mapped = /^(?:0*:)*:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    if (mapped) return isPublicAddress(mapped[1]!);
    if (a === '::' || a === '::1') return false;
    const first = parseInt(a.split(':')[0] || '0', 16);
    if ((first & 0xfe00) === 0xfc00) return false; // fc00::/7 unique-local
    if ((first & 0xffc0) === 0xfe80) return false; // fe80::/10 link-local
    if ((first & 0xff00) === 0xff00) return false; // ff00::/8 multicast
    return true;
  }
  return false;
}

function refused(host: string): NodeJS.ErrnoException {
  const e = new Error(`${host} resolves to an address that is not public`) as NodeJS.ErrnoException;
  e.code = PRIVATE_ADDRESS;
  return e;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A net.connect `lookup` that refuses names resolving to any non-public address. */
export function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number }, cb: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '');
    const list = addresses as LookupAddress[];
    if (list.length === 0 || list.some((a) => !isPublicAddress(a.address))) return cb(refused(hostname), '');
    if (options.all) cb(null, list);
    else cb(null, list[0]!.address, list[0]!.family);
  });
}

/** A literal IP host that is not public (the socket does no lookup for literals). */
export function isNonPublicLiteral(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return isIP(h) !== 0 && !isPublicAddress(h);
}
