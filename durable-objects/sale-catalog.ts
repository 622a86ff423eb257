/**
 * SaleCatalog: the one list of sales that shoppers browse. It lives in a Durable Object, not only in
 * PostgreSQL, so that browsing and buying keep working while PostgreSQL is down (invariant 4): the shopper
 * path never needs the database. The admin Worker writes the PostgreSQL row first, then registers here.
 */
import { DurableObject } from "cloudflare:workers";
import type { ObjectEnv } from "./env.ts";

export class SaleCatalog extends DurableObject<ObjectEnv> {
  private ids: string[] = [];

  constructor(ctx: DurableObjectState, env: ObjectEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS sales (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
      this.ids = this.ctx.storage.sql
        .exec<{ id: string }>("SELECT id FROM sales ORDER BY created_at DESC, id")
        .toArray()
        .map((r) => r.id);
    });
  }

  /** Registers a sale; registering it again changes nothing. */
  register(saleId: string): void {
    if (this.ids.includes(saleId)) return;
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO sales (id, created_at) VALUES (?, ?)", saleId, Date.now());
    this.ids.unshift(saleId);
  }

  /** Forgets a deleted sale; forgetting an unknown one changes nothing. */
  unregister(saleId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM sales WHERE id = ?", saleId);
    this.ids = this.ids.filter((id) => id !== saleId);
  }

  /** Sale ids, newest first. */
  list(): string[] {
    return this.ids;
  }
}
