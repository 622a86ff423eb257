/**
 * Deleting a sale leaves nothing of it behind (docs/api.md `DELETE /admin/api/sales/:id`, docs/design.md "Hot sales:
 * the product"): a sharded sale's K shards and its SaleReserve coordinator end with no table, no row and no alarm, as
 * objects never initialised; a sale of one shard's object too, and it never had a coordinator. A sharded sale with
 * an order on any shard is refused and left exactly as it was: its shards open, its stock where it was.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardObjectName } from "../../lib/server/hot/routing.ts";
import type { Sale } from "../../lib/contract/schemas.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { SaleReserve } from "../../durable-objects/sale-reserve.ts";
import { ADMIN, call, createSale, database, leftovers, purchase, waitFor } from "./helpers.ts";
import { checkStockInvariant, shopperOn as shopperOnShard } from "./shard-helpers.ts";

const SHARDS = 4;

/** A shopper on shard `shard` of this file's sales. */
const shopperOn = (shard: number) => shopperOnShard(shard, SHARDS, `d${shard}`);

function shardStub(saleId: string, shard: number) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, shard)));
}

function reserveStub(saleId: string) {
  return env.SALE_RESERVE.get(env.SALE_RESERVE.idFromName(saleId));
}

async function deleteSale(saleId: string): Promise<Response> {
  return await call(`/admin/api/sales/${saleId}`, { method: "DELETE", headers: ADMIN });
}

