/**
 * The order consumer against a real PostgreSQL: at-least-once delivery must end in exactly one row per
 * order, at its newest version, whatever the duplicates, orderings and bad neighbours in a batch.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import consumer from "../../queues/consumer.ts";
import { makeOrderId } from "../../lib/contract/ids.ts";
import { retryDelaySeconds } from "../../queues/persist.ts";
import type { OrderMessage, OrderStatus } from "../../lib/contract/schemas.ts";
import { ADMIN, call, createSale, database, saleObject } from "./helpers.ts";

let sequence = 0;

function message(
  saleId: string,
  overrides: { id?: string; userId?: string; status?: OrderStatus; version?: number; traceId?: string } = {},
): OrderMessage {
  const now = Date.now();
  return {
    kind: "order",
    version: overrides.version ?? 1,
    traceId: overrides.traceId,
    order: {
      id: overrides.id ?? makeOrderId(saleId, ++sequence),
      saleId,
      userId: overrides.userId ?? crypto.randomUUID(),
      quantity: 1,
      priceCents: 1000,
      unitPriceCents: 1000,
      totalCents: 1000,
      status: overrides.status ?? "confirmed",
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 900_000).toISOString(),
    },
  };
}

async function deliver(bodies: OrderMessage[], attempts = 1) {
  const batch = createMessageBatch<unknown>(
    "minishop-orders",
    bodies.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await consumer.queue(batch, env, ctx);
  return { batch, result: await getQueueResult(batch, ctx) };
}

async function rowsOf(saleId: string) {
  const sql = database();
  return await sql<{ id: string; status: string; version: number; trace_id: string | null }[]>`
    select id, status, version, trace_id from orders where sale_id = ${saleId} order by id`;
}

describe("order consumer", () => {
  it("writes a batch once, however often it is delivered", async () => {
    const sale = await createSale();
    const bodies = [message(sale.id), message(sale.id), message(sale.id)];
    // The same messages delivered twice, and duplicated inside one batch.
    await deliver([...bodies, bodies[0]]);
    const { result } = await deliver(bodies, 2);
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toHaveLength(0);
    const rows = await rowsOf(sale.id);
    expect(rows.map((r) => r.id)).toEqual(bodies.map((b) => b.order.id).sort());
  });

  it("keeps the newest version, whatever the order of delivery", async () => {
    const sale = await createSale();
    const v1 = message(sale.id, { version: 1, status: "confirmed" });
    const v2 = { ...message(sale.id, { id: v1.order.id, userId: v1.order.userId, version: 2, status: "paid" }) };
    // The newer state first, the older one late: the row stays at version 2.
    await deliver([v2]);
    await deliver([v1]);
    const rows = await rowsOf(sale.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "paid", version: 2 });
    // Both versions in one batch.
    const other = message(sale.id, { version: 1 });
    const otherPaid = message(sale.id, {
      id: other.order.id,
      userId: other.order.userId,
      version: 3,
      status: "expired",
    });
    await deliver([otherPaid, other]);
    const after = await rowsOf(sale.id);
    expect(after.find((r) => r.id === other.order.id)).toMatchObject({ status: "expired", version: 3 });
  });

  it("acks the good messages of a partly bad batch and retries only the bad one", async () => {
    const sale = await createSale();
    const good = [message(sale.id), message(sale.id)];
    // An order for a sale PostgreSQL does not know violates the foreign key.
    const bad = message(crypto.randomUUID());
    const { batch, result } = await deliver([good[0], bad, good[1]], 3);
    const badId = batch.messages[1].id;
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([badId]);
    // Exponential delay: attempt 3 → 4 s.
    // Exponential delay: the third attempt waits 4 s, then 8, 16 … capped at a minute.
    expect([1, 2, 3, 4, 10].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 60]);
    expect(result.explicitAcks.sort()).toEqual([batch.messages[0].id, batch.messages[2].id].sort());
    expect((await rowsOf(sale.id)).map((r) => r.id).sort()).toEqual(good.map((g) => g.order.id).sort());
  });

  it("dead-letters an order that collides on unique (sale, shopper), never confirms it, and counts it", async () => {
    const sale = await createSale();
    const userId = crypto.randomUUID();
    const first = message(sale.id, { userId });
    const second = message(sale.id, { userId });
    // The consumer's calls to the sale objects, recorded (and passed on).
    const calls: { method: string; items: { orderId: string }[] }[] = [];
    type Rpc = Record<string, (...args: unknown[]) => Promise<unknown>>;
    const seckill = new Proxy(env.SECKILL, {
      get(target, prop: string) {
        const rpc = target as unknown as Rpc;
        return (...args: unknown[]) => {
          if (prop === "confirmPersisted" || prop === "reportOrderConflicts")
            calls.push({ method: prop, items: args[1] as { orderId: string }[] });
          return rpc[prop](...args);
        };
      },
    });
    const deliverWith = async (bodies: OrderMessage[]) => {
      const batch = createMessageBatch<unknown>(
        "minishop-orders",
        bodies.map((body, i) => ({ id: `c${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
      );
      const ctx = createExecutionContext();
      await consumer.queue(batch, { ...env, SECKILL: seckill }, ctx);
      return await getQueueResult(batch, ctx);
    };
    // The first order lands; a second order for the same shopper (another id) arrives later.
    await deliverWith([first]);
    const result = await deliverWith([second]);
    // Acked (a retry cannot change the answer), but confirmed to nobody: only reported as a conflict.
    expect(result.retryMessages).toHaveLength(0);
    expect(result.explicitAcks).toHaveLength(1);
    const confirmed = calls
      .filter((c) => c.method === "confirmPersisted")
      .flatMap((c) => c.items.map((i) => i.orderId));
    expect(confirmed).toEqual([first.order.id]);
    expect(
      calls.filter((c) => c.method === "reportOrderConflicts").flatMap((c) => c.items.map((i) => i.orderId)),
    ).toEqual([second.order.id]);
    // PostgreSQL keeps the first; the second is in failed_orders with the reason, once, however often it comes.
    expect((await rowsOf(sale.id)).map((r) => r.id)).toEqual([first.order.id]);
    await deliverWith([second]);
    const failed = await database()<
      { error: string }[]
    >`select error from failed_orders where order_id = ${second.order.id}`;
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatch(/^CONFLICT unique \(sale_id, user_id\): .*already has order/);
    expect(failed[0].error).toContain(first.order.id);
    // Counted in the sale's object, and exposed in /metrics.
    const stats = await saleObject(sale.id).getStats();
    expect(stats!.stats.orderConflicts).toBe(2);
    const metrics = await (await call("/metrics", { headers: ADMIN })).text();
    expect(metrics).toContain(`minishop_order_conflicts_total{sale="${sale.id}"`);
    // Both in one batch: one lands, the other is the conflict.
    const userB = crypto.randomUUID();
    const pair = [message(sale.id, { userId: userB }), message(sale.id, { userId: userB })];
    await deliverWith(pair);
    const landed = (await rowsOf(sale.id)).filter((r) => pair.some((p) => p.order.id === r.id));
    expect(landed).toHaveLength(1);
    const other = pair.find((p) => p.order.id !== landed[0].id)!;
    expect(
      await database()<
        { n: number }[]
      >`select count(*)::int as n from failed_orders where order_id = ${other.order.id}`,
    ).toEqual([{ n: 1 }]);
  });

  it("stores the trace id with the order", async () => {
    const sale = await createSale();
    const traced = message(sale.id, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736" });
    await deliver([traced]);
    expect((await rowsOf(sale.id))[0].trace_id).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("writes text with quotes and backslashes exactly (the batch travels as one SQL literal)", async () => {
    const sale = await createSale();
    const awkward = `it's a \\ trace "id" \\'; drop table orders; --`;
    await deliver([message(sale.id, { traceId: awkward })]);
    expect((await rowsOf(sale.id))[0].trace_id).toBe(awkward);
  });

  it("acks and drops a malformed message instead of retrying it forever", async () => {
    const batch = createMessageBatch<unknown>("minishop-orders", [
      { id: "junk", timestamp: new Date(), attempts: 1, body: { hello: "world" } },
    ]);
    const ctx = createExecutionContext();
    await consumer.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["junk"]);
  });

  it("records a dead letter it still cannot write in failed_orders", async () => {
    const bad = message(crypto.randomUUID());
    const batch = createMessageBatch<unknown>("minishop-orders-dlq", [
      { id: "dead", timestamp: new Date(), attempts: 1, body: bad },
    ]);
    const ctx = createExecutionContext();
    await consumer.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["dead"]);
    const sql = database();
    const rows = await sql<
      { order_id: string; error: string }[]
    >`select order_id, error from failed_orders where order_id = ${bad.order.id}`;
    expect(rows).toHaveLength(1);
    expect(rows[0].error).toMatch(/foreign key/i);
  });
});
