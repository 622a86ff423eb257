/**
 * The seckill Worker: hosts the SaleItem and SaleCatalog objects and is the RPC surface the gateway,
 * admin and consumer Workers call through service bindings. It holds no state of its own; each call is
 * routed to the sale's object (an order id carries its sale id, see lib/ids.ts).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { isOverloaded, isRetryable, reject, type Rejection } from "../../lib/errors.ts";
import { saleIdOfOrder } from "../../lib/ids.ts";
import type { SeckillEnv, StubOf } from "../../lib/env.ts";
import type { Order, Sale } from "../../lib/schemas.ts";
import type { Histogram } from "../../lib/histogram.ts";
import type { SaleCatalog } from "../../durable-objects/sale-catalog.ts";
import type {
  SaleItem,
  LedgerEntry,
  OrderResult,
  PurchaseRequest,
  PurchaseResult,
  SaleConfig,
} from "../../durable-objects/sale-item.ts";

export { SaleItem } from "../../durable-objects/sale-item.ts";
export { SaleCatalog } from "../../durable-objects/sale-catalog.ts";
export { SaleReserve } from "../../durable-objects/sale-reserve.ts";

/** How many sales a shopper's "my orders" looks through (newest first). */
const ORDERS_LOOKUP_SALES = 200;

export default class SeckillService extends WorkerEntrypoint<SeckillEnv> {
  async fetch(): Promise<Response> {
    return Response.json({ error: { code: "NOT_FOUND", message: "The seckill Worker only answers RPC" } }, { status: 404 });
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
    return (orders as (Order | null)[]).filter((o): o is Order => o !== null).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
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
    const sale = (await this.sale(config.id).initialize(config)) as Sale;
    await this.catalog().register(config.id);
    return sale;
  }

  async updateSale(saleId: string, patch: Partial<Omit<SaleConfig, "id" | "paused">>) {
    return await this.sale(saleId).update(patch);
  }

  async setPaused(saleId: string, paused: boolean) {
    return await this.sale(saleId).setPaused(paused);
  }

  async setImage(saleId: string, imageUrl: string | null) {
    return await this.sale(saleId).setImage(imageUrl);
  }

  async endSale(saleId: string) {
    return await this.sale(saleId).endNow();
  }

  /** Deletes a sale with no orders: the object first (it refuses if it has any), then the catalog entry. */
  async deleteSale(saleId: string) {
    const result = await this.sale(saleId).deleteIfNoOrders();
    if (result.ok) await this.catalog().unregister(saleId);
    return result;
  }

  async getSeries(saleId: string) {
    return await this.sale(saleId).getSeries();
  }

  async getStats(saleId: string) {
    return await this.sale(saleId).getStats();
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
