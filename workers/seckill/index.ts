/**
 * The seckill Worker: hosts the SaleItem and SaleCatalog objects and is the RPC surface the gateway,
 * admin and consumer Workers call through service bindings. It holds no state of its own; each call is
 * routed to the sale's object (an order id carries its sale id, see lib/contract/ids.ts).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { isOverloaded, isRetryable } from "../../lib/server/object-errors.ts";
import { reject, type Rejection } from "../../lib/contract/errors.ts";
import { saleIdOfOrder } from "../../lib/contract/ids.ts";
import type { SeckillEnv } from "./env.ts";
import type { StubOf } from "../../lib/server/env.ts";
import type { Order, Sale } from "../../lib/contract/schemas.ts";
import type { Histogram } from "../../lib/server/histogram.ts";
import { DEFAULT_ENTRY_SHARDS } from "../../lib/contract/draw.ts";
import type { SaleCatalog, SaleStatsAnswer, SettledSale } from "../../durable-objects/sale-catalog.ts";
import { SettleChecks, isSettled, settledNow } from "./settled.ts";
import type { AccountGuard, HoldGrant, LoginLimits, SessionChange } from "../../durable-objects/account-guard.ts";
import { holdsObjectName } from "../../lib/server/hold-shards.ts";
import type {
  ClosedVerdict,
  LedgerEntry,
  OrderResult,
  PurchaseRequest,
  PurchaseResult,
  SaleConfig,
} from "../../durable-objects/sale-item.ts";

import * as draws from "./draws.ts";
import {
  FiguresCache,
  groupByObject,
  objectOfOrder,
  shardNames,
  shardOfOrder,
  wholeSale,
  wholeStats,
} from "./shards.ts";
import { homeShard, shardObjectName } from "../../lib/server/hot/routing.ts";
import { initialAllotments } from "../../lib/server/hot/stock.ts";
import type { ShardStats } from "../../lib/contract/schemas.ts";
import * as queue from "./queue.ts";

import { SaleItem as SaleItemCore } from "../../durable-objects/sale-item.ts";
import { chaosOf, sendRefusedNow, type Chaos } from "../../lib/server/chaos.ts";
export { SaleCatalog } from "../../durable-objects/sale-catalog.ts";
export { AccountGuard } from "../../durable-objects/account-guard.ts";
export { SaleDraw } from "../../durable-objects/sale-draw.ts";
export { DrawEntries } from "../../durable-objects/draw-entries.ts";
export { SaleQueue } from "../../durable-objects/sale-queue.ts";

/**
 * The SaleItem this Worker hosts: the object of durable-objects/sale-item.ts, plus the faults `npm run chaos`
 * injects (lib/server/chaos.ts) — only with ENVIRONMENT=development and a CHAOS var; otherwise exactly the object.
 */
export class SaleItem extends SaleItemCore {
  constructor(ctx: DurableObjectState, env: SeckillEnv) {
    const chaos = chaosOf(env);
    super(ctx, chaos ? withRefusingQueue(env, chaos) : env);
    // Kept outside the instance: the hosted class has exactly the members of the object it extends, so both are
    // one type to every binding (lib/server/env.ts, types/seckill.d.ts).
    if (chaos) restarts.set(this, { chaos, last: Date.now() });
  }

  override async reservePurchase(request: PurchaseRequest): Promise<PurchaseResult> {
    const answer = super.reservePurchase(request);
    const state = restarts.get(this);
    if (state && state.chaos.restartEveryMs > 0 && Date.now() - state.last >= state.chaos.restartEveryMs) {
      state.last = Date.now();
      // The purchase is reserved in memory and its group commit has started: reset the object now.
      console.log(JSON.stringify({ msg: "chaos: SaleItem restarts mid-commit" }));
      setTimeout(() => this.ctx.abort("chaos: restart mid-commit"), 0);
    }
    return await answer;
  }
}

/** Per object (chaos runs only): the faults and when it last reset itself. */
const restarts = new WeakMap<SaleItemCore, { chaos: Chaos; last: number }>();

