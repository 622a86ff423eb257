/**
 * SaleItem: one Durable Object per sale. It is the only writer of the sale's stock, so every purchase of
 * the sale is serialised here, and it is the system of record for orders until PostgreSQL has them.
 *
 * What it promises (docs/design.md, "Invariants"):
 * - never oversell: `remaining` only goes down inside a synchronous block that first checks it;
 * - one order per shopper: `buyers` is checked and updated in that same block, with no `await` in between,
 *   so no interleaving can slip through (storage has no UNIQUE index on user_id: a random-keyed index costs a
 *   page write per purchase, and the map, rebuilt from the orders at start, is the guard);
 * - no lost order: the order row, its outbox row and the new stock are written in one storage transaction
 *   (a group commit shared with concurrent purchases, see `commitPending`), and the answer waits until that
 *   write is durable; a failed commit gives the stock and the buyers back;
 * - the outbox row stays until the consumer confirms that PostgreSQL has that version of the order, and is
 *   re-sent on a timer until then (local queues keep messages in memory only; a restart loses them).
 *
 * Memory is a cache of storage: the constructor rebuilds it under `blockConcurrencyWhile`, so a restart or an
 * eviction changes nothing a client can see.
 */
import { DurableObject } from "cloudflare:workers";
import { reject, type Rejection } from "../lib/errors.ts";
import { makeOrderId } from "../lib/ids.ts";
import type { Order, OrderMessage, OrderStatus, Sale, SaleMode, SaleStats, SaleStatus } from "../lib/schemas.ts";
import type { Registration } from "../lib/draw.ts";
import type { SeckillEnv } from "../lib/env.ts";
import { CONSUMER_BATCH_BUCKETS_MS, GATEWAY_LATENCY_BUCKETS_MS, emptyHistogram, mergeHistogram, observe, type Histogram } from "../lib/histogram.ts";

/** The sale as the object keeps it: times in epoch milliseconds. */
export interface SaleConfig {
  id: string;
  title: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  perUserLimit: number;
  startsAt: number;
  endsAt: number;
  paymentWindowSeconds: number;
  paused: boolean;
  /** Draw sales and pre-registration (docs/api.md "Draw", "Registration"; docs/design.md "Draws and registration"). */
  mode?: SaleMode;
  drawAt?: number;
  drawCommitment?: string;
  registrationRequired?: boolean;
}

export interface PurchaseRequest {
  userId: string;
  quantity: number;
  idempotencyKey?: string;
  traceId?: string;
}

export type PurchaseResult =
  | { ok: true; order: Order; replayed: boolean; saleStatus: SaleStatus }
  | (Rejection & { saleStatus?: SaleStatus });

export type OrderResult = { ok: true; order: Order } | Rejection;

export interface LedgerEntry {
  id: string;
  version: number;
  persistedVersion: number;
  status: OrderStatus;
}

/** Where an order is in the object. `held` is shown as `reserved` until PostgreSQL has it, then `confirmed`. */
type StoredStatus = "held" | "paid" | "expired" | "cancelled";

interface OrderRow extends Record<string, SqlStorageValue> {
  id: string;
  user_id: string;
  quantity: number;
  price_cents: number;
  status: StoredStatus;
  created_at: number;
  expires_at: number;
  version: number;
  persisted_version: number;
  idempotency_key: string | null;
  trace_id: string | null;
}

interface Counters {
  attempts: number;
  soldOut: number;
  duplicate: number;
  rateLimited: number;
  notStarted: number;
  ended: number;
  paused: number;
}

/** The purchase latency histogram's upper bounds, in milliseconds of the object's own time. */
export const LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250] as const;

const SEND_CHUNK = 100; // Queues' sendBatch takes at most 100 messages
const DRAIN_LIMIT = 200; // outbox rows per alarm run (short runs keep purchases flowing); the next run follows at once
const EXPIRE_LIMIT = 500;
const RESEND_AFTER_MS = 5_000; // an unconfirmed message is sent again after this, doubling up to the cap
const RESEND_CAP_MS = 30_000;
const COUNTER_FLUSH_MS = 2_000;
/**
 * The outbox is drained at most this long after a commit, in one alarm run for everything committed meanwhile,
 * instead of one alarm run per group commit (each with its own `setAlarm` write and fsync, its queries and a
 * `sendBatch`): at most 20 runs a second under a crowd, each `sendBatch` carrying up to 50 ms of purchases.
 * 50 ms is small next to the time an order takes to reach PostgreSQL.
 */
