/**
 * Global admission for every sale, one shard or many (docs/design.md "Hot sales: admission"): each sale object
 * accepts at most its ceiling (`OBJECT_MAX_RPS`) whatever the number of isolates calling it, answers the rest "busy,
 * retry after" from memory (no order, no storage work), and the gateway turns that into `429` + `Retry-After`, never
 * a 5xx — while a burst at an idle sale, well under the ceiling, is let in whole: nobody is refused at first contact.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { shardObjectName } from "../../lib/server/hot/routing.ts";
import type { PurchaseRequest, PurchaseResult, SaleItem } from "../../durable-objects/sale-item.ts";
import { call, createSale } from "./helpers.ts";

function shard(saleId: string, index: number) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, index)));
}

/** A purchase straight at a shard, as an isolate's call (the stub's inferred types are too deep for tsc here). */
function reserveAt(saleId: string, index: number, request: PurchaseRequest): Promise<PurchaseResult> {
  const stub = shard(saleId, index) as unknown as { reservePurchase(r: PurchaseRequest): Promise<PurchaseResult> };
  return stub.reservePurchase(request);
}

async function shopperCookies(count: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  return await Promise.all(
    Array.from({ length: count }, async () => {
      const userId = crypto.randomUUID();
      const token = await sign({ sub: userId, name: "adm", iat: now, exp: now + 3600 }, DEV_SESSION_SECRET, "HS256");
      return `minishop_session=${token}`;
    }),
  );
}

describe("admission across isolates", () => {
  it.each([
    { shards: 1, at: 0 },
    { shards: 2, at: 1 },
  ])(
    "holds a sale of $shards shard(s) to its ceiling whatever the number of isolates, busy answers from memory",
    async ({ shards, at }) => {
      const sale = await createSale({ stock: 200, shards });
      const CEILING = 4;
      await runInDurableObject(shard(sale.id, at), (object: SaleItem) => object.setAdmissionCeiling(CEILING));
      // 60 isolates, each with its first request, all at once, at one object.
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          reserveAt(sale.id, at, {
            userId: crypto.randomUUID(),
            quantity: 1,
            admission: { isolate: `isolate-${i}`, wantTokens: 5 },
          }),
        ),
      );
      const accepted = answers.filter((a) => a.admission?.admitted);
      const busy = answers.filter((a) => a.admission && !a.admission.admitted);
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.length).toBeLessThanOrEqual(CEILING);
      expect(accepted.length + busy.length).toBe(60);
      for (const b of busy) {
        expect(b.ok).toBe(false);
        if (!b.ok) expect(b.code).toBe("RATE_LIMITED");
        if (b.admission && !b.admission.admitted) expect(b.admission.retryAfterMs).toBeGreaterThan(0);
      }
      // Only admitted purchases became orders (reserved units, or "more stock is on its way").
      const orders = accepted.filter((a) => a.ok).length;
      if (shards > 1) expect((await shard(sale.id, at).shardFigures())!.sold).toBe(orders);
      else expect((await shard(sale.id, at).getStats())!.stats.sold).toBe(orders);
    },
  );

  it.each([1, 2])("lets a burst at an idle sale of %i shard(s) in whole: no 429 at first contact", async (shards) => {
    // Stock enough that no shard runs dry (half the stock starts in the shards): a shard's "more stock is on its
    // way" 429 is not what this test is about.
    const sale = await createSale({ stock: 1000, shards });
    // 40 shoppers at once through one isolate, at the shipped ceiling (800/s per object): before the isolate has a
    // lease, all but its probe wait for the lease the probe brings back, sized to them.
    const responses = await Promise.all(
      (await shopperCookies(40)).map((cookie) => call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 40 }, () => 202));
  });

  it.each([1, 2])(
    "answers a busy sale of %i shard(s) 429 with Retry-After through the gateway, never a 5xx",
    async (shards) => {
      const sale = await createSale({ stock: 100, shards });
      for (let i = 0; i < shards; i++) {
        await runInDurableObject(shard(sale.id, i), (object: SaleItem) => object.setAdmissionCeiling(1));
      }
      const cookies = await shopperCookies(20);
      const responses = await Promise.all(
        cookies.map((cookie) => call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie })),
      );
      const statuses = responses.map((r) => r.status);
      for (const s of statuses) expect([202, 429]).toContain(s);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      for (const r of responses) if (r.status === 429) expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
    },
  );
});