function withRefusingQueue(env: SeckillEnv, chaos: Chaos): SeckillEnv {
  if (chaos.sendPeriodMs === 0) return env;
  const queue = env.ORDERS;
  const refusing = {
    send: (...args: Parameters<typeof queue.send>) =>
      sendRefusedNow(chaos) ? Promise.reject(new Error("chaos: queue refuses")) : queue.send(...args),
    sendBatch: (...args: Parameters<typeof queue.sendBatch>) =>
      sendRefusedNow(chaos) ? Promise.reject(new Error("chaos: queue refuses sendBatch")) : queue.sendBatch(...args),
  } as typeof queue;
  return { ...env, ORDERS: refusing };
}
export { SaleReserve } from "../../durable-objects/sale-reserve.ts";

/** How many sales a shopper's "my orders" looks through (newest first). */
const ORDERS_LOOKUP_SALES = 200;

/** A sharded sale's figures, per seckill isolate (shards.ts): browsing never fans out more than once a second. */
const figuresCache = new FiguresCache();

/** When this isolate last asked a closed sale of the shoppers' list whether it has settled (settled.ts). */
const settleChecks = new SettleChecks();

export default class SeckillService extends WorkerEntrypoint<SeckillEnv> {
  /**
   * RPC only, except the queue's live feed: the gateway forwards a shopper's WebSocket upgrade to
   * `/queue-live/<saleId>` (a WebSocket cannot cross an RPC call), with the shopper in `X-Queue-User`.
   */
  async fetch(request: Request): Promise<Response> {
    const live = /^\/queue-live\/([0-9a-f-]{36})$/.exec(new URL(request.url).pathname);
    if (live) return await queue.live(this.env, live[1], request);
    return Response.json(
      { error: { code: "NOT_FOUND", message: "The seckill Worker only answers RPC" } },
      { status: 404 },
    );
  }

  /** A SaleItem object by name: a sale's id is its shard 0 (the whole sale when it has one shard). */
  private sale(objectName: string): StubOf<SaleItem> {
    return this.env.SALE_ITEM.get(this.env.SALE_ITEM.idFromName(objectName)) as unknown as StubOf<SaleItem>;
  }

  /** The object that holds an order (its shard is in the id: lib/server/hot/routing.ts). */
  private orderObject(orderId: string): StubOf<SaleItem> {
    return this.sale(objectOfOrder(orderId));
  }

  /** How many shards a sale has, from its shard 0 (null: no such sale). */
  private async shardsOf(saleId: string): Promise<number | null> {
    const sale = (await this.sale(saleId).getSale()) as Sale | null;
    return sale ? (sale.shards ?? 1) : null;
  }

  /** Every shard's figures of a sharded sale (cached per isolate, shards.ts). */
  private figures(saleId: string, shards: number): Promise<ShardStats[]> {
    return figuresCache.get(saleId, async () => {
      const all = await Promise.all(shardNames(saleId, shards).map((name) => this.sale(name).shardFigures()));
      return all.filter((f): f is ShardStats => f !== null);
    });
  }

  /**
   * A merchant's change reaches every shard: shard 0 first (it decides, e.g. 409 once the sale started), then the
   * others with the same change. The answer is shard 0's, with the whole sale's figures.
   */
  private async everyShard<R extends { ok: boolean }>(
    saleId: string,
    change: (shard: StubOf<SaleItem>) => Promise<R>,
  ): Promise<R> {
    const first = await change(this.sale(saleId));
    if (!first.ok || !("sale" in first)) return first;
    const sale = first.sale as Sale;
    const shards = sale.shards ?? 1;
    if (shards === 1) return first;
    await Promise.all(
      shardNames(saleId, shards)
        .slice(1)
        .map((name) => change(this.sale(name))),
    );
    figuresCache.forget(saleId);
    return { ...first, sale: wholeSale(sale, await this.figures(saleId, shards), Date.now()) };
  }

  private catalog(): StubOf<SaleCatalog> {
    return this.env.SALE_CATALOG.get(this.env.SALE_CATALOG.idFromName("catalog")) as unknown as StubOf<SaleCatalog>;
  }

  /**
   * Calls an object once more when the runtime says the failure is retryable (and the call is safe to
   * repeat); an overloaded object is answered as 503 rather than retried, which would add to the load.
   */
  private async call<T>(run: () => Promise<T>, idempotent: boolean): Promise<T | Rejection> {
    try {
      return await run();
    } catch (err) {
      if (isOverloaded(err)) return reject("UNAVAILABLE", "The sale is overloaded, try again shortly");
      if (idempotent && isRetryable(err)) return await run();
      throw err;
    }
  }