const DRAIN_DELAY_MS = 50;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sale (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    counters TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price_cents INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    persisted_version INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    trace_id TEXT
  );
  CREATE INDEX IF NOT EXISTS orders_by_status_expiry ON orders (status, expires_at);
  CREATE TABLE IF NOT EXISTS outbox (
    order_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    next_send_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS outbox_by_due ON outbox (next_send_at);
  CREATE TABLE IF NOT EXISTS registrations (
    user_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/** Draw winners handed to `allocateDrawOrders` in one call (one group commit). */
const ALLOCATE_LIMIT = 500;

function zeroCounters(): Counters {
  return { attempts: 0, soldOut: 0, duplicate: 0, rateLimited: 0, notStarted: 0, ended: 0, paused: 0 };
}

export class SaleItem extends DurableObject<SeckillEnv> {
  /** Overridable clock, so tests can move time (payment windows, start and end) without waiting. */
  clock: () => number = Date.now;

  private config: SaleConfig | null = null;
  private remaining = 0;
  private sequence = 0;
  private counters: Counters = zeroCounters();
  private countersDirty = false;
  /** user id → order id: the in-memory half of the one-order-per-shopper rule. */
  private readonly buyers = new Map<string, string>();
  /** Purchases reserved in memory and waiting for the next group commit (see `commitPending`). */
  private readonly uncommitted = new Map<string, OrderRow>();
  /** The commit that the next purchases will share, and whether one is being made durable now. */
  private nextRound: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | null = null;
  private committing = false;
  /** When the alarm is set for, as far as this instance knows; null when none is. */
  private alarmAt: number | null = null;
  /** Purchase latency inside the object, as cumulative-bucket counts (Prometheus histogram). */
  private readonly latency = { buckets: new Array<number>(LATENCY_BUCKETS_MS.length).fill(0), count: 0, sumMs: 0 };
  /** Measured elsewhere and handed over by `recordObservations` (memory only, like `latency`). */
  private readonly gatewayLatency = emptyHistogram(GATEWAY_LATENCY_BUCKETS_MS);
  private readonly consumerBatch = emptyHistogram(CONSUMER_BATCH_BUCKETS_MS);

  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: SeckillEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(SCHEMA);
      this.loadFromStorage();
      this.alarmAt = await ctx.storage.getAlarm();
      // After a restart, anything still in the outbox must be sent again: local queues forget
      // in-flight messages, and a crash may have happened between sending and confirming.
      if (this.config && this.alarmAt === null && this.hasOutstandingWork()) this.armAlarm(this.clock());
    });
  }

  private loadFromStorage(): void {
    const row = this.sql.exec<{ config: string; remaining: number; sequence: number; counters: string }>(
      "SELECT config, remaining, sequence, counters FROM sale WHERE id = 1",
    ).toArray()[0];
    if (!row) return;
    this.config = JSON.parse(row.config) as SaleConfig;
    this.remaining = row.remaining;
    this.sequence = row.sequence;
    this.counters = { ...zeroCounters(), ...(JSON.parse(row.counters) as Partial<Counters>) };
    this.buyers.clear();
    for (const o of this.sql.exec<{ id: string; user_id: string }>("SELECT id, user_id FROM orders")) {
      this.buyers.set(o.user_id, o.id);
    }
  }

  private hasOutstandingWork(): boolean {
    const outbox = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
    const held = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM orders WHERE status = 'held'").one().n;
    return outbox > 0 || held > 0;
  }

  // ---------------------------------------------------------------- merchant side

  /** Creates the sale in this object. Safe to call twice with the same sale (the admin retries). */
  initialize(config: Omit<SaleConfig, "paused"> & { paused?: boolean }): Sale {
    if (this.config) {
      if (this.config.id !== config.id) throw new Error("object already holds another sale");
      return this.toSale(this.clock());
    }
    this.config = { ...config, paused: config.paused ?? false };
    this.remaining = config.stock;
    this.sequence = 0;
    this.sql.exec(
      "INSERT INTO sale (id, config, remaining, sequence, counters) VALUES (1, ?, ?, 0, ?)",
      JSON.stringify(this.config),
      this.remaining,
      JSON.stringify(this.counters),
    );
    return this.toSale(this.clock());
  }

  /** Changes a sale that has not started. Stock may go down only as far as what is already held. */
  update(patch: Partial<Omit<SaleConfig, "id" | "paused">>): { ok: true; sale: Sale } | Rejection {
    const config = this.config;
    if (!config) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    if (now >= config.startsAt) return reject("SALE_STARTED", "A sale cannot be changed once it has started");
    if (patch.mode !== undefined && patch.mode !== (config.mode ?? "first_come")) {
      return reject("VALIDATION_FAILED", "A sale's mode is chosen when it is created");
    }
    const next = { ...config, ...patch };
    if (next.endsAt <= next.startsAt) return reject("VALIDATION_FAILED", "endsAt must be after startsAt");
    if (next.mode === "draw" && !(next.drawAt !== undefined && next.startsAt < next.drawAt && next.drawAt < next.endsAt)) {
      return reject("VALIDATION_FAILED", "drawAt must be after startsAt and before endsAt");
    }
    if (next.mode !== "draw" && patch.drawAt !== undefined) return reject("VALIDATION_FAILED", "drawAt is for draw sales only");
    if (next.mode === "draw" && next.registrationRequired) {
      return reject("VALIDATION_FAILED", "registration is for first-come sales only");
    }
    const sold = config.stock - this.remaining;
    if (next.stock < sold) return reject("VALIDATION_FAILED", `stock cannot go below the ${sold} already sold`);
    this.config = next;
    this.remaining = next.stock - sold;
    this.persistSale();
    return { ok: true, sale: this.toSale(now) };
  }

  setPaused(paused: boolean): { ok: true; sale: Sale } | Rejection {
    if (!this.config) return reject("NOT_FOUND", "No such sale");
    this.config = { ...this.config, paused };
    this.persistSale();
    return { ok: true, sale: this.toSale(this.clock()) };
  }

  /** Rejections that the gateway answered itself (rate limits), so the merchant's counters include them. */
  recordEdgeRejections(counts: { rateLimited?: number; soldOut?: number; ended?: number }): void {
    if (!this.config) return;
    this.counters.rateLimited += counts.rateLimited ?? 0;
    this.counters.soldOut += counts.soldOut ?? 0;
    this.counters.ended += counts.ended ?? 0;
    this.counters.attempts += (counts.rateLimited ?? 0) + (counts.soldOut ?? 0) + (counts.ended ?? 0);
    this.markCountersDirty();
  }

  /**
   * Latencies measured outside the object, so /metrics can expose them per sale: the gateway's purchase
   * latency (a histogram per flush window, from its deferred 2-second flush) and the consumer's batch time.
   * Memory only, like the object's own latency histogram: a restart starts them again from zero.
   */
  recordObservations(o: { gatewayLatency?: Histogram; consumerBatchMs?: number }): void {
    if (!this.config) return;
    if (o.gatewayLatency) mergeHistogram(this.gatewayLatency, o.gatewayLatency);
    if (o.consumerBatchMs !== undefined) observe(this.consumerBatch, CONSUMER_BATCH_BUCKETS_MS, o.consumerBatchMs);
  }

  getSale(): Sale | null {
    return this.config ? this.toSale(this.clock()) : null;
  }

  getStats(): (Sale & { stats: SaleStats; latency: Histogram; gatewayLatency: Histogram; consumerBatch: Histogram }) | null {
    if (!this.config) return null;
    const sold = this.sql.exec<{ n: number | null }>(
      "SELECT sum(quantity) AS n FROM orders WHERE status IN ('held', 'paid')",
    ).one().n;
    const outboxDepth = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
    const awaitingDatabase = this.sql.exec<{ n: number }>(
      "SELECT count(*) AS n FROM orders WHERE persisted_version = 0",
    ).one().n;
    const { attempts, ...rejected } = this.counters;
    return {
      ...this.toSale(this.clock()),
      stats: {
        attempts,
        sold: sold ?? 0,
        remaining: this.remaining,
        rejected,
        outboxDepth,
        awaitingDatabase,
        registrations: this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM registrations").one().n,
      },
      latency: this.latency,
      gatewayLatency: this.gatewayLatency,
      consumerBatch: this.consumerBatch,
    };
  }

  /** The object's ledger, a page at a time, for reconciliation with PostgreSQL. */
  ledger(after: string, limit: number): LedgerEntry[] {
    return this.sql
      .exec<OrderRow>("SELECT * FROM orders WHERE id > ? ORDER BY id LIMIT ?", after, Math.min(limit, 5000))
      .toArray()
      .map((r) => ({ id: r.id, version: r.version, persistedVersion: r.persisted_version, status: this.publicStatus(r) }));
  }

  /** Puts orders back in the outbox (reconcile, replay): they are sent at once and land idempotently. */
  requeue(orderIds: string[]): number {
    const now = this.clock();
    let queued = 0;
    for (const id of orderIds) {
      const row = this.sql.exec<{ version: number }>("SELECT version FROM orders WHERE id = ?", id).toArray()[0];
      if (!row) continue;
      this.sql.exec(
        `INSERT INTO outbox (order_id, version, next_send_at, attempts) VALUES (?, ?, ?, 0)
         ON CONFLICT (order_id) DO UPDATE SET next_send_at = excluded.next_send_at, attempts = 0`,
        id,
        row.version,
        now,
      );
      queued++;
    }
    if (queued) this.armAlarm(now);
    return queued;
  }

  // ---------------------------------------------------------------- shopper side

  /**
   * Reserves stock for one shopper. The checks and the reservation in memory happen in one synchronous block,
   * so the object's single thread makes check-then-reserve atomic: a later request sees this one's stock and
   * buyer at once. The order, its outbox row and the stock are then written in one storage transaction by the
   * next group commit, shared with the purchases that arrive meanwhile, and the answer waits for it: no `202`
   * leaves before its order is durable (docs/design.md, invariant 3).
   */
  async reservePurchase(request: PurchaseRequest): Promise<PurchaseResult> {
    const started = performance.now();
    const config = this.config;
    if (!config) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    this.counters.attempts++;
    this.markCountersDirty();

    // A draw sale's units go only to the draw's winners (allocateDrawOrders), never to a purchase.
    if (config.mode === "draw") return reject("NOT_ADMITTED", "This sale is a draw: enter it instead of buying");

    // A retry with the shopper's Idempotency-Key gets the first answer again, whatever the sale does now.
    const existingId = this.buyers.get(request.userId);
    if (existingId !== undefined) {
      const row = this.orderRow(existingId)!;
      if (request.idempotencyKey !== undefined && row.idempotency_key === request.idempotencyKey) {
        if (this.uncommitted.has(existingId)) await this.commitPending();
        return { ok: true, order: this.toOrder(this.orderRow(existingId)!), replayed: true, saleStatus: this.status(now) };
      }
      this.counters.duplicate++;
      return { ...reject("ALREADY_PURCHASED", "You already have an order for this sale", { orderId: existingId }), saleStatus: this.status(now) };
    }

    const status = this.status(now);
    if (status !== "live") {
      const rejection = this.rejectForStatus(status, config, now);
      return { ...rejection, saleStatus: status };
    }
    // Pre-registration: checked here, in the same synchronous block as the reservation below (an indexed
    // read, no await), so no registration can change between the check and the reserve.
    if (config.registrationRequired && !this.isRegistered(request.userId)) {
      return reject("NOT_REGISTERED", "Only shoppers who registered before the start may buy in this sale");
    }
    const quantity = request.quantity;
    if (quantity > config.perUserLimit) {
      return reject("VALIDATION_FAILED", `quantity must be between 1 and ${config.perUserLimit}`, [
        { path: ["quantity"], message: `at most ${config.perUserLimit} per shopper` },
      ]);
    }
    if (quantity > this.remaining) {
      this.counters.soldOut++;
      return { ...reject("INSUFFICIENT_STOCK", `Only ${this.remaining} left`, { remaining: this.remaining }), saleStatus: status };
    }

    this.sequence++;
    const row: OrderRow = {
      id: makeOrderId(config.id, this.sequence),
      user_id: request.userId,
      quantity,
      price_cents: config.priceCents * quantity,
      status: "held",
      created_at: now,
      expires_at: now + config.paymentWindowSeconds * 1000,
      version: 1,
      persisted_version: 0,
      idempotency_key: request.idempotencyKey ?? null,
      trace_id: request.traceId ?? null,
    };
    // Reserved in memory now; durable with the next group commit, or undone if that commit fails.
    this.remaining -= quantity;
    this.buyers.set(request.userId, row.id);
    this.uncommitted.set(row.id, row);
    await this.commitPending();
    this.observeLatency(performance.now() - started);
    return { ok: true, order: this.toOrder(row), replayed: false, saleStatus: this.status(this.clock()) };
  }

  /**
   * Group commit, without a timer: when no commit is in flight, the purchases reserved so far are written at
   * once (in the calling event); while one is in flight, newer purchases wait and are all written together as
   * soon as it is durable. Under a crowd every commit carries every purchase that arrived during the previous
   * one (each event's writes would otherwise be one commit each, and a commit costs several times what the rest
   * of a purchase does); alone, a purchase is written immediately. Resolves once this caller's writes are
   * durable.
   */
  private commitPending(): Promise<void> {
    let round = this.nextRound;
    if (!round) {
      let resolve!: () => void;
      let rejectRound!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (rejectRound = rej)));
      round = this.nextRound = { promise, resolve, reject: rejectRound };
    }
    if (!this.committing) this.commitRound();
    return round.promise;
  }

  private commitRound(): void {
    const round = this.nextRound;
    if (!round) {
      this.committing = false;
      return;
    }
    this.committing = true;
    this.nextRound = null;
    const batch = [...this.uncommitted.values()];
    try {
      this.writePurchases(batch);
    } catch (err) {
      // Nothing of the batch was written: its stock and buyers go back, and every caller gets the error.
      for (const row of batch) {
        this.remaining += row.quantity;
        this.buyers.delete(row.user_id);
      }
      round.reject(err);
      this.commitRound();
      return;
    } finally {
      for (const row of batch) this.uncommitted.delete(row.id);
    }
    this.armAlarm(this.clock() + DRAIN_DELAY_MS);
    this.ctx.storage.sync().then(
      () => {
        round.resolve();
        this.commitRound();
      },
      (err: unknown) => {
        round.reject(err);
        this.commitRound();
      },
    );
  }

  /** One transaction: every order of the batch, its outbox row, and the stock, or none of them. */
  private writePurchases(batch: OrderRow[]): void {
    if (batch.length === 0) return;
    // Two statements for the whole batch (each `exec` has a fixed cost, paid once instead of per order).
    const rows = JSON.stringify(
      batch.map((r) => [r.id, r.user_id, r.quantity, r.price_cents, r.created_at, r.expires_at, r.idempotency_key, r.trace_id]),
    );
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO orders (id, user_id, quantity, price_cents, status, created_at, expires_at, version,
           persisted_version, idempotency_key, trace_id)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'held', value ->> 4, value ->> 5, 1, 0,
           value ->> 6, value ->> 7
         FROM json_each(?)`,
        rows,
      );
      this.sql.exec(
        "INSERT INTO outbox (order_id, version, next_send_at, attempts) SELECT value ->> 0, 1, value ->> 4, 0 FROM json_each(?)",
        rows,
      );
      this.sql.exec(
        "UPDATE sale SET remaining = ?, sequence = ?, counters = ? WHERE id = 1",
        this.remaining,
        this.sequence,
        JSON.stringify(this.counters),
      );
    });
    this.countersDirty = false;
  }

  // ---------------------------------------------------------------- registration and draw

  /**
   * Registers a shopper for a sale that requires it, before its start. Kept in this object, the one that
   * takes the shopper's purchase, so the purchase's check needs no other object and no await.
   */
  register(userId: string): { ok: true; created: boolean; registration: Registration } | Rejection {
    const config = this.config;
    if (!config) return reject("NOT_FOUND", "No such sale");
    if (!config.registrationRequired) return reject("REGISTRATION_NOT_REQUIRED", "This sale does not need registration");
    const found = this.registrationOf(userId);
    const now = this.clock();
    if (now >= config.startsAt) {
      return reject("REGISTRATION_CLOSED", "Registration closed when the sale started", { registered: found !== null });
    }
    if (found) return { ok: true, created: false, registration: found };
    this.sql.exec("INSERT INTO registrations (user_id, created_at) VALUES (?, ?)", userId, now);
    return { ok: true, created: true, registration: { saleId: config.id, userId, createdAt: new Date(now).toISOString() } };
  }

  registrationOf(userId: string): Registration | null {
    if (!this.config) return null;
    const row = this.sql
      .exec<{ created_at: number }>("SELECT created_at FROM registrations WHERE user_id = ?", userId)
      .toArray()[0];
    return row ? { saleId: this.config.id, userId, createdAt: new Date(row.created_at).toISOString() } : null;
  }

  private isRegistered(userId: string): boolean {
    return this.sql.exec("SELECT 1 FROM registrations WHERE user_id = ?", userId).toArray().length > 0;
  }

  /**
   * Draw units: a `reserved` order of one unit for each shopper, in the order given (the draw's rank order),
   * through the same group commit, outbox and queue as a purchase — without a purchase's checks (the draw
   * decided who gets a unit). A shopper who has an order already gets it back and takes no stock, so a
   * repeated call (the draw resuming after a restart) creates nothing twice; the first shopper who would need a
   * unit when none is left stops the call. What comes back is therefore always a prefix of `userIds`.
   */
  async allocateDrawOrders(userIds: string[]): Promise<{ userId: string; orderId: string }[]> {
    const config = this.config;
    if (!config || config.mode !== "draw") return [];
    const now = this.clock();
    if (now >= config.endsAt) return [];
    const out: { userId: string; orderId: string }[] = [];
    let created = false;
    for (const userId of userIds.slice(0, ALLOCATE_LIMIT)) {
      const existing = this.buyers.get(userId);
      if (existing !== undefined) {
        out.push({ userId, orderId: existing });
        continue;
      }
      if (this.remaining < 1) break;
      this.sequence++;
      const row: OrderRow = {
        id: makeOrderId(config.id, this.sequence),
        user_id: userId,
        quantity: 1,
        price_cents: config.priceCents,
        status: "held",
        created_at: now,
        expires_at: now + config.paymentWindowSeconds * 1000,
        version: 1,
        persisted_version: 0,
        idempotency_key: null,
        trace_id: null,
      };
      this.remaining -= 1;
      this.buyers.set(userId, row.id);
      this.uncommitted.set(row.id, row);
      created = true;
      out.push({ userId, orderId: row.id });
    }
    if (this.remaining < 0) throw new Error("draw allocation oversold");
    if (created) await this.commitPending();
    return out;
  }

  getOrder(orderId: string, userId: string): OrderResult {
    const row = this.orderRow(orderId);
    if (!row || row.user_id !== userId) return reject("NOT_FOUND", "No such order");
    return { ok: true, order: this.toOrder(this.expireIfDue(row, this.clock())) };
  }

  getOrderForUser(userId: string): Order | null {
    const id = this.buyers.get(userId);
    if (id === undefined) return null;
    return this.toOrder(this.expireIfDue(this.orderRow(id)!, this.clock()));
  }

  /**
   * A simulated payment. Pay and expiry race here, in one thread: an order whose window has passed is
   * expired first (its stock returned), so a paid order always holds its stock.
   */
  async payOrder(orderId: string, userId: string): Promise<OrderResult> {
    if (this.uncommitted.has(orderId)) await this.commitPending();
    const found = this.orderRow(orderId);
    if (!found || found.user_id !== userId) return reject("NOT_FOUND", "No such order");
    const row = this.expireIfDue(found, this.clock());
    if (row.status === "paid") return { ok: true, order: this.toOrder(row) };
    if (row.status === "expired") return reject("ORDER_EXPIRED", "The payment window has passed");
    if (row.status !== "held") return reject("ORDER_NOT_PAYABLE", `The order is ${this.publicStatus(row)}`);
    return { ok: true, order: this.toOrder(this.changeStatus(row, "paid", this.clock())) };
  }

  async cancelOrder(orderId: string, userId: string): Promise<OrderResult> {
    if (this.uncommitted.has(orderId)) await this.commitPending();
    const found = this.orderRow(orderId);
    if (!found || found.user_id !== userId) return reject("NOT_FOUND", "No such order");
    const row = this.expireIfDue(found, this.clock());
    if (row.status === "cancelled") return { ok: true, order: this.toOrder(row) };
    if (row.status !== "held") return reject("ORDER_NOT_CANCELLABLE", `The order is ${this.publicStatus(row)}`);
    return { ok: true, order: this.toOrder(this.changeStatus(row, "cancelled", this.clock())) };
  }

  // ---------------------------------------------------------------- pipeline side

  /**
   * The consumer has written these versions to PostgreSQL. Their outbox rows go (a newer version of the
   * same order stays), and a held order now shows as `confirmed`.
   */
  confirmPersisted(items: { orderId: string; version: number }[]): void {
    if (items.length === 0) return;
    // Two statements for the whole batch (the pairs travel as one JSON parameter), not two per order; both
    // look rows up by primary key from the pairs, never scan the tables.
    const pairs = JSON.stringify(items.map((i) => [i.orderId, i.version]));
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `UPDATE orders SET persisted_version = max(persisted_version,
           (SELECT max(c.value ->> 1) FROM json_each(?1) AS c WHERE c.value ->> 0 = orders.id))
         WHERE id IN (SELECT value ->> 0 FROM json_each(?1))`,
        pairs,
      );
      this.sql.exec(
        `DELETE FROM outbox WHERE order_id IN (SELECT o.order_id FROM json_each(?) AS c
           JOIN outbox AS o ON o.order_id = c.value ->> 0 AND o.version <= c.value ->> 1)`,
        pairs,
      );
    });
  }

  /**
   * The alarm does the object's background work, and is safe to run twice: expire unpaid orders, send what
   * is due in the outbox, save counters, then arm itself for the next due time.
   */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = this.clock();
    this.expireDueOrders(now);
    const sent = await this.drainOutbox(now);
    if (this.countersDirty) this.persistSale();
    const later = this.clock();
    const next = this.nextWakeAt(later);
    // A full drain goes on at once; otherwise what was committed meanwhile waits for the next window.
    this.armAlarm(next === null || sent >= DRAIN_LIMIT ? next : Math.max(next, later + DRAIN_DELAY_MS));
  }

  private expireDueOrders(now: number): void {
    const due = this.sql
      .exec<OrderRow>(
        "SELECT * FROM orders WHERE status = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
        now,
        EXPIRE_LIMIT,
      )
      .toArray();
    for (const row of due) this.changeStatus(row, "expired", now);
  }

  /**
   * Sends due outbox rows to the ORDERS queue, 100 per `sendBatch`. A row is only marked as sent (and due
   * again later, until confirmed) after its batch was accepted; a refused batch is retried with backoff.
   * A purchase never waits for this: it runs in the alarm, after the purchase has been answered. Returns how
   * many rows it sent or tried to send.
   */
  private async drainOutbox(now: number): Promise<number> {
    const config = this.config;
    if (!config) return 0;
    const due = this.sql
      .exec<OrderRow & { outbox_version: number; attempts: number }>(
        `SELECT o.*, b.version AS outbox_version, b.attempts AS attempts
         FROM outbox b JOIN orders o ON o.id = b.order_id
         WHERE b.next_send_at <= ? ORDER BY b.next_send_at LIMIT ?`,
        now,
        DRAIN_LIMIT,
      )
      .toArray();
    for (let i = 0; i < due.length; i += SEND_CHUNK) {
      const chunk = due.slice(i, i + SEND_CHUNK);
      const messages = chunk.map((row) => ({
        body: {
          kind: "order",
          order: this.toOrder(row, row.version),
          version: row.version,
          traceId: row.trace_id ?? undefined,
        } satisfies OrderMessage,
        contentType: "json" as const,
      }));
      let sent = true;
      try {
        await this.env.ORDERS.sendBatch(messages);
      } catch (err) {
        sent = false;
        console.warn(JSON.stringify({ msg: "outbox send failed", saleId: config.id, error: String(err) }));
      }
      // One statement for the chunk. Only the version that was sent is rescheduled; a newer version written
      // meanwhile stays due now. Sent: due again (unless confirmed) after 5 s, doubling up to the cap;
      // refused: retried after 1 s, doubling up to the cap.
      this.sql.exec(
        `UPDATE outbox SET next_send_at = ? + min(? * (1 << min(attempts, 20)), ?), attempts = attempts + 1
         WHERE order_id IN (SELECT o.order_id FROM json_each(?) AS s
           JOIN outbox AS o ON o.order_id = s.value ->> 0 AND o.version = s.value ->> 1)`,
        this.clock(),
        sent ? RESEND_AFTER_MS : 1000,
        RESEND_CAP_MS,
        JSON.stringify(chunk.map((row) => [row.id, row.outbox_version])),
      );
    }
    return due.length;
  }

  private nextWakeAt(now: number): number | null {
    const outbox = this.sql.exec<{ t: number | null }>("SELECT min(next_send_at) AS t FROM outbox").one().t;
    const expiry = this.sql.exec<{ t: number | null }>(
      "SELECT min(expires_at) AS t FROM orders WHERE status = 'held'",
    ).one().t;
    let next: number | null = null;
    for (const t of [outbox, expiry, this.countersDirty ? now + COUNTER_FLUSH_MS : null]) {
      if (t !== null && (next === null || t < next)) next = t;
    }
    return next === null ? null : Math.max(next, now);
  }

  /** Sets the alarm if nothing earlier is set. `setAlarm` is a storage write, so it is skipped when it can be. */
  private armAlarm(at: number | null): void {
    if (at === null) return;
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  // ---------------------------------------------------------------- helpers

  private status(now: number): SaleStatus {
    const c = this.config!;
    if (now >= c.endsAt) return "ended";
    if (c.paused) return "paused";
    if (this.remaining <= 0) return "sold_out";
    if (now < c.startsAt) return "scheduled";
    return "live";
  }

  private rejectForStatus(status: SaleStatus, config: SaleConfig, now: number): Rejection {
    switch (status) {
      case "ended":
        this.counters.ended++;
        return reject("ENDED", "The sale has ended");
      case "paused":
        this.counters.paused++;
        return reject("PAUSED", "The sale is paused");
      case "sold_out":
        this.counters.soldOut++;
        return reject("SOLD_OUT", "Sold out");
      default:
        this.counters.notStarted++;
        return reject("NOT_STARTED", "The sale has not started", {
          startsAt: new Date(config.startsAt).toISOString(),
          secondsToStart: Math.ceil((config.startsAt - now) / 1000),
        });
    }
  }

  /** Moves a held order to a final status in one transaction with its outbox row and the stock it returns. */
  private changeStatus(row: OrderRow, status: "paid" | "expired" | "cancelled", now: number): OrderRow {
    const version = row.version + 1;
    const returnsStock = status !== "paid";
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE orders SET status = ?, version = ? WHERE id = ?", status, version, row.id);
      this.sql.exec(
        `INSERT INTO outbox (order_id, version, next_send_at, attempts) VALUES (?, ?, ?, 0)
         ON CONFLICT (order_id) DO UPDATE SET version = excluded.version, next_send_at = excluded.next_send_at, attempts = 0`,
        row.id,
        version,
        now,
      );
      if (returnsStock) this.sql.exec("UPDATE sale SET remaining = remaining + ? WHERE id = 1", row.quantity);
    });
    if (returnsStock) this.remaining += row.quantity;
    this.armAlarm(now);
    return { ...row, status, version };
  }

  private expireIfDue(row: OrderRow, now: number): OrderRow {
    return row.status === "held" && row.expires_at <= now ? this.changeStatus(row, "expired", now) : row;
  }

  private orderRow(id: string): OrderRow | undefined {
    const pending = this.uncommitted.get(id);
    if (pending) return pending;
    return this.sql.exec<OrderRow>("SELECT * FROM orders WHERE id = ?", id).toArray()[0];
  }

  private publicStatus(row: Pick<OrderRow, "status" | "persisted_version">): OrderStatus {
    if (row.status === "held") return row.persisted_version > 0 ? "confirmed" : "reserved";
    return row.status;
  }

  /**
   * The order as clients see it. With `asOfVersion` it is the state written to PostgreSQL for that version:
   * a held order is `confirmed` there, since being in PostgreSQL is what confirmed means.
   */
  private toOrder(row: OrderRow, asOfVersion?: number): Order {
    const status = asOfVersion !== undefined && row.status === "held" ? "confirmed" : this.publicStatus(row);
    return {
      id: row.id,
      saleId: this.config!.id,
      userId: row.user_id,
      quantity: row.quantity,
      priceCents: row.price_cents,
      status,
      createdAt: new Date(row.created_at).toISOString(),
      expiresAt: new Date(row.expires_at).toISOString(),
    };
  }

  private toSale(now: number): Sale {
    const c = this.config!;
    return {
      id: c.id,
      title: c.title,
      description: c.description,
      priceCents: c.priceCents,
      currency: c.currency,
      stock: c.stock,
      remaining: this.remaining,
      perUserLimit: c.perUserLimit,
      startsAt: new Date(c.startsAt).toISOString(),
      endsAt: new Date(c.endsAt).toISOString(),
      status: this.status(now),
      paymentWindowSeconds: c.paymentWindowSeconds,
      mode: c.mode ?? "first_come",
      registrationRequired: c.registrationRequired ?? false,
      ...(c.mode === "draw" ? { drawAt: new Date(c.drawAt!).toISOString(), drawCommitment: c.drawCommitment } : {}),
    };
  }

  private persistSale(): void {
    this.sql.exec(
      "UPDATE sale SET config = ?, remaining = ?, sequence = ?, counters = ? WHERE id = 1",
      JSON.stringify(this.config),
      this.remaining,
      this.sequence,
      JSON.stringify(this.counters),
    );
    this.countersDirty = false;
  }

  /** Rejections change only counters: they are saved by the alarm, not on every request. */
  private markCountersDirty(): void {
    if (this.countersDirty) return;
    this.countersDirty = true;
    this.armAlarm(this.clock() + COUNTER_FLUSH_MS);
  }

  private observeLatency(ms: number): void {
    const l = this.latency;
    l.count++;
    l.sumMs += ms;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]) l.buckets[i]++;
  }
}
