/**
 * The purchase's one call: the sale's SaleItem object decides. When the gateway binds the SaleItem namespace
 * itself (`SALE_ITEM` with `script_name = "minishop-seckill"` in wrangler.toml), it calls the object directly:
 * one RPC hop instead of two (gateway → seckill Worker → object), and the seckill Worker's entrypoint is not
 * instantiated per purchase. Without the binding it goes through the seckill Worker as before. Either way the
 * object is the only writer of the sale, so nothing about the invariants depends on which path is taken.
 */
import { isOverloaded, isRetryable } from "../../lib/server/object-errors.ts";
import { reject } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";
import type { StubOf } from "../../lib/server/env.ts";
import type { ClosedVerdict, PurchaseRequest, PurchaseResult, SaleItem } from "../../durable-objects/sale-item.ts";

/** The gateway's env, with the direct binding to the sale objects optional (tests may take it away). */
export type GatewayEnvWithObjects = Omit<GatewayEnv, "SALE_ITEM"> & { SALE_ITEM?: GatewayEnv["SALE_ITEM"] };

/** `idFromName` hashes the name on every call; a sale's id never changes, so this isolate keeps it. */
const objectIds = new Map<string, DurableObjectId>();

function objectId(namespace: GatewayEnv["SALE_ITEM"], saleId: string): DurableObjectId {
  let id = objectIds.get(saleId);
  if (!id) {
    if (objectIds.size >= 10_000) objectIds.clear();
    id = namespace.idFromName(saleId);
    objectIds.set(saleId, id);
  }
  return id;
}

/**
 * Reserves a purchase in the sale's object. Repeated only when it carries an Idempotency-Key and the object was
 * reset under the call (the key makes the repeat safe); otherwise the first attempt may have committed. An overloaded object is over capacity, not
 * broken: it is answered RATE_LIMITED (429 + Retry-After), never a 5xx (docs/design.md, "Hot sales: admission"),
 * as the seckill Worker does; other failures go to the circuit breaker.
 */
export async function reserveAtObject(
  env: GatewayEnvWithObjects,
  saleId: string,
  request: PurchaseRequest,
): Promise<PurchaseResult> {
  const namespace = env.SALE_ITEM;
  if (!namespace) return await env.SECKILL.purchase(saleId, request);
  const stub = namespace.get(objectId(namespace, saleId)) as unknown as StubOf<SaleItem>;
  try {
    return (await stub.reservePurchase(request)) as PurchaseResult;
  } catch (err) {
    if (isOverloaded(err)) return reject("RATE_LIMITED", "The sale is busy, try again shortly");
    // The object was reset under the call (a restart, a deploy): with an Idempotency-Key the purchase is safe to
    // send once more — if the first attempt committed, the object answers it again (the same order), else it is
    // made now. Without a key it is not repeated (the first attempt may have committed).
    if (request.idempotencyKey !== undefined && isRetryable(err)) {
      const again = namespace.get(objectId(namespace, saleId)) as unknown as StubOf<SaleItem>;
      return (await again.reservePurchase(request)) as PurchaseResult;
    }
    throw err;
  }
}

/** The sale's status and, when newer than `knownBuyers`, its buyers filter: to renew a lapsed closed verdict. */
export async function closedVerdictAtObject(
  env: GatewayEnvWithObjects,
  saleId: string,
  knownBuyers: number | undefined,
): Promise<ClosedVerdict | null> {
  const namespace = env.SALE_ITEM;
  if (!namespace) return await env.SECKILL.closedVerdict(saleId, knownBuyers);
  const stub = namespace.get(objectId(namespace, saleId)) as unknown as StubOf<SaleItem>;
  return (await stub.closedVerdict(knownBuyers)) as ClosedVerdict | null;
}
