/**
 * Every order's path across the shards of a sharded sale (docs/design.md "Hot sales"): purchases land on the
 * shopper's home shard, pay / cancel / reads reach the order's shard from its id, `GET /api/orders` finds them, a
 * cancel's unit is bought again, an expiry's unit is bought again on another shard, the sale is sold out only
 * when no unit is left anywhere, reconcile repairs a lost row of any shard, and a merchant's pause reaches every
 * shard. The stock invariant holds at the end.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardObjectName } from "../../lib/server/hot/routing.ts";
import type { Order, Sale } from "../../lib/contract/schemas.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { shardOfOrder } from "../../workers/seckill/shards.ts";
import { ADMIN, call, createSale, database, waitFor } from "./helpers.ts";
import { checkStockInvariant, shopperOn as shopperOnShard } from "./shard-helpers.ts";

const SHARDS = 4;

/** A shopper on shard `shard` of this file's sales. */
const shopperOn = (shard: number) => shopperOnShard(shard, SHARDS, `s${shard}`);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Buys as a shopper who honours 429 (and, when `untilBought`, a 410 that may lift): the first other answer. */
async function buy(saleId: string, cookie: string, untilBought = false): Promise<{ status: number; order?: Order }> {
  let last = "";
  for (let attempt = 0; attempt < 200; attempt++) {
    const res = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie });
    const body = (await res.json()) as { order?: Order; error?: { code: string } };
    last = JSON.stringify(body);
    if (res.status === 202) return { status: 202, order: body.order };
    if (res.status !== 429 && !(untilBought && res.status === 410)) return { status: res.status };
    expect(res.status === 429 ? Number(res.headers.get("Retry-After")) : 1).toBeGreaterThan(0);
    await pause(50);
  }
  throw new Error(`no answer but 429: ${last}`);
}

async function rowStatus(orderId: string): Promise<string | undefined> {
  const rows = await database()<{ status: string }[]>`select status from orders where id = ${orderId}`;
  return rows[0]?.status;
}

function shardStub(saleId: string, shard: number) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, shard)));
}

