/**
 * Deleting a draw, queue or registration sale leaves nothing of it behind (docs/api.md `DELETE /admin/api/sales/:id`,
 * docs/design.md "Merchant side: photos, the series, ending and deleting"): the SaleItem, a draw sale's SaleDraw and
 * its entry shards, a queue sale's SaleQueue all end with no table and no alarm, as objects never initialised. A
 * draw sale with an entry is refused as a sale with an order is (409), and keeps taking entries. A delete repeated
 * after a part-way failure (the sale's object already gone) still destroys the draw or queue and the catalog entry.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENTRY_SHARDS } from "../../lib/contract/draw.ts";
import type { Sale } from "../../lib/contract/schemas.ts";
import { DrawEntries } from "../../durable-objects/draw-entries.ts";
import { SaleDraw, entryShardName } from "../../durable-objects/sale-draw.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import type { SaleQueue } from "../../durable-objects/sale-queue.ts";
import { drawSaleInput } from "./draw-sale.ts";
import { ADMIN, call, createSale, database, json, leftovers, saleObject, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string; details?: unknown } };

function drawStub(saleId: string) {
  return env.SALE_DRAW.get(env.SALE_DRAW.idFromName(saleId));
}

function entryStub(saleId: string, index: number) {
  return env.DRAW_ENTRIES.get(env.DRAW_ENTRIES.idFromName(entryShardName(saleId, index)));
}

function queueStub(saleId: string) {
  return env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId));
}

async function createDrawSale(): Promise<Sale> {
  const res = await call("/admin/api/sales", {
    method: "POST",
    headers: ADMIN,
    body: json(drawSaleInput({ title: `Draw ${crypto.randomUUID().slice(0, 8)}`, priceCents: 10_000, stock: 2 })),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { sale: Sale }).sale;
}

async function deleteSale(saleId: string): Promise<Response> {
  return await call(`/admin/api/sales/${saleId}`, { method: "DELETE", headers: ADMIN });
}

/** Gone from the shop, the admin API, the catalog and PostgreSQL; a further delete finds nothing. */
async function expectGone(saleId: string): Promise<void> {
  await waitFor("the deleted sale to leave the shop", async () => (await call(`/api/sales/${saleId}`)).status === 404);
  expect((await call(`/admin/api/sales/${saleId}`, { headers: ADMIN })).status).toBe(404);
  const catalog = env.SALE_CATALOG.get(env.SALE_CATALOG.idFromName("catalog"));
  expect((await catalog.list()).includes(saleId)).toBe(false);
  expect(await database()`select id from sales where id = ${saleId}`).toHaveLength(0);
  expect((await deleteSale(saleId)).status).toBe(404);
}

async function expectEmpty(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, async (_object: unknown, state) => {
    expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
  });
}

/** The draw and every entry shard hold nothing. */
async function expectDrawEmpty(saleId: string): Promise<void> {
  await expectEmpty(drawStub(saleId));
  for (let i = 0; i < DEFAULT_ENTRY_SHARDS; i++) await expectEmpty(entryStub(saleId, i));
}

describe("deleting a draw sale", () => {
  it("wipes the SaleDraw (its alarm for drawAt too) and every entry shard, and the draw is 404 everywhere", async () => {
    const sale = await createDrawSale();
    await runInDurableObject(drawStub(sale.id), async (draw: SaleDraw, state) => {
      expect(draw.entryShards()).toBe(DEFAULT_ENTRY_SHARDS);
      expect((await leftovers(state)).tables).toContain("draw");
      expect(await state.storage.getAlarm()).toBe(Date.parse(sale.drawAt!));
    });
    for (let i = 0; i < DEFAULT_ENTRY_SHARDS; i++) {
      await runInDurableObject(entryStub(sale.id, i), async (_shard: DrawEntries, state) => {
        expect((await leftovers(state)).tables).toContain("entries");
      });
    }

    expect((await deleteSale(sale.id)).status).toBe(204);

    await expectEmpty(saleObject(sale.id));
    await expectDrawEmpty(sale.id);
    await runInDurableObject(drawStub(sale.id), async (draw: SaleDraw, state) => {
      // Late calls answer as for no draw and write nothing: a merchant's change, the alarm, a reader.
      await draw.update({ stock: 5 });
      await draw.alarm();
      expect(draw.entryShards()).toBeNull();
      expect(await draw.stats()).toBeNull();
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
      // The object rebuilt from its storage (a restart) holds no draw either.
      const revived = new SaleDraw(state, env);
      expect(revived.entryShards()).toBeNull();
      expect((await leftovers(state)).tables).toEqual([]);
    });
    await runInDurableObject(entryStub(sale.id, 0), async (shard: DrawEntries, state) => {
      // A configure still in flight from the draw finds the shard destroyed and writes nothing.
      shard.configure({ saleId: sale.id, index: 0, startsAt: 0, drawAt: Date.now() + 60_000 });
      expect(shard.enter(crypto.randomUUID())).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
    });

    const s = await shopper("gone");
    expect((await call(`/api/sales/${sale.id}/draw`)).status).toBe(404);
    expect((await call(`/api/sales/${sale.id}/entries`, { method: "POST", cookie: s.cookie })).status).toBe(404);
    expect((await call(`/admin/api/sales/${sale.id}/draw`, { headers: ADMIN })).status).toBe(404);
    await expectGone(sale.id);
  });

  it("refuses a draw sale with an entry (409, details.entries) and leaves it taking entries", async () => {
    const sale = await createDrawSale();
    const alice = await shopper("entrant");
    expect((await call(`/api/sales/${sale.id}/entries`, { method: "POST", cookie: alice.cookie })).status).toBe(201);

    const refused = await deleteSale(sale.id);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as ErrorBody).error).toMatchObject({
      code: "SALE_HAS_ORDERS",
      details: { orders: 0, entries: 1 },
    });
    // Nothing was deleted, and the entry shards were reopened: the draw still takes entries.
    const bob = await shopper("entrant");
    expect((await call(`/api/sales/${sale.id}/entries`, { method: "POST", cookie: bob.cookie })).status).toBe(201);
    const draw = (await (await call(`/admin/api/sales/${sale.id}/draw`, { headers: ADMIN })).json()) as {
      draw: { entries: number; phase: string };
    };
    expect(draw.draw).toMatchObject({ entries: 2, phase: "open" });
    expect((await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).status).toBe(200);
    await runInDurableObject(drawStub(sale.id), async (_draw: SaleDraw, state) => {
      expect(await state.storage.getAlarm()).toBe(Date.parse(sale.drawAt!));
    });
  });

  it("closes an entry shard and counts its entries in one step; the close survives a restart", async () => {
    const sale = await createDrawSale();
    await runInDurableObject(entryStub(sale.id, 3), async (shard: DrawEntries, state) => {
      expect(shard.enter("u1")).toMatchObject({ ok: true, created: true });
      expect(shard.closeForDelete()).toEqual({ entries: 1 });
      // From the close on no entry is taken, and a rebuilt object (a restart) keeps it closed.
      expect(shard.enter("u2")).toMatchObject({ ok: false, code: "PAUSED" });
      const revived = new DrawEntries(state, env);
      await state.blockConcurrencyWhile(async () => {});
      expect(revived.enter("u2")).toMatchObject({ ok: false, code: "PAUSED" });
      // The refused delete reopens it.
      shard.reopen();
      expect(shard.enter("u2")).toMatchObject({ ok: true, created: true });
      expect(shard.entryCount()).toBe(2);
    });
  });
});