describe("deleting a sharded sale", () => {
  it("wipes every shard and the coordinator: no table, no alarm, and the sale is gone everywhere", async () => {
    const STOCK = 40;
    const sale = await createSale({ stock: STOCK, shards: SHARDS });
    // Each shard and the coordinator hold something, and each shard has an alarm pending (its counters' flush).
    for (let i = 0; i < SHARDS; i++) {
      await runInDurableObject(shardStub(sale.id, i), async (object: SaleItem, state) => {
        object.recordEdgeRejections({ rateLimited: 1 });
        expect((await leftovers(state)).tables).toContain("sale");
        expect(await state.storage.getAlarm()).not.toBeNull();
      });
    }
    await runInDurableObject(reserveStub(sale.id), async (reserve: SaleReserve, state) => {
      expect(reserve.stats()).toMatchObject({ saleId: sale.id, stock: STOCK });
      expect((await leftovers(state)).tables).toEqual(["reserve"]);
    });

    expect((await deleteSale(sale.id)).status).toBe(204);

    for (let i = 0; i < SHARDS; i++) {
      await runInDurableObject(shardStub(sale.id, i), async (object: SaleItem, state) => {
        expect(object.getSale()).toBeNull();
        expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
      });
    }
    await runInDurableObject(reserveStub(sale.id), async (reserve: SaleReserve, state) => {
      expect(() => reserve.stats()).toThrow(/not initialized/);
      // A late call from a shard finds no reserve and writes nothing.
      expect(() =>
        reserve.requestStock({ shard: 1, seq: 9, local: 0, rate: 10, wanted: 1, headroom: 250_000 }),
      ).toThrow(/not initialized/);
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
      // The object rebuilt from its storage (a restart) holds no sale and creates no table either.
      const revived = new SaleReserve(state, env);
      await state.blockConcurrencyWhile(async () => {});
      expect(() => revived.stats()).toThrow(/not initialized/);
      expect((await leftovers(state)).tables).toEqual([]);
    });

    // Gone from both APIs, the catalog and PostgreSQL; a second delete finds nothing.
    await waitFor(
      "the deleted sale to leave the shop",
      async () => (await call(`/api/sales/${sale.id}`)).status === 404,
    );
    expect((await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).status).toBe(404);
    const shopper = await shopperOn(2);
    expect((await purchase(sale.id, shopper.cookie)).status).toBe(404);
    const catalog = env.SALE_CATALOG.get(env.SALE_CATALOG.idFromName("catalog"));
    expect((await catalog.list()).includes(sale.id)).toBe(false);
    expect((await catalog.shardCounts()).some(([id]) => id === sale.id)).toBe(false);
    expect(await database()`select id from sales where id = ${sale.id}`).toHaveLength(0);
    expect((await deleteSale(sale.id)).status).toBe(404);
  });

  it("refuses a sale with an order on one shard (409) and leaves every shard open and the stock in place", async () => {
    const STOCK = 8;
    const sale = await createSale({ stock: STOCK, shards: SHARDS });
    const buyer = await shopperOn(2);
    const bought = await purchase(sale.id, buyer.cookie);
    expect(bought.status).toBe(202);

    const refused = await deleteSale(sale.id);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string; details: unknown } }).error).toMatchObject({
      code: "SALE_HAS_ORDERS",
      details: { orders: 1 },
    });
    // Nothing was deleted or left paused: every shard still sells, the coordinator keeps its books.
    for (let i = 0; i < SHARDS; i++) expect((await shardStub(sale.id, i).getSale())!.status).toBe("live");
    const next = await shopperOn(0);
    expect((await purchase(sale.id, next.cookie)).status).toBe(202);
    await checkStockInvariant(sale.id, SHARDS, STOCK);

    // A sale the merchant had paused stays paused after a refused delete.
    expect((await call(`/admin/api/sales/${sale.id}/pause`, { method: "POST", headers: ADMIN })).status).toBe(200);
    expect((await deleteSale(sale.id)).status).toBe(409);
    for (let i = 0; i < SHARDS; i++) expect((await shardStub(sale.id, i).getSale())!.status).toBe("paused");
    expect((await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).status).toBe(200);
  });

  it("closes a shard and counts a purchase still in its round, so none can land after the count", async () => {
    const sale = await createSale({ stock: 40, shards: SHARDS });
    await runInDurableObject(shardStub(sale.id, 1), async (object: SaleItem) => {
      // A purchase reserved in memory, its round not written yet, when the delete closes the shard.
      const inRound = object.reservePurchase({ userId: crypto.randomUUID(), quantity: 1, idempotencyKey: "r1" });
      expect(object.closeForDelete()).toEqual({ ok: true, orders: 1, wasPaused: false });
      expect(await inRound).toMatchObject({ ok: true });
      // From the close on, no purchase starts: the shard is paused (stored, so a restart keeps it closed).
      expect(
        await object.reservePurchase({ userId: crypto.randomUUID(), quantity: 1, idempotencyKey: "r2" }),
      ).toMatchObject({ ok: false, code: "PAUSED" });
      expect(object.closeForDelete()).toEqual({ ok: true, orders: 1, wasPaused: true });
    });
  });
});

describe("deleting a sale of one shard", () => {
  it("wipes its object (no table, no alarm) and it never had a coordinator", async () => {
    const sale: Sale = await createSale({ stock: 5, startsInSeconds: 3600 });
    expect(sale.shards).toBe(1);
    await runInDurableObject(shardStub(sale.id, 0), async (object: SaleItem, state) => {
      object.recordEdgeRejections({ rateLimited: 1 });
      expect(await state.storage.getAlarm()).not.toBeNull();
    });

    expect((await deleteSale(sale.id)).status).toBe(204);

    await runInDurableObject(shardStub(sale.id, 0), async (object: SaleItem, state) => {
      expect(object.getSale()).toBeNull();
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
    });
    await runInDurableObject(reserveStub(sale.id), async (reserve: SaleReserve, state) => {
      expect(() => reserve.stats()).toThrow(/not initialized/);
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
    });
    await waitFor(
      "the deleted sale to leave the shop",
      async () => (await call(`/api/sales/${sale.id}`)).status === 404,
    );
    expect(await database()`select id from sales where id = ${sale.id}`).toHaveLength(0);
  });
});
