/**
 * Writing order states to PostgreSQL, idempotently. Delivery is at least once (queue retries, outbox
 * re-sends, replays), so every write must be safe to repeat and to receive out of order:
 * - a new order is inserted with `on conflict do nothing` (on the id, and on unique (sale, user));
 * - a later state replaces an earlier one only when its version is higher.
 */
import { sql } from "drizzle-orm";
import { orders } from "../db/schema.ts";
import type { Database } from "../lib/server/db.ts";
import type { OrderMessage } from "../lib/contract/schemas.ts";

export const DEAD_LETTER_QUEUE_SUFFIX = "-dlq";

/** PostgreSQL's limit on each of the consumer's statements, ms. */
export const STATEMENT_TIMEOUT_MS = 5_000;
/**
 * The consumer's limit on a whole batch, ms: a PostgreSQL that accepts the connection and then answers nothing
 * (frozen) never lets `statement_timeout` fire, so the client gives up too and the messages are retried.
 */
export const BATCH_TIMEOUT_MS = 10_000;

/** Exponential backoff in seconds for a message's next delivery: 1, 2, 4 … capped at a minute. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(2 ** Math.max(0, attempts - 1), 60);
}

/** Keeps the newest version of each order: a batch may carry several states of one order. */
export function newestPerOrder(messages: OrderMessage[]): OrderMessage[] {
  const byId = new Map<string, OrderMessage>();
  for (const m of messages) {
    const seen = byId.get(m.order.id);
    if (!seen || seen.version < m.version) byId.set(m.order.id, m);
  }
  return [...byId.values()];
}

/**
 * A new order PostgreSQL refused because the shopper already has ANOTHER order for the sale
 * (`unique (sale_id, user_id)`): the object's one-order-per-shopper guard failed somewhere. Never confirmed.
 */
export interface OrderConflict {
  message: OrderMessage;
  existingOrderId: string;
}

/**
 * One insert and one update for the whole batch, in one transaction.
 *
 * `on conflict do nothing` makes a re-delivered order (same id) a no-op; it would also swallow an order that
 * collides on `unique (sale_id, user_id)` with a different id, so the same transaction looks for those and
 * returns them: the caller dead-letters them and never confirms them to the object (docs/design.md, S6).
 * Returns the conflicts (usually none). Both are constant SQL over one JSON
 * parameter (`json_to_recordset`): building a 100-row `VALUES` list through the query builder was the largest
 * item in the consumer's CPU profile, and now the SQL text never changes with the batch size.
 */
export async function persistOrderStates(db: Database, messages: OrderMessage[]): Promise<OrderConflict[]> {
  const states = newestPerOrder(messages);
  if (states.length === 0) return [];
  const rows = JSON.stringify(
    states.map((m) => ({
      id: m.order.id,
      sale_id: m.order.saleId,
      user_id: m.order.userId,
      quantity: m.order.quantity,
      price_cents: m.order.priceCents,
      status: m.order.status,
      version: m.version,
      trace_id: m.traceId ?? null,
      created_at: m.order.createdAt,
      expires_at: m.order.expiresAt,
    })),
  );
  return await db.transaction(async (tx) => {
    // Bounded on the server too: a statement stuck behind a lock gives up, the batch is retried (docs/design.md
    // "Hardening"). `set local` lasts for this transaction only (safe with Hyperdrive's transaction pooling).
    await tx.execute(sql`set local statement_timeout = ${sql.raw(String(STATEMENT_TIMEOUT_MS))}`);
    await tx.execute(sql`
      insert into ${orders} (id, sale_id, user_id, quantity, price_cents, status, version, trace_id, created_at, expires_at)
      select id, sale_id, user_id, quantity, price_cents, status, version, trace_id, created_at, expires_at
      from json_to_recordset(${rows}::json) as r(id text, sale_id uuid, user_id uuid, quantity integer,
        price_cents integer, status text, version integer, trace_id text, created_at timestamptz, expires_at timestamptz)
      on conflict do nothing`);
    await tx.execute(sql`
      update ${orders} as o set status = r.status, version = r.version, updated_at = now()
      from json_to_recordset(${rows}::json) as r(id text, status text, version integer)
      where o.id = r.id and o.version < r.version`);
    const clashes = (await tx.execute(sql`
      select r.id, o.id as existing_id
      from json_to_recordset(${rows}::json) as r(id text, sale_id uuid, user_id uuid)
      join ${orders} as o on o.sale_id = r.sale_id and o.user_id = r.user_id and o.id <> r.id`)) as unknown as {
      id: string;
      existing_id: string;
    }[];
    if (clashes.length === 0) return [];
    const byId = new Map(states.map((m) => [m.order.id, m]));
    return clashes.map((c) => ({ message: byId.get(c.id)!, existingOrderId: c.existing_id }));
  });
}

/** Groups confirmations by sale, for one call to each sale's object. */
export function confirmationsBySale(messages: OrderMessage[]): Map<string, { orderId: string; version: number }[]> {
  const bySale = new Map<string, { orderId: string; version: number }[]>();
  for (const m of newestPerOrder(messages)) {
    const list = bySale.get(m.order.saleId) ?? [];
    list.push({ orderId: m.order.id, version: m.version });
    bySale.set(m.order.saleId, list);
  }
  return bySale;
}
