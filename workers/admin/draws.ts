/**
 * Merchants' view of draw sales (docs/api.md "Draw"; docs/design.md "Draws and registration"): the draw's
 * phase and counts with the latest waitlist movement, and the ranking page by page with each rank's state.
 * Draw orders are ordinary orders of the sale's object, so orders, reconcile and replay need nothing new.
 */
import { Hono } from "hono";
import type { AdminEnv } from "./env.ts";
import { ApiError } from "../../lib/contract/errors.ts";
import { isUuid } from "../../lib/contract/ids.ts";
import { drawRankingQuerySchema } from "../../lib/contract/schemas.ts";
import type { EntryState } from "../../lib/contract/draw.ts";
import { validate } from "../../lib/server/http.ts";

const rankingQuery = drawRankingQuerySchema;

function saleIdOf(id: string | undefined): string {
  if (!id || !isUuid(id)) throw new ApiError("NOT_FOUND", "No such sale");
  return id;
}

export const adminDraws = new Hono<{ Bindings: AdminEnv }>()
  .get("/sales/:id/draw", async (c) => {
    const draw = await c.env.SECKILL.getDrawStats(saleIdOf(c.req.param("id")));
    if (!draw) throw new ApiError("NOT_FOUND", "No such draw: the sale does not exist or is not a draw sale");
    return c.json({ draw });
  })
  /** The ranking after the draw, `limit` ranks from `from`: `won` up to the awarded ranks, then the waitlist. */
  .get("/sales/:id/draw/ranking", validate("query", rankingQuery), async (c) => {
    const saleId = saleIdOf(c.req.param("id"));
    const { from = 1, limit = 100 } = c.req.valid("query");
    const [draw, rows] = await Promise.all([
      c.env.SECKILL.getDrawStats(saleId),
      c.env.SECKILL.getDrawRanking(saleId, from, limit),
    ]);
    if (!draw || !rows) throw new ApiError("NOT_FOUND", "No such draw: the sale does not exist or is not a draw sale");
    const ended = draw.phase === "drawn" && draw.waitlisted === 0;
    const ranking = rows.map((r) => {
      const state: EntryState = r.rank <= draw.awarded ? "won" : ended ? "lost" : "waitlisted";
      return { ...r, state, ...(state === "waitlisted" ? { waitlistPosition: r.rank - draw.awarded } : {}) };
    });
    const next = rows.length === limit ? from + limit : null;
    return c.json({ ranking, nextFrom: next });
  });
