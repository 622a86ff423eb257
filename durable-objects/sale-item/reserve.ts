/**
 * Check-and-reserve, and the group commit that makes reservations durable.
 *
 * Check-and-reserve (`checkAndReserve`) is one synchronous block — the shopper's earlier order, the sale's
 * status, the quantity, the stock — that ends by reserving the units in the stock ledger and the shopper in
 * the buyers map, with no `await` in between: the object's single thread makes it atomic (S2, S6). It never
 * answers from an order that is not durable yet: a shopper whose order is still in a round waits for that
 * round, then is checked again from the start.
 *
 * The group commit (`GroupCommit`), without a timer: when no round is in flight, the reservations so far are
 * written at once (in the calling event); while one is in flight, newer reservations wait and are all written
 * together as soon as it is durable. A round is one transaction — its orders, their outbox rows, and
 * `remaining` lowered by their units — and each caller's answer waits until `storage.sync()` says it is
 * durable (S3: every 202 is durable). A round whose write throws leaves nothing in storage and gives its units
 * and buyers back in memory.
 */
import { CLOSED_SALE_MESSAGES, reject } from "../../lib/contract/errors.ts";
import type { PublishedBuyers } from "../../lib/server/buyers-filter.ts";
import type { Order, SaleStatus } from "../../lib/contract/schemas.ts";
import type { Rejection } from "../../lib/contract/errors.ts";
import { invariant } from "./invariants.ts";
import { saleStatus, type SaleConfig } from "./lifecycle.ts";
import { toOrder, type OrderRow } from "./orders.ts";
import type { StockLedger } from "./stock.ts";
import type { Counters } from "./telemetry.ts";

export interface PurchaseRequest {
  userId: string;
  quantity: number;
  idempotencyKey?: string;
  traceId?: string;
  /** The version of the buyers filter the edge already holds (it is sent again only when it changed). */
  knownBuyers?: number;
  /** Queue sales: the gateway checked this shopper's admitted ticket with the sale's queue (docs/api.md "Queue"). */
  queueAdmitted?: boolean;
  /**
   * The edge verified a proof-of-work solution for this purchase (workers/gateway/challenge.ts), or challenges are
   * off. A `challenge` sale refuses a purchase without it (`403 CHALLENGE_REQUIRED`).
   */
  challengePassed?: boolean;
  /**
   * The gateway took no unpaid-holds slot for this purchase, because it expects a replay or a refusal
   * (workers/gateway/holds.ts). A purchase that would make a new order is then answered `holdNeeded`, taking
   * nothing, and the gateway sends it again with a slot: no order is ever made without one (docs/design.md,
   * "Holds with a price").
   */
  withoutHold?: boolean;
}

/** The answer to a `withoutHold` purchase that would have made a new order: nothing was taken. */
export interface HoldNeeded {
  ok: false;
  holdNeeded: true;
  code?: undefined;
  message?: undefined;
  details?: undefined;
  saleStatus?: undefined;
  buyers?: undefined;
}

/** With a sold-out or ended `saleStatus`, `buyers` is the sale's buyers filter when the edge's copy is older. */
export type PurchaseResult =
  | {
      ok: true;
      order: Order;
      replayed: boolean;
      saleStatus: SaleStatus;
      buyers?: PublishedBuyers;
      holdNeeded?: undefined;
    }
  | (Rejection & { saleStatus?: SaleStatus; buyers?: PublishedBuyers; holdNeeded?: undefined })
  | HoldNeeded;

/** How often one purchase waits for an earlier order of the same shopper to become durable before giving up. */
export const MAX_WAITS = 3;

interface Round {
  rows: OrderRow[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newRound(): Round {
  let resolve!: () => void;
  let rejectRound!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => ((resolve = res), (rejectRound = rej)));
  // A round nobody awaits any more (its callers gave up) must not become an unhandled rejection.
  done.catch(() => {});
  return { rows: [], done, resolve, reject: rejectRound };
}

export interface RoundHooks {
  /** What else the round's transaction writes on the sale row (sequence, counters). */
  saleFields(): { sequence: number; counters: string };
  /** The round is written (not yet synced): its units are durable in storage's `remaining`. */
  written(rows: OrderRow[]): void;
  /** The round's write threw: nothing of it is in storage. */
  rolledBack(rows: OrderRow[]): void;
}

export class GroupCommit {
  private next: Round | null = null;
  private inFlight: Round | null = null;
  /** Orders not yet durable — reserved in memory, or written and waiting for `sync()` — with their round. */
  private readonly pending = new Map<string, Round>();

  constructor(
    private readonly storage: () => DurableObjectStorage,
    private readonly hooks: RoundHooks,
  ) {}

  /** Adds a reserved order to the next round; resolves when it is durable, rejects if its round failed. */
  add(row: OrderRow): Promise<void> {
    const round = (this.next ??= newRound());
    round.rows.push(row);
    this.pending.set(row.id, round);
    if (!this.inFlight) this.startRound();
    return round.done;
  }

