/**
 * Settled sales are not woken (docs/design.md "Settled sales are not woken"): once a sale is sold out or ended with
 * nothing held, nothing in flight and nothing on its way to PostgreSQL, the sale lists (shoppers' and merchants'),
 * /metrics and "my orders" read its last answer from the catalog instead of calling its object — and still show its
 * final figures. A merchant's change makes the object answer again.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import type { Order, Sale, SaleStats } from "../../lib/contract/schemas.ts";
import { ADMIN, call, createSale, purchase, saleObject, shopper, waitFor } from "./helpers.ts";

type AdminSale = Sale & { stats: SaleStats };

const unwraps: (() => void)[] = [];
afterEach(() => {
  for (const unwrap of unwraps.splice(0)) unwrap();
});

/** Counts every call of the object's read methods on this sale's object (wrapping the class's prototype). */
async function countReadsAtObject(saleId: string): Promise<() => number> {
  const seen = { calls: 0 };
  await runInDurableObject(saleObject(saleId), (instance: SaleItem) => {
    const proto = Object.getPrototypeOf(instance) as Record<string, (...args: unknown[]) => unknown>;
    for (const name of ["getSale", "getStats", "closedVerdict", "getOrderForUser", "shardFigures"]) {
      const original = proto[name];
      proto[name] = function (this: unknown, ...args: unknown[]) {
        if (this === instance) seen.calls++;
        return original.apply(this, args);
      };
      unwraps.push(() => (proto[name] = original));
    }
  });
  return () => seen.calls;
}

async function adminSale(saleId: string): Promise<AdminSale> {
  const res = await call(`/admin/api/sales/${saleId}`, { headers: ADMIN });
  return ((await res.json()) as { sale: AdminSale }).sale;
}

async function adminList(): Promise<AdminSale[]> {
  const res = await call("/admin/api/sales", { headers: ADMIN });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sales: AdminSale[] }).sales;
}

async function myOrders(cookie: string): Promise<Order[]> {
  const res = await call("/api/orders", { cookie });
  expect(res.status).toBe(200);
  return ((await res.json()) as { orders: Order[] }).orders;
}

/** Waits until the sale has nothing in its outbox and PostgreSQL has every order (the consumer confirmed them). */
async function landed(saleId: string): Promise<void> {
  await waitFor("every order in PostgreSQL", async () => {
    const s = await adminSale(saleId);
    return s.stats.outboxDepth === 0 && s.stats.awaitingDatabase === 0;
  });
}

describe("settled sales", () => {
  it("are listed from the catalog with their final figures, without calling the sale's object", async () => {
    const sale = await createSale({ stock: 2, title: "Settles sold out" });
    const [alice, bob, carol] = await Promise.all([shopper("sa"), shopper("sb"), shopper("sc")]);
    const orders: Order[] = [];
    for (const who of [alice, bob]) {
      const { status, body } = await purchase(sale.id, who.cookie);
      expect(status).toBe(202);
      const paid = await call(`/api/orders/${body.order!.id}/pay`, { method: "POST", cookie: who.cookie });
      expect(paid.status).toBe(200);
      orders.push(body.order!);
    }
    await landed(sale.id);
    // The first list that reads its stats finds it settled and hands it to the catalog.
    expect((await adminList()).find((s) => s.id === sale.id)?.status).toBe("sold_out");

    const reached = await countReadsAtObject(sale.id);
    const shoppersList = await env.SECKILL.listSales();
    const listed = shoppersList.find((s) => s.id === sale.id)!;
    expect(listed).toMatchObject({ status: "sold_out", remaining: 0, stock: 2, title: "Settles sold out" });
    expect(listed).not.toHaveProperty("stats");
    const merchants = (await adminList()).find((s) => s.id === sale.id)!;
    expect(merchants.status).toBe("sold_out");
    expect(merchants.stats).toMatchObject({ sold: 2, remaining: 0, paid: { units: 2 }, held: { units: 0 } });
    expect(merchants.stats.attempts).toBe(2);
    const metrics = await call("/metrics", { headers: ADMIN });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain(`minishop_sold_units{sale="${sale.id}",title="Settles sold out"} 2`);
    // Through the gateway too (its list is cached for a second per isolate: wait for one that has the sale).
    const viaGateway = await waitFor("the gateway's list", async () => {
      const body = (await (await call("/api/sales")).json()) as { sales: Sale[] };
      return body.sales.find((s) => s.id === sale.id);
    });
    expect(viaGateway.status).toBe("sold_out");
    // "My orders" of a shopper who bought nothing there does not ask it either (the kept buyers filter says no).
    expect((await myOrders(carol.cookie)).some((o) => o.saleId === sale.id)).toBe(false);
    expect(reached()).toBe(0);

    // A buyer's "my orders" still asks it, and gets the order.
    const mine = await myOrders(alice.cookie);
    expect(mine.find((o) => o.saleId === sale.id)).toMatchObject({ id: orders[0].id, status: "paid" });
    expect(reached()).toBeGreaterThan(0);
  });

  it("is not settled while an order could still return stock, and is asked again after a merchant's change", async () => {
    const sale = await createSale({ stock: 3, title: "Settles ended" });
    const buyer = await shopper("se");
    const { body } = await purchase(sale.id, buyer.cookie);
    expect(body.order?.status).toBe("reserved");
    expect((await call(`/admin/api/sales/${sale.id}/end`, { method: "POST", headers: ADMIN })).status).toBe(200);
    await landed(sale.id);

    // Ended, but its order is unpaid: a cancel or an expiry would return the unit, so every list asks the object.
    const reached = await countReadsAtObject(sale.id);
    expect((await adminList()).find((s) => s.id === sale.id)).toMatchObject({ status: "ended", remaining: 2 });
    const asked = reached();
    expect(asked).toBeGreaterThan(0);
    await adminList();
    expect(reached()).toBeGreaterThan(asked);

    // The shopper cancels: the unit is back, nothing is held. The next list settles it with remaining 3.
    const cancelled = await call(`/api/orders/${body.order!.id}/cancel`, { method: "POST", cookie: buyer.cookie });
    expect(cancelled.status).toBe(200);
    await landed(sale.id);
    expect((await adminList()).find((s) => s.id === sale.id)).toMatchObject({ status: "ended", remaining: 3 });
    const settledAt = reached();
    const again = (await adminList()).find((s) => s.id === sale.id)!;
    expect(again).toMatchObject({ status: "ended", remaining: 3 });
    expect(again.stats).toMatchObject({ sold: 0, remaining: 3, held: { units: 0 } });
    expect((await env.SECKILL.listSales()).find((s) => s.id === sale.id)?.remaining).toBe(3);
    expect(reached()).toBe(settledAt);

    // A merchant's change (a photo removed here) reaches the object and makes the lists ask it again.
    expect((await call(`/admin/api/sales/${sale.id}/image`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const afterChange = reached();
    await env.SECKILL.listSales();
    expect(reached()).toBeGreaterThan(afterChange);
  });
});
