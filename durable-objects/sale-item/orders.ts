/**
 * The order state machine. An order is `held` from its purchase until it is paid (`paid`, keeps its stock),
 * cancelled or expired (both final, both return its stock); nothing else moves it. A status change is one
 * transaction — the order's row, its outbox row (the new version for PostgreSQL) and the sale's `remaining` —
 * and only ever applies to an order that is durable: the caller waits for, or skips, an order whose
 * group-commit round is not written and synced yet (docs/design.md, "SaleItem invariants", S4).
 */
import { orderPrices, type Order, type OrderStatus } from "../../lib/contract/schemas.ts";
import { invariant } from "./invariants.ts";

/** Where an order is in the object. `held` is shown as `reserved` until PostgreSQL has it, then `confirmed`. */
export type StoredStatus = "held" | "paid" | "expired" | "cancelled";

export interface OrderRow extends Record<string, SqlStorageValue> {
  id: string;
  user_id: string;
  quantity: number;
  /** The line total: unit price × quantity (Order.priceCents, docs/api.md). */
  price_cents: number;
  status: StoredStatus;
  created_at: number;
  expires_at: number;
  version: number;
  persisted_version: number;
  idempotency_key: string | null;
  trace_id: string | null;
}

/** The only moves an order makes. */
const TRANSITIONS: Record<StoredStatus, readonly StoredStatus[]> = {
  held: ["paid", "expired", "cancelled"],
  paid: [],
  expired: [],
  cancelled: [],
};

export function readOrder(sql: SqlStorage, id: string): OrderRow | undefined {
  return sql.exec<OrderRow>("SELECT * FROM orders WHERE id = ?", id).toArray()[0];
}

/** Σ quantity of the orders that hold stock (held and paid): the storage side of S1. */
export function holdingUnits(sql: SqlStorage): number {
  return (
    sql.exec<{ n: number | null }>("SELECT sum(quantity) AS n FROM orders WHERE status IN ('held', 'paid')").one().n ??
    0
  );
}

export function dueForExpiry(sql: SqlStorage, now: number, limit: number): OrderRow[] {
  return sql
    .exec<OrderRow>(
      "SELECT * FROM orders WHERE status = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      now,
      limit,
    )
    .toArray();
}

/**
 * Moves a durable order to a new status in one transaction with its outbox row and the stock it returns.
 * Returns the new row and how many units went back to the sale (0 for a payment).
 */
export function writeStatusChange(
  storage: DurableObjectStorage,
  row: OrderRow,
  status: "paid" | "expired" | "cancelled",
  now: number,
): { row: OrderRow; released: number } {
  invariant(TRANSITIONS[row.status].includes(status), "S4 order transitions held → paid | expired | cancelled", () => ({
    orderId: row.id,
    from: row.status,
    to: status,
  }));
  const version = row.version + 1;
  const released = status === "paid" ? 0 : row.quantity;
  storage.transactionSync(() => {
    const changed = storage.sql
      .exec(
        "UPDATE orders SET status = ?, version = ? WHERE id = ? AND status = 'held' RETURNING id",
        status,
        version,
        row.id,
      )
      .toArray().length;
    invariant(changed === 1, "S4 a status change applies to a stored held order", () => ({ orderId: row.id, changed }));
    storage.sql.exec(
      `INSERT INTO outbox (order_id, version, next_send_at, attempts) VALUES (?, ?, ?, 0)
       ON CONFLICT (order_id) DO UPDATE SET version = excluded.version, next_send_at = excluded.next_send_at, attempts = 0`,
      row.id,
      version,
      now,
    );
    if (released > 0) storage.sql.exec("UPDATE sale SET remaining = remaining + ? WHERE id = 1", released);
  });
  return { row: { ...row, status, version }, released };
}

export function isDue(row: OrderRow, now: number): boolean {
  return row.status === "held" && row.expires_at <= now;
}

export function publicStatus(row: Pick<OrderRow, "status" | "persisted_version">): OrderStatus {
  if (row.status === "held") return row.persisted_version > 0 ? "confirmed" : "reserved";
  return row.status;
}

/**
 * The order as clients see it. With `asOfVersion` it is the state written to PostgreSQL for that version:
 * a held order is `confirmed` there, since being in PostgreSQL is what confirmed means.
 * Its prices come from the stored line total through `orderPrices` (lib/contract/schemas.ts).
 */
export function toOrder(row: OrderRow, saleId: string, asOfVersion?: number): Order {
  const status = asOfVersion !== undefined && row.status === "held" ? "confirmed" : publicStatus(row);
  return {
    id: row.id,
    saleId,
    userId: row.user_id,
    quantity: row.quantity,
    ...orderPrices(row.price_cents, row.quantity),
    status,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}