  /** Null when the order is durable (or unknown); else a promise that settles (never rejects) with its round. */
  whenDurable(orderId: string): Promise<void> | null {
    const round = this.pending.get(orderId);
    return round ? round.done.catch(() => {}) : null;
  }

  isPending(orderId: string): boolean {
    return this.pending.has(orderId);
  }

  /** Units reserved in rounds not written yet (the stock ledger's `reserved`, seen from the rounds). */
  unwrittenUnits(): number {
    return this.next ? this.next.rows.reduce((n, r) => n + r.quantity, 0) : 0;
  }

  private startRound(): void {
    const round = this.next;
    if (!round) return;
    this.next = null;
    this.inFlight = round;
    try {
      writeRound(this.storage(), round.rows, this.hooks.saleFields());
    } catch (err) {
      for (const row of round.rows) this.pending.delete(row.id);
      this.inFlight = null;
      this.hooks.rolledBack(round.rows);
      round.reject(err);
      this.startRound();
      return;
    }
    this.hooks.written(round.rows);
    const finish = () => {
      for (const row of round.rows) this.pending.delete(row.id);
      this.inFlight = null;
    };
    this.storage()
      .sync()
      .then(
        () => {
          finish();
          round.resolve();
          this.startRound();
        },
        (err: unknown) => {
          // The write is in storage but not known durable: the runtime resets an object whose writes fail,
          // and the next instance loads whatever storage kept. The callers get the error, never a 202.
          finish();
          round.reject(err);
          this.startRound();
        },
      );
  }
}

/** One transaction: every order of the round, its outbox row, and `remaining` lowered by their units. */
function writeRound(
  storage: DurableObjectStorage,
  rows: OrderRow[],
  fields: { sequence: number; counters: string },
): void {
  if (rows.length === 0) return;
  const units = rows.reduce((n, r) => n + r.quantity, 0);
  // Two statements for all the orders (each `exec` has a fixed cost, paid once instead of per order).
  const values = JSON.stringify(
    rows.map((r) => [
      r.id,
      r.user_id,
      r.quantity,
      r.price_cents,
      r.created_at,
      r.expires_at,
      r.idempotency_key,
      r.trace_id,
    ]),
  );
  storage.transactionSync(() => {
    storage.sql.exec(
      `INSERT INTO orders (id, user_id, quantity, price_cents, status, created_at, expires_at, version,
         persisted_version, idempotency_key, trace_id)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'held', value ->> 4, value ->> 5, 1, 0,
         value ->> 6, value ->> 7
       FROM json_each(?)`,
      values,
    );
    storage.sql.exec(
      "INSERT INTO outbox (order_id, version, next_send_at, attempts) SELECT value ->> 0, 1, value ->> 4, 0 FROM json_each(?)",
      values,
    );
    storage.sql.exec(
      "UPDATE sale SET remaining = remaining - ?, sequence = max(sequence, ?), counters = ? WHERE id = 1",
      units,
      fields.sequence,
      fields.counters,
    );
  });
}

/** What check-and-reserve needs from the object. */
export interface ReserveState {
  readonly config: SaleConfig;
  readonly ledger: StockLedger;
  /** user id → order id: the in-memory half of the one-order-per-shopper rule (durable and pending orders). */
  readonly buyers: Map<string, string>;
  readonly commit: GroupCommit;
  readDurableOrder(id: string): OrderRow | undefined;
  nextOrderId(): string;
  /** Pre-registration (registration.ts): one indexed read, synchronous, so it belongs to this block. */
  isRegistered(userId: string): boolean;
}

export type Decision =
  | { kind: "wait"; until: Promise<void> }
  | { kind: "answer"; result: PurchaseResult; counted?: keyof Counters }
  | { kind: "reserve"; row: OrderRow };

/** The synchronous check-and-reserve block. A `reserve` decision has already taken the stock and the shopper. */
export function checkAndReserve(s: ReserveState, request: PurchaseRequest, now: number): Decision {
  const config = s.config;
  // A draw sale's units go only to the draw's winners (allocateDrawUnits), never to a purchase.
  if (config.mode === "draw")
    return { kind: "answer", result: reject("NOT_ADMITTED", "This sale is a draw: enter it instead of buying") };
  // An earlier order of this shopper: a retry with its Idempotency-Key gets the first answer again, whatever
  // the sale does now; anything else is ALREADY_PURCHASED. Either answer names a durable order only.
  const existingId = s.buyers.get(request.userId);
  if (existingId !== undefined) {
    const until = s.commit.whenDurable(existingId);
    if (until) return { kind: "wait", until };
    const row = s.readDurableOrder(existingId);
    invariant(row !== undefined, "S6 every buyer's order is stored", () => ({
      userId: request.userId,
      orderId: existingId,
    }));
    const status = saleStatus(config, s.ledger.available, now);
    if (request.idempotencyKey !== undefined && row.idempotency_key === request.idempotencyKey) {
      return {
        kind: "answer",
        result: { ok: true, order: toOrder(row, config.id), replayed: true, saleStatus: status },
      };
    }
    return {
      kind: "answer",
      result: {
        ...reject("ALREADY_PURCHASED", "You already have an order for this sale", { orderId: existingId }),
        saleStatus: status,
      },
      counted: "duplicate",
    };
  }

  const status = saleStatus(config, s.ledger.available, now);
  switch (status) {
    case "ended":
      return {
        kind: "answer",
        result: { ...reject("ENDED", CLOSED_SALE_MESSAGES.ENDED), saleStatus: status },
        counted: "ended",
      };
    case "paused":
      return {
        kind: "answer",
        result: { ...reject("PAUSED", "The sale is paused"), saleStatus: status },
        counted: "paused",
      };
    case "sold_out":
      return {
        kind: "answer",
        result: { ...reject("SOLD_OUT", CLOSED_SALE_MESSAGES.SOLD_OUT), saleStatus: status },
        counted: "soldOut",
      };
    case "scheduled":
      return {
        kind: "answer",
        result: {
          ...reject("NOT_STARTED", "The sale has not started", {
            startsAt: new Date(config.startsAt).toISOString(),
            secondsToStart: Math.ceil((config.startsAt - now) / 1000),
          }),
          saleStatus: status,
        },
        counted: "notStarted",
      };
    case "live":
      break;
  }
  // Proof of work (docs/api.md "Proof of work"): verified at the edge, required here, where the sale's flag is
  // authoritative (a gateway that has not yet learnt the sale needs a challenge cannot let a purchase through).
  if (config.challenge && !request.challengePassed) {
    return {
      kind: "answer",
      result: reject("CHALLENGE_REQUIRED", "Solve a proof-of-work challenge first (GET /api/challenge)", {
        reason: "missing",
      }),
    };
  }
  // Queue sales: from the start only an admitted shopper buys (docs/api.md "Queue"); the gateway asked the queue.
  // `details.queue` tells a gateway that did not know this sale has a queue to ask it and try again.
  if (config.queue && request.queueAdmitted !== true) {
    return {
      kind: "answer",
      result: reject("NOT_ADMITTED", "Join the queue and wait for your turn to buy", { queue: true }),
    };
  }
  // Pre-registration: checked here, in the same synchronous block as the reservation below (an indexed read,
  // no await), so no registration can change between the check and the reserve.
  if (config.registrationRequired && !s.isRegistered(request.userId)) {
    return {
      kind: "answer",
      result: reject("NOT_REGISTERED", "Only shoppers who registered before the start may buy in this sale"),
    };
  }
  const quantity = request.quantity;
  if (quantity > config.perUserLimit) {
    return {
      kind: "answer",
      result: reject("VALIDATION_FAILED", `quantity must be between 1 and ${config.perUserLimit}`, [
        { path: ["quantity"], message: `at most ${config.perUserLimit} per shopper` },
      ]),
    };
  }
  const available = s.ledger.available;
  if (quantity > available) {
    return {
      kind: "answer",
      result: {
        ...reject("INSUFFICIENT_STOCK", `Only ${available} left`, { remaining: available }),
        saleStatus: status,
      },
      counted: "soldOut",
    };
  }

  // Every refusal is above: only a new order needs a slot of the shopper's cap on unpaid holds.
  if (request.withoutHold) return { kind: "answer", result: { ok: false, holdNeeded: true } };

  const row: OrderRow = {
    id: s.nextOrderId(),
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
  // Reserved in memory now; durable with the next round, or given back if that round fails.
  s.ledger.reserve(quantity);
  s.buyers.set(request.userId, row.id);
  return { kind: "reserve", row };
}

/** Draw winners handed to `allocateDrawUnits` in one call. */
export const ALLOCATE_LIMIT = 500;

/**
 * Draw units: a `reserved` order of one unit for each shopper, in the order given (the draw's rank order),
 * without a purchase's checks (the draw decided who gets a unit). Each order is reserved and handed to the
 * group commit exactly as a purchase's is (reserve, then `commit.add`, S2). A shopper who has an order already
 * gets it back and takes no stock, so a repeated call (the draw resuming after a restart) creates nothing
 * twice; the first shopper who would need a unit when none is left stops the call, so what comes back is
 * always a prefix of `userIds`. `durable` settles when every order named is durable (rejects if a round failed).
 */
export function allocateDrawUnits(
  s: ReserveState,
  userIds: string[],
  now: number,
): { allocated: { userId: string; orderId: string }[]; durable: Promise<void>[] } {
  const config = s.config;
  const allocated: { userId: string; orderId: string }[] = [];
  const durable: Promise<void>[] = [];
  for (const userId of userIds.slice(0, ALLOCATE_LIMIT)) {
    const existingId = s.buyers.get(userId);
    if (existingId !== undefined) {
      allocated.push({ userId, orderId: existingId });
      const until = s.commit.whenDurable(existingId);
      if (until) durable.push(until);
      continue;
    }
    if (s.ledger.available < 1) break;
    const row: OrderRow = {
      id: s.nextOrderId(),
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
    s.ledger.reserve(1);
    s.buyers.set(userId, row.id);
    durable.push(s.commit.add(row));
    allocated.push({ userId, orderId: row.id });
  }
  return { allocated, durable };
}
