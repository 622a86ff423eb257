/**
 * SaleReserve, the stock coordinator of a sharded sale (durable-objects/sale-reserve.ts): its answers are
 * durable, repeatable by seq, and survive a restart with the stock invariant's coordinator half intact.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SaleReserve } from "../../durable-objects/sale-reserve.ts";

function newReserve() {
  const saleId = crypto.randomUUID();
  return { saleId, stub: env.SALE_RESERVE.get(env.SALE_RESERVE.idFromName(`reserve-${saleId}`)) };
}

describe("SaleReserve", () => {
  it("grants blocks from the reserve, replays a repeated request, and applies a release once", async () => {
    const { saleId, stub } = newReserve();
    await runInDurableObject(stub, async (reserve: SaleReserve) => {
      // A sale of 100 over 4 shards: 12 each at the start, 52 in the reserve.
      expect(reserve.initialize(saleId, 100, [12, 12, 12, 12]).reserve).toBe(52);
      expect(reserve.initialize(saleId, 100, [12, 12, 12, 12]).reserve).toBe(52); // a retried create
      expect(() => reserve.initialize(crypto.randomUUID(), 100, [100])).toThrow(/already belongs/);

      const request = { shard: 2, seq: 1, local: 0, rate: 30, wanted: 1, headroom: 250_000 };
      const first = reserve.requestStock(request);
      expect(first.answer).toMatchObject({ seq: 1, units: 30, reserve: 22, soldOut: false });
      // The shard did not get the answer and asks again: the same grant, nothing more taken.
      expect(reserve.requestStock(request).answer).toEqual(first.answer);
      expect(reserve.stats().reserve).toBe(22);

      const release = { shard: 1, seq: 1, units: 5, local: 7, received: 12, rate: 0 };
      reserve.releaseStock(release);
      reserve.releaseStock(release);
      const stats = reserve.stats();
      expect(stats.reserve).toBe(27);
      expect(stats.shards[1]).toEqual({ index: 1, granted: 12, released: 5, reportedLocal: 7 });
      expect(stats.shards[2]).toMatchObject({ granted: 42, released: 0 });
      // The coordinator's half of the invariant: reserve + Σ (granted − released) = stock.
      expect(stats.reserve + stats.shards.reduce((a, s) => a + s.granted - s.released, 0)).toBe(100);
    });
  });

  it("keeps every answer across a restart (memory is rebuilt from storage)", async () => {
    const { saleId, stub } = newReserve();
    await runInDurableObject(stub, async (reserve: SaleReserve) => {
      reserve.initialize(saleId, 10, [3, 3]);
      reserve.requestStock({ shard: 0, seq: 1, local: 0, rate: 100, wanted: 1, headroom: 250_000 });
    });
    await runInDurableObject(stub, async (_reserve: SaleReserve, state) => {
      const { SaleReserve: SaleReserveClass } = await import("../../durable-objects/sale-reserve.ts");
      const revived = new SaleReserveClass(state, env);
      await state.blockConcurrencyWhile(async () => {});
      expect(revived.stats()).toMatchObject({ saleId, stock: 10, reserve: 0 });
      // The repeated request after the restart still gets the same 4 units, not 4 more.
      const again = revived.requestStock({ shard: 0, seq: 1, local: 0, rate: 100, wanted: 1, headroom: 250_000 });
      expect(again.answer).toMatchObject({ units: 4, reserve: 0 });
    });
  });

  it("says sold out only when the reserve is empty and every shard reported none", async () => {
    const { saleId, stub } = newReserve();
    await runInDurableObject(stub, async (reserve: SaleReserve) => {
      reserve.initialize(saleId, 4, [2, 2]);
      reserve.releaseStock({ shard: 0, seq: 1, units: 0, local: 0, received: 2, rate: 5 });
      // Shard 1 still reported 2: not sold out; the answer names it to be asked for stock back.
      const ask = reserve.requestStock({ shard: 0, seq: 1, local: 0, rate: 5, wanted: 1, headroom: 250_000 });
      expect(ask.answer).toMatchObject({ units: 0, soldOut: false });
      expect(ask.reclaimFrom).toEqual([1]);
      reserve.releaseStock({ shard: 1, seq: 1, units: 0, local: 0, received: 2, rate: 0 });
      expect(reserve.stats().soldOut).toBe(true);
      // An order at shard 1 is cancelled: it reports its unit and the verdict lifts.
      expect(reserve.releaseStock({ shard: 1, seq: 2, units: 1, local: 0, received: 2, rate: 0 }).soldOut).toBe(false);
      expect(reserve.stats().reserve).toBe(1);
    });
  });
});
