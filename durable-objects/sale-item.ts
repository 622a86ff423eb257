/**
 * SaleItem: one Durable Object per sale. It is the only writer of the sale's stock, so every purchase of
 * the sale is serialised here, and it is the system of record for orders until PostgreSQL has them.
 *
 * This class is the orchestrator; each job has its module under `sale-item/`, with the invariants it
 * enforces stated and asserted there (docs/design.md, "SaleItem invariants", S1–S7):
 * - `lifecycle.ts` — config, schema, status, the merchant's changes (S7: an uninitialised object writes nothing);
 * - `stock.ts`     — the stock accounting, the one place units move (S1, S2);
 * - `reserve.ts`   — check-and-reserve and the group commit (S2, S3, S6);
 * - `orders.ts`    — the order state machine (S4);
 * - `outbox.ts`    — outbox, alarm and confirmations (S5);
 * - `registration.ts` — pre-registration (draw allocation is in `reserve.ts`);
 * - `telemetry.ts` — counters and latency histograms;
 * - `shard.ts`     — a shard's stock moves to and from its sale's coordinator (sales with K > 1 shards only).
 *
 * Memory is a cache of storage, and storage only ever holds committed state: `remaining` in storage always
 * equals stock − Σ(held + paid) of the stored orders, a reservation is in memory until its round is written,
 * and nothing acts on an order that is not durable yet. The constructor rebuilds memory from storage under
 * `blockConcurrencyWhile` and checks it from both sides, so a restart changes nothing a client can see.
 */
import { DurableObject } from "cloudflare:workers";
import { BuyersFilter, type PublishedBuyers } from "../lib/server/buyers-filter.ts";
import { reject, type Rejection } from "../lib/contract/errors.ts";
import { makeOrderId } from "../lib/contract/ids.ts";
import type { Order, OrderStatus, Sale, SaleStats, SaleStatus, SeriesPoint } from "../lib/contract/schemas.ts";
import type { ObjectEnv } from "./env.ts";
import type { Histogram } from "../lib/server/histogram.ts";
import { invariant } from "./sale-item/invariants.ts";
import { SellThroughSeries } from "./sell-through-series.ts";
import {
  createSale,
  drawPatchError,
  readSale,
  saveConfig,
  saveConfigAndRemaining,
  toSale,
  upgradeSchema,
  type SaleConfig,
} from "./sale-item/lifecycle.ts";
import {
  dueForExpiry,
  holdingUnits,
  isDue,
  publicStatus,
  readOrder,
  toOrder,
  writeStatusChange,
  type OrderRow,
} from "./sale-item/orders.ts";
import {
  AlarmSchedule,
  DRAIN_DELAY_MS,
  DRAIN_LIMIT,
  LOST_ALARM_MS,
  confirmPersisted,
  drainOutbox,
  OutboxPacer,
  dropRefused,
  nextWakeAt,
  orphanOutboxRows,
  outboxDepth,
  requeue,
} from "./sale-item/outbox.ts";
import {
  GroupCommit,
  MAX_WAITS,
  allocateDrawUnits,
  checkAndReserve,
  statusAt,
  type PurchaseRequest,
  type PurchaseResult,
  type ReserveState,
} from "./sale-item/reserve.ts";
import {
  countRegistrations,
  isRegistered,
  register,
  registrationOf,
  type RegisterResult,
} from "./sale-item/registration.ts";
import type { Registration } from "../lib/contract/draw.ts";
import { StockLedger } from "./sale-item/stock.ts";
import { Telemetry } from "./sale-item/telemetry.ts";
import {
  SHARD_STOCK_SCHEMA,
  StockPump,
  assertAgree,
  balanceOf,
  coordinatorOf,
  readShardStock,
  restoredSnapshot,
  writeSnapshotRow,
  type ShardEnv,
} from "./sale-item/shard.ts";
import { SHARD_SEQUENCE_BITS, shardSequence } from "../lib/server/hot/routing.ts";
import { ShardStock } from "../lib/server/hot/stock.ts";
import { ObjectAdmission } from "../lib/server/hot/admission.ts";
import { DEFAULT_OBJECT_MAX_RPS, outboxMessagesPerSecond } from "../lib/server/hot/routing.ts";
import type { ShardStats } from "../lib/contract/schemas.ts";

export type { SaleConfig } from "./sale-item/lifecycle.ts";
export type { PurchaseRequest, PurchaseResult } from "./sale-item/reserve.ts";
export { LATENCY_BUCKETS_MS } from "./sale-item/telemetry.ts";

export type OrderResult = { ok: true; order: Order } | Rejection;

/** A sale's status for the edge's lapsed verdict, with the buyers filter when the edge's copy is older. */
export interface ClosedVerdict {
  saleStatus: SaleStatus;
  buyers?: PublishedBuyers;
}

export interface LedgerEntry {
  id: string;
  version: number;
  persistedVersion: number;
  status: OrderStatus;
}

