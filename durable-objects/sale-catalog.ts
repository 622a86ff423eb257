/**
 * SaleCatalog: the one list of sales that shoppers browse. It lives in a Durable Object, not only in
 * PostgreSQL, so that browsing and buying keep working while PostgreSQL is down (invariant 4): the shopper
 * path never needs the database. The admin Worker writes the PostgreSQL row first, then registers here.
 *
 * It also holds each sale's shard count (docs/api.md "Hot sales"; fixed at creation), so the gateway and the
 * seckill Worker route a purchase or a shopper's orders to the right SaleItem object with no extra call.
 */
import { DurableObject } from "cloudflare:workers";
import type { ObjectEnv } from "./env.ts";

export class SaleCatalog extends DurableObject<ObjectEnv> {
  private ids: string[] = [];
  /** Sales with more than one shard → their shard count (every other sale has one). */
  private sharded = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: ObjectEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const sql = this.ctx.storage.sql;
      sql.exec("CREATE TABLE IF NOT EXISTS sales (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
      // Catalogs made before sharding get the column (every existing sale has one shard).
      const columns = sql.exec<{ name: string }>("PRAGMA table_info(sales)").toArray();
      if (!columns.some((c) => c.name === "shards"))
        sql.exec("ALTER TABLE sales ADD COLUMN shards INTEGER NOT NULL DEFAULT 1");
      const rows = sql
        .exec<{ id: string; shards: number }>("SELECT id, shards FROM sales ORDER BY created_at DESC, id")
        .toArray();
      this.ids = rows.map((r) => r.id);
      for (const r of rows) if (r.shards > 1) this.sharded.set(r.id, r.shards);
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
  }

  /** Sale ids, newest first. */
  list(): string[] {
    return this.ids;
  }

  /** The sales with more than one shard, as `[saleId, shards]` (every sale not named has one shard). */
  shardCounts(): [string, number][] {
    return [...this.sharded];
  }
}
