/**
 * The draw sale the draw tests and the draw scale bench (scale/draw-scale.bench.ts) create: open for entries now,
 * drawn in `DRAW_IN_MS`, ending well after. Neither waits for the draw: each moves the SaleDraw's clock past
 * `drawAt` (`pastTheDraw`) and calls its alarm.
 */

/** How long after its creation the sale is drawn. */
export const DRAW_IN_MS = 3_600_000;

/** The `POST /admin/api/sales` body of such a draw sale (docs/api.md "Draw"). */
export function drawSaleInput(sale: { title: string; priceCents: number; stock: number }, now = Date.now()) {
  return {
    ...sale,
    mode: "draw" as const,
    startsAt: new Date(now - 1_000).toISOString(),
    drawAt: new Date(now + DRAW_IN_MS).toISOString(),
    endsAt: new Date(now + 10 * DRAW_IN_MS).toISOString(),
  };
}

/** A SaleDraw clock a second past the draw of a sale created now. */
export function pastTheDraw(): number {
  return Date.now() + DRAW_IN_MS + 1_000;
}