const EXPIRE_LIMIT = 500;
const COUNTER_FLUSH_MS = 2_000;

/** The loaded sale: everything that exists only once the object was initialised. */
interface Loaded extends ReserveState {
  config: SaleConfig;
  ledger: StockLedger;
  buyers: Map<string, string>;
  commit: GroupCommit;
  filter: BuyersFilter;
  /** Buyers in the filter (it only grows): the version the edge compares. */
  filterVersion: number;
  published: PublishedBuyers | null;
  /** A shard of a sharded sale: its stock moves (shard.ts); null when the sale has one shard. */
  pump: StockPump | null;
}

/** A shard's figures for the sale's stats (docs/api.md "Hot sales"). */
export type ShardFigures = ShardStats;

/** Local sequence numbers of a shard (the low bits of an order id's sequence, lib/server/hot/routing.ts). */
const LOCAL_SEQUENCE_SPAN = 2 ** SHARD_SEQUENCE_BITS;
/** The alarm retries a shard's stock call that failed (or a pending move) after this long. */
const STOCK_RETRY_MS = 200;

export class SaleItem extends DurableObject<ObjectEnv> {
  /** Overridable clock, so tests can move time (payment windows, start and end) without waiting. */
  clock: () => number = Date.now;

  private sale: Loaded | null = null;
  private sequence = 0;
  private readonly telemetry = new Telemetry();
  private readonly alarms = new AlarmSchedule(
    () => this.ctx.storage,
    () => this.clock(),
  );
  /** Sold, attempts and rejections over time, for the merchant's chart (sell-through-series.ts); with the sale. */
  private series: SellThroughSeries | null = null;
  /**
   * Global admission (docs/design.md "Hot sales: admission"): this object's ceiling on accepted purchases,
   * `OBJECT_MAX_RPS` (default 800/s), whatever the number of gateway isolates. Memory only: a restart forgets it.
   */
  private admission: ObjectAdmission | null = null;
  /** A shard's outbox pacing (outbox.ts `OutboxPacer`); null for a sale of one shard. */
  private pacer: OutboxPacer | null = null;

