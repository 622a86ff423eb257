/**
 * The purchase's queue check (docs/api.md "Queue": `403 NOT_ADMITTED`), kept off the path of sales without a
 * queue: the gateway asks a sale's queue only for sales it has learnt are queue sales. It learns it from the
 * sale's object itself — a queue sale's object refuses a purchase the gateway did not check with
 * `NOT_ADMITTED` and `details.queue` — so a queue sale is never bought from unchecked, and a queue-less sale costs
 * nothing more than before (no call, no lookup beyond one Set read).
 */
import type { Rejection } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";

/** Sales this isolate knows to be queue sales (bounded; a fact fixed at a sale's creation). */
const queueSales = new Set<string>();

export function isQueueSale(saleId: string): boolean {
  return queueSales.has(saleId);
}

/** The sale's object said it is a queue sale (a rejection `NOT_ADMITTED` with `details.queue`). */
export function learnQueueSale(result: { ok: boolean; code?: string; details?: unknown }, saleId: string): boolean {
  if (result.ok || result.code !== "NOT_ADMITTED") return false;
  const details = result.details as { queue?: unknown } | undefined;
  if (details?.queue !== true) return false;
  if (queueSales.size >= 10_000) queueSales.clear();
  queueSales.add(saleId);
  return true;
}

/** Asks the sale's queue whether this shopper holds an admitted, unexpired ticket; the rejection to answer if not. */
export async function checkAdmitted(env: GatewayEnv, saleId: string, userId: string): Promise<Rejection | null> {
  const result = await env.SECKILL.queueGate(saleId, userId);
  return result.ok ? null : (result as Rejection);
}

/** After a queue sale's `202`: the ticket is used (off the answer's path; a lost call only lets it expire). */
export function ticketUsed(env: GatewayEnv, ctx: ExecutionContext, saleId: string, userId: string, orderId: string) {
  ctx.waitUntil(env.SECKILL.queuePurchased(saleId, userId, orderId).catch(() => {}));
}
