/**
 * The memory bound of a shard (issue 13 item 8; docs/capacity.md "Memory per buyer"): a shard holds at most
 * `MAX_BUYERS_PER_SHARD` buyers in memory, never takes stock past that bound, and rebuilds its buyers from
 * storage after a restart. This loads one shard at the full bound (250,000 buyers written as rounds write them),
 * restarts it, and checks buyers are still refused a second order. A Worker cannot read its own heap, so
 * `npm run measure:buyers` measures the heap of the bound's map in Node (docs/capacity.md gives the figures).
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { makeOrderId } from "../../lib/contract/ids.ts";
import { MAX_BUYERS_PER_SHARD, shardObjectName, shardSequence } from "../../lib/server/hot/routing.ts";
import { headroom } from "../../durable-objects/sale-item/shard.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { recordQueue } from "./helpers.ts";

/** The whole bound: what one shard may hold. */
const BUYERS = MAX_BUYERS_PER_SHARD;

describe("a shard at its buyers bound", () => {
  it("asks for no stock past the bound", () => {
    expect(headroom(0, 0)).toBe(MAX_BUYERS_PER_SHARD);
    expect(headroom(MAX_BUYERS_PER_SHARD - 10, 4)).toBe(6);
    expect(headroom(MAX_BUYERS_PER_SHARD, 0)).toBe(0);
    expect(headroom(MAX_BUYERS_PER_SHARD + 5, 3)).toBe(0);
  });

  it(`rebuilds ${BUYERS} buyers after a restart and refuses each a second order`, async () => {
    const saleId = crypto.randomUUID();
    const stub = env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, 1)));
    const users = Array.from(
      { length: BUYERS },
      (_, i) => `buyer-${i.toString().padStart(8, "0")}-${saleId.slice(0, 8)}`,
    );
    await env.SALE_RESERVE.get(env.SALE_RESERVE.idFromName(saleId)).initialize(saleId, BUYERS * 2, [0, BUYERS]);
    await runInDurableObject(stub, (object: SaleItem, state) => {
      recordQueue(object);
      const now = Date.now();
      object.initialize(
        {
          id: saleId,
          title: "bound",
          description: "",
          priceCents: 1,
          currency: "USD",
          stock: BUYERS * 2,
          perUserLimit: 1,
          startsAt: now - 1000,
          endsAt: now + 3_600_000,
          paymentWindowSeconds: 3600,
          shards: 2,
          shard: 1,
        },
        BUYERS,
      );
      // The shard's whole allotment sold, one unit per buyer: written as rounds would write them (orders, no
      // outbox rows: they are confirmed), in one transaction of chunks.
      const sql = state.storage.sql;
      state.storage.transactionSync(() => {
        for (let from = 0; from < BUYERS; from += 5000) {
          const rows = users
            .slice(from, from + 5000)
            .map((u, i) => [makeOrderId(saleId, shardSequence(1, from + i + 1)), u, now, now + 3_600_000]);
          sql.exec(
            `INSERT INTO orders (id, user_id, quantity, price_cents, status, created_at, expires_at, version, persisted_version)
             SELECT value ->> 0, value ->> 1, 1, 1, 'held', value ->> 2, value ->> 3, 1, 1 FROM json_each(?)`,
            JSON.stringify(rows),
          );
        }
        sql.exec("UPDATE sale SET remaining = 0, sequence = ? WHERE id = 1", BUYERS);
      });
    });
    // A fresh instance over the same storage, as after an eviction: every buyer is back in memory.
    await runInDurableObject(stub, async (_object: SaleItem, state) => {
      const { SaleItem: SaleItemClass } = await import("../../durable-objects/sale-item.ts");
      const revived = new SaleItemClass(state, env);
      await state.blockConcurrencyWhile(async () => {});
      revived.assertInvariants();
      expect(revived.shardFigures()).toEqual({ index: 1, stock: BUYERS, remaining: 0, sold: BUYERS });
      for (const userId of [users[0], users[BUYERS >> 1], users[BUYERS - 1]]) {
        const again = await revived.reservePurchase({ userId, quantity: 1 });
        expect(again.ok ? null : again.code).toBe("ALREADY_PURCHASED");
      }
      // And its next order id continues the shard's sequence (no id is ever reused).
      expect(revived.shardStock()!.sold).toBe(BUYERS);
    });
  }, 300_000);
});
