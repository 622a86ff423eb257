/**
 * The SaleItem object on its own, inside workerd: stock, one order per shopper, sold out, lifecycle, and the
 * outbox row written in the same transaction as the order.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SaleConfig, SaleItem } from "../../durable-objects/sale-item.ts";
import { recordQueue } from "./helpers.ts";

function newSale(overrides: Partial<SaleConfig> = {}) {
  const id = crypto.randomUUID();
  const now = Date.now();
  const config = {
    id,
    title: "Unit phone",
    description: "",
    priceCents: 1000,
    currency: "USD",
    stock: 3,
    perUserLimit: 1,
    startsAt: now - 1000,
    endsAt: now + 3_600_000,
    paymentWindowSeconds: 900,
    ...overrides,
  };
  const stub = env.SALE_ITEM.get(env.SALE_ITEM.idFromName(id));
  return { id, config, stub };
}

function count(instance: SaleItem, table: "orders" | "outbox"): number {
  // The object's own storage, read from inside it.
  return (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql
    .exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)
    .one().n;
}

describe("SaleItem", () => {
  it("decrements stock once per purchase and writes order and outbox row together", async () => {
    const { config, stub } = newSale({ stock: 3 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      // One purchase: stock down by one, one order row and one outbox row.
      const result = await instance.reservePurchase({ userId: "u1", quantity: 1 });
      expect(result.ok).toBe(true);
      expect(instance.getSale()!.remaining).toBe(2);
      expect(count(instance, "orders")).toBe(1);
      expect(count(instance, "outbox")).toBe(1);
    });
  });

  it("rolls back the whole purchase when any of its writes fails", async () => {
    const { config, stub } = newSale({ stock: 3 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      // Make the outbox insert fail: the order insert before it must be undone with it.
      sql.exec("CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox down'); END");
      await expect(instance.reservePurchase({ userId: "u1", quantity: 1 })).rejects.toThrow(/outbox down/);
      expect(count(instance, "orders")).toBe(0);
      expect(count(instance, "outbox")).toBe(0);
      expect(instance.getSale()!.remaining).toBe(3);
      // And the shopper is not recorded as a buyer: once the outbox works again, they can buy.
      sql.exec("DROP TRIGGER fail_outbox");
      expect((await instance.reservePurchase({ userId: "u1", quantity: 1 })).ok).toBe(true);
      expect(instance.getSale()!.remaining).toBe(2);
    });
  });

  it("gives one order per shopper, replays an Idempotency-Key and refuses other repeats", async () => {
    const { config, stub } = newSale({ stock: 5 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      const first = await instance.reservePurchase({ userId: "u1", quantity: 1, idempotencyKey: "k1" });
      const replay = await instance.reservePurchase({ userId: "u1", quantity: 1, idempotencyKey: "k1" });
      const other = await instance.reservePurchase({ userId: "u1", quantity: 1, idempotencyKey: "k2" });
      const bare = await instance.reservePurchase({ userId: "u1", quantity: 1 });
      expect(first.ok && replay.ok && replay.replayed && replay.order.id === first.order.id).toBe(true);
      expect(other.ok ? null : other.code).toBe("ALREADY_PURCHASED");
      expect(bare.ok ? null : bare.code).toBe("ALREADY_PURCHASED");
      expect(instance.getSale()!.remaining).toBe(4);
      expect(count(instance, "orders")).toBe(1);
    });
  });

  it("sells exactly the stock and then answers SOLD_OUT", async () => {
    const { config, stub } = newSale({ stock: 2 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      // Four shoppers at once: the first two share a group commit, the others see the stock already taken.
      const results = await Promise.all(
        ["a", "b", "c", "d"].map((u) => instance.reservePurchase({ userId: u, quantity: 1 })),
      );
      expect(results.map((r) => (r.ok ? "ok" : r.code))).toEqual(["ok", "ok", "SOLD_OUT", "SOLD_OUT"]);
      expect(instance.getSale()!.status).toBe("sold_out");
      expect(instance.getStats()!.stats.rejected.soldOut).toBe(2);
    });
  });

  it("enforces quantity limits and partial stock", async () => {
    const { config, stub } = newSale({ stock: 3, perUserLimit: 2 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      const tooMany = await instance.reservePurchase({ userId: "a", quantity: 3 });
      expect(tooMany.ok ? null : tooMany.code).toBe("VALIDATION_FAILED");
      expect((await instance.reservePurchase({ userId: "a", quantity: 2 })).ok).toBe(true);
      const short = await instance.reservePurchase({ userId: "b", quantity: 2 });
      expect(short.ok ? null : short.code).toBe("INSUFFICIENT_STOCK");
      expect((await instance.reservePurchase({ userId: "b", quantity: 1 })).ok).toBe(true);
      expect(instance.getSale()!.remaining).toBe(0);
    });
  });

  it("follows the lifecycle: scheduled → live → ended, and paused by the merchant", async () => {
    const now = Date.now();
    const { config, stub } = newSale({ startsAt: now + 60_000, endsAt: now + 120_000 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      let t = now;
      instance.clock = () => t;
      const code = async (u: string) => {
        const r = await instance.reservePurchase({ userId: u, quantity: 1 });
        return r.ok ? "ok" : r.code;
      };
      // Before the start.
      expect(instance.getSale()!.status).toBe("scheduled");
      expect(await code("a")).toBe("NOT_STARTED");
      // Live.
      t = now + 60_000;
      expect(instance.getSale()!.status).toBe("live");
      // Paused, then resumed.
      instance.setPaused(true);
      expect(await code("b")).toBe("PAUSED");
      instance.setPaused(false);
      expect(await code("b")).toBe("ok");
      // Ended.
      t = now + 120_000;
      expect(instance.getSale()!.status).toBe("ended");
      expect(await code("c")).toBe("ENDED");
    });
  });

  it("expires unpaid orders in the alarm and returns their stock; pay after expiry is ORDER_EXPIRED", async () => {
    const { config, stub } = newSale({ stock: 1, paymentWindowSeconds: 1 });
    const orderId = await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      const r = await instance.reservePurchase({ userId: "a", quantity: 1 });
      if (!r.ok) throw new Error(r.code);
      expect(instance.getSale()!.status).toBe("sold_out");
      // Let the payment window pass.
      const later = Date.now() + 2_000;
      instance.clock = () => later;
      return r.order.id;
    });
    // The alarm expires it.
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, async (instance: SaleItem) => {
      expect(instance.getSale()!.remaining).toBe(1);
      expect(instance.getSale()!.status).toBe("live");
      const pay = await instance.payOrder(orderId, "a");
      expect(pay.ok ? null : pay.code).toBe("ORDER_EXPIRED");
    });
  });

  it("pays within the window and keeps the stock; cancel returns it", async () => {
    const { config, stub } = newSale({ stock: 2 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      const a = await instance.reservePurchase({ userId: "a", quantity: 1 });
      const b = await instance.reservePurchase({ userId: "b", quantity: 1 });
      if (!a.ok || !b.ok) throw new Error("purchase failed");
      const paid = await instance.payOrder(a.order.id, "a");
      expect(paid.ok && paid.order.status).toBe("paid");
      // Someone else's order is not found, whatever its state.
      expect((await instance.payOrder(b.order.id, "a")).ok).toBe(false);
      const cancelled = await instance.cancelOrder(b.order.id, "b");
      expect(cancelled.ok && cancelled.order.status).toBe("cancelled");
      expect(instance.getSale()!.remaining).toBe(1);
      const notCancellable = await instance.cancelOrder(a.order.id, "a");
      expect(notCancellable.ok ? null : notCancellable.code).toBe("ORDER_NOT_CANCELLABLE");
    });
  });

  it("keeps the outbox row until PostgreSQL confirms that version", async () => {
    const { config, stub } = newSale({ stock: 2 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      const r = await instance.reservePurchase({ userId: "a", quantity: 1 });
      if (!r.ok) throw new Error(r.code);
      // A newer version (paid) is written before the first one is confirmed.
      await instance.payOrder(r.order.id, "a");
      instance.confirmPersisted([{ orderId: r.order.id, version: 1 }]);
      expect(count(instance, "outbox")).toBe(1);
      instance.confirmPersisted([{ orderId: r.order.id, version: 2 }]);
      expect(count(instance, "outbox")).toBe(0);
      expect(instance.getStats()!.stats.awaitingDatabase).toBe(0);
    });
  });

  it("rebuilds memory from storage after a restart", async () => {
    const { config, stub } = newSale({ stock: 2 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      recordQueue(instance);
      instance.initialize(config);
      await instance.reservePurchase({ userId: "a", quantity: 1 });
    });
    // A fresh instance over the same storage, as after an eviction or a crash.
    await runInDurableObject(stub, async (_instance: SaleItem, state) => {
      const { SaleItem: SaleItemClass } = await import("../../durable-objects/sale-item.ts");
      const revived = new SaleItemClass(state, env);
      await state.blockConcurrencyWhile(async () => {});
      const again = await revived.reservePurchase({ userId: "a", quantity: 1 });
      expect(again.ok ? null : again.code).toBe("ALREADY_PURCHASED");
      expect(revived.getSale()!.remaining).toBe(1);
    });
  });

  it("drains the outbox in batches of at most 100, and keeps every row until it is confirmed", async () => {
    const { config, stub } = newSale({ stock: 500 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      const queue = recordQueue(instance);
      instance.initialize(config);
      await Promise.all(
        Array.from({ length: 250 }, (_, i) => instance.reservePurchase({ userId: `u${i}`, quantity: 1 })),
      );
      // An alarm run sends at most 200 rows (short runs keep purchases flowing), the next one the rest.
      await instance.alarm();
      expect(queue.batches).toEqual([100, 100]);
      await instance.alarm();
      expect(queue.batches).toEqual([100, 100, 50]);
      expect(new Set(queue.sent.map((m) => (m as { order: { id: string } }).order.id)).size).toBe(250);
      // Sent is not confirmed: the rows stay, due again later, until the consumer confirms.
      expect(count(instance, "outbox")).toBe(250);
      await instance.alarm();
      expect(queue.sent).toHaveLength(250);
    });
  });

  it("keeps rows whose batch the queue refused and retries them with backoff", async () => {
    const { config, stub } = newSale({ stock: 5 });
    await runInDurableObject(stub, async (instance: SaleItem) => {
      const queue = recordQueue(instance);
      instance.initialize(config);
      let t = Date.now();
      instance.clock = () => t;
      await instance.reservePurchase({ userId: "a", quantity: 1 });
      // The queue refuses: nothing sent, the row stays.
      queue.refuse = true;
      await instance.alarm();
      expect(queue.sent).toHaveLength(0);
      expect(count(instance, "outbox")).toBe(1);
      // Not due again at once (backoff), due after a second.
      queue.refuse = false;
      await instance.alarm();
      expect(queue.sent).toHaveLength(0);
      t += 1_100;
      await instance.alarm();
      expect(queue.sent).toHaveLength(1);
    });
  });
});