describe("a sale over 4 shards", () => {
  it("pays, cancels, expires, sells again across shards, reconciles, and pauses every shard", async () => {
    const STOCK = 4;
    // All of the stock starts in the reserve (⌊4 × 0.5 / 4⌋ = 0 per shard): every unit moves at least once.
    const sale = await createSale({ stock: STOCK, shards: SHARDS, paymentWindowSeconds: 60 });
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map((i) => shopperOn(i)));
    const orders: Order[] = [];
    for (const s of [a, b, c, d]) {
      const got = await buy(sale.id, s.cookie);
      expect(got.status).toBe(202);
      orders.push(got.order!);
    }
    // Each order lives on its shopper's home shard, and its id says which.
    expect(orders.map((o) => shardOfOrder(o.id))).toEqual([0, 1, 2, 3]);
    expect(new Set(orders.map((o) => o.saleId))).toEqual(new Set([sale.id]));

    // Pay and cancel reach the order's shard.
    const pay = await call(`/api/orders/${orders[0].id}/pay`, { method: "POST", cookie: a.cookie });
    expect(pay.status).toBe(200);
    expect(((await pay.json()) as { order: Order }).order.status).toBe("paid");
    const cancel = await call(`/api/orders/${orders[1].id}/cancel`, { method: "POST", cookie: b.cookie });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as { order: Order }).order.status).toBe("cancelled");
    const read = (await (await call(`/api/orders/${orders[2].id}`, { cookie: c.cookie })).json()) as { order: Order };
    expect(read.order.id).toBe(orders[2].id);
    const mine = (await (await call(`/api/orders`, { cookie: d.cookie })).json()) as { orders: Order[] };
    expect(mine.orders.map((o) => o.id)).toContain(orders[3].id);

    // The cancelled unit is bought again (by a shopper of the same shard).
    const e = await shopperOn(1);
    const again = await buy(sale.id, e.cookie);
    expect(again.status).toBe(202);
    orders.push(again.order!);

    // Sold out as a whole: the next shopper (shard 2) is told to wait while the shards check, then 410.
    const f = await shopperOn(2);
    expect((await buy(sale.id, f.cookie)).status).toBe(410);
    const publicSale = await waitFor("the whole sale sold out", async () => {
      const r = (await (await call(`/api/sales/${sale.id}`)).json()) as { sale: Sale };
      return r.sale.status === "sold_out" && r.sale;
    });
    expect(publicSale.remaining).toBe(0);
    expect(publicSale.shards).toBe(SHARDS);

    // D's order (shard 3) expires: its shard's clock passes the payment window and its alarm runs.
    await runInDurableObject(shardStub(sale.id, 3), async (object: SaleItem) => {
      object.clock = () => Date.now() + 61_000;
      await object.alarm();
      await object.pumpStock();
    });
    // G, another shopper on shard 2 (not the shard the unit came back to), buys that unit.
    const g = await shopperOn(2);
    const late = await buy(sale.id, g.cookie, true);
    expect(late.status).toBe(202);
    expect(shardOfOrder(late.order!.id)).toBe(2);
    orders.push(late.order!);
    const expired = (await (await call(`/api/orders/${orders[3].id}`, { cookie: d.cookie })).json()) as {
      order: Order;
    };
    expect(expired.order.status).toBe("expired");

    // Admin stats add up over the shards.
    const detail = (await (await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).json()) as {
      sale: {
        stats: {
          sold: number;
          reserve: number;
          shards: { index: number; stock: number; remaining: number; sold: number }[];
        };
      };
    };
    const stats = detail.sale.stats;
    expect(stats.shards.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(stats.sold).toBe(STOCK);
    expect(stats.shards.reduce((x, s) => x + s.sold, 0)).toBe(STOCK);
    expect(stats.shards.reduce((x, s) => x + s.stock, 0) + stats.reserve).toBe(STOCK);
    await checkStockInvariant(sale.id, SHARDS, STOCK);
    // /metrics: each shard's figures under a `shard` label.
    const metrics = await (await call("/metrics", { headers: ADMIN })).text();
    for (const s of stats.shards) {
      const line = metrics
        .split("\n")
        .find(
          (l) => l.startsWith("minishop_shard_sold_units{") && l.includes(sale.id) && l.includes(`shard="${s.index}"`),
        );
      expect(line?.split(" ").pop()).toBe(String(s.sold));
    }
    expect(metrics).toContain(`minishop_sale_reserve_units{sale="${sale.id}"`);

    // Reconcile: PostgreSQL loses a row of shard 1; reconcile finds it and its shard sends it again.
    const sql = database();
    await waitFor("every order in PostgreSQL", async () => {
      const rows = await sql`select id from orders where sale_id = ${sale.id}`;
      return rows.length === orders.length;
    });
    await sql`delete from orders where id = ${orders[4].id}`;
    const res = await call(`/admin/api/sales/${sale.id}/reconcile`, { method: "POST", headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ databaseOrders: orders.length - 1, missing: 1, repaired: 1 });
    await waitFor("the lost row is back", async () => (await rowStatus(orders[4].id)) === "confirmed");

    // Pause and resume reach every shard.
    expect((await call(`/admin/api/sales/${sale.id}/pause`, { method: "POST", headers: ADMIN })).status).toBe(200);
    for (let i = 0; i < SHARDS; i++) expect((await shardStub(sale.id, i).getSale())!.status).toBe("paused");
    expect((await call(`/admin/api/sales/${sale.id}/resume`, { method: "POST", headers: ADMIN })).status).toBe(200);
    for (let i = 0; i < SHARDS; i++) expect((await shardStub(sale.id, i).getSale())!.status).not.toBe("paused");
  });

  it("refuses a shard count out of 1..64, with a draw or with registration, and a stock change once sharded", async () => {
    const base = {
      title: "Shards",
      priceCents: 100,
      stock: 10,
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      endsAt: new Date(Date.now() + 7_200_000).toISOString(),
    };
    for (const body of [
      { ...base, shards: 0 },
      { ...base, shards: 65 },
      { ...base, shards: 1.5 },
      { ...base, shards: 2, registrationRequired: true },
    ]) {
      const res = await call("/admin/api/sales", { method: "POST", headers: ADMIN, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
    }
    const created = (await (
      await call("/admin/api/sales", { method: "POST", headers: ADMIN, body: JSON.stringify({ ...base, shards: 3 }) })
    ).json()) as { sale: Sale };
    expect(created.sale.shards).toBe(3);
    const patch = await call(`/admin/api/sales/${created.sale.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: JSON.stringify({ stock: 20 }),
    });
    expect(patch.status).toBe(400);
    const retitled = await call(`/admin/api/sales/${created.sale.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: JSON.stringify({ title: "Shards, renamed" }),
    });
    expect(retitled.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await shardStub(created.sale.id, i).getSale())!.title).toBe("Shards, renamed");
    // A sale of one shard, by default for its stock, is the object it always was.
    const plain = (await (
      await call("/admin/api/sales", { method: "POST", headers: ADMIN, body: JSON.stringify(base) })
    ).json()) as { sale: Sale };
    expect(plain.sale.shards).toBe(1);
  });
});
