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
import type { SaleCatalog } from "../../durable-objects/sale-catalog.ts";
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

  private sale(saleId: string): StubOf<SaleItem> {
    return this.env.SALE_ITEM.get(this.env.SALE_ITEM.idFromName(saleId)) as unknown as StubOf<SaleItem>;
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
   * Idempotency-Key) is the safe way to repeat a purchase.
   */
  async purchase(saleId: string, request: PurchaseRequest): Promise<PurchaseResult> {
    // An overloaded object is over capacity: the shopper is told to retry (429), never given a 5xx.
    try {
      return (await this.sale(saleId).reservePurchase(request)) as PurchaseResult;
    } catch (err) {
      if (isOverloaded(err)) return reject("RATE_LIMITED", "The sale is busy, try again shortly") as PurchaseResult;
      throw err;
    }
  }

  async getSale(saleId: string): Promise<Sale | null> {
    return (await this.sale(saleId).getSale()) as Sale | null;
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

  async listSales(): Promise<Sale[]> {
    const ids = await this.catalog().list();
    const sales = await Promise.all(ids.map((id) => this.getSale(id)));
    return sales.filter((s): s is Sale => s !== null);
  }

  async getOrder(orderId: string, userId: string): Promise<OrderResult> {
    return (await this.sale(saleIdOfOrder(orderId)).getOrder(orderId, userId)) as OrderResult;
  }

  async payOrder(orderId: string, userId: string): Promise<OrderResult> {
    const result = await this.call(() => this.sale(saleIdOfOrder(orderId)).payOrder(orderId, userId), true);
    return result as OrderResult;
  }

  async cancelOrder(orderId: string, userId: string): Promise<OrderResult> {
    const result = await this.call(() => this.sale(saleIdOfOrder(orderId)).cancelOrder(orderId, userId), true);
    return result as OrderResult;
  }

  async listOrdersForUser(userId: string): Promise<Order[]> {
    const ids = (await this.catalog().list()).slice(0, ORDERS_LOOKUP_SALES);
    const orders = await Promise.all(ids.map((id) => this.sale(id).getOrderForUser(userId)));
    return (orders as (Order | null)[])
      .filter((o): o is Order => o !== null)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  async recordEdgeRejections(saleId: string, counts: { rateLimited?: number; soldOut?: number; ended?: number }) {
    await this.sale(saleId).recordEdgeRejections(counts);
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
    const sale = (await this.sale(config.id).initialize(config)) as Sale;
    await this.catalog().register(config.id);
    return sale;
  }

  async updateSale(saleId: string, patch: Partial<Omit<SaleConfig, "id" | "paused">>) {
    const result = await this.sale(saleId).update(patch);
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
    return await this.sale(saleId).setPaused(paused);
  }

  async setImage(saleId: string, imageUrl: string | null) {
    return await this.sale(saleId).setImage(imageUrl);
  }

  async endSale(saleId: string) {
    const result = await this.sale(saleId).endNow();
    if (result.ok) await queue.syncTimes(this.env, result.sale);
    return result;
  }

  /** Deletes a sale with no orders: the object first (it refuses if it has any), then the catalog entry. */
  async deleteSale(saleId: string) {
    const queued = await queue.hasQueue(this.env, saleId);
    const result = await this.sale(saleId).deleteIfNoOrders();
    if (result.ok && queued) await queue.destroyQueue(this.env, saleId);
    if (result.ok) await this.catalog().unregister(saleId);
    return result;
  }

  async getSeries(saleId: string) {
    return await this.sale(saleId).getSeries();
  }

  async getStats(saleId: string) {
    const stats = await this.sale(saleId).getStats();
    if (!stats || stats.queue !== true) return stats;
    const q = await queue.queueStats(this.env, saleId);
    return q ? { ...stats, stats: { ...stats.stats, queue: q } } : stats;
  }

  async listStats() {
    const ids = await this.catalog().list();
    const all = await Promise.all(ids.map((id) => this.getStats(id)));
    return all.filter((s) => s !== null);
  }

  async ledger(saleId: string, after: string, limit: number): Promise<LedgerEntry[]> {
    return (await this.sale(saleId).ledger(after, limit)) as LedgerEntry[];
  }

  async requeue(saleId: string, orderIds: string[]): Promise<number> {
    return await this.sale(saleId).requeue(orderIds);
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

  async confirmPersisted(saleId: string, items: { orderId: string; version: number }[]): Promise<void> {
    await this.sale(saleId).confirmPersisted(items);
  }

  /** Orders PostgreSQL refused on unique (sale_id, user_id): counted, and not re-sent (queues/consumer.ts). */
  async reportOrderConflicts(saleId: string, items: { orderId: string; version: number }[]): Promise<void> {
    await this.sale(saleId).reportOrderConflicts(items);
  }

  /** Readiness: the catalog object answers. */
  async ping(): Promise<number> {
    return (await this.catalog().list()).length;
  }
}
