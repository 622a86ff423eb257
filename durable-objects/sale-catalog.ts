/**
 * SaleCatalog: the one list of sales that shoppers browse. It lives in a Durable Object, not only in
 * PostgreSQL, so that browsing and buying keep working while PostgreSQL is down (invariant 4): the shopper
 * path never needs the database. The admin Worker writes the PostgreSQL row first, then registers here.
 *
 * It also holds each sale's shard count (docs/api.md "Hot sales"; fixed at creation), so the gateway and the
 * seckill Worker route a purchase or a shopper's orders to the right SaleItem object with no extra call.
 *
 * And the last word of every settled sale (docs/design.md "Settled sales are not woken"): once nothing but a
 * merchant's change can move a sale's figures, the seckill Worker leaves its answer here, and the sale lists, the
 * admin list, /metrics and "my orders" read it from here instead of waking the sale's object on every read.
 */
import { DurableObject } from "cloudflare:workers";
import { BuyersFilter } from "../lib/server/buyers-filter.ts";
import { homeShard } from "../lib/server/hot/routing.ts";
import type { Sale, SaleStats } from "../lib/contract/schemas.ts";
import type { Histogram } from "../lib/server/histogram.ts";
import type { ObjectEnv } from "./env.ts";

/** A sale as the seckill Worker's `getStats` answers it (the whole sale's, for a sharded one). */
export type SaleStatsAnswer = Sale & {
  stats: SaleStats;
  latency: Histogram;
  gatewayLatency: Histogram;
  consumerBatch: Histogram;
};

/** A settled sale's last answer, and each of its objects' buyers filter (index = shard; null: not known). */
export interface SettledSale {
  sale: SaleStatsAnswer;
  buyers: (string | null)[];
}

