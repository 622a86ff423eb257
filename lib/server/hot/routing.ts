/**
 * Where a shopper's purchase goes in a sharded sale (docs/design.md, "Hot sales"). Pure functions: the gateway,
 * the seckill Worker, the admin Worker and `npm run simulate` all import these, so the simulation routes exactly
 * as the system does.
 *
 * A sale's stock lives in K SaleItem objects ("shards"). A shopper's home shard is a stable hash of the user id,
 * so every purchase, retry and order read of one shopper meets the same object: one-order-per-shopper,
 * `perUserLimit` and `Idempotency-Key` stay single-object checks with no `await` between check and reserve.
 */

/** docs/api.md "Hot sales": `shards` is 1..64. */
export const MIN_SHARDS = 1;
export const MAX_SHARDS = 64;

/**
 * The most buyers one shard may hold in memory (its one-order-per-shopper map). Measured (docs/capacity.md,
 * "Memory per buyer"): a Map of user id (36 chars) → order id (48 chars) costs ~150 bytes per entry in V8, so
 * 250,000 buyers are ~37 MB of the 128 MB an isolate may use, leaving room for the object's other state, a
 * group commit in flight and the runtime itself. The shard enforces it: it never takes stock it could not
 * sell without passing this bound (`ShardStock.headroom`).
 */
export const MAX_BUYERS_PER_SHARD = 250_000;

/**
 * Stock one shard is planned for when the count is chosen from the stock alone: 80 % of the bound, so hash
 * skew and rebalancing (stock moves to where the buyers are) never push a shard to its bound in practice.
 */
export const PLANNED_BUYERS_PER_SHARD = 200_000;

/** The object's admission ceiling (`OBJECT_MAX_RPS`), accepted purchases per second per object. */
export const DEFAULT_OBJECT_MAX_RPS = 800;

/**
 * 32-bit FNV-1a over the string's UTF-16 code units: stable across runtimes and releases (never change it:
 * a shopper's home shard, and so where their order lives, depends on it).
 */
export function fnv1a32(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shopper's home shard in a sale of `shards` shards: 0 when the sale has one. */
export function homeShard(userId: string, shards: number): number {
  assertShardCount(shards);
  return shards === 1 ? 0 : fnv1a32(userId) % shards;
}

export function assertShardCount(shards: number): void {
  if (!Number.isInteger(shards) || shards < MIN_SHARDS || shards > MAX_SHARDS) {
    throw new RangeError(`shard count must be an integer in ${MIN_SHARDS}..${MAX_SHARDS}, got ${shards}`);
  }
}

/**
 * The Durable Object name of shard `index` of a sale. Shard 0 keeps the sale id itself, so a `shards: 1` sale
 * is the very object it was before sharding existed (same name, same storage, same cost).
 */
export function shardObjectName(saleId: string, index: number): string {
  return index === 0 ? saleId : `${saleId}#${index}`;
}

/** The default shard count when the merchant does not choose one (docs/api.md: 1 unless the stock is too large). */
export function defaultShardsForStock(stock: number): number {
  if (!Number.isInteger(stock) || stock < 0) throw new RangeError(`stock must be a non-negative integer, got ${stock}`);
  return Math.min(MAX_SHARDS, Math.max(MIN_SHARDS, Math.ceil(stock / PLANNED_BUYERS_PER_SHARD)));
}

/**
 * `--shards auto` and capacity planning: enough shards for the memory bound and for the offered attempt rate
 * at `objectMaxRps` each, never more shards than units (a shard with no stock to sell only costs round trips).
 */
export function autoShards(stock: number, attemptsPerSecond: number, objectMaxRps = DEFAULT_OBJECT_MAX_RPS): number {
  const forRate = Math.ceil(Math.max(0, attemptsPerSecond) / objectMaxRps);
  const wanted = Math.max(defaultShardsForStock(stock), forRate);
  return Math.min(MAX_SHARDS, Math.max(MIN_SHARDS, Math.min(wanted, Math.max(1, stock))));
}

/**
 * Order ids carry a per-sale 32-bit sequence (lib/contract/ids.ts). In a sharded sale its top 6 bits are the shard and
 * the low 26 bits the shard's own sequence, so any Worker sends an order's pay, cancel or read straight to its
 * shard. Shard 0's sequences are the plain numbers they were before sharding.
 */
export const SHARD_SEQUENCE_BITS = 26;
const SHARD_SEQUENCE_SPAN = 2 ** SHARD_SEQUENCE_BITS;

export function shardSequence(shard: number, localSequence: number): number {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) throw new RangeError(`bad shard ${shard}`);
  if (!Number.isInteger(localSequence) || localSequence < 0 || localSequence >= SHARD_SEQUENCE_SPAN) {
    throw new RangeError(`shard sequence out of range: ${localSequence}`);
  }
  return shard * SHARD_SEQUENCE_SPAN + localSequence;
}

export function shardOfSequence(sequence: number): number {
  return Math.floor(sequence / SHARD_SEQUENCE_SPAN);
}

/**
 * Queue pacing: how many outbox messages per second one shard may send so that the shards sharing a queue
 * never offer it more than 90 % of its 5,000 msg/s (docs/design.md, "Platform facts for hot sales"). With
 * `queues` queues the shards are spread round-robin (shard i → queue i mod queues).
 */
export const QUEUE_MAX_MSG_PER_SEC = 5_000;

export function queueOfShard(shard: number, queues: number): number {
  return shard % Math.max(1, queues);
}

export function outboxMessagesPerSecond(shards: number, queues = 1): number {
  const perQueue = Math.ceil(shards / Math.max(1, queues));
  return Math.floor((QUEUE_MAX_MSG_PER_SEC * 0.9) / perQueue);
}
