/**
 * A shard's stock moves (docs/design.md, "Hot sales: stock"): the SaleItem object of a sale with K > 1 shards
 * holds a `ShardStock` (lib/server/hot/stock.ts) next to its `StockLedger` (stock.ts) and talks to the sale's
 * coordinator (durable-objects/sale-reserve.ts). A sale with one shard has none of this.
 *
 * What it promises:
 * - **The two books agree.** `ShardStock.local = ledger.available` and `ShardStock.sold = held + paid +
 *   reserved` (`assertAgree`): a purchase takes a unit from both in the same synchronous block, a failed round and
 *   an expiry or cancel give it back to both, and a grant or a release moves both (`settle`).
 * - **The shard's half of the stock invariant** (`local + sold = received − released`) holds after every change
 *   (`ShardStock.assertLedger`), and storage holds it too: the snapshot and `sale.remaining` are written in one
 *   transaction (`writeShardStock`), so after a restart the shard's balance is `received − released` and its local
 *   stock is that balance less the units its stored orders hold.
 * - **A move is durable before it is sent.** A request's seq and a release's units are written before the call
 *   leaves (and the output gate holds the call until they are), so a restart re-sends the same seq: the
 *   coordinator replays a grant and applies a release once, and no unit is lost or doubled.
 * - **Never awaited by a purchase.** `StockPump.kick` runs in the background (`waitUntil`), one coordinator call
 *   at a time; check-and-reserve only reads and changes memory.
 */
import { MAX_BUYERS_PER_SHARD } from "../../lib/server/hot/routing.ts";
import type {
  CoordinatorAnswer,
  ReleaseMessage,
  RefillRequest,
  ShardStock,
  ShardStockSnapshot,
} from "../../lib/server/hot/stock.ts";
import { invariant } from "./invariants.ts";
import type { StockLedger } from "./stock.ts";

/** The shard's stock snapshot (one row), created with the sale in the same transaction. */
export const SHARD_STOCK_SCHEMA =
  "CREATE TABLE IF NOT EXISTS shard_stock (id INTEGER PRIMARY KEY CHECK (id = 1), snapshot TEXT NOT NULL)";

/** The coordinator's RPC surface as a shard calls it (durable-objects/sale-reserve.ts). */
export interface CoordinatorRpc {
  requestStock(request: RefillRequest): Promise<CoordinatorAnswer>;
  releaseStock(message: ReleaseMessage): Promise<{ seq: number; soldOut: boolean }>;
}

/** The bindings a shard needs to reach its coordinator (the seckill Worker's SALE_RESERVE). */
export interface ShardEnv {
  SALE_RESERVE?: DurableObjectNamespace;
}

/** The coordinator of `saleId` (one SaleReserve object per sharded sale, named by the sale id). */
export function coordinatorOf(env: ShardEnv, saleId: string): CoordinatorRpc {
  const namespace = env.SALE_RESERVE;
  if (!namespace) throw new Error("SALE_RESERVE is not bound: a sharded sale needs its coordinator");
  return namespace.get(namespace.idFromName(saleId)) as unknown as CoordinatorRpc;
}

export function readShardStock(sql: SqlStorage): ShardStockSnapshot | null {
  const exists =
    sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'shard_stock'")
      .one().n > 0;
  if (!exists) return null;
  const row = sql.exec<{ snapshot: string }>("SELECT snapshot FROM shard_stock WHERE id = 1").toArray()[0];
  return row ? (JSON.parse(row.snapshot) as ShardStockSnapshot) : null;
}

/** The snapshot row (created if missing). The caller writes `remaining` in the same transaction. */
export function writeSnapshotRow(sql: SqlStorage, snapshot: ShardStockSnapshot): void {
  sql.exec(SHARD_STOCK_SCHEMA);
  sql.exec(
    "INSERT INTO shard_stock (id, snapshot) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot",
    JSON.stringify(snapshot),
  );
}