  // ---------------------------------------------------------------- shopper

  /**
   * Not retried on a retryable error: the first attempt may have committed. The shopper's retry (with its
   * Idempotency-Key) is the safe way to repeat a purchase. `objectName` is the shopper's home shard's object
   * (`shardObjectName(saleId, homeShard(userId, shards))`; the sale id itself for a sale of one shard).
   */
  async purchase(objectName: string, request: PurchaseRequest): Promise<PurchaseResult> {
    // An overloaded object is over capacity: the shopper is told to retry (429), never given a 5xx.
    try {
      return (await this.sale(objectName).reservePurchase(request)) as PurchaseResult;
    } catch (err) {
      if (isOverloaded(err)) return reject("RATE_LIMITED", "The sale is busy, try again shortly") as PurchaseResult;
      throw err;
    }
  }

  /** The sale; a sharded sale's `remaining` and `status` are the whole sale's (at most ~1 s old, shards.ts). */
  async getSale(saleId: string): Promise<Sale | null> {
    const sale = (await this.sale(saleId).getSale()) as Sale | null;
    if (!sale || (sale.shards ?? 1) === 1) return sale;
    return wholeSale(sale, await this.figures(saleId, sale.shards!), Date.now());
  }

  /** The edge's lapsed sold-out/ended verdict, asked again (SaleItem.closedVerdict). */
  async closedVerdict(saleId: string, knownBuyers?: number): Promise<ClosedVerdict | null> {
    return (await this.sale(saleId).closedVerdict(knownBuyers)) as ClosedVerdict | null;
  }

  /** Whether the catalog lists this sale: asked before any call that would reach (and create) its object. */
  async hasSale(saleId: string): Promise<boolean> {
    return (await this.catalog().list()).includes(saleId);
  }

  /** Every sale id, newest first: the gateway's per-isolate set of known sales (workers/gateway/known-sales.ts). */
  async saleIds(): Promise<string[]> {
    return await this.catalog().list();
  }

  /** Every sale id (newest first) and the shard counts of sharded sales: the gateway's known sales and routing. */
  async saleCatalog(): Promise<{ ids: string[]; sharded: [string, number][] }> {
    const catalog = this.catalog();
    const [ids, sharded] = await Promise.all([catalog.list(), catalog.shardCounts()]);
    return { ids, sharded: sharded as [string, number][] };
  }

  /**
   * Every sale, newest first. A settled sale is the catalog's kept answer (its object is not asked); the others
   * are asked. A sold-out or ended one is also asked for its stats now and then, and kept once it has settled.
   */
  async listSales(): Promise<Sale[]> {
    const { ids, settled, version } = await this.catalog().listing(false);
    const kept = new Map(settled);
    const now = Date.now();
    const closed: string[] = [];
    const sales = await Promise.all(
      ids.map(async (id) => {
        const last = kept.get(id);
        if (last) return settledNow(last, now);
        const sale = await this.getSale(id);
        if (sale && (sale.status === "sold_out" || sale.status === "ended") && settleChecks.due(id, now))
          closed.push(id);
        return sale;
      }),
    );
    if (closed.length > 0) {
      const stats = await Promise.all(closed.map((id) => this.getStats(id).catch(() => null)));
      await this.keepSettled(
        stats.filter((s) => s !== null),
        version,
      );
    }
    return sales.filter((s): s is Sale => s !== null);
  }

  /**
   * Hands the catalog the sales among `answers` that have settled, with each object's buyers filter (for "my
   * orders"). Best effort: a failure here only means the sale is asked again next time.
   */
  private async keepSettled(answers: SaleStatsAnswer[], version: number): Promise<void> {
    const settled = answers.filter(isSettled);
    if (settled.length === 0) return;
    try {
      const kept: SettledSale[] = await Promise.all(
        settled.map(async (sale) => {
          const verdicts = await Promise.all(
            shardNames(sale.id, sale.shards ?? 1).map((name) => this.sale(name).closedVerdict()),
          );
          return { sale, buyers: verdicts.map((v) => (v as ClosedVerdict | null)?.buyers?.filter ?? null) };
        }),
      );
      await this.catalog().settle(kept, version);
    } catch (err) {
      console.error(JSON.stringify({ msg: "keeping settled sales failed", error: String(err) }));
    }
  }

