/**
 * A shopper's own orders. Every lookup is by (order id, session user): another shopper's order id answers
 * exactly like an id that does not exist, `404`.
 */
import { Hono } from "hono";
import { rejectionToError } from "../../../lib/contract/errors.ts";
import { saleIdOfOrder } from "../../../lib/contract/ids.ts";
import { endHold } from "../holds.ts";
import { assertKnownOrder } from "../known-sales.ts";
import { callSeckill, type GatewayApp, type GatewayContext } from "../context.ts";
import { requireUser } from "../session.ts";
import { forgetClosed } from "./sales.ts";

/**
 * An order id of the right shape whose sale exists; anything else is a 404 before any object is reached (an
 * order id carries its sale's id, so an unknown or forged one never creates an object: known-sales.ts).
 */
async function orderIdParam(c: GatewayContext): Promise<string> {
  const id = c.req.param("id") ?? "";
  await assertKnownOrder(c, id);
  return id;
}

export const orders = new Hono<GatewayApp>()
  .get("/", async (c) => {
    const user = await requireUser(c);
    return c.json({ orders: await callSeckill(c, () => c.env.SECKILL.listOrdersForUser(user.id)) });
  })
  .get("/:id", async (c) => {
    const user = await requireUser(c);
    const id = await orderIdParam(c);
    const result = await callSeckill(c, () => c.env.SECKILL.getOrder(id, user.id));
    if (!result.ok) throw rejectionToError(result);
    return c.json({ order: result.order });
  })
  .post("/:id/pay", async (c) => {
    const user = await requireUser(c);
    const id = await orderIdParam(c);
    const result = await callSeckill(c, () => c.env.SECKILL.payOrder(id, user.id));
    if (!result.ok) throw rejectionToError(result);
    endHold(c, user.id, id);
    return c.json({ order: result.order });
  })
  .post("/:id/cancel", async (c) => {
    const user = await requireUser(c);
    const id = await orderIdParam(c);
    const result = await callSeckill(c, () => c.env.SECKILL.cancelOrder(id, user.id));
    if (!result.ok) throw rejectionToError(result);
    endHold(c, user.id, id);
    // The stock is back: this isolate stops answering "sold out" for the sale at once.
    forgetClosed(c, saleIdOfOrder(id));
    return c.json({ order: result.order });
  });
