/**
 * Writing order states to PostgreSQL, idempotently. Delivery is at least once (queue retries, outbox
 * re-sends, replays), so every write must be safe to repeat and to receive out of order:
 * - a new order is inserted with `on conflict do nothing` (on the id, and on unique (sale, user));
 * - a later state replaces an earlier one only when its version is higher.
 */
import { sql } from "drizzle-orm";
import { orders } from "../db/schema.ts";
import type { Database } from "../lib/db.ts";
import type { OrderMessage } from "../lib/schemas.ts";

export const DEAD_LETTER_QUEUE_SUFFIX = "-dlq";

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

/** One multi-row insert and one multi-row update for the whole batch, in one transaction. */
export async function persistOrderStates(db: Database, messages: OrderMessage[]): Promise<void> {
  const states = newestPerOrder(messages);
  if (states.length === 0) return;
  await db.transaction(async (tx) => {
    await tx
      .insert(orders)
      .values(
        states.map((m) => ({
          id: m.order.id,
          saleId: m.order.saleId,
          userId: m.order.userId,
          quantity: m.order.quantity,
          priceCents: m.order.priceCents,
          status: m.order.status,
          version: m.version,
          traceId: m.traceId ?? null,
          createdAt: new Date(m.order.createdAt),
          expiresAt: new Date(m.order.expiresAt),
        })),
      )
      .onConflictDoNothing();
    const rows = sql.join(
      states.map((m) => sql`(${m.order.id}, ${m.order.status}, ${m.version}::int)`),
      sql`, `,
    );
    await tx.execute(sql`
      update ${orders} as o set status = v.status, version = v.version, updated_at = now()
      from (values ${rows}) as v(id, status, version)
      where o.id = v.id and o.version < v.version`);
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