  constructor(ctx: DurableObjectState, env: ObjectEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.load();
      if (!this.sale) return; // never initialised: nothing to read, nothing written (S7)
      this.alarms.at = await ctx.storage.getAlarm();
      // After a restart, anything still in the outbox must be sent again: local queues forget
      // in-flight messages, and a crash may have happened between sending and confirming. A stored alarm long past
      // its time was lost (AlarmSchedule) and is set again.
      const at = this.alarms.at;
      if ((at === null || at <= this.clock() - LOST_ALARM_MS) && this.hasOutstandingWork())
        this.alarms.arm(this.clock());
    });
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /**
   * Rebuilds memory from storage. `remaining` is derived from the orders (stock − Σ held + paid) and checked
   * against the stored column: they differ only if storage was written by a version with the stranded-stock
   * bug, and then the orders win (logged loudly, and the column repaired in the same step).
   */
  private load(): void {
    const stored = readSale(this.sql);
    if (!stored) return;
    upgradeSchema(this.sql);
    const holding = holdingUnits(this.sql);
    const shardSnapshot = (stored.config.shards ?? 1) > 1 ? readShardStock(this.sql) : null;
    // A shard's stock is its balance with the coordinator; a sale of one shard's is the sale's.
    const balance = shardSnapshot ? balanceOf(shardSnapshot) : stored.config.stock;
    const derived = balance - holding;
    if (derived !== stored.remaining) {
      console.error(
        JSON.stringify({
          msg: "invariant violated",
          invariant: "S1 stored remaining = stock − held − paid",
          saleId: stored.config.id,
          stored: stored.remaining,
          derived,
          repaired: true,
        }),
      );
      this.sql.exec("UPDATE sale SET remaining = ? WHERE id = 1", derived);
    }
    const buyers = new Map<string, string>();
    let maxSequence = stored.sequence;
    const filter = BuyersFilter.sized(stored.config.stock);
    let filterVersion = 0;
    for (const o of this.sql.exec<{ id: string; user_id: string }>("SELECT id, user_id FROM orders")) {
      buyers.set(o.user_id, o.id);
      filter.add(o.user_id);
      filterVersion++;
      maxSequence = Math.max(maxSequence, parseInt(o.id.slice(32, 40), 16) % LOCAL_SEQUENCE_SPAN);
    }
    this.sequence = maxSequence;
    this.telemetry.load(stored.counters);
    const ledger = new StockLedger(balance, derived);
    const hot = shardSnapshot ? ShardStock.restore(restoredSnapshot(shardSnapshot, holding)) : null;
    this.sale = this.makeLoaded(stored.config, ledger, buyers, filter, filterVersion, hot);
    this.series = new SellThroughSeries(this.sql);
    this.assertInvariants();
  }

  private makeLoaded(
    config: SaleConfig,
    ledger: StockLedger,
    buyers: Map<string, string>,
    filter: BuyersFilter,
    filterVersion: number,
    hot: ShardStock | null = null,
  ): Loaded {
    const loaded: Loaded = {
      config,
      ledger,
      buyers,
      filter,
      filterVersion,
      published: null,
      hot,
      pump: hot
        ? new StockPump({
            hot,
            ledger,
            storage: () => this.ctx.storage,
            coordinator: () => coordinatorOf(this.env as ShardEnv, config.id),
            clock: () => this.clock(),
            buyers: () => loaded.buyers.size,
          })
        : null,
      commit: new GroupCommit(() => this.ctx.storage, {
        saleFields: () => ({ sequence: this.sequence, counters: this.telemetry.serialize() }),
        written: (rows) => {
          this.telemetry.dirty = false;
          for (const row of rows) {
            loaded.ledger.written(row.quantity);
            loaded.filter.add(row.user_id);
            loaded.filterVersion++;
          }
          this.alarms.arm(this.clock() + DRAIN_DELAY_MS);
        },
        rolledBack: (rows) => {
          for (const row of rows) {
            loaded.ledger.rolledBack(row.quantity);
            loaded.hot?.returnUnits(row.quantity);
            if (loaded.buyers.get(row.user_id) === row.id) loaded.buyers.delete(row.user_id);
          }
          invariant(
            loaded.ledger.reserved === loaded.commit.unwrittenUnits(),
            "S2 reserved = units of rounds not written",
            () => ({
              reserved: loaded.ledger.reserved,
              unwritten: loaded.commit.unwrittenUnits(),
            }),
          );
        },
      }),
      readDurableOrder: (id) => readOrder(this.sql, id),
      // A shard's order ids carry its index in the sequence's top bits; shard 0's are the plain numbers.
      nextOrderId: () => makeOrderId(config.id, shardSequence(config.shard ?? 0, ++this.sequence)),
      isRegistered: (userId) => isRegistered(this.sql, userId),
    };
    return loaded;
  }

  private hasOutstandingWork(): boolean {
    const held = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM orders WHERE status = 'held'").one().n;
    return outboxDepth(this.sql) > 0 || held > 0;
  }

  /**
   * Every invariant that can be read from storage and memory at once (S1, S2, S5); throws and logs on the
   * first that fails. Run after loading, and by tests after every step.
   */
  assertInvariants(): void {
    const s = this.sale;
    if (!s) return;
    const stored = readSale(this.sql)!;
    s.ledger.assertMatchesStorage(stored.remaining, holdingUnits(this.sql), "check");
    invariant(s.ledger.reserved === s.commit.unwrittenUnits(), "S2 reserved = units of rounds not written", () => ({
      reserved: s.ledger.reserved,
      unwritten: s.commit.unwrittenUnits(),
    }));
    const orphans = orphanOutboxRows(this.sql);
    invariant(orphans === 0, "S5 no outbox row without its order", () => ({ orphans }));
    if (s.hot) {
      assertAgree(s.hot, s.ledger, "check");
      const snapshot = readShardStock(this.sql)!;
      invariant(balanceOf(snapshot) === s.ledger.stock, "H3 stored balance = ledger stock", () => ({
        stored: balanceOf(snapshot),
        ledger: s.ledger.stock,
      }));
    }
  }

  /** A shard's stock book (tests: the whole invariant with the coordinator, lib/server/hot/stock.ts). */
  shardStock(): ShardStock | null {
    return this.sale?.hot ?? null;
  }

  /** This object's share of its sale: for the sale's stats and its public `remaining` (docs/api.md "Hot sales"). */
  shardFigures(): ShardFigures | null {
    const s = this.sale;
    if (!s) return null;
    return {
      index: s.config.shard ?? 0,
      stock: s.ledger.stock,
      remaining: s.ledger.available,
      sold: s.ledger.stock - s.ledger.available,
    };
  }

  /**
   * The coordinator asks for stock back (the reserve is empty and a shard's shopper is waiting): keep what this
   * shard's own shoppers will want shortly, give back the rest (lib/server/hot/stock.ts `onReclaim`).
   */
  reclaimStock(): void {
    const s = this.sale;
    if (!s?.hot || !s.pump) return;
    s.hot.onReclaim(this.clock());
    s.pump.settle("reclaim");
    this.kickStock(s);
  }

  /**
   * Runs a shard's stock moves in the background (never awaited by a purchase), then arms the alarm for what is
   * left: a call that failed is made again, and idle stock is given back near the end, with no shopper needed.
   */
  private kickStock(s: Loaded): void {
    const pump = s.pump;
    const hot = s.hot;
    if (!pump || !hot) return;
    this.ctx.waitUntil(
      pump.kick().then(() => {
        if (this.sale !== s) return;
        const now = this.clock();
        const at = hot.nextIdleCheckAt(now);
        if (at !== null) this.alarms.arm(Math.max(at, now + STOCK_RETRY_MS));
      }),
    );
  }

  /** Runs this shard's pending stock moves now and waits for them (tests, the alarm). */
  async pumpStock(): Promise<void> {
    await this.sale?.pump?.kick();
  }

  /** The stock ledger's figures, for tests and stats. */
  stockView(): { available: number; durableRemaining: number; reserved: number } | null {
    const l = this.sale?.ledger;
    return l ? { available: l.available, durableRemaining: l.durableRemaining, reserved: l.reserved } : null;
  }

  // ---------------------------------------------------------------- merchant side

  /**
   * Creates the sale in this object (its first write ever). Safe to call twice with the same sale. A shard of a
   * sharded sale (`config.shards` > 1) starts with `allotment` units (lib/server/hot/stock.ts `initialAllotments`);
   * the rest of the stock is in the coordinator, created first by the seckill Worker.
   */
  initialize(config: Omit<SaleConfig, "paused"> & { paused?: boolean }, allotment?: number): Sale {
    if (this.sale) {
      if (this.sale.config.id !== config.id || (this.sale.config.shard ?? 0) !== (config.shard ?? 0))
        throw new Error("object already holds another sale");
      return toSale(this.sale.config, this.sale.ledger.available, this.clock());
    }
    const full: SaleConfig = { ...config, paused: config.paused ?? false };
    const shards = full.shards ?? 1;
    const hot = shards > 1 ? new ShardStock(full.shard ?? 0, shards, allotment ?? 0) : null;
    const units = hot ? hot.local : full.stock;
    createSale(this.ctx.storage, full, this.telemetry.serialize(), units, () => {
      if (!hot) return;
      this.sql.exec(SHARD_STOCK_SCHEMA);
      writeSnapshotRow(this.sql, hot.snapshot());
    });
    this.sequence = 0;
    this.sale = this.makeLoaded(
      full,
      new StockLedger(units, units),
      new Map(),
      BuyersFilter.sized(hot ? Math.ceil(full.stock / shards) : full.stock),
      0,
      hot,
    );
    this.series = new SellThroughSeries(this.sql);
    this.series.record(this.clock(), this.seriesValues());
    return toSale(full, units, this.clock());
  }

  /** Changes a sale that has not started. Stock may go down only as far as what is already held. */
  update(patch: Partial<Omit<SaleConfig, "id" | "paused">>): { ok: true; sale: Sale } | Rejection {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    if (now >= s.config.startsAt) return reject("SALE_STARTED", "A sale cannot be changed once it has started");
    const next = { ...s.config, ...patch };
    if (next.endsAt <= next.startsAt) return reject("VALIDATION_FAILED", "endsAt must be after startsAt");
    const drawError = drawPatchError(s.config, patch, next);
    if (drawError) return reject("VALIDATION_FAILED", drawError);
    if (s.hot && patch.stock !== undefined && patch.stock !== s.config.stock)
      return reject("VALIDATION_FAILED", "The stock of a sale with more than one shard is fixed at creation");
    if (s.hot) {
      // Only the config changes; the shard's balance and remaining stay as the coordinator gave them.
      saveConfig(this.sql, next);
      s.config = next;
      return { ok: true, sale: toSale(next, s.ledger.available, now) };
    }
    const sold = s.config.stock - s.ledger.durableRemaining;
    if (next.stock < sold) return reject("VALIDATION_FAILED", `stock cannot go below the ${sold} already sold`);
    saveConfigAndRemaining(this.ctx.storage, next, next.stock - sold);
    s.ledger.restock(next.stock);
    s.config = next;
    return { ok: true, sale: toSale(next, s.ledger.available, now) };
  }

  setPaused(paused: boolean): { ok: true; sale: Sale } | Rejection {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    const next = { ...s.config, paused };
    saveConfig(this.sql, next);
    s.config = next;
    return { ok: true, sale: toSale(next, s.ledger.available, this.clock()) };
  }

  /** Rejections that the gateway answered itself (rate limits), so the merchant's counters include them. */
  recordEdgeRejections(counts: { rateLimited?: number; soldOut?: number; ended?: number }): void {
    if (!this.sale) return;
    if (this.telemetry.recordEdgeRejections(counts)) this.alarms.arm(this.clock() + COUNTER_FLUSH_MS);
  }

  /**
   * Latencies measured outside the object, so /metrics can expose them per sale: the gateway's purchase
   * latency (a histogram per flush window, from its deferred 2-second flush) and the consumer's batch time.
   */
  recordObservations(o: { gatewayLatency?: Histogram; consumerBatchMs?: number }): void {
    if (!this.sale) return;
    this.telemetry.recordObservations(o);
  }

  getSale(): Sale | null {
    return this.sale ? toSale(this.sale.config, this.sale.ledger.available, this.clock()) : null;
  }

  getStats():
    (Sale & { stats: SaleStats; latency: Histogram; gatewayLatency: Histogram; consumerBatch: Histogram }) | null {
    const s = this.sale;
    if (!s) return null;
    const awaitingDatabase = this.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM orders WHERE persisted_version = 0")
      .one().n;
    const { attempts, orderConflicts, ...rejected } = this.telemetry.counters;
    const held = { units: 0, revenueCents: 0 };
    const paid = { units: 0, revenueCents: 0 };
    for (const r of this.sql.exec<{ status: string; units: number; cents: number }>(
      "SELECT status, sum(quantity) AS units, sum(price_cents) AS cents FROM orders WHERE status IN ('held', 'paid') GROUP BY status",
    )) {
      Object.assign(r.status === "paid" ? paid : held, { units: r.units, revenueCents: r.cents });
    }
    return {
      ...toSale(s.config, s.ledger.available, this.clock()),
      stats: {
        attempts,
        sold: held.units + paid.units,
        remaining: s.ledger.available,
        rejected,
        outboxDepth: outboxDepth(this.sql),
        awaitingDatabase,
        orderConflicts,
        held,
        paid,
        registrations: countRegistrations(this.sql),
      },
      latency: this.telemetry.latency,
      gatewayLatency: this.telemetry.gatewayLatency,
      consumerBatch: this.telemetry.consumerBatch,
    };
  }

  /** The sell-through series for the merchant's chart (see sell-through-series.ts), current values last. */
  getSeries(): SeriesPoint[] | null {
    if (!this.sale || !this.series) return null;
    return this.series.points(this.clock(), this.seriesValues());
  }

  /** Sets or clears the product photo's URL (any time: a photo changes nothing a purchase depends on). */
  setImage(imageUrl: string | null): { ok: true; sale: Sale; previous: string | null } | Rejection {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    const previous = s.config.imageUrl ?? null;
    const { imageUrl: _old, ...rest } = s.config;
    const next: SaleConfig = imageUrl === null ? rest : { ...rest, imageUrl };
    saveConfig(this.sql, next);
    s.config = next;
    return { ok: true, sale: toSale(next, s.ledger.available, this.clock()), previous };
  }

  /**
   * Ends the sale now: nothing can be bought from here on (held orders can still be paid or cancelled, as
   * after any end). A sale that has not started ends before it starts. Ending an ended sale changes nothing.
   */
  endNow(): { ok: true; sale: Sale } | Rejection {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    if (now >= s.config.endsAt) return { ok: true, sale: toSale(s.config, s.ledger.available, now) };
    const next = { ...s.config, startsAt: Math.min(s.config.startsAt, now), endsAt: now };
    saveConfig(this.sql, next);
    s.config = next;
    return { ok: true, sale: toSale(next, s.ledger.available, now) };
  }

  /**
   * Deletes the sale and everything the object stores, but only while it has no order at all (held, paid,
   * expired or cancelled, written or still in a round): an order is a shopper's record and PostgreSQL's, and
   * must stay. The check and forgetting the sale in memory happen with no `await` in between, so no purchase
   * can slip in after the check; then the storage is wiped, and the object is as one never initialised (S7).
   * Its registrations (a registration sale's) go with it.
   *
   * A draw sale's entries are a shopper's standing too (docs/api.md `DELETE /admin/api/sales/:id`): the seckill
   * Worker closes the draw's entry shards first and passes their count as `drawEntries` (it cannot grow while they
   * are closed), and any entry refuses the delete as an order does, `details: {orders, entries}`.
   */
  async deleteIfNoOrders(drawEntries?: number): Promise<{ ok: true; imageUrl: string | null } | Rejection> {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    const orderCount = this.orderCount(s);
    if (drawEntries !== undefined && (orderCount > 0 || drawEntries > 0)) {
      return reject("SALE_HAS_ORDERS", "The sale has orders or draw entries: end it instead of deleting it", {
        orders: orderCount,
        entries: drawEntries,
      });
    }
    if (orderCount > 0) {
      return reject("SALE_HAS_ORDERS", "The sale has orders: end it instead of deleting it", { orders: orderCount });
    }
    this.sale = null;
    this.series = null;
    this.sequence = 0;
    // A shard's stock call in flight must not write its snapshot back once the storage is wiped.
    s.pump?.stop();
    await this.ctx.storage.deleteAlarm();
    this.alarms.at = null;
    await this.ctx.storage.deleteAll();
    return { ok: true, imageUrl: s.config.imageUrl ?? null };
  }

  /**
   * The first step of deleting a sale of several shards (the seckill Worker's `deleteSale`): pauses this shard, so
   * that no purchase starts on it from here on, and counts its orders (written or still in a round) in the same
   * synchronous block, so the count can only go down afterwards. The pause is stored: a restart keeps the shard
   * closed. `wasPaused` lets the caller reopen exactly the shards it closed when the sale turns out to have orders.
   */
  closeForDelete(): { ok: true; orders: number; wasPaused: boolean } | Rejection {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    const wasPaused = s.config.paused;
    if (!wasPaused) {
      const next = { ...s.config, paused: true };
      saveConfig(this.sql, next);
      s.config = next;
    }
    return { ok: true, orders: this.orderCount(s), wasPaused };
  }

  /** Orders of any status, written or still in a round (a shopper with a reservation is in `buyers`). */
  private orderCount(s: Loaded): number {
    const written = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM orders").one().n;
    return Math.max(written, s.buyers.size);
  }

  /** The series' values now: units held or paid (stock less what storage and rounds hold), attempts, rejections. */
  private seriesValues(): { attempts: number; sold: number; rejected: number } {
    const s = this.sale!;
    const { attempts, orderConflicts: _c, ...rejected } = this.telemetry.counters;
    return {
      attempts,
      sold: s.ledger.stock - s.ledger.available,
      rejected: Object.values(rejected).reduce((a, b) => a + b, 0),
    };
  }

  /** The object's ledger (durable orders), a page at a time, for reconciliation with PostgreSQL. */
  ledger(after: string, limit: number): LedgerEntry[] {
    if (!this.sale) return [];
    return this.sql
      .exec<OrderRow>("SELECT * FROM orders WHERE id > ? ORDER BY id LIMIT ?", after, Math.min(limit, 5000))
      .toArray()
      .map((r) => ({ id: r.id, version: r.version, persistedVersion: r.persisted_version, status: publicStatus(r) }));
  }

  /** Puts orders back in the outbox (reconcile, replay): they are sent at once and land idempotently. */
  requeue(orderIds: string[]): number {
    if (!this.sale) return 0;
    const now = this.clock();
    const queued = requeue(this.sql, orderIds, now);
    if (queued) this.alarms.arm(now);
    return queued;
  }

  // ---------------------------------------------------------------- shopper side

  /**
   * Reserves stock for one shopper: the synchronous check-and-reserve block (reserve.ts), then the group
   * commit; no `202` leaves before its order is durable (docs/design.md, invariant 3).
   */
  async reservePurchase(request: PurchaseRequest): Promise<PurchaseResult> {
    const started = performance.now();
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    // Admission first, from memory, with no storage work and no await: over the ceiling the isolate is told when
    // to come back (its shoppers get 429 + Retry-After from the gateway).
    if (!request.admission) return this.reserveAdmitted(s, request, started);
    const admitted = this.admissionGate().admit(this.clock(), request.admission.isolate, request.admission.wantTokens);
    if (!admitted.admitted) {
      return {
        ...reject("RATE_LIMITED", "The sale is busy, try again shortly", { retryAfterMs: admitted.retryAfterMs }),
        admission: admitted,
      };
    }
    return { ...(await this.reserveAdmitted(s, request, started)), admission: admitted };
  }

  /**
   * This object's admission ceiling: `OBJECT_MAX_RPS` of the seckill Worker's vars (default 800), made on first
   * use; `setAdmissionCeiling` replaces it (tests, an operator's change through a redeploy).
   */
  private admissionGate(): ObjectAdmission {
    if (!this.admission) {
      const configured = Number((this.env as { OBJECT_MAX_RPS?: string }).OBJECT_MAX_RPS);
      this.admission = new ObjectAdmission({
        maxRps: Number.isFinite(configured) && configured >= 1 ? configured : DEFAULT_OBJECT_MAX_RPS,
      });
    }
    return this.admission;
  }

  /** A new admission ceiling for this object (accepted purchases per second). */
  setAdmissionCeiling(maxRps: number): void {
    this.admission = new ObjectAdmission({ maxRps });
  }

  private async reserveAdmitted(s: Loaded, request: PurchaseRequest, started: number): Promise<PurchaseResult> {
    // A purchase sent without a hold slot is counted once it is answered: one that comes back `holdNeeded` is sent
    // again with a slot, and counted then.
    if (!request.withoutHold) this.countAttempt("attempts");
    for (let waits = 0; ; waits++) {
      const decision = checkAndReserve(s, request, this.clock());
      // A shard looks at its stock after every attempt, in the background (never awaited here, shard.ts).
      if (s.pump) this.kickStock(s);
      if (decision.kind === "wait") {
        // The shopper's earlier order is in a round that is not durable yet: its outcome decides this answer.
        if (waits >= MAX_WAITS)
          return reject("UNAVAILABLE", "Your earlier purchase is still being saved, try again shortly");
        await decision.until;
        continue;
      }
      if (decision.kind === "answer") {
        if (decision.result.holdNeeded) return decision.result;
        if (request.withoutHold) this.countAttempt("attempts");
        if (decision.counted) this.countAttempt(decision.counted);
        return this.withBuyers(decision.result, request);
      }
      await s.commit.add(decision.row);
      this.telemetry.observeLatency(performance.now() - started);
      const result: PurchaseResult = {
        ok: true,
        order: toOrder(decision.row, s.config.id),
        replayed: false,
        saleStatus: statusAt(s, this.clock()),
      };
      return this.withBuyers(result, request);
    }
  }

  /** A sold-out or ended answer carries the buyers filter when the edge's copy is older (lib/server/buyers-filter.ts). */
  private withBuyers(result: PurchaseResult, request: PurchaseRequest): PurchaseResult {
    if (result.saleStatus !== "sold_out" && result.saleStatus !== "ended") return result;
    const buyers = this.newerBuyers(request.knownBuyers);
    return buyers ? { ...result, buyers } : result;
  }

  /** The buyers filter, when the edge's copy (`knownVersion`) is older; undefined when it is current. */
  private newerBuyers(knownVersion: number | undefined): PublishedBuyers | undefined {
    const s = this.sale!;
    if (knownVersion === s.filterVersion) return undefined;
    if (!s.published || s.published.version !== s.filterVersion)
      s.published = { version: s.filterVersion, filter: s.filter.serialize() };
    return s.published;
  }

  /**
   * The edge's sold-out/ended verdict, asked again when it lapses (workers/gateway/routes/sales.ts serves the
   * lapsed verdict while this is in flight): the sale's status, with the buyers filter when the edge's copy is
   * older. From memory, no storage work. Null for an object that was never initialised.
   */
  closedVerdict(knownBuyers?: number): ClosedVerdict | null {
    const s = this.sale;
    if (!s) return null;
    // As a purchase would answer it: a shard of a sharded sale is sold out only on its coordinator's verdict.
    const status = statusAt(s, this.clock());
    if (status !== "sold_out" && status !== "ended") return { saleStatus: status };
    const buyers = this.newerBuyers(knownBuyers);
    return buyers ? { saleStatus: status, buyers } : { saleStatus: status };
  }

  private countAttempt(kind: Parameters<Telemetry["count"]>[0]): void {
    if (this.telemetry.count(kind)) this.alarms.arm(this.clock() + COUNTER_FLUSH_MS);
  }

  /** A durable order of this shopper: waits for its round if it has one; undefined if there is none. */
  private async durableOrder(orderId: string, userId: string): Promise<OrderRow | undefined> {
    const s = this.sale;
    if (!s) return undefined;
    const until = s.commit.whenDurable(orderId);
    if (until) await until;
    const row = readOrder(this.sql, orderId);
    return row && row.user_id === userId ? row : undefined;
  }

  private expireIfDue(row: OrderRow, now: number): OrderRow {
    return isDue(row, now) ? this.changeStatus(row, "expired", now) : row;
  }

  /** The order state machine's one move (orders.ts), then the stock it returns. */
  private changeStatus(row: OrderRow, status: "paid" | "expired" | "cancelled", now: number): OrderRow {
    const s = this.sale!;
    invariant(!s.commit.isPending(row.id), "S4 only durable orders change status", () => ({
      orderId: row.id,
      to: status,
    }));
    const changed = writeStatusChange(this.ctx.storage, row, status, now);
    if (changed.released > 0) {
      s.ledger.released(changed.released);
      // A shard's returned units are offered again at once and reported (or given back) in the background.
      if (s.hot && s.pump) {
        s.hot.returnUnits(changed.released);
        this.kickStock(s);
      }
    }
    this.alarms.arm(now);
    return changed.row;
  }

  async getOrder(orderId: string, userId: string): Promise<OrderResult> {
    const row = await this.durableOrder(orderId, userId);
    if (!row) return reject("NOT_FOUND", "No such order");
    return { ok: true, order: toOrder(this.expireIfDue(row, this.clock()), this.sale!.config.id) };
  }

  async getOrderForUser(userId: string): Promise<Order | null> {
    const id = this.sale?.buyers.get(userId);
    if (id === undefined) return null;
    const row = await this.durableOrder(id, userId);
    if (!row) return null;
    return toOrder(this.expireIfDue(row, this.clock()), this.sale!.config.id);
  }

  /**
   * A simulated payment. Pay and expiry race here, in one thread: an order whose window has passed is
   * expired first (its stock returned), so a paid order always holds its stock.
   */
  async payOrder(orderId: string, userId: string): Promise<OrderResult> {
    const found = await this.durableOrder(orderId, userId);
    if (!found) return reject("NOT_FOUND", "No such order");
    const row = this.expireIfDue(found, this.clock());
    if (row.status === "paid") return { ok: true, order: toOrder(row, this.sale!.config.id) };
    if (row.status === "expired") return reject("ORDER_EXPIRED", "The payment window has passed");
    if (row.status !== "held") return reject("ORDER_NOT_PAYABLE", `The order is ${publicStatus(row)}`);
    return { ok: true, order: toOrder(this.changeStatus(row, "paid", this.clock()), this.sale!.config.id) };
  }

  async cancelOrder(orderId: string, userId: string): Promise<OrderResult> {
    const found = await this.durableOrder(orderId, userId);
    if (!found) return reject("NOT_FOUND", "No such order");
    const row = this.expireIfDue(found, this.clock());
    if (row.status === "cancelled") return { ok: true, order: toOrder(row, this.sale!.config.id) };
    if (row.status !== "held") return reject("ORDER_NOT_CANCELLABLE", `The order is ${publicStatus(row)}`);
    return { ok: true, order: toOrder(this.changeStatus(row, "cancelled", this.clock()), this.sale!.config.id) };
  }

  // ---------------------------------------------------------------- registration and draw

  /** Registers a shopper for a sale that requires it, before its start (registration.ts). */
  register(userId: string): RegisterResult {
    const s = this.sale;
    if (!s) return reject("NOT_FOUND", "No such sale");
    return register(this.sql, s.config, userId, this.clock());
  }

  registrationOf(userId: string): Registration | null {
    const s = this.sale;
    return s ? registrationOf(this.sql, s.config, userId) : null;
  }

  /**
   * Draw units (reserve.ts, `allocateDrawUnits`): one-unit reserved orders through the same group commit,
   * outbox and queue as a purchase, idempotent; resolves once every order it names is durable. What comes
   * back is always a prefix of `userIds`.
   */
  async allocateDrawOrders(userIds: string[]): Promise<{ userId: string; orderId: string }[]> {
    const s = this.sale;
    if (!s || s.config.mode !== "draw") return [];
    const now = this.clock();
    if (now >= s.config.endsAt) return [];
    const { allocated, durable } = allocateDrawUnits(s, userIds, now);
    const failed = (await Promise.allSettled(durable)).find((r) => r.status === "rejected");
    if (failed) throw failed.reason; // a round failed: its orders were given back; the draw calls again
    return allocated;
  }

  // ---------------------------------------------------------------- pipeline side

  /** PostgreSQL's second guard refused these orders (queues/consumer.ts): counted, saved, not re-sent. */
  reportOrderConflicts(items: { orderId: string; version: number }[]): void {
    if (!this.sale || items.length === 0) return;
    dropRefused(this.sql, items);
    this.telemetry.count("orderConflicts", items.length);
    this.telemetry.persist(this.sql);
  }

  /** The consumer has written these versions to PostgreSQL (outbox.ts). */
  confirmPersisted(items: { orderId: string; version: number }[]): void {
    if (!this.sale || items.length === 0) return;
    confirmPersisted(this.ctx.storage, items);
  }

  /**
   * The alarm does the object's background work, and is safe to run twice: expire unpaid durable orders, send
   * what is due in the outbox, save counters, then arm itself for the next due time.
   */
  async alarm(): Promise<void> {
    const now = this.clock();
    this.alarms.running(now);
    try {
      await this.runAlarm(now);
    } finally {
      this.alarms.ran();
    }
  }

  private async runAlarm(now: number): Promise<void> {
    const s = this.sale;
    if (!s) return;
    for (const row of dueForExpiry(this.sql, now, EXPIRE_LIMIT)) {
      // An order written by a round that is not synced yet waits for the next run (S4).
      if (!s.commit.isPending(row.id)) this.changeStatus(row, "expired", now);
    }
    // A shard paces its outbox so the sale's K shards never offer the queue more than it accepts (outbox.ts).
    const pacer = s.hot ? (this.pacer ??= new OutboxPacer(outboxMessagesPerSecond(s.hot.shards))) : null;
    const limit = pacer ? pacer.budget(now) : DRAIN_LIMIT;
    const sent = await drainOutbox(this.sql, this.env.ORDERS, s.config.id, now, this.clock, limit);
    pacer?.spent(now, sent);
    if (this.telemetry.dirty) this.telemetry.persist(this.sql);
    if (this.sale) this.series?.record(this.clock(), this.seriesValues());
    if (s.pump) await s.pump.kick();
    const later = this.clock();
    let next = nextWakeAt(this.sql, later, this.telemetry.dirty ? later + COUNTER_FLUSH_MS : null);
    // A shard's stock work no shopper will trigger: a move to retry, or idle stock to give back near the end.
    const stockAt = s.hot?.nextIdleCheckAt(later) ?? null;
    if (stockAt !== null) next = Math.min(next ?? Infinity, Math.max(stockAt, later + STOCK_RETRY_MS));
    // A full drain goes on at once; otherwise what was committed meanwhile waits for the next window.
    if (pacer && next !== null && sent >= limit) next = Math.max(next, pacer.nextAt(later));
    else if (next !== null && sent < DRAIN_LIMIT) next = Math.max(next, later + DRAIN_DELAY_MS);
    this.alarms.arm(next);
  }
}
