/**
 * Draw sales and pre-registration, the shopper side (docs/api.md "Draw" and "Registration"): enter a draw, see
 * your entry, read the public draw, register for a first-come sale and see that you are. Each answer comes
 * from the sale's objects through the seckill Worker (workers/seckill/draws.ts says which object).
 */
import { Hono } from "hono";
import { ApiError, rejectionToError } from "../../../lib/contract/errors.ts";
import { callSeckill, type GatewayApp } from "../context.ts";
import { overLimit, rateLimited } from "../limits.ts";
import { requireUser } from "../session.ts";
import { requireNoBody, saleIdParam } from "./params.ts";

/** A drawn draw's public answer never changes: kept per isolate, serialised once (bounded: 16 sales). */
const drawnAnswers = new Map<string, string>();
const DRAWN_CACHE_LIMIT = 16;

export const draws = new Hono<GatewayApp>()
  .post("/:id/entries", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    await requireNoBody(c);
    if (await overLimit(c.env, "PURCHASE_LIMITER", `user:${user.id}`))
      throw rateLimited("Too many attempts, slow down", 10);
    const result = await callSeckill(c, () => c.env.SECKILL.enterDraw(saleId, user.id));
    if (!result.ok) throw rejectionToError(result);
    return c.json({ entry: result.entry }, result.created ? 201 : 200);
  })
  .get("/:id/entries/me", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    const result = await callSeckill(c, () => c.env.SECKILL.getEntry(saleId, user.id));
    if ("ok" in result) throw rejectionToError(result);
    return c.json({ entry: result });
  })
  .get("/:id/draw", async (c) => {
    const saleId = saleIdParam(c);
    const cached = drawnAnswers.get(saleId);
    if (cached) return c.body(cached, 200, { "Content-Type": "application/json" });
    // Not under the circuit breaker's 3-second timeout: the first read of a large draw (200,000 entries) takes
    // longer than a purchase ever should, and happens once per isolate (the answer is kept below).
    let draw: Awaited<ReturnType<typeof c.env.SECKILL.getPublicDraw>>;
    try {
      draw = await c.env.SECKILL.getPublicDraw(saleId);
    } catch (err) {
      console.error(
        JSON.stringify({ msg: "public draw failed", traceId: c.get("traceId"), saleId, error: String(err) }),
      );
      throw new ApiError("UNAVAILABLE", "The draw is unavailable, try again shortly", undefined, {
        "Retry-After": "2",
      });
    }
    if (!draw) throw new ApiError("NOT_FOUND", "No such draw: the sale does not exist or is not a draw sale");
    if (!("seed" in draw)) return c.json(draw);
    const body = JSON.stringify(draw);
    if (drawnAnswers.size >= DRAWN_CACHE_LIMIT) drawnAnswers.delete(drawnAnswers.keys().next().value!);
    drawnAnswers.set(saleId, body);
    return c.body(body, 200, { "Content-Type": "application/json" });
  })
  .post("/:id/registrations", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    await requireNoBody(c);
    if (await overLimit(c.env, "PURCHASE_LIMITER", `user:${user.id}`))
      throw rateLimited("Too many attempts, slow down", 10);
    const result = await callSeckill(c, () => c.env.SECKILL.register(saleId, user.id));
    if (!result.ok) throw rejectionToError(result);
    return c.json({ registration: result.registration }, result.created ? 201 : 200);
  })
  /**
   * The shopper's standing in a sale in one answer — their draw entry and their registration, each null when
   * there is none — so the web app can ask without a 404 (which browsers log as a console error).
   */
  .get("/:id/me", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    const [entry, registration] = await callSeckill(c, () =>
      Promise.all([c.env.SECKILL.getEntry(saleId, user.id), c.env.SECKILL.getRegistration(saleId, user.id)]),
    );
    return c.json({ entry: "ok" in entry ? null : entry, registration });
  })
  .get("/:id/registrations/me", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    const registration = await callSeckill(c, () => c.env.SECKILL.getRegistration(saleId, user.id));
    if (!registration) throw new ApiError("NOT_FOUND", "You have not registered for this sale");
    return c.json({ registration });
  });
