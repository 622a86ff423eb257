/**
 * One focused test per way the SaleItem object broke its promises while purchases were still in flight
 * (found by the concurrent model test, model-concurrent.test.ts), with the object's commits held in flight by
 * the test (concurrent-harness.ts), and the replay promise over HTTP through the gateway.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { PurchaseResult, SaleItem } from "../../durable-objects/sale-item.ts";
import { resetGuards } from "../../workers/gateway/context.ts";
import { makeWorld, saleConfig, settle, storageView } from "./concurrent-harness.ts";
import { call, createSale, purchase, recordQueue, saleObject, shopper } from "./helpers.ts";
import type { OrderMessage } from "../../lib/contract/schemas.ts";
import { env } from "cloudflare:workers";

afterEach(() => resetGuards());

function objectOf(id: string) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(id));
}

describe("SaleItem: storage holds committed state only", () => {
  it("strands no stock when a pause writes the sale while a purchase waits for the next round, then restarts", async () => {
    const config = saleConfig({ stock: 3 });
    await runInDurableObject(objectOf(config.id), async (instance: SaleItem, state) => {
      const w = await makeWorld(state, config, Date.now(), instance);
      // One purchase is written (its round in flight), a second waits for the next round in memory.
      const first = w.item.reservePurchase({ userId: "a", quantity: 1 });
      const second = w.item.reservePurchase({ userId: "b", quantity: 1 });
      await settle();
      // The merchant pauses: the sale's row is written while b's unit is reserved in memory only.
      w.item.setPaused(true);
      let s = storageView(w.sql);
      expect(s.holding + s.remaining).toBe(3);
      // The alarm writes the counters too.
      await w.item.alarm();
      s = storageView(w.sql);
      expect(s.holding + s.remaining).toBe(3);
      // The instance dies before b's round is written: b never got a 202, and its unit is not lost. Both
      // outcomes are taken before the restart rejects them (a rejection nobody holds yet is reported unhandled).
      const outcomes = Promise.allSettled([first, second]);
      await w.restart();
      const [a, b] = await outcomes;
      expect(a).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/reset/) } });
      expect(b).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/reset/) } });
      expect(w.item.getSale()!.remaining).toBe(2);
      s = storageView(w.sql);
      expect(s).toMatchObject({ holding: 1, remaining: 2 });
    });
  });

  it("rolls a failed round back in memory and leaves nothing of it in storage", async () => {
    const config = saleConfig({ stock: 3 });
    await runInDurableObject(objectOf(config.id), async (instance: SaleItem, state) => {
      const w = await makeWorld(state, config, Date.now(), instance);
      const first = w.item.reservePurchase({ userId: "a", quantity: 1 });
      const second = w.item.reservePurchase({ userId: "b", quantity: 2 });
      await settle();
      w.item.setPaused(false);
      // b's round will fail to write.
      w.failNextTransaction();
      w.settleOne();
      await expect(first).resolves.toMatchObject({ ok: true });
      await expect(second).rejects.toThrow(/injected/);
      const s = storageView(w.sql);
      expect(s).toMatchObject({ holding: 1, remaining: 2 });
      expect(w.item.getSale()!.remaining).toBe(2);
      // After a restart nothing changes: memory was a copy of storage.
      await w.restart();
      expect(w.item.getSale()!.remaining).toBe(2);
    });
  });
});

describe("SaleItem: nothing changes an order that is not yet durable", () => {
  it("does not expire an order whose round is still to be written, so nothing is sold twice", async () => {
    const config = saleConfig({ stock: 2, paymentWindowSeconds: 1 });
    await runInDurableObject(objectOf(config.id), async (instance: SaleItem, state) => {
      const w = await makeWorld(state, config, Date.now(), instance);
      const answers: PromiseSettledResult<PurchaseResult>[] = [];
      const track = (p: Promise<PurchaseResult>) =>
        p.then(
          (v) => answers.push({ status: "fulfilled", value: v }),
          (e: unknown) => answers.push({ status: "rejected", reason: e }),
        );
      track(w.item.reservePurchase({ userId: "a", quantity: 1 }));
      track(w.item.reservePurchase({ userId: "b", quantity: 1 }));
      await settle();
      // The payment window passes while b's order is reserved in memory only; b reads its orders.
      w.clock.now += 1_500;
      const read = Promise.resolve(w.item.getOrderForUser("b"));
      await settle();
      // Nothing of b is in storage yet, so nothing may have been written about it.
      let s = storageView(w.sql);
      expect(s.orphans).toBe(0);
      expect(s.holding + s.remaining).toBe(2);
      // The rounds become durable; then a third shopper buys.
      while (w.settleOne()) await settle();
      await read;
      track(w.item.reservePurchase({ userId: "c", quantity: 1 }));
      while (w.settleOne()) await settle();
      await w.item.alarm();
      while (w.settleOne()) await settle();
      s = storageView(w.sql);
      expect(s.orphans).toBe(0);
      expect(s.holding + s.remaining).toBe(2);
      expect(s.holding).toBeLessThanOrEqual(2);
      // Every shopper's answer is a 202 (b's order expired after it was written, which returned its unit to c).
      expect(answers.map((a) => (a.status === "fulfilled" && a.value.ok ? "ok" : "no"))).toEqual(["ok", "ok", "ok"]);
    });
  });

  it("answers ALREADY_PURCHASED only with an order that is durable", async () => {
    const config = saleConfig({ stock: 3 });
    await runInDurableObject(objectOf(config.id), async (instance: SaleItem, state) => {
      const w = await makeWorld(state, config, Date.now(), instance);
      void w.item.reservePurchase({ userId: "a", quantity: 1 });
      const first = w.item.reservePurchase({ userId: "b", quantity: 1, idempotencyKey: "k" });
      await settle();
      // b clicks again without the key while its first order still waits for its round.
      const again = w.item.reservePurchase({ userId: "b", quantity: 1 });
      let answered = false;
      void again.then(() => (answered = true));
      await settle();
      expect(answered).toBe(false);
      while (w.settleOne()) await settle();
      const result = await again;
      const order = await first;
      expect(result.ok ? "ok" : result.code).toBe("ALREADY_PURCHASED");
      expect(!result.ok && (result.details as { orderId: string }).orderId).toBe(order.ok && order.order.id);
    });
  });
});

describe("the replay promise at the edge", () => {
  it("gives the last unit's buyer its 202 again after the sell-out, and still sheds everyone else", async () => {
    const sale = await createSale({ stock: 1 });
    const buyer = await shopper();
    const other = await shopper();
    const key = crypto.randomUUID();
    const first = await purchase(sale.id, buyer.cookie, { headers: { "Idempotency-Key": key } });
    expect(first.status).toBe(202);
    // Sold out now, and the edge knows it.
    expect(
      (await purchase(sale.id, other.cookie, { headers: { "Idempotency-Key": crypto.randomUUID() } })).status,
    ).toBe(410);
    // The same request again (a retry after a network error): the first 202, same order.
    const replay = await call(`/api/sales/${sale.id}/purchase`, {
      method: "POST",
      cookie: buyer.cookie,
      headers: { "Idempotency-Key": key },
    });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await replay.json()) as { order: { id: string } }).order.id).toBe(first.body.order!.id);
    // Without the key, or with another, the buyer is not given a second order.
    expect((await purchase(sale.id, buyer.cookie)).status).toBe(410);
    const attemptsBefore = (await saleObject(sale.id).getStats())!.stats.attempts;
    // Shoppers without an order are shed at the edge, key or not: the object sees none of them.
    for (let i = 0; i < 5; i++) {
      expect((await purchase(sale.id, other.cookie, { headers: { "Idempotency-Key": `k${i}` } })).status).toBe(410);
      expect((await purchase(sale.id, other.cookie)).status).toBe(410);
    }
    expect((await saleObject(sale.id).getStats())!.stats.attempts).toBe(attemptsBefore);
  });
});

describe("SaleItem: the alarm survives its own run", () => {
  // The runtime's rule: an alarm run that writes no new alarm time ends that alarm. Setting the stored alarm to the
  // value it already holds writes nothing, so a run that re-armed for the time it fired at lost its alarm while the
  // object's memo (and storage) still said "pending": in `npm run soak` every sale's alarm died at its first expiry
  // (the alarm is armed for the expiry, and the run expires the order at `now` = that time and arms for `now`), and
  // nothing it wrote afterwards — pays, cancels, expiries, new orders — reached PostgreSQL.
  // The test calls alarm() as the runtime does, with the object's clock at the time the stored alarm was set for,
  // and looks at the alarm storage holds afterwards; the runtime's own alarms are a minute away.
  it("re-arms for a time after the one it fired at, and sets a lost alarm again", async () => {
    const config = saleConfig({ stock: 5, paymentWindowSeconds: 1 });
    await runInDurableObject(objectOf(config.id), async (instance: SaleItem, state) => {
      const expiry = Date.now() + 60_000;
      instance.clock = () => expiry - 1000;
      instance.initialize(config);
      const queue = recordQueue(instance);
      const sent = (status: string) => (queue.sent as OrderMessage[]).filter((m) => m.order.status === status).length;
      for (const userId of ["a", "b"]) {
        expect(await instance.reservePurchase({ userId, quantity: 1 })).toMatchObject({ ok: true });
      }
      // The run 50 ms after the purchases sends them and arms for their expiry.
      await instance.alarm();
      expect(sent("confirmed")).toBe(2);
      expect(await state.storage.getAlarm()).toBe(expiry);
      // The runtime fires that alarm in its very millisecond: both orders expire at `now` = the alarm's time.
      instance.clock = () => expiry;
      await instance.alarm();
      expect(sent("expired")).toBe(2);
      const next = await state.storage.getAlarm();
      expect(next).not.toBeNull();
      expect(next!).toBeGreaterThan(expiry);
      // An alarm the runtime lost anyway (storage and memo say pending, nothing will fire): once it is long past its
      // time, the next thing that needs the alarm sets it again.
      await state.storage.deleteAlarm();
      instance.clock = () => expiry + 20_000;
      expect(await instance.reservePurchase({ userId: "c", quantity: 1 })).toMatchObject({ ok: true });
      expect(await state.storage.getAlarm()).toBe(expiry + 20_050);
      await instance.alarm();
      expect(sent("confirmed")).toBe(3);
      instance.assertInvariants();
      await state.storage.deleteAlarm();
    });
  });
});
