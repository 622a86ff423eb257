/**
 * A sharded sale seen as one sale (docs/api.md "Hot sales", docs/design.md "Hot sales: the product"). Pure
 * helpers of the seckill Worker: where an order lives, how the shards' figures add up to the sale's, and a
 * short-lived per-isolate cache of those figures so that browsing never calls K objects per request.
 */
import { saleIdOfOrder } from "../../lib/contract/ids.ts";
import type { Sale, SaleStats, SaleStatus, ShardStats } from "../../lib/contract/schemas.ts";
import { shardObjectName, shardOfSequence } from "../../lib/server/hot/routing.ts";
import { emptyHistogram, mergeHistogram, type Histogram } from "../../lib/server/histogram.ts";

/** The shard of an order: the top bits of its id's sequence (lib/server/hot/routing.ts); 0 for a sale of one shard. */
export function shardOfOrder(orderId: string): number {
  return shardOfSequence(parseInt(orderId.slice(32, 40), 16));
}

/** The SaleItem object that holds an order: its sale's shard named by the order id itself, no lookup. */
export function objectOfOrder(orderId: string): string {
  return shardObjectName(saleIdOfOrder(orderId), shardOfOrder(orderId));
}

/** Items about orders (confirmations, conflicts, requeues) grouped by the object that holds each order. */
export function groupByObject<T>(items: T[], orderIdOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = objectOfOrder(orderIdOf(item));
    const group = groups.get(name);
    if (group) group.push(item);
    else groups.set(name, [item]);
  }
  return groups;
}

/** The object names of a sale's shards, shard 0 first. */
export function shardNames(saleId: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, i) => shardObjectName(saleId, i));
}

/**
 * The whole sale's `remaining`: its stock less what every shard has sold (held, paid, or reserved in a round).
 * Units in the coordinator's reserve or moving between objects count as remaining: they are for sale.
 */
export function remainingOf(stock: number, figures: ShardStats[]): number {
  return Math.max(0, stock - figures.reduce((a, f) => a + f.sold, 0));
}

/**
 * The sale's status from shard 0's answer and the sale's `remaining`: ended and paused are the config's (every
 * shard has the same), sold out only when nothing remains anywhere.
 */
export function wholeStatus(shard0: Sale, remaining: number, now: number): SaleStatus {
  if (shard0.status === "ended" || shard0.status === "paused") return shard0.status;
  if (remaining <= 0) return "sold_out";
  return now < Date.parse(shard0.startsAt) ? "scheduled" : "live";
}

/** The public sale of a sharded sale: shard 0's answer with the whole sale's `remaining` and `status`. */
export function wholeSale(shard0: Sale, figures: ShardStats[], now: number): Sale {
  const remaining = remainingOf(shard0.stock, figures);
  return { ...shard0, remaining, status: wholeStatus(shard0, remaining, now) };
}

type StatsAnswer = Sale & { stats: SaleStats; latency: Histogram; gatewayLatency: Histogram; consumerBatch: Histogram };

function addUnits(a?: { units: number; revenueCents: number }, b?: { units: number; revenueCents: number }) {
  return { units: (a?.units ?? 0) + (b?.units ?? 0), revenueCents: (a?.revenueCents ?? 0) + (b?.revenueCents ?? 0) };
}

function mergedHistogram(parts: Histogram[]): Histogram {
  const into = emptyHistogram(parts[0].buckets);
  for (const h of parts) mergeHistogram(into, h);
  return into;
}

/**
 * The admin stats of a sharded sale: every counter summed over the shards, `stats.shards` one entry per shard,
 * `stats.reserve` the units in no shard (docs/api.md "Hot sales"), latencies merged.
 */
export function wholeStats(parts: StatsAnswer[], figures: ShardStats[], now: number): StatsAnswer {
  const first = parts[0];
  const sale = wholeSale(first, figures, now);
  const sum = (pick: (s: SaleStats) => number | undefined) => parts.reduce((a, p) => a + (pick(p.stats) ?? 0), 0);
  const rejected = { ...first.stats.rejected };
  for (const p of parts.slice(1))
    for (const k of Object.keys(rejected) as (keyof SaleStats["rejected"])[]) rejected[k] += p.stats.rejected[k];
  const stats: SaleStats = {
    attempts: sum((s) => s.attempts),
    sold: sum((s) => s.sold),
    remaining: sale.remaining,
    rejected,
    outboxDepth: sum((s) => s.outboxDepth),
    awaitingDatabase: sum((s) => s.awaitingDatabase),
    orderConflicts: sum((s) => s.orderConflicts),
    held: parts.reduce((a, p) => addUnits(a, p.stats.held), addUnits()),
    paid: parts.reduce((a, p) => addUnits(a, p.stats.paid), addUnits()),
    registrations: sum((s) => s.registrations),
    shards: figures,
    reserve: first.stock - figures.reduce((a, f) => a + f.stock, 0),
  };
  return {
    ...sale,
    stats,
    latency: mergedHistogram(parts.map((p) => p.latency)),
    gatewayLatency: mergedHistogram(parts.map((p) => p.gatewayLatency)),
    consumerBatch: mergedHistogram(parts.map((p) => p.consumerBatch)),
  };
}

/**
 * Per-isolate cache of a sharded sale's figures: one fan-out to its K shards at most every `ttlMs` per seckill
 * isolate, shared by every caller meanwhile (the gateway caches the sale and the list again, for 0.5 s and 1 s).
 * So a sharded sale's public `remaining` is at most `ttlMs` + the gateway's TTL old; `sold_out` is never shown
 * while units remain, only later than it became true by that much.
 */
export class FiguresCache {
  private readonly entries = new Map<string, { at: number; figures: Promise<ShardStats[]> }>();

  constructor(
    private readonly ttlMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(saleId: string, load: () => Promise<ShardStats[]>): Promise<ShardStats[]> {
    const now = this.now();
    const hit = this.entries.get(saleId);
    if (hit && now - hit.at < this.ttlMs) return hit.figures;
    if (this.entries.size >= 1000) this.entries.clear();
    const figures = load();
    this.entries.set(saleId, { at: now, figures });
    figures.catch(() => this.entries.delete(saleId));
    return figures;
  }

  /** A merchant changed the sale: the next read fans out again. */
  forget(saleId: string): void {
    this.entries.delete(saleId);
  }
}