/** The shard's balance in storage: what it was granted and applied, less what it gave back. */
export function balanceOf(snapshot: ShardStockSnapshot): number {
  return snapshot.received - snapshot.releasedOut;
}

/** The two books agree (see the module comment); `holding` is the held and paid units of stored orders. */
export function assertAgree(hot: ShardStock, ledger: StockLedger, where: string): void {
  invariant(hot.local === ledger.available, "H1 shard local = ledger available", () => ({
    where,
    local: hot.local,
    available: ledger.available,
  }));
  invariant(hot.sold === ledger.stock - ledger.available, "H2 shard sold = held + paid + reserved", () => ({
    where,
    sold: hot.sold,
    ledgerSold: ledger.stock - ledger.available,
  }));
  hot.assertLedger();
}

/** Most units a shard may still take without passing its buyers bound (each unit may go to a new buyer). */
export function headroom(buyers: number, local: number): number {
  return Math.max(0, MAX_BUYERS_PER_SHARD - buyers - local);
}

/** Coordinator calls one pump run makes at most (a request and a release per step; the alarm runs it again). */
const MAX_STEPS = 8;

export interface PumpDeps {
  hot: ShardStock;
  ledger: StockLedger;
  storage: () => DurableObjectStorage;
  coordinator: () => CoordinatorRpc;
  clock: () => number;
  buyers: () => number;
}

/** Runs the shard's stock moves in the background, one coordinator call at a time. */
export class StockPump {
  private running: Promise<void> | null = null;
  private again = false;
  /** The shard's sale was deleted: no further call, and nothing written after a call in flight returns. */
  private stopped = false;
  /** Coordinator calls that failed (telemetry and tests). */
  failures = 0;

  constructor(private readonly deps: PumpDeps) {}

  /**
   * Applies to the ledger and storage what `ShardStock` moved outside a purchase (a grant applied, a release
   * taken out of local stock, a request's seq): both books and the snapshot with `remaining`, in one transaction.
   */
  settle(where: string): void {
    const { hot, ledger } = this.deps;
    const delta = hot.local - ledger.available;
    if (delta !== 0) ledger.transfer(delta);
    const storage = this.deps.storage();
    storage.transactionSync(() => {
      writeSnapshotRow(storage.sql, hot.snapshot());
      storage.sql.exec("UPDATE sale SET remaining = ? WHERE id = 1", ledger.durableRemaining);
    });
    assertAgree(hot, ledger, where);
  }

  /** The sale is deleted (`SaleItem.deleteIfNoOrders`): the pump makes no more calls and writes nothing more. */
  stop(): void {
    this.stopped = true;
  }

  /** Starts a run if none is going (a running one looks again before it stops). Never throws. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.again = true;
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const { hot } = this.deps;
    for (let step = 0; step < MAX_STEPS && this.again && !this.stopped; step++) {
      this.again = false;
      const action = hot.nextAction(this.deps.clock(), headroom(this.deps.buyers(), hot.local));
      if (!action) continue;
      this.again = true;
      this.settle("before a stock call");
      try {
        if ("request" in action) {
          const { answer } = await this.deps.coordinator().requestStock(action.request);
          hot.onGrant(this.deps.clock(), answer);
        } else {
          const ack = await this.deps.coordinator().releaseStock(action.release);
          hot.onReleaseAcked(ack.seq);
          if (ack.soldOut) hot.noteSoldOut(this.deps.clock());
        }
      } catch (err) {
        // Asked again (same seq) by the next purchase or the alarm: nothing is lost meanwhile.
        this.failures++;
        console.error(JSON.stringify({ msg: "shard stock call failed", shard: hot.shard, error: String(err) }));
        this.again = false;
        return;
      }
      if (this.stopped) return;
      this.settle("after a stock call");
    }
  }
}

/** A restored shard's books: local = balance − what its stored orders hold (the orders are the truth). */
export function restoredSnapshot(snapshot: ShardStockSnapshot, holding: number): ShardStockSnapshot {
  return { ...snapshot, local: balanceOf(snapshot) - holding, sold: holding };
}
