/**
 * The SaleItem object's runtime assertions fire (docs/design.md, "SaleItem invariants"), and an object that
 * was never initialised writes nothing, whatever is called on it — nor does a draw or an entry shard (the one
 * mechanism of durable-objects/object-schema.ts).
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi, type MockInstance } from "vitest";
import type { PurchaseResult, SaleItem } from "../../durable-objects/sale-item.ts";
import { entryShardName, type SaleDraw } from "../../durable-objects/sale-draw.ts";
import type { DrawEntries } from "../../durable-objects/draw-entries.ts";
import { InvariantViolation } from "../../durable-objects/sale-item/invariants.ts";
import { StockLedger } from "../../durable-objects/sale-item/stock.ts";
import { writeStatusChange, readOrder } from "../../durable-objects/sale-item/orders.ts";
import { makeWorld, saleConfig } from "./concurrent-harness.ts";

function objectOf(name: string) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(name));
}

afterEach(() => vi.restoreAllMocks());

/**
 * The arrange step of the runtime-assertion tests: a sale of 3 in its object, one order of shopper "a" made
 * durable, console.error captured. `act` gets the world, the object's state, the order and the captured log.
 */
async function withOneOrder(
  act: (
    w: Awaited<ReturnType<typeof makeWorld>>,
    state: DurableObjectState,
    order: PurchaseResult,
    logged: MockInstance<typeof console.error>,
  ) => Promise<void>,
): Promise<void> {
  const config = saleConfig({ stock: 3 });
  await runInDurableObject(objectOf(config.id), async (instance: SaleItem, state) => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const w = await makeWorld(state, config, Date.now(), instance);
    const p = w.item.reservePurchase({ userId: "a", quantity: 1 });
    while (w.settleOne()) await new Promise((r) => setTimeout(r, 0));
    await act(w, state, await p, logged);
  });
}

describe("runtime assertions", () => {
  it("the stock ledger refuses a reservation past what is available, and says so in the log", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const ledger = new StockLedger(3, 3);
    ledger.reserve(2);
    expect(() => ledger.reserve(2)).toThrow(InvariantViolation);
    expect(
      logged.mock.calls.some(([line]) => String(line).includes('"invariant violated"') && String(line).includes("S2")),
    ).toBe(true);
    // A failed round cannot give back more than was reserved.
    expect(() => ledger.rolledBack(3)).toThrow(/S2/);
  });

  it("fires when storage and memory disagree about the stock, and when an outbox row has no order", async () => {
    await withOneOrder(async (w, _state, _order, logged) => {
      w.item.assertInvariants();
      // Someone writes `remaining` behind the object's back.
      w.sql.exec("UPDATE sale SET remaining = remaining - 1 WHERE id = 1");
      expect(() => w.item.assertInvariants()).toThrow(/S1 storage: held \+ paid \+ remaining = stock/);
      w.sql.exec("UPDATE sale SET remaining = remaining + 1 WHERE id = 1");
      // An outbox row for an order that does not exist.
      w.sql.exec("INSERT INTO outbox (order_id, version, next_send_at, attempts) VALUES ('nope', 2, 0, 0)");
      expect(() => w.item.assertInvariants()).toThrow(/S5 no outbox row without its order/);
      w.sql.exec("DELETE FROM outbox WHERE order_id = 'nope'");
      expect(logged).toHaveBeenCalled();
    });
  });

  it("refuses a status change an order cannot make (paid → cancelled)", async () => {
    await withOneOrder(async (w, state, order) => {
      if (!order.ok) throw new Error("purchase failed");
      expect((await w.item.payOrder(order.order.id, "a")).ok).toBe(true);
      const paid = readOrder(w.sql, order.order.id)!;
      expect(() => writeStatusChange(state.storage, paid, "cancelled", Date.now())).toThrow(/S4 order transitions/);
      // Nothing was written: still paid, stock still held.
      expect(readOrder(w.sql, order.order.id)!.status).toBe("paid");
      w.item.assertInvariants();
    });
  });

  it("repairs `remaining` from the orders at load when storage was written wrong, loudly", async () => {
    await withOneOrder(async (w, _state, _order, logged) => {
      // Storage as the stranded-stock bug left it: a unit gone to nobody.
      w.sql.exec("UPDATE sale SET remaining = 1 WHERE id = 1");
      await w.restart();
      expect(w.item.getSale()!.remaining).toBe(2);
      expect(w.sql.exec<{ r: number }>("SELECT remaining AS r FROM sale").one().r).toBe(2);
      expect(
        logged.mock.calls.some(
          ([line]) => String(line).includes("S1 stored remaining") && String(line).includes('"repaired":true'),
        ),
      ).toBe(true);
      w.item.assertInvariants();
    });
  });
});