export class SaleCatalog extends DurableObject<ObjectEnv> {
  private ids: string[] = [];
  /** Sales with more than one shard → their shard count (every other sale has one). */
  private sharded = new Map<string, number>();
  /** Settled sales → their last answer (the buyers filters stay in storage: only "my orders" reads them). */
  private settled = new Map<string, SaleStatsAnswer>();
  /**
   * Counts `unsettle` calls; `unsettledAt` says when each sale was last unsettled (memory only). An answer read
   * before a merchant's change must not be kept after it: `settle` skips a sale unsettled since its `listing`.
   */
  private version = 0;
  private unsettledAt = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: ObjectEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const sql = this.ctx.storage.sql;
      sql.exec("CREATE TABLE IF NOT EXISTS sales (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
      // Catalogs made before sharding get the column (every existing sale has one shard).
      const columns = sql.exec<{ name: string }>("PRAGMA table_info(sales)").toArray();
      if (!columns.some((c) => c.name === "shards"))
        sql.exec("ALTER TABLE sales ADD COLUMN shards INTEGER NOT NULL DEFAULT 1");
      sql.exec("CREATE TABLE IF NOT EXISTS settled (id TEXT PRIMARY KEY, sale TEXT NOT NULL, buyers TEXT NOT NULL)");
      const rows = sql
        .exec<{ id: string; shards: number }>("SELECT id, shards FROM sales ORDER BY created_at DESC, id")
        .toArray();
      this.ids = rows.map((r) => r.id);
      for (const r of rows) if (r.shards > 1) this.sharded.set(r.id, r.shards);
      for (const r of sql.exec<{ id: string; sale: string }>("SELECT id, sale FROM settled"))
        this.settled.set(r.id, JSON.parse(r.sale) as SaleStatsAnswer);
    });
  }

  /** Registers a sale with its shard count; registering it again changes nothing. */
  register(saleId: string, shards = 1): void {
    if (this.ids.includes(saleId)) return;
    this.ctx.storage.sql.exec(
      "INSERT OR IGNORE INTO sales (id, created_at, shards) VALUES (?, ?, ?)",
      saleId,
      Date.now(),
      shards,
    );
    this.ids.unshift(saleId);
    if (shards > 1) this.sharded.set(saleId, shards);
  }

  /** Forgets a deleted sale; forgetting an unknown one changes nothing. */
  unregister(saleId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM sales WHERE id = ?", saleId);
    this.ids = this.ids.filter((id) => id !== saleId);
    this.sharded.delete(saleId);
    this.unsettledAt.delete(saleId);
    if (this.settled.delete(saleId)) this.ctx.storage.sql.exec("DELETE FROM settled WHERE id = ?", saleId);
  }

  /** Sale ids, newest first. */
  list(): string[] {
    return this.ids;
  }

  /** The sales with more than one shard, as `[saleId, shards]` (every sale not named has one shard). */
  shardCounts(): [string, number][] {
    return [...this.sharded];
  }

  /**
   * Every sale id, newest first, and the last answer of each settled one (with its stats for the admin list and
   * /metrics; without, the public sale only, for the shoppers' list); `version` goes back with `settle`.
   */
  listing(withStats: boolean): { ids: string[]; settled: [string, Sale | SaleStatsAnswer][]; version: number } {
    const settled = [...this.settled].map(([id, s]): [string, Sale | SaleStatsAnswer] => {
      if (withStats) return [id, s];
      const { stats: _s, latency: _l, gatewayLatency: _g, consumerBatch: _c, ...sale } = s;
      return [id, sale];
    });
    return { ids: this.ids, settled, version: this.version };
  }

  /**
   * Keeps settled sales' last answers, read after the `listing` that gave `version`. Skipped: a sale the catalog
   * no longer lists (deleted meanwhile), and one unsettled since then (its answer may predate the change).
   */
  settle(sales: SettledSale[], version: number): void {
    const sql = this.ctx.storage.sql;
    for (const { sale, buyers } of sales) {
      if (!this.ids.includes(sale.id) || (this.unsettledAt.get(sale.id) ?? -1) >= version) continue;
      sql.exec(
        "INSERT OR REPLACE INTO settled (id, sale, buyers) VALUES (?, ?, ?)",
        sale.id,
        JSON.stringify(sale),
        JSON.stringify(buyers),
      );
      this.settled.set(sale.id, sale);
    }
  }

  /** Something may move the sale's figures (a merchant's change, counts from the edge): its object answers again. */
  unsettle(saleId: string): void {
    if (!this.ids.includes(saleId)) return;
    // Bounded by the number of sales: one number per listed sale ever unsettled.
    this.unsettledAt.set(saleId, this.version++);
    if (!this.settled.delete(saleId)) return;
    this.ctx.storage.sql.exec("DELETE FROM settled WHERE id = ?", saleId);
  }

  /**
   * The newest `limit` sales whose objects may hold an order of this shopper, as `[saleId, shards]`: every sale
   * that is not settled, and each settled one whose buyers filter for the shopper's home shard does not rule the
   * shopper out (a settled sale takes no new buyer, so its filter is complete; no filter: asked).
   */
  salesForOrders(userId: string, limit: number): [string, number][] {
    const newest = this.ids.slice(0, limit);
    const settled = newest.filter((id) => this.settled.has(id));
    const ruledOut = new Set<string>();
    if (settled.length > 0) {
      const sql = this.ctx.storage.sql;
      for (const id of settled) {
        const row = sql.exec<{ buyers: string }>("SELECT buyers FROM settled WHERE id = ?", id).toArray()[0];
        if (!row) continue;
        const filters = JSON.parse(row.buyers) as (string | null)[];
        const text = filters[homeShard(userId, this.sharded.get(id) ?? 1)];
        const filter = text ? BuyersFilter.parse(text) : null;
        if (filter && !filter.has(userId)) ruledOut.add(id);
      }
    }
    return newest.filter((id) => !ruledOut.has(id)).map((id) => [id, this.sharded.get(id) ?? 1]);
  }
}
