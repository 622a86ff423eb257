/**
 * Queue sales, the shopper side (docs/api.md "Queue"): join, read your ticket, and the live feed. Each answer
 * comes from the sale's SaleQueue object through the seckill Worker (workers/seckill/queue.ts); the feed is a
 * WebSocket the queue object holds with hibernation, forwarded as is.
 */
import { Hono } from "hono";
import { ApiError, rejectionToError } from "../../../lib/contract/errors.ts";
import { callSeckill, type GatewayApp } from "../context.ts";
import { overLimit, rateLimited } from "../limits.ts";
import { requireUser } from "../session.ts";
import { requireNoBody, saleIdParam } from "./params.ts";
import { CHALLENGE_HEADER, requireChallenge } from "../challenge.ts";
import { challengeSettings } from "../../../lib/server/pow.ts";

export const queue = new Hono<GatewayApp>()
  .post("/:id/queue", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    await requireNoBody(c);
    if (await overLimit(c.env, "PURCHASE_LIMITER", `user:${user.id}`))
      throw rateLimited("Too many attempts, slow down", 10, "shopper");
    // A `challenge` sale takes a join only with a solved challenge (docs/api.md "Proof of work"): one sent is
    // verified and spent here (after the limit, so a rate-limited join does not spend it); the seckill Worker
    // refuses a join without one on such a sale.
    const challengePassed =
      challengeSettings(c.env).off ||
      (c.req.header(CHALLENGE_HEADER) !== undefined && (await requireChallenge(c, { subject: user.id }), true));
    const result = await callSeckill(c, () => c.env.SECKILL.joinQueue(saleId, user.id, challengePassed));
    if (!result.ok) throw rejectionToError(result);
    return c.json({ ticket: result.ticket });
  })
  .get("/:id/queue", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    const result = await callSeckill(c, () => c.env.SECKILL.getTicket(saleId, user.id));
    if ("ok" in result) throw rejectionToError(result);
    return c.json({ ticket: result });
  })
  /**
   * The live feed: a WebSocket pushing `QueueUpdate`s (lib/contract/queue.ts) — the stock left, the sale's status
   * and this shopper's ticket — whenever the queue moves. Without an upgrade: `400`. Clients poll `GET …/queue`
   * (honouring `refreshAfterSeconds`) when it is refused or drops.
   */
  .get("/:id/queue/live", async (c) => {
    const saleId = saleIdParam(c);
    const user = await requireUser(c);
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket")
      throw new ApiError("VALIDATION_FAILED", "This is a WebSocket: send Upgrade: websocket", [
        { path: ["Upgrade"], message: "expected websocket" },
      ]);
    const headers = new Headers(c.req.raw.headers);
    headers.set("X-Queue-User", user.id);
    const forwarded = new Request(`https://seckill.internal/queue-live/${saleId}`, { method: "GET", headers });
    const answer = await c.env.SECKILL.fetch(forwarded);
    if (answer.status === 404) throw new ApiError("NOT_FOUND", "No such queue: the sale has no queue");
    if (answer.status === 503)
      throw new ApiError("UNAVAILABLE", "Too many live connections: poll instead", undefined, { "Retry-After": "5" });
    if (answer.status !== 101 || !answer.webSocket) throw new ApiError("UNAVAILABLE", "The live feed is unavailable");
    // A fresh answer around the socket: the forwarded one's headers are immutable, and the app's middleware adds its own.
    return new Response(null, { status: 101, webSocket: answer.webSocket });
  });