describe("an object that was never initialised", () => {
  it("answers NOT_FOUND (or nothing) to every method and leaves its storage empty", async () => {
    const id = crypto.randomUUID();
    await runInDurableObject(objectOf(id), async (instance: SaleItem, state) => {
      const tables = () => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master").one().n;
      const orderId = id.replaceAll("-", "") + "0000000100000000";
      // Every method a client, the admin or the pipeline can reach.
      expect(instance.getSale()).toBeNull();
      expect(instance.getStats()).toBeNull();
      expect(await instance.reservePurchase({ userId: "u", quantity: 1, idempotencyKey: "k" })).toMatchObject({
        ok: false,
        code: "NOT_FOUND",
      });
      expect(await instance.getOrder(orderId, "u")).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(await instance.getOrderForUser("u")).toBeNull();
      expect(await instance.payOrder(orderId, "u")).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(await instance.cancelOrder(orderId, "u")).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(instance.update({ title: "x" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(instance.setPaused(true)).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(instance.ledger("", 10)).toEqual([]);
      expect(instance.requeue([orderId])).toBe(0);
      instance.confirmPersisted([{ orderId, version: 1 }]);
      instance.reportOrderConflicts([{ orderId, version: 1 }]);
      instance.recordEdgeRejections({ soldOut: 3 });
      instance.recordObservations({ consumerBatchMs: 5 });
      await instance.alarm();
      // Nothing was created: no table, no alarm.
      expect(tables()).toBe(0);
      expect(await state.storage.getAlarm()).toBeNull();
      expect(state.storage.sql.databaseSize).toBeLessThanOrEqual(4096);
    });
  });
});

describe("a draw or an entry shard that was never initialised", () => {
  it("answers 'not initialised' to every method a request can reach and leaves its storage empty", async () => {
    const saleId = crypto.randomUUID();
    const draw = env.SALE_DRAW.get(env.SALE_DRAW.idFromName(saleId));
    await runInDurableObject(draw, async (instance: SaleDraw, state) => {
      expect(instance.entryShards()).toBeNull();
      expect(instance.resultFor("u")).toBeNull();
      expect(instance.rankingPage(1, 10)).toEqual([]);
      expect(instance.rankingRows(1, 10)).toEqual([]);
      expect(await instance.stats()).toBeNull();
      await instance.update({ stock: 3 });
      await instance.alarm();
      expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master").one().n).toBe(0);
      expect(await state.storage.getAlarm()).toBeNull();
    });
    const shard = env.DRAW_ENTRIES.get(env.DRAW_ENTRIES.idFromName(entryShardName(saleId, 0)));
    await runInDurableObject(shard, async (instance: DrawEntries, state) => {
      expect(instance.enter("u")).toMatchObject({ ok: false, code: "NOT_FOUND" });
      expect(instance.entryOf("u")).toBeNull();
      expect(instance.entryCount()).toBe(0);
      await expect(instance.rankEntries("seed")).rejects.toThrow(/never configured/);
      await expect(instance.rankedPage(null, 10)).rejects.toThrow(/never configured/);
      expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master").one().n).toBe(0);
    });
  });

  it("creates its schema on the initialising call", async () => {
    const saleId = crypto.randomUUID();
    const now = Date.now();
    const shard = env.DRAW_ENTRIES.get(env.DRAW_ENTRIES.idFromName(entryShardName(saleId, 0)));
    await runInDurableObject(shard, async (instance: DrawEntries) => {
      instance.configure({ saleId, index: 0, startsAt: now - 1_000, drawAt: now + 60_000 });
      expect(instance.enter("u")).toMatchObject({ ok: true, created: true });
      expect(instance.entryOf("u")).toMatchObject({ closed: false });
    });
  });
});
