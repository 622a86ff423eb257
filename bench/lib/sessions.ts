/**
 * Shopper sessions for the bench, minted here instead of registered: registration costs 100,000 PBKDF2
 * iterations per shopper by design, which would make the bench measure password hashing. A session is the same
 * HS256 JWT the gateway signs (`{sub, name, iat, exp}`), signed with the SESSION_SECRET the bench gives the
 * runtime. The gateway verifies it exactly as it verifies a real one.
 */
import { createHmac, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export function mintSession(secret: string, userId: string, username: string, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ sub: userId, name: username, iat: now, exp: now + ttlSeconds }));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

export interface Shopper {
  id: string;
  username: string;
  token: string;
  /** The address Cloudflare would put in `CF-Connecting-IP` for this shopper (see clientAddresses). */
  ip: string;
}

/** Where the next pool's addresses start: pools never share an address (their limiter counts would mix). */
let nextAddress = 0;

export function makeShoppers(secret: string, count: number, prefix: string, seed = 1, carrierNat = false): Shopper[] {
  const ips = clientAddresses(count, seed, nextAddress, carrierNat);
  nextAddress += new Set(ips).size;
  const out: Shopper[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const username = `${prefix}${i}`;
    out.push({ id, username, token: mintSession(secret, id, username), ip: ips[i] });
  }
  return out;
}

/** One shopper per line: "<token> <ip>" (bench/wrk.lua reads both). */
export function writeTokens(file: string, shoppers: Shopper[]): void {
  writeFileSync(file, shoppers.map((s) => `${s.token} ${s.ip}`).join("\n") + "\n");
}

/** The largest group of shoppers behind one address: under PURCHASE_LIMITER's 20 per 10 s, so one click each
 * never trips the per-IP limit, while a group's retries can (as they would on Cloudflare). */
export const MAX_SHARED_ADDRESS = 16;
const CARRIER_NAT_MIN = 30;
const CARRIER_NAT_MAX = 60;

/**
 * Client addresses for `count` shoppers, in the benchmarking range 198.18.0.0/15 (RFC 2544), deterministic for a
 * seed, the first one `first` addresses into the range. Shoppers come in groups that share an address, adjacent
 * in the list (so a closed-loop chunk meets a whole group inside one limiter window): 90 % of groups are one
 * shopper (their own line), 8 % are 2–4 (a household), 2 % are 5–16 (an office, a campus) — about two thirds of
 * shoppers alone on their address, a third sharing one.
 * With `carrierNat`, 0.5 % of groups are instead 30–60 shoppers behind one carrier-grade NAT address: more than the
 * old per-address limit (PURCHASE_LIMITER's 20 per 10 s) let through when each clicks once or twice, well within
 * PURCHASE_IP_LIMITER's 500 per 10 s since issue 15 (the crowd has them; closed-loop throughput pools do not, so
 * their figures are not limiter rejections).
 */
export function clientAddresses(count: number, seed = 1, first = 0, carrierNat = false): string[] {
  let state = seed >>> 0 || 1;
  const random = () => {
    // xorshift32: reproducible, no dependency.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const out: string[] = [];
  let address = first;
  while (out.length < count) {
    const r = random();
    const size =
      carrierNat && r < 0.005
        ? CARRIER_NAT_MIN + Math.floor(random() * (CARRIER_NAT_MAX - CARRIER_NAT_MIN + 1))
        : r < 0.9
          ? 1
          : r < 0.98
            ? 2 + Math.floor(random() * 3)
            : 5 + Math.floor(random() * (MAX_SHARED_ADDRESS - 4));
    const n = 198 * 2 ** 24 + 18 * 2 ** 16 + (address++ % 2 ** 17);
    const ip = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    for (let k = 0; k < size && out.length < count; k++) out.push(ip);
  }
  return out;
}

/** How the shoppers' addresses are spread: distinct addresses, the share of shoppers who share one, the largest group. */
export function addressSpread(shoppers: { ip: string }[]): {
  shoppers: number;
  addresses: number;
  sharedShare: number;
  largestGroup: number;
} {
  const groups = new Map<string, number>();
  for (const s of shoppers) groups.set(s.ip, (groups.get(s.ip) ?? 0) + 1);
  let shared = 0;
  let largestGroup = 0;
  for (const n of groups.values()) {
    if (n > 1) shared += n;
    largestGroup = Math.max(largestGroup, n);
  }
  return {
    shoppers: shoppers.length,
    addresses: groups.size,
    sharedShare: Math.round((shared / Math.max(1, shoppers.length)) * 1000) / 1000,
    largestGroup,
  };
}