  /** The sale's figures may move again (a merchant's change, counts from the edge): its object is asked again. */
  private async unsettle(saleId: string): Promise<void> {
    await this.catalog().unsettle(saleId);
  }

  async getOrder(orderId: string, userId: string): Promise<OrderResult> {
    return (await this.orderObject(orderId).getOrder(orderId, userId)) as OrderResult;
  }

  async payOrder(orderId: string, userId: string): Promise<OrderResult> {
    const result = await this.call(() => this.orderObject(orderId).payOrder(orderId, userId), true);
    return result as OrderResult;
  }

  async cancelOrder(orderId: string, userId: string): Promise<OrderResult> {
    const result = await this.call(() => this.orderObject(orderId).cancelOrder(orderId, userId), true);
    return result as OrderResult;
  }

  /** The shopper's order in each sale, from the one object that can hold it: the shopper's home shard. */
  async listOrdersForUser(userId: string): Promise<Order[]> {
    // Among the newest sales, the catalog leaves out the settled ones whose buyers the shopper is not among.
    const sales = (await this.catalog().salesForOrders(userId, ORDERS_LOOKUP_SALES)) as [string, number][];
    const orders = await Promise.all(
      sales.map(([id, shards]) => this.sale(shardObjectName(id, homeShard(userId, shards))).getOrderForUser(userId)),
    );
    return (orders as (Order | null)[])
      .filter((o): o is Order => o !== null)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  /** The gateway's own counts and latencies for a sale are kept by its shard 0 (they are the sale's, not a shard's). */
  async recordEdgeRejections(saleId: string, counts: { rateLimited?: number; soldOut?: number; ended?: number }) {
    await this.sale(saleId).recordEdgeRejections(counts);
    // Counts for a closed sale change what the admin list and /metrics show of it (the object was woken anyway).
    if (counts.soldOut || counts.ended) await this.unsettle(saleId);
  }

  /** Latencies measured by the gateway (a flush window's histogram) and the consumer, for /metrics. */
  async recordObservations(saleId: string, observations: { gatewayLatency?: Histogram; consumerBatchMs?: number }) {
    await this.sale(saleId).recordObservations(observations);
  }

  // ---------------------------------------------------------------- merchant

  async createSale(config: Omit<SaleConfig, "paused">): Promise<Sale> {
    // A draw sale's draw comes first: it makes the seed, and the sale publishes its commitment from creation on.
    if (config.mode === "draw") {
      const drawCommitment = await draws.createDraw(this.env, {
        saleId: config.id,
        stock: config.stock,
        startsAt: config.startsAt,
        drawAt: config.drawAt!,
        endsAt: config.endsAt,
        entryShards: DEFAULT_ENTRY_SHARDS,
      });
      config = { ...config, drawCommitment };
    }
    // A queue sale's queue comes first too: the sale is listed only once its queue can take shoppers.
    if (config.queue) await queue.createQueue(this.env, config);
    const shards = config.shards ?? 1;
    if (shards === 1) {
      const sale = (await this.sale(config.id).initialize(config)) as Sale;
      await this.catalog().register(config.id);
      return sale;
    }
    // A sharded sale: the coordinator with the reserve first, then every shard with its allotment, then the
    // catalog (a failure part-way leaves objects no shopper can reach; every step is idempotent).
    const allotments = initialAllotments(config.stock, shards);
    await this.env.SALE_RESERVE.get(this.env.SALE_RESERVE.idFromName(config.id)).initialize(
      config.id,
      config.stock,
      allotments,
    );
    const created = (await Promise.all(
      shardNames(config.id, shards).map((name, shard) =>
        this.sale(name).initialize({ ...config, shards, shard }, allotments[shard]),
      ),
    )) as Sale[];
    await this.catalog().register(config.id, shards);
    return { ...created[0], remaining: config.stock };
  }

  async updateSale(saleId: string, patch: Partial<Omit<SaleConfig, "id" | "paused" | "shards" | "shard">>) {
    const result = await this.everyShard(saleId, (shard) => shard.update(patch));
    if (result.ok && result.sale.mode === "draw") {
      const s = result.sale;
      await draws.drawObject(this.env, saleId).update({
        stock: s.stock,
        startsAt: Date.parse(s.startsAt),
        drawAt: Date.parse(s.drawAt!),
        endsAt: Date.parse(s.endsAt),
      });
    }
    if (result.ok) await queue.syncTimes(this.env, result.sale);
    await this.unsettle(saleId);
    return result;
  }

  // ---------------------------------------------------------------- queue sales (./queue.ts)

  async joinQueue(saleId: string, userId: string, challengePassed = false) {
    return await queue.joinQueue(this.env, saleId, userId, challengePassed);
  }

  async getTicket(saleId: string, userId: string) {
    return await queue.getTicket(this.env, saleId, userId);
  }

  /** The purchase's check in a queue sale: ok for an admitted, unexpired ticket, else the rejection to answer. */
  async queueGate(saleId: string, userId: string) {
    return await queue.gate(this.env, saleId, userId);
  }

  /** A queue sale's purchase was accepted (202): the shopper's ticket is used. */
  async queuePurchased(saleId: string, userId: string, orderId: string) {
    await queue.purchased(this.env, saleId, userId, orderId);
  }

  // ---------------------------------------------------------------- draws and registration (./draws.ts)

  async enterDraw(saleId: string, userId: string) {
    return await draws.enterDraw(this.env, saleId, userId);
  }

  async getEntry(saleId: string, userId: string) {
    return await draws.getEntry(this.env, saleId, userId);
  }

  async getPublicDraw(saleId: string) {
    return await draws.getPublicDraw(this.env, saleId);
  }

  async getDrawStats(saleId: string) {
    return await draws.getDrawStats(this.env, saleId);
  }

  async getDrawRanking(saleId: string, fromRank: number, limit: number) {
    return await draws.getDrawRanking(this.env, saleId, fromRank, limit);
  }

  async register(saleId: string, userId: string) {
    return await draws.register(this.env, saleId, userId);
  }

  async getRegistration(saleId: string, userId: string) {
    return await draws.getRegistration(this.env, saleId, userId);
  }

  async setPaused(saleId: string, paused: boolean) {
    const result = await this.everyShard(saleId, (shard) => shard.setPaused(paused));
    await this.unsettle(saleId);
    return result;
  }

  async setImage(saleId: string, imageUrl: string | null) {
    const result = await this.everyShard(saleId, (shard) => shard.setImage(imageUrl));
    await this.unsettle(saleId);
    return result;
  }

  async endSale(saleId: string) {
    const result = await this.everyShard(saleId, (shard) => shard.endNow());
    if (result.ok) await queue.syncTimes(this.env, result.sale);
    await this.unsettle(saleId);
    return result;
  }

  /**
   * Deletes a sale with no orders (and, a draw sale, no entries): the objects first (each refuses if it has any),
   * then the catalog entry. Nothing of the sale is kept: its SaleItem objects, a sharded sale's coordinator, a draw
   * sale's SaleDraw and entry shards, a queue sale's SaleQueue all end with no row and no alarm.
   *
   * A sharded sale has no one object whose check and forgetting are one step, so every shard is first closed and
   * counted (`closeForDelete`: paused, orders counted in the same block); with any order anywhere the shards this
   * call paused are reopened and the delete refused. Otherwise no purchase can start any more, and shards K−1..0,
   * then the coordinator (`SaleReserve.destroy`), forget the sale and wipe their storage. A draw sale's entry shards
   * are closed and counted the same way before its object decides (`deleteIfNoOrders(entries)`), and reopened
   * if it refuses; the draw is destroyed only after the object has forgotten the sale.
   *
   * A repeat after a part-way failure finishes the job: once shard 0 is gone, a sale the catalog still lists has
   * its shard count taken from the catalog, and its coordinator (several shards) or its draw and queue (one shard:
   * what the sale was is no longer known, and destroying an object that holds nothing stores nothing) destroyed,
   * then its catalog entry removed. An id the catalog does not list and no object holds is `NOT_FOUND`, and no
   * other object is called.
   */
  async deleteSale(saleId: string) {
    const sale = (await this.sale(saleId).getSale()) as Sale | null;
    if (!sale && !(await this.hasSale(saleId))) return reject("NOT_FOUND", "No such sale");
    const shards = sale ? (sale.shards ?? 1) : await this.catalogShards(saleId);
    if (shards > 1) {
      const names = shardNames(saleId, shards);
      const closed = await Promise.all(names.map((name) => this.sale(name).closeForDelete()));
      figuresCache.forget(saleId);
      const orders = closed.reduce((a, c) => a + (c.ok ? c.orders : 0), 0);
      if (orders > 0) {
        await Promise.all(
          names.map((name, i) => {
            const c = closed[i];
            return c.ok && !c.wasPaused ? this.sale(name).setPaused(false) : null;
          }),
        );
        return reject("SALE_HAS_ORDERS", "The sale has orders: end it instead of deleting it", { orders });
      }
      for (const name of names.slice(1).reverse()) {
        const shard = await this.sale(name).deleteIfNoOrders();
        if (!shard.ok && shard.code !== "NOT_FOUND") return shard;
      }
    }
    const entries = sale?.mode === "draw" ? await draws.closeEntriesForDelete(this.env, saleId) : null;
    const result = await this.sale(saleId).deleteIfNoOrders(entries?.entries);
    if (!result.ok && result.code !== "NOT_FOUND") {
      if (entries) await draws.reopenEntries(this.env, saleId);
      return result;
    }
    if (shards > 1) await this.env.SALE_RESERVE.get(this.env.SALE_RESERVE.idFromName(saleId)).destroy();
    // With shard 0 gone (a repeat) the sale's kind is unknown, unless it had shards (never a draw or a queue): a
    // sale of one shard has its draw and queue objects destroyed anyway.
    if (sale ? sale.mode === "draw" : shards === 1) await draws.destroyDraw(this.env, saleId);
    if (sale ? sale.queue === true : shards === 1) await queue.destroyQueue(this.env, saleId);
    await this.catalog().unregister(saleId);
    return result;
  }

  /** A sale's shard count as the catalog registered it (1 when it is not there or has one shard). */
  private async catalogShards(saleId: string): Promise<number> {
    const counts = (await this.catalog().shardCounts()) as [string, number][];
    return counts.find(([id]) => id === saleId)?.[1] ?? 1;
  }

  async getSeries(saleId: string) {
    return await this.sale(saleId).getSeries();
  }

  /** A sharded sale's stats are every shard's summed, with `stats.shards` (docs/api.md "Hot sales"). */
  async getStats(saleId: string) {
    const first = await this.sale(saleId).getStats();
    if (!first) return first;
    if ((first.shards ?? 1) === 1) {
      if (first.queue !== true) return first;
      const q = await queue.queueStats(this.env, saleId);
      return q ? { ...first, stats: { ...first.stats, queue: q } } : first;
    }
    const names = shardNames(saleId, first.shards!);
    const [rest, figures] = await Promise.all([
      Promise.all(names.slice(1).map((name) => this.sale(name).getStats())),
      Promise.all(names.map((name) => this.sale(name).shardFigures())),
    ]);
    const parts = [first, ...rest].filter((p) => p !== null);
    return wholeStats(
      parts,
      figures.filter((f) => f !== null),
      Date.now(),
    );
  }

  /**
   * Every sale with its stats (the admin list, /metrics, Analytics Engine): a settled sale's are the catalog's kept
   * answer, the others' objects are asked, and those found settled are kept for the next read.
   */
  async listStats(): Promise<SaleStatsAnswer[]> {
    const { ids, settled, version } = await this.catalog().listing(true);
    const kept = new Map(settled as [string, SaleStatsAnswer][]);
    const now = Date.now();
    const all = await Promise.all(
      ids.map((id) => {
        const last = kept.get(id);
        return last ? settledNow(last, now) : this.getStats(id);
      }),
    );
    const answers = all.filter((s) => s !== null);
    await this.keepSettled(
      answers.filter((s) => !kept.has(s.id)),
      version,
    );
    return answers;
  }

  /**
   * The sale's ledger in order-id order, a page at a time. A sharded sale's is its shards' ledgers one after the
   * other: an order id's sequence starts with its shard, so every id of shard i sorts before every id of i + 1.
   */
  async ledger(saleId: string, after: string, limit: number): Promise<LedgerEntry[]> {
    const shards = (await this.shardsOf(saleId)) ?? 1;
    if (shards === 1) return (await this.sale(saleId).ledger(after, limit)) as LedgerEntry[];
    const out: LedgerEntry[] = [];
    let cursor = after;
    for (let shard = after ? shardOfOrder(after) : 0; shard < shards && out.length < limit; shard++) {
      const want = limit - out.length;
      const page = (await this.sale(shardObjectName(saleId, shard)).ledger(cursor, want)) as LedgerEntry[];
      out.push(...page);
      if (page.length >= want) break;
      cursor = "";
    }
    return out;
  }

  /** Puts orders back in their objects' outboxes (reconcile, replay): each order goes to its own shard. */
  async requeue(saleId: string, orderIds: string[]): Promise<number> {
    const groups = groupByObject(
      orderIds.filter((id) => saleIdOfOrder(id) === saleId),
      (id) => id,
    );
    const counts = await Promise.all([...groups].map(([name, ids]) => this.sale(name).requeue(ids)));
    await this.unsettle(saleId);
    return counts.reduce((a, n) => a + n, 0);
  }

  // ---------------------------------------------------------------- accounts (durable-objects/account-guard.ts)

  private guard(name: string): StubOf<AccountGuard> {
    return this.env.ACCOUNT_GUARD.get(this.env.ACCOUNT_GUARD.idFromName(name)) as unknown as StubOf<AccountGuard>;
  }

  async revokeSession(sid: string, expiresAt: number): Promise<number> {
    return await this.guard("sessions").revokeSession(sid, expiresAt);
  }

  async revokeAllSessions(userId: string, expiresAt: number): Promise<{ seq: number; at: number }> {
    return await this.guard("sessions").revokeAllSessions(userId, expiresAt);
  }

  async sessionChanges(after: number): Promise<{ changes: SessionChange[]; last: number; more: boolean }> {
    return (await this.guard("sessions").sessionChanges(after)) as {
      changes: SessionChange[];
      last: number;
      more: boolean;
    };
  }

  async loginRetryAfter(client: string, username: string, limits: LoginLimits): Promise<number> {
    return await this.guard(`login:${client}`).loginRetryAfter(username, limits);
  }

  async loginResult(client: string, username: string, ok: boolean, limits: LoginLimits): Promise<void> {
    await this.guard(`login:${client}`).loginResult(username, ok, limits);
  }

  private holds(userId: string): StubOf<AccountGuard> {
    return this.guard(holdsObjectName(userId));
  }

  async acquireHold(userId: string, cap: number, saleIdHex: string): Promise<HoldGrant> {
    return (await this.holds(userId).acquireHold(userId, cap, saleIdHex)) as HoldGrant;
  }

  async settleHold(userId: string, token: string, orderId: string, expiresAt: number): Promise<void> {
    await this.holds(userId).settleHold(userId, token, orderId, expiresAt);
  }

  async releaseHold(userId: string, token: string): Promise<void> {
    await this.holds(userId).releaseHold(userId, token);
  }

  async endHold(userId: string, orderId: string): Promise<void> {
    await this.holds(userId).endHold(userId, orderId);
  }

  // ---------------------------------------------------------------- pipeline

  /** Each order's confirmation goes to the object that holds it (its shard; the sale's object when it has one). */
  async confirmPersisted(_saleId: string, items: { orderId: string; version: number }[]): Promise<void> {
    const groups = groupByObject(items, (i) => i.orderId);
    await Promise.all([...groups].map(([name, group]) => this.sale(name).confirmPersisted(group)));
  }

  /** Orders PostgreSQL refused on unique (sale_id, user_id): counted, and not re-sent (queues/consumer.ts). */
  async reportOrderConflicts(_saleId: string, items: { orderId: string; version: number }[]): Promise<void> {
    const groups = groupByObject(items, (i) => i.orderId);
    await Promise.all([...groups].map(([name, group]) => this.sale(name).reportOrderConflicts(group)));
  }

  /** Readiness: the catalog object answers. */
  async ping(): Promise<number> {
    return (await this.catalog().list()).length;
  }
}