describe("deleting a queue sale", () => {
  it("wipes its SaleQueue (tickets and the start alarm) with the sale", async () => {
    const sale = await createSale({ stock: 3, queue: true, startsInSeconds: 3600 });
    const s = await shopper("queuer");
    expect((await call(`/api/sales/${sale.id}/queue`, { method: "POST", cookie: s.cookie })).status).toBe(200);
    await runInDurableObject(queueStub(sale.id), async (queue: SaleQueue, state) => {
      expect(queue.stats()).toMatchObject({ joined: 1 });
      expect((await leftovers(state)).tables).toContain("tickets");
      expect(await state.storage.getAlarm()).not.toBeNull();
    });

    expect((await deleteSale(sale.id)).status).toBe(204);

    await expectEmpty(saleObject(sale.id));
    await runInDurableObject(queueStub(sale.id), async (queue: SaleQueue, state) => {
      expect(queue.join(s.userId)).toMatchObject({ ok: false, code: "NOT_FOUND" });
      await queue.alarm();
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
    });
    expect((await call(`/api/sales/${sale.id}/queue`, { method: "POST", cookie: s.cookie })).status).toBe(404);
    await expectGone(sale.id);
  });
});

describe("deleting a registration sale", () => {
  it("takes its registrations with it and makes no other object", async () => {
    const res = await call("/admin/api/sales", {
      method: "POST",
      headers: ADMIN,
      body: json({
        title: "Registration",
        priceCents: 10_000,
        stock: 2,
        registrationRequired: true,
        startsAt: new Date(Date.now() + 3_600_000).toISOString(),
        endsAt: new Date(Date.now() + 7_200_000).toISOString(),
      }),
    });
    expect(res.status).toBe(201);
    const sale = ((await res.json()) as { sale: Sale }).sale;
    const s = await shopper("registrant");
    expect((await call(`/api/sales/${sale.id}/registrations`, { method: "POST", cookie: s.cookie })).status).toBe(201);

    // Registrations are not orders: the sale is deleted, and they go with its object.
    expect((await deleteSale(sale.id)).status).toBe(204);

    await expectEmpty(saleObject(sale.id));
    await expectEmpty(drawStub(sale.id));
    await expectEmpty(queueStub(sale.id));
    expect((await call(`/api/sales/${sale.id}/registrations/me`, { cookie: s.cookie })).status).toBe(404);
    await expectGone(sale.id);
  });
});

describe("a delete repeated after a part-way failure", () => {
  it("destroys the queue and the catalog entry of a sale whose object is already gone", async () => {
    const sale = await createSale({ stock: 3, queue: true, startsInSeconds: 3600 });
    // The first delete stopped right after the sale's object forgot the sale.
    await runInDurableObject(saleObject(sale.id), async (object: SaleItem) => {
      expect(await object.deleteIfNoOrders()).toMatchObject({ ok: true });
    });

    expect((await deleteSale(sale.id)).status).toBe(204);

    await runInDurableObject(queueStub(sale.id), async (queue: SaleQueue, state) => {
      expect(queue.stats()).toBeNull();
      expect(await leftovers(state)).toEqual({ tables: [], alarm: null });
    });
    await expectGone(sale.id);
  });

  it("destroys the draw and its entry shards of a draw sale whose object is already gone", async () => {
    const sale = await createDrawSale();
    await runInDurableObject(saleObject(sale.id), async (object: SaleItem) => {
      expect(await object.deleteIfNoOrders(0)).toMatchObject({ ok: true });
    });

    expect((await deleteSale(sale.id)).status).toBe(204);

    await expectDrawEmpty(sale.id);
    await expectGone(sale.id);
  });
});
