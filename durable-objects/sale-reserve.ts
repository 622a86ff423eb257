/**
 * SaleReserve: the stock coordinator of one sharded sale (docs/design.md, "Hot sales: stock"). A sale with
 * `shards: 1` has none. It holds the sale's reserve and its view of each shard, and is the only writer of both.
 *
 * What it promises:
 * - its half of the stock invariant, `reserve + Σ (granted − released) = stock`, checked after every change
 *   (`StockCoordinator.assertLedger`) and when loading;
 * - every answer is durable before it leaves: the new state is written in the same synchronous block that
 *   computed it (no `await` in between), and the output gate holds the reply until the write is durable;
 * - transfers are idempotent by sequence number: a shard that asks again with the same `seq` gets the same grant,
 *   a release is applied once per `seq` (lib/server/hot/stock.ts), so a lost reply never loses or doubles a unit;
 * - it decides `soldOut` only when the reserve is empty and every shard last reported no stock.
 *
 * Memory is a cache of storage (one row, the coordinator's snapshot); the constructor rebuilds it. The table is made
 * by `initialize` and wiped by `destroy`, so a reserve that holds no sale stores nothing.
 */
import { DurableObject } from "cloudflare:workers";
import type { ObjectEnv } from "./env.ts";
import type { SaleItem } from "./sale-item.ts";
import { shardObjectName } from "../lib/server/hot/routing.ts";
import {
  StockCoordinator,
  type CoordinatorAnswer,
  type CoordinatorSnapshot,
  type RefillRequest,
  type ReleaseMessage,
} from "../lib/server/hot/stock.ts";

/** What a shard object must offer the coordinator: give back the stock its shoppers will not want shortly. */
export interface StockShard {
  reclaimStock(): Promise<void> | void;
}

export interface ReserveStats {
  saleId: string;
  stock: number;
  reserve: number;
  soldOut: boolean;
  shards: { index: number; granted: number; released: number; reportedLocal: number }[];
}

const SCHEMA =
  "CREATE TABLE IF NOT EXISTS reserve (id INTEGER PRIMARY KEY CHECK (id = 1), sale_id TEXT NOT NULL, snapshot TEXT NOT NULL)";

/** The coordinator reaches the sale's shards (SaleItem objects bound in the same Worker). */
interface ReserveEnv extends ObjectEnv {
  SALE_ITEM: DurableObjectNamespace<SaleItem>;
}

export class SaleReserve extends DurableObject<ReserveEnv> {
  /** Overridable clock (tests). */
  clock: () => number = Date.now;
  private saleId: string | null = null;
  private coordinator: StockCoordinator | null = null;

  constructor(ctx: DurableObjectState, env: ReserveEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      // A reserve never initialised, or destroyed with its sale, has no table and gets none here: it stores nothing.
      const exists =
        ctx.storage.sql
          .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'reserve'")
          .one().n > 0;
      if (!exists) return;
      const row = ctx.storage.sql
        .exec<{ sale_id: string; snapshot: string }>("SELECT sale_id, snapshot FROM reserve WHERE id = 1")
        .toArray()[0];
      if (row) {
        this.saleId = row.sale_id;
        this.coordinator = StockCoordinator.restore(JSON.parse(row.snapshot) as CoordinatorSnapshot);
      }
    });
  }

  /**
   * Creates the reserve of a sale whose shards start with `allotments`. Calling it again with the same sale
   * changes nothing (the admin's create may be retried); a different sale is refused.
   */
  initialize(saleId: string, stock: number, allotments: number[]): ReserveStats {
    if (this.coordinator) {
      if (this.saleId !== saleId) throw new Error(`reserve already belongs to sale ${this.saleId}`);
      return this.stats();
    }
    this.saleId = saleId;
    this.coordinator = new StockCoordinator(stock, allotments);
    this.ctx.storage.sql.exec(SCHEMA);
    this.store();
    return this.stats();
  }

  /**
   * Forgets the sale when the merchant deletes it (the seckill Worker's `deleteSale`, after every shard is gone):
   * memory first, so a shard's call that arrives meanwhile finds no reserve and writes nothing, then any alarm and
   * every row, so the object is as one never initialised and stores nothing. Destroying it again changes nothing.
   * Answers whether there was a reserve to forget.
   */
  async destroy(): Promise<boolean> {
    const had = this.coordinator !== null;
    this.coordinator = null;
    this.saleId = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return had;
  }

  /** A shard asks for stock (or asks again with the same seq). Shards to reclaim from are called after the answer. */
  requestStock(request: RefillRequest): CoordinatorAnswer {
    const coordinator = this.loaded();
    const answer = coordinator.onRequest(this.clock(), request);
    this.store();
    if (answer.reclaimFrom.length > 0) this.ctx.waitUntil(this.reclaim(answer.reclaimFrom));
    return answer;
  }

  /** A shard gives stock back (idle, reclaimed, or units returned by orders); a report when `units` is 0. */
  releaseStock(message: ReleaseMessage): { seq: number; soldOut: boolean } {
    const coordinator = this.loaded();
    coordinator.onRelease(this.clock(), message);
    this.store();
    return { seq: message.seq, soldOut: coordinator.soldOut };
  }

  stats(): ReserveStats {
    const coordinator = this.loaded();
    const shards = Array.from({ length: coordinator.shardCount }, (_, index) => {
      const v = coordinator.view(index);
      return { index, granted: v.granted, released: v.releasedIn, reportedLocal: v.reportedLocal };
    });
    return {
      saleId: this.saleId ?? "",
      stock: coordinator.stock,
      reserve: coordinator.reserve,
      soldOut: coordinator.soldOut,
      shards,
    };
  }

  /** The coordinator's whole state (tests: the stock invariant with every shard's book, `stockInvariant`). */
  snapshot(): CoordinatorSnapshot {
    return this.loaded().snapshot();
  }

  private loaded(): StockCoordinator {
    if (!this.coordinator) throw new Error("reserve not initialized");
    return this.coordinator;
  }

  private store(): void {
    const snapshot = JSON.stringify(this.loaded().snapshot());
    this.ctx.storage.sql.exec(
      "INSERT INTO reserve (id, sale_id, snapshot) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot",
      this.saleId,
      snapshot,
    );
  }

  /** Asks shards to give stock back. Best effort: a shard that does not answer is asked again next round. */
  private async reclaim(shards: number[]): Promise<void> {
    const saleId = this.saleId;
    if (!saleId) return;
    await Promise.allSettled(
      shards.map(async (index) => {
        const stub = this.env.SALE_ITEM.get(
          this.env.SALE_ITEM.idFromName(shardObjectName(saleId, index)),
        ) as unknown as StockShard;
        await stub.reclaimStock();
      }),
    );
  }
}
