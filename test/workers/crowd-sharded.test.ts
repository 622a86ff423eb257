/**
 * A flash crowd over a sharded sale (docs/design.md "Hot sales"): exact demand — as many shoppers as units —
 * over K = 8 shards. Shoppers honour `429` + `Retry-After` as the web app does (here after a short pause). Sold =
 * stock, nobody twice, nobody told `410 SOLD_OUT` while a unit remained anywhere, every 202 is its PostgreSQL row,
 * and the stock invariant (Σ local + reserve + in transit + Σ sold = stock) holds at the end.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import gateway from "../../workers/gateway/index.ts";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { type GatewayEnv } from "../../workers/gateway/env.ts";
import { ADMIN, BASE, call, createSale, database, waitFor } from "./helpers.ts";
import { checkStockInvariant } from "./shard-helpers.ts";

async function sessionFor(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return `minishop_session=${await sign({ sub: userId, name: `hot-${userId.slice(0, 8)}`, iat: now, exp: now + 3600 }, DEV_SESSION_SECRET, "HS256")}`;
}

const wideOpen = { ...env, ADMISSION_RPS: "1000000", ADMISSION_BURST: "1000000" } as GatewayEnv;

function buy(saleId: string, cookie: string, key: string) {
  return gateway.fetch(
    new Request(`${BASE}/api/sales/${saleId}/purchase`, {
      method: "POST",
      headers: { Cookie: cookie, "Idempotency-Key": key },
    }),
    wideOpen,
    createExecutionContext(),
  );
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("flash crowd over 8 shards", () => {
  it("sells exactly the stock to exact demand, refuses nobody 410 while stock remains, and PostgreSQL has every order", async () => {
    const STOCK = 80;
    const SHARDS = 8;
    const sale = await createSale({ stock: STOCK, shards: SHARDS });
    expect(sale.shards).toBe(SHARDS);
    expect(sale.remaining).toBe(STOCK);
    const shoppers = await Promise.all(
      Array.from({ length: STOCK }, async () => {
        const userId = crypto.randomUUID();
        return { userId, cookie: await sessionFor(userId) };
      }),
    );
    const answers = new Map<number, number>();
    const orders = new Map<string, string>();
    await Promise.all(
      shoppers.map(async (s, i) => {
        for (let attempt = 0; attempt < 300; attempt++) {
          const res = await buy(sale.id, s.cookie, `hot-${i}`);
          answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
          const body = (await res.json()) as { order?: { id: string; userId: string } };
          if (res.status === 202) {
            const known = orders.get(s.userId);
            if (known) expect(body.order!.id).toBe(known);
            orders.set(s.userId, body.order!.id);
            return;
          }
          expect(res.status).toBe(429);
          expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
          await pause(50 + Math.floor(Math.random() * 50));
        }
        throw new Error(`shopper ${i} never got a unit`);
      }),
    );
    // Exact demand: every shopper bought, none was told sold out, no 5xx.
    expect(orders.size).toBe(STOCK);
    expect(new Set(orders.values()).size).toBe(STOCK);
    expect(answers.get(410)).toBeUndefined();
    for (const status of answers.keys()) expect([202, 429]).toContain(status);

    // The sale is sold out as a whole (admin stats: the shards' figures add up).
    const detail = await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN });
    const { sale: stats } = (await detail.json()) as {
      sale: {
        remaining: number;
        status: string;
        stats: { sold: number; reserve: number; shards: { stock: number; remaining: number; sold: number }[] };
      };
    };
    expect(stats.stats.sold).toBe(STOCK);
    expect(stats.stats.shards).toHaveLength(SHARDS);
    expect(stats.stats.shards.reduce((a, s) => a + s.sold, 0)).toBe(STOCK);
    expect(stats.stats.shards.reduce((a, s) => a + s.stock, 0) + stats.stats.reserve).toBe(STOCK);
    expect(stats.remaining).toBe(0);
    await checkStockInvariant(sale.id, SHARDS, STOCK);

    // PostgreSQL ends with exactly those orders.
    const sql = database();
    const rows = await waitFor(
      "all orders in PostgreSQL",
      async () => {
        const r = await sql<
          { id: string; user_id: string }[]
        >`select id, user_id from orders where sale_id = ${sale.id}`;
        return r.length >= STOCK && r;
      },
      20_000,
    );
    expect(rows).toHaveLength(STOCK);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(orders.values()));
  });
});
