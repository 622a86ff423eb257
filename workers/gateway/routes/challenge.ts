/**
 * `GET /api/challenge` (docs/api.md "Proof of work"): a new signed ALTCHA challenge, for the signed-in shopper
 * when the request carries a session (a purchase or a queue join accepts only the shopper's own), else anonymous
 * (sign-up). Never cached: each challenge is solved and spent once.
 */
import { Hono } from "hono";
import { issueChallenge } from "../../../lib/server/pow.ts";
import type { GatewayApp } from "../context.ts";
import { readSession } from "../session.ts";

export const challenge = new Hono<GatewayApp>().get("/", async (c) => {
  const user = await readSession(c);
  const issued = await issueChallenge(c.env, user?.id);
  c.header("Cache-Control", "no-store");
  return c.json(issued);
});
