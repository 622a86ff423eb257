/**
 * Who is asking, as far as the network can tell: the key the per-address limits count under (docs/design.md
 * "Scalpers made expensive").
 *
 * - On Cloudflare (production) the client's address is `CF-Connecting-IP`, which the platform sets on every request
 *   (a value the client sent is replaced at the edge). Nothing else — `X-Forwarded-For`, `X-Real-IP`, `True-Client-IP`
 *   — is ever read: those are whatever the client wrote.
 * - Locally (`ENVIRONMENT=development`) nothing stands in front of the Worker, so `CF-Connecting-IP` is whatever
 *   the client sent, and workerd shows no peer address. The local runtime trusts the header only with
 *   `TRUST_CLIENT_IP_HEADER = "true"` (the bench and the test Worker set it, to play shoppers on many networks);
 *   otherwise it ignores it: there is no address to count under, so the per-address limits are off locally and a
 *   client's own header can neither escape a limit nor put another client over one. The per-shopper limits hold
 *   everywhere. (Counting every local client as one address instead would put the whole test suite's sign-ups
 *   under one `AUTH_LIMITER` budget of 30 a minute.)
 * - IPv6 addresses count per /64 (the block one subscriber or one LAN is given: rotating addresses inside it is
 *   free), IPv4 addresses one by one, and an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as its IPv4 address.
 */
import { isProduction, type CommonEnv } from "../../lib/server/env.ts";

/** The bindings this module reads. */
export interface ClientAddressEnv extends CommonEnv {
  TRUST_CLIENT_IP_HEADER?: string;
}

/**
 * The counting key of the client that sent `headers` (see the module comment), or undefined when there is none
 * to count under: locally without `TRUST_CLIENT_IP_HEADER = "true"`, or without the header (on Cloudflare that
 * never happens for a request from the internet).
 *
 * @example
 * clientAddressKey(env, req.headers) // "203.0.113.7", "2001:db8:0:1::/64", or undefined
 */
export function clientAddressKey(env: ClientAddressEnv, headers: Headers): string | undefined {
  if (!isProduction(env) && env.TRUST_CLIENT_IP_HEADER !== "true") return undefined;
  const ip = headers.get("CF-Connecting-IP");
  if (!ip) return undefined;
  return addressKey(ip);
}

/**
 * The key of one address: IPv4 as written, IPv6 as its /64 prefix in canonical form (`2001:db8:0:1::/64`),
 * IPv4-mapped IPv6 as the IPv4 address. Anything that parses as neither is kept verbatim (bounded), so a
 * malformed header still counts as one client and never as none.
 */
export function addressKey(ip: string): string {
  const raw = ip.trim().slice(0, 64);
  if (!raw.includes(":")) return raw;
  const groups = expandIpv6(raw);
  if (!groups) return raw;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 and a `%zone` allowed), or null. */
function expandIpv6(text: string): number[] | null {
  let s = text.replace(/%.*$/, "").toLowerCase();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const tail: number[] = [];
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (dotted) {
    const b = dotted.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    s = s.slice(0, -dotted[0].length);
    if (s.endsWith(":") && !s.endsWith("::")) s = s.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const zeros = new Array<number>(8 - known).fill(0);
  return [...head.map((g) => parseInt(g, 16)), ...zeros, ...rest.map((g) => parseInt(g, 16)), ...tail];
}
