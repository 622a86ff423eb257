/**
 * Writing order states to PostgreSQL, idempotently. Delivery is at least once (queue retries, outbox
 * re-sends, replays), so every write must be safe to repeat and to receive out of order:
 * - a new order is inserted with `on conflict do nothing` (on the id, and on unique (sale, user));
 * - a later state replaces an earlier one only when its version is higher.
 */
import type postgres from "postgres";
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
 * One insert and one update for the whole batch, in one transaction, sent in ONE round trip.
 *
 * `on conflict do nothing` makes a re-delivered order (same id) a no-op; it would also swallow an order that
 * collides on `unique (sale_id, user_id)` with a different id, so the same transaction looks for those and
 * returns them: the caller dead-letters them and never confirms them to the object (docs/design.md, S6).
 * Returns the conflicts (usually none). All of them read the batch from one JSON value (`json_to_recordset`):
 * building a 100-row `VALUES` list through the query builder was the largest item in the consumer's CPU profile.
 *
 * One round trip (docs/design.md "Hardening"): the statement timeout and the three statements go to PostgreSQL
 * as ONE simple-protocol message, which PostgreSQL runs as one implicit transaction — all of it or none of it.
 * So the transaction is never open while the server waits for this Worker. It used to be: `begin`, `set local`,
 * three statements with parameters (postgres.js describes each before running it: two round trips apiece) and
 * `commit` were nine round trips, and on a busy runtime each waited its turn in the event loop — a transaction
 * held open for seconds, keeping its locks and, on the embedded database (one session for every connection),
 * queuing every merchant's order read behind it until the read's 5 s deadline. The batch travels as one JSON
 * literal (escaped as libpq's PQescapeLiteral does), since the simple protocol takes no parameters.
 */
export async function persistOrderStates(sql: postgres.Sql, messages: OrderMessage[]): Promise<OrderConflict[]> {
  const states = newestPerOrder(messages);
  if (states.length === 0) return [];
  const rows = sqlLiteral(
    JSON.stringify(
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
    ),
  );
  // `set local` bounds each statement on the server too (a statement stuck behind a lock gives up and the batch
  // is retried); it lasts for this implicit transaction only (safe with Hyperdrive's transaction pooling).
  const results = (await sql.unsafe(`
    set local statement_timeout = ${STATEMENT_TIMEOUT_MS};
    insert into orders (id, sale_id, user_id, quantity, price_cents, status, version, trace_id, created_at, expires_at)
      select id, sale_id, user_id, quantity, price_cents, status, version, trace_id, created_at, expires_at
      from json_to_recordset(${rows}::json) as r(id text, sale_id uuid, user_id uuid, quantity integer,
        price_cents integer, status text, version integer, trace_id text, created_at timestamptz, expires_at timestamptz)
      on conflict do nothing;
    update orders as o set status = r.status, version = r.version, updated_at = now()
      from json_to_recordset(${rows}::json) as r(id text, status text, version integer)
      where o.id = r.id and o.version < r.version;
    select r.id, o.id as existing_id
      from json_to_recordset(${rows}::json) as r(id text, sale_id uuid, user_id uuid)
      join orders as o on o.sale_id = r.sale_id and o.user_id = r.user_id and o.id <> r.id`)) as unknown as {
    id: string;
    existing_id: string;
  }[][];
  // One result per statement that reports one (`set` does not): the clashes are the last.
  const clashes = results.at(-1) ?? [];
  if (clashes.length === 0) return [];
  const byId = new Map(states.map((m) => [m.order.id, m]));
  return clashes.map((c) => ({ message: byId.get(c.id)!, existingOrderId: c.existing_id }));
}

/**
 * A string as an SQL literal, as libpq's PQescapeLiteral makes it: quotes doubled, and with any backslash an
 * `E'…'` literal with the backslashes doubled, so the text reads back exactly whatever `standard_conforming_strings` says.
 */
export function sqlLiteral(text: string): string {
  const quoted = `'${text.replaceAll("'", "''")}'`;
  return text.includes("\\") ? ` E${quoted.replaceAll("\\", "\\\\")}` : quoted;
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
