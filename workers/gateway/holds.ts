/**
 * Holds with a price: a shopper may hold at most `MAX_UNPAID_HOLDS` unpaid orders across the whole shop (default
 * 3). Counted in the shopper's AccountGuard shard (`holds:<n>`, durable-objects/account-guard.ts): one RPC
 * per purchase that reaches a sale's object (sold-out and rate-limited answers never ask), answered from memory;
 * the order's deadline is recorded after the answer (`waitUntil`), and pay and cancel end the hold the same way.
 *
 * The cap guards against hoarding, not an invariant of the sale: if the shopper's object cannot be reached the
 * purchase goes on uncapped (logged), and a pay or cancel whose release was lost still frees the slot when the
 * order's payment window ends. Cost, measured with `npm run bench`: see docs/design.md "Hardening".
 */
import { ApiError } from "../../lib/contract/errors.ts";
import type { Order } from "../../lib/contract/schemas.ts";
import { getGuards, type GatewayContext } from "./context.ts";

function log(c: GatewayContext, msg: string, err: unknown) {
  console.error(JSON.stringify({ msg, traceId: c.get("traceId"), error: String(err) }));
}

/**
 * Takes a slot for a purchase in `saleId`, or throws `409 TOO_MANY_UNPAID_ORDERS`. Returns the slot's token (to
 * settle or release after the object's answer), or undefined when there is nothing to settle.
 */
export async function takeHold(c: GatewayContext, userId: string, saleId: string): Promise<string | undefined> {
  const cap = getGuards(c.env).maxUnpaidHolds;
  if (cap <= 0) return undefined;
  let grant;
  try {
    grant = await c.env.SECKILL.acquireHold(userId, cap, saleId.replaceAll("-", ""));
  } catch (err) {
    log(c, "holds: shopper's object unavailable, purchase not capped", err);
    return undefined;
  }
  if (!grant.ok) {
    throw new ApiError(
      "TOO_MANY_UNPAID_ORDERS",
      `You already hold ${grant.held} unpaid orders: pay or cancel one to buy more`,
      { limit: cap, held: grant.held },
    );
  }
  return grant.token;
}

/** After the object's answer: a new order keeps its slot until paid, cancelled or expired; anything else frees it. */
export function settleHold(c: GatewayContext, userId: string, token: string | undefined, order: Order | null): void {
  if (!token) return;
  const work = order
    ? c.env.SECKILL.settleHold(userId, token, order.id, Date.parse(order.expiresAt))
    : c.env.SECKILL.releaseHold(userId, token);
  c.executionCtx.waitUntil(work.catch((err: unknown) => log(c, "holds: settle failed", err)));
}

/** The order was paid or cancelled: its slot is free. */
export function endHold(c: GatewayContext, userId: string, orderId: string): void {
  if (getGuards(c.env).maxUnpaidHolds <= 0) return;
  c.executionCtx.waitUntil(
    c.env.SECKILL.endHold(userId, orderId).catch((err: unknown) => log(c, "holds: end failed", err)),
  );
}
