/**
 * The seckill Worker's bindings, as workers/seckill/wrangler.toml declares them (types/env-consistency.ts checks the two agree).
 */
import type { SaleCatalog } from "../../durable-objects/sale-catalog.ts";
import type { ObjectEnv } from "../../durable-objects/env.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import type { AccountGuard } from "../../durable-objects/account-guard.ts";
import type { SaleDraw } from "../../durable-objects/sale-draw.ts";
import type { DrawEntries } from "../../durable-objects/draw-entries.ts";
import type { SaleReserve } from "../../durable-objects/sale-reserve.ts";
import type { SaleQueue } from "../../durable-objects/sale-queue.ts";

export interface SeckillEnv extends ObjectEnv {
  /** Hosted as workers/seckill/index.ts's SaleItem: the same class plus `npm run chaos`'s faults (no new members). */
  SALE_ITEM: DurableObjectNamespace<SaleItem>;
  SALE_CATALOG: DurableObjectNamespace<SaleCatalog>;
  /** Sessions' revocation feed, sign-in throttles, unpaid holds (durable-objects/account-guard.ts). */
  ACCOUNT_GUARD: DurableObjectNamespace<AccountGuard>;
  /** Draw sales: the draw (one per sale) and its entry shards (docs/design.md "Draws and registration"). */
  SALE_DRAW: DurableObjectNamespace<SaleDraw>;
  DRAW_ENTRIES: DurableObjectNamespace<DrawEntries>;
  /** Stock coordinators of sharded sales (docs/design.md, "Hot sales"). */
  SALE_RESERVE: DurableObjectNamespace<SaleReserve>;
  /** Queue sales: the queue in front of the sale (docs/design.md "The sale queue"). */
  SALE_QUEUE: DurableObjectNamespace<SaleQueue>;
  /** The queue's pace: admissions per second (default 200) and the admission window in seconds (default 60, ≥ 30). */
  QUEUE_ADMIT_RPS?: string;
  QUEUE_WINDOW_SECONDS?: string;
}
