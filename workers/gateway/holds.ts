/**
 * Holds with a price: a shopper may hold at most `MAX_UNPAID_HOLDS` unpaid orders across the whole shop (default
 * 3). Counted in the shopper's AccountGuard shard (`holds:<n>`, durable-objects/account-guard.ts): one RPC
 * (`takeHold`, answered from memory) before a purchase that may make a new order; the order's deadline is
 * recorded after the answer (`settleHold`, in `waitUntil`), and pay and cancel end the hold the same way.
 *
 * Purchases that cannot make a new order take no slot and make no hold RPC (`expectsNoNewOrder`): a refusal
 * decided at the edge (sold out, ended, rate limited) never gets here, and a purchase this isolate expects the
 * object to replay or refuse — a shopper it saw get an order or ALREADY_PURCHASED in this sale (one order per
 * shopper per sale, ever: a replay holds nothing new), a keyed retry on a closed sale by a likely buyer
 * (replay.ts), a sale that answered NOT_STARTED until its start — goes to the object `withoutHold`. The object
 * answers such a purchase that WOULD make a new order with `holdNeeded`, taking nothing; it is then sent again
 * with a slot. So no order is ever made without a slot, and a wrong guess costs one more object call, not the cap.
 *
 * The cap guards against hoarding, not an invariant of the sale: if the shopper's object cannot be reached the
 * purchase goes on uncapped (logged), and a pay or cancel whose release was lost still frees the slot when the
 * order's payment window ends. Cost, measured with `npm run bench`: see docs/design.md "Hardening".
 */
import { ApiError } from "../../lib/contract/errors.ts";
import type { Order } from "../../lib/contract/schemas.ts";
import type { PurchaseResult } from "../../durable-objects/sale-item.ts";
import type { AccountGuard, HoldGrant } from "../../durable-objects/account-guard.ts";
import type { StubOf } from "../../lib/server/env.ts";
import { holdsObjectName } from "../../lib/server/hold-shards.ts";
import { getGuards, type GatewayContext } from "./context.ts";

/** Bound on the (shopper, sale) pairs this isolate remembers as holding an order; the oldest goes first. */
const ORDER_HOLDERS_MAX = 50_000;
/** Bound on the sales this isolate remembers as not started. */
const NOT_STARTED_MAX = 1_000;

/** `${userId} ${saleId}`: the object answered an order (new or replayed) or ALREADY_PURCHASED there. */
const orderHolders = new Set<string>();
/** Sale id → its start (epoch ms), learnt from a NOT_STARTED answer. */
const notStartedUntil = new Map<string, number>();

/** Whether the cap is on at all (`MAX_UNPAID_HOLDS` > 0). */
export function holdsCapped(c: GatewayContext): boolean {
  return getGuards(c.env).maxUnpaidHolds > 0;
}

/**
 * Whether this isolate expects the object to answer `userId`'s purchase in `saleId` without a new order (a replay,
 * ALREADY_PURCHASED or NOT_STARTED), so the purchase goes `withoutHold`. `closedReplay`: the edge let a keyed
 * attempt on a closed sale through because the shopper may be a buyer (replay.ts). A guess only: see above.
 */
export function expectsNoNewOrder(userId: string, saleId: string, closedReplay: boolean, now = Date.now()): boolean {
  if (closedReplay || orderHolders.has(`${userId} ${saleId}`)) return true;
  const startsAt = notStartedUntil.get(saleId);
  if (startsAt === undefined) return false;
  if (startsAt > now) return true;
  notStartedUntil.delete(saleId);
  return false;
}

/** Learns from the object's answer what `expectsNoNewOrder` reads. */
export function learnFromAnswer(userId: string, saleId: string, result: PurchaseResult): void {
  if (result.ok || result.code === "ALREADY_PURCHASED") {
    if (orderHolders.size >= ORDER_HOLDERS_MAX) orderHolders.delete(orderHolders.values().next().value!);
    orderHolders.add(`${userId} ${saleId}`);
  } else if (result.code === "NOT_STARTED") {
    const startsAt = Date.parse(String((result.details as { startsAt?: unknown } | undefined)?.startsAt));
    if (!Number.isFinite(startsAt)) return;
    if (!notStartedUntil.has(saleId) && notStartedUntil.size >= NOT_STARTED_MAX)
      notStartedUntil.delete(notStartedUntil.keys().next().value!);
    notStartedUntil.set(saleId, startsAt);
  }
}

function log(c: GatewayContext, msg: string, err: unknown) {
  console.error(JSON.stringify({ msg, traceId: c.get("traceId"), error: String(err) }));
}

/** The hold calls, as the shopper's shard object answers them. */
interface HoldCalls {
  acquireHold(userId: string, cap: number, saleIdHex: string): Promise<HoldGrant>;
  settleHold(userId: string, token: string, orderId: string, expiresAt: number): Promise<void>;
  releaseHold(userId: string, token: string): Promise<void>;
  endHold(userId: string, orderId: string): Promise<void>;
}

/**
 * The shopper's `holds:` shard: called directly when the gateway binds ACCOUNT_GUARD (one RPC hop, like the sale's
 * object in sale-object.ts), else through the seckill Worker (two hops; same object, same answers).
 */
function holds(c: GatewayContext, userId: string): HoldCalls {
  const namespace = c.env.ACCOUNT_GUARD;
  if (!namespace) return c.env.SECKILL;
  const stub = namespace.get(namespace.idFromName(holdsObjectName(userId))) as unknown as StubOf<AccountGuard>;
  return {
    acquireHold: async (...args) => (await stub.acquireHold(...args)) as HoldGrant,
    settleHold: async (...args) => void (await stub.settleHold(...args)),
    releaseHold: async (...args) => void (await stub.releaseHold(...args)),
    endHold: async (...args) => void (await stub.endHold(...args)),
  };
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
    grant = await holds(c, userId).acquireHold(userId, cap, saleId.replaceAll("-", ""));
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
    ? holds(c, userId).settleHold(userId, token, order.id, Date.parse(order.expiresAt))
    : holds(c, userId).releaseHold(userId, token);
  c.executionCtx.waitUntil(work.catch((err: unknown) => log(c, "holds: settle failed", err)));
}

/** The order was paid or cancelled: its slot is free. */
export function endHold(c: GatewayContext, userId: string, orderId: string): void {
  if (getGuards(c.env).maxUnpaidHolds <= 0) return;
  c.executionCtx.waitUntil(
    holds(c, userId)
      .endHold(userId, orderId)
      .catch((err: unknown) => log(c, "holds: end failed", err)),
  );
}
