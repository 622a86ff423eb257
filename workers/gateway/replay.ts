/**
 * The replay promise at the sold-out/ended short-circuit (docs/api.md: a retry with the Idempotency-Key of an
 * accepted purchase gets its 202 again, sold out, ended or not; docs/design.md, "The edge's verdict carries the
 * buyers"). With its verdict the sale's object publishes a Bloom filter of the shoppers who hold an order
 * (lib/server/buyers-filter.ts). An attempt on a closed sale goes on to the object only if it carries an
 * Idempotency-Key AND its session names a shopper in the filter; every other attempt is shed at once, as before.
 *
 * The session is read here without verifying its signature, on purpose: this only decides between "shed now"
 * and "take the normal path", and the normal path verifies the session before anything else. A forged cookie
 * naming a buyer earns the full path's 401, never an order; a cookie that names nobody is shed like an
 * anonymous attempt (a sold-out purchase may be answered before the session is looked at, docs/api.md).
 * Decoded subjects are kept per isolate, for at most SUBJECTS_MAX cookies (the least recently used goes first).
 *
 * A sharded sale (docs/design.md "Hot sales"): filters are kept per shard object (`learnBuyers` and
 * `knownBuyers` take the object's name, which is the sale id for a sale of one shard), and `mayBeReplay` looks at
 * the claimed shopper's home shard's filter. The "closed" verdict itself is per sale: a shard only says sold out
 * when the whole sale is.
 */
import { BuyersFilter, type PublishedBuyers } from "../../lib/server/buyers-filter.ts";
import { SESSION_COOKIE } from "./session.ts";
import { homeShard, shardObjectName } from "../../lib/server/hot/routing.ts";

const SUBJECTS_MAX = 10_000;
const FILTERS_MAX = 1_000;

/** Session cookie value → the `sub` it claims (null: none). */
const subjects = new Map<string, string | null>();
/** Object name (a sale id, or a shard's `saleId#i`) → the newest buyers filter this isolate has seen. */
const filters = new Map<string, { version: number; filter: BuyersFilter | null; text: string }>();

function cookieValue(header: string, name: string): string | null {
  let at = header.indexOf(name + "=");
  while (at > 0 && header[at - 1] !== " " && header[at - 1] !== ";") at = header.indexOf(name + "=", at + 1);
  if (at < 0) return null;
  const start = at + name.length + 1;
  const end = header.indexOf(";", start);
  return header.slice(start, end < 0 ? undefined : end);
}

function decodeSubject(token: string): string | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1].length > 2048) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const payload = JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4))) as { sub?: unknown } | null;
    return payload && typeof payload.sub === "string" ? payload.sub : null;
  } catch {
    return null;
  }
}

/** The shopper a request's session cookie names, unverified (see above); null without one. */
export function claimedShopper(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  const token = cookieValue(cookieHeader, SESSION_COOKIE) ?? cookieValue(cookieHeader, `__Host-${SESSION_COOKIE}`);
  if (!token || token.length > 4096) return null;
  const known = subjects.get(token);
  if (known !== undefined) {
    subjects.delete(token);
    subjects.set(token, known);
    return known;
  }
  const subject = decodeSubject(token);
  if (subjects.size >= SUBJECTS_MAX) subjects.delete(subjects.keys().next().value!);
  subjects.set(token, subject);
  return subject;
}

/** Keeps a published filter if it is newer than the one this isolate has. */
export function learnBuyers(saleId: string, published: PublishedBuyers | undefined): void {
  if (!published) return;
  const known = filters.get(saleId);
  if (known && known.version >= published.version) return;
  if (!known && filters.size >= FILTERS_MAX) filters.delete(filters.keys().next().value!);
  filters.set(saleId, {
    version: published.version,
    filter: BuyersFilter.parse(published.filter),
    text: published.filter,
  });
}

/** The buyers filter this isolate holds for a sale (for the object, so it sends a newer one only). */
export function knownBuyers(saleId: string): PublishedBuyers | undefined {
  const known = filters.get(saleId);
  return known ? { version: known.version, filter: known.text } : undefined;
}

/**
 * Whether an attempt on a closed sale may be a replay of an accepted purchase, so it must reach the object:
 * it has an Idempotency-Key, and its session names a shopper the sale's filter may hold. Without a filter yet
 * (the object sends one with its next answer), a keyed attempt with a session goes on.
 */
export function mayBeReplay(saleId: string, headers: Headers, shards = 1): boolean {
  if (headers.get("Idempotency-Key") === null) return false;
  const shopper = claimedShopper(headers.get("Cookie"));
  if (shopper === null) return false;
  // A sharded sale: each shard publishes the filter of its own buyers, and the shopper can only hold an order in
  // their home shard, so that shard's filter decides (exact per shard, never merged).
  const known = filters.get(shardObjectName(saleId, homeShard(shopper, shards)));
  if (!known || !known.filter) return true;
  return known.filter.has(shopper);
}
