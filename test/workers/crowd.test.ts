/**
 * A flash crowd through the gateway: more shoppers than stock, each clicking several times at once (some
 * retrying with an Idempotency-Key). Sold = stock, nobody twice, and PostgreSQL ends with exactly the sold
 * orders, one per distinct shopper.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import gateway from "../../workers/gateway/index.ts";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { type GatewayEnv } from "../../workers/gateway/env.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { BASE, createSale, database, saleObject, waitFor } from "./helpers.ts";

/** A session cookie for a shopper, minted as the gateway would (registration's PBKDF2 is not under test). */
async function sessionFor(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return `minishop_session=${await sign({ sub: userId, name: `crowd-${userId.slice(0, 8)}`, iat: now, exp: now + 3600 }, DEV_SESSION_SECRET, "HS256")}`;
}

// The admission ceilings are tested on their own (gateway.test.ts, shards-admission.test.ts); here every request is
// let through to the object: the isolate's bucket here, the object's ceiling once the sale exists.
// (1,200 requests at once keep this one local isolate busy for seconds: they may wait that long for admission.)
const wideOpen = {
  ...env,
  ADMISSION_RPS: "1000000",
  ADMISSION_BURST: "1000000",
  ADMISSION_WAIT_MS: "120000",
} as GatewayEnv;

function buy(saleId: string, cookie: string, key?: string) {
  const headers: Record<string, string> = { Cookie: cookie };
  if (key) headers["Idempotency-Key"] = key;
  return gateway.fetch(
    new Request(`${BASE}/api/sales/${saleId}/purchase`, { method: "POST", headers }),
    wideOpen,
    createExecutionContext(),
  );
}

describe("flash crowd", () => {
  it("sells exactly the stock to distinct shoppers, and PostgreSQL gets every order once", async () => {
    const STOCK = 100;
    const SHOPPERS = 300;
    const sale = await createSale({ stock: STOCK });
    await runInDurableObject(saleObject(sale.id), (object: SaleItem) => object.setAdmissionCeiling(1_000_000));
    const shoppers = await Promise.all(
      Array.from({ length: SHOPPERS }, async () => {
        const userId = crypto.randomUUID();
        return { userId, cookie: await sessionFor(userId) };
      }),
    );
    // Everyone clicks at once: twice plainly, and a third time with an Idempotency-Key, retried.
    const attempts = shoppers.flatMap((s, i) => {
      const key = `tab-${i}`;
      return [buy(sale.id, s.cookie), buy(sale.id, s.cookie), buy(sale.id, s.cookie, key), buy(sale.id, s.cookie, key)];
    });
    const responses = await Promise.all(attempts);
    const bodies = await Promise.all(
      responses.map(async (r) => ({
        status: r.status,
        body: (await r.json()) as { order?: { id: string; userId: string } },
      })),
    );

    // No server errors; every answer is one of the contract's.
    const statuses = new Set(bodies.map((b) => b.status));
    for (const s of statuses) expect([202, 409, 410]).toContain(s);

    // Distinct orders = stock, one per shopper; replays carry the same order id.
    const orders = new Map<string, string>();
    for (const { status, body } of bodies) {
      if (status !== 202) continue;
      const known = orders.get(body.order!.userId);
      if (known) expect(body.order!.id).toBe(known);
      orders.set(body.order!.userId, body.order!.id);
    }
    expect(orders.size).toBe(STOCK);
    expect(new Set(orders.values()).size).toBe(STOCK);
    const sold = (await saleObject(sale.id).getSale())!;
    expect(sold.remaining).toBe(0);

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
    expect(new Set(rows.map((r) => r.user_id)).size).toBe(STOCK);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(orders.values()));
    // And the object's outbox drains once every order is confirmed.
    await waitFor(
      "outbox drained",
      async () => (await saleObject(sale.id).getStats())!.stats.outboxDepth === 0,
      20_000,
    );
  });
});
