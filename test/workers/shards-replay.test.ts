/**
 * Failed-order replay on a sharded sale (docs/api.md "Hot sales", docs/design.md "Hot sales: the product"): orders
 * on several shards never reach PostgreSQL and are dead-lettered; the merchant replays each through the admin API,
 * every replay reaches the shard named in its order id, each order lands exactly once with its shard's newest state,
 * every shard hears the confirmation (its outbox drains), and the stock invariant still holds.
 *
 * How the failure is made: each shard's ORDERS queue is pointed at a recorder (helpers.ts `recordQueue`), so what
 * the shards send never reaches the consumer; the sale's PostgreSQL row is then removed (the cause) and the very
 * messages the shards sent go through the dead-letter consumer as their last attempt, which fails on the foreign
 * key and writes failed_orders, as in production after the retries run out. Then the cause is fixed, the shards
 * get their queue back, and the merchant replays.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import consumer from "../../queues/consumer.ts";
import { homeShard, shardObjectName } from "../../lib/server/hot/routing.ts";
import type { FailedOrder, Order, OrderMessage } from "../../lib/contract/schemas.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { shardOfOrder } from "../../workers/seckill/shards.ts";
import { ADMIN, call, createSale, database, recordQueue, waitFor } from "./helpers.ts";
import { checkStockInvariant, shopperOn as shopperOnShard } from "./shard-helpers.ts";

const SHARDS = 4;
const STOCK = 8;

/** A shopper on shard `shard` of this file's sales. */
const shopperOn = (shard: number) => shopperOnShard(shard, SHARDS, `r${shard}`);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Buys as a shopper who honours 429 ("more stock is on its way" while a shard refills). */
async function buy(saleId: string, cookie: string): Promise<Order> {
  let last = "";
  for (let attempt = 0; attempt < 200; attempt++) {
    const res = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie });
    const body = (await res.json()) as { order?: Order };
    last = JSON.stringify(body);
    if (res.status === 202) return body.order!;
    expect(res.status).toBe(429);
    await pause(50);
  }
  throw new Error(`no 202: ${last}`);
}

function shardStub(saleId: string, shard: number) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, shard)));
}

/** Points a shard's queue at a recorder; `restore` gives it its real queue back. */
async function divert(saleId: string, shard: number) {
  let original: unknown;
  let recorder!: ReturnType<typeof recordQueue>;
  await runInDurableObject(shardStub(saleId, shard), (object: SaleItem) => {
    original = (object as unknown as { env: unknown }).env;
    recorder = recordQueue(object);
  });
  return {
    recorder,
    restore: () =>
      runInDurableObject(shardStub(saleId, shard), (object: SaleItem) => {
        (object as unknown as { env: unknown }).env = original;
      }),
  };
}

type Stats = {
  sold: number;
  reserve: number;
  outboxDepth: number;
  awaitingDatabase: number;
  shards: { index: number; stock: number; remaining: number; sold: number }[];
};

async function adminStats(saleId: string): Promise<Stats> {
  const res = await call(`/admin/api/sales/${saleId}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sale: { stats: Stats } }).sale.stats;
}

async function replay(id: string) {
  const res = await call(`/admin/api/failed-orders/${id}/replay`, { method: "POST", headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json()) as { replayed: boolean; orderId: string; failedOrder: FailedOrder };
}

describe("failed-order replay on a sale over 4 shards", () => {
  it("lands every dead-lettered order of every shard exactly once, in its shard's newest state", async () => {
    const sale = await createSale({ stock: STOCK, shards: SHARDS, paymentWindowSeconds: 600 });
    const diverted = await Promise.all(Array.from({ length: SHARDS }, (_, i) => divert(sale.id, i)));

    // Five orders on shards 1, 1, 2, 3 and 0 (shard 1's second needs a unit from the reserve); one is paid and
    // one cancelled, so their newest versions are 2.
    const shoppers = await Promise.all([1, 1, 2, 3, 0].map((shard) => shopperOn(shard)));
    const orders: Order[] = [];
    for (const s of shoppers) orders.push(await buy(sale.id, s.cookie));
    expect(orders.map((o) => shardOfOrder(o.id))).toEqual([1, 1, 2, 3, 0]);
    const paid = await call(`/api/orders/${orders[0].id}/pay`, { method: "POST", cookie: shoppers[0].cookie });
    expect(paid.status).toBe(200);
    const cancelled = await call(`/api/orders/${orders[2].id}/cancel`, { method: "POST", cookie: shoppers[2].cookie });
    expect(cancelled.status).toBe(200);
    const expected = new Map<string, { status: string; version: number; userId: string }>([
      [orders[0].id, { status: "paid", version: 2, userId: shoppers[0].userId }],
      [orders[1].id, { status: "confirmed", version: 1, userId: shoppers[1].userId }],
      [orders[2].id, { status: "cancelled", version: 2, userId: shoppers[2].userId }],
      [orders[3].id, { status: "confirmed", version: 1, userId: shoppers[3].userId }],
      [orders[4].id, { status: "confirmed", version: 1, userId: shoppers[4].userId }],
    ]);

    // Every version each shard sent, once per (order, version), from the shard that holds the order.
    const sent = await waitFor("every version sent by its shard", () => {
      const messages = new Map<string, OrderMessage>();
      diverted.forEach(({ recorder }, shard) => {
        for (const m of recorder.sent as OrderMessage[]) {
          expect(shardOfOrder(m.order.id)).toBe(shard);
          messages.set(`${m.order.id}/${m.version}`, m);
        }
      });
      const complete = [...expected].every(([id, e]) => messages.has(`${id}/${e.version}`));
      return Promise.resolve(complete && [...messages.values()]);
    });
    // A version superseded before its shard sent it is never sent (the outbox keeps one row per order).
    expect(sent.length).toBeGreaterThanOrEqual(expected.size);

    // The cause: PostgreSQL lost the sale's row. The last attempt of each message fails, and failed_orders has it.
    const sql = database();
    const [saleRow] = await sql`select * from sales where id = ${sale.id}`;
    await sql`delete from sales where id = ${sale.id}`;
    const batch = createMessageBatch<unknown>(
      "minishop-orders-dlq",
      sent.map((body, i) => ({ id: `dead-${i}`, timestamp: new Date(), attempts: 6, body })),
    );
    const ctx = createExecutionContext();
    await consumer.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(sent.length);
    const ids = [...expected.keys()];
    expect(await sql`select id from orders where id in ${sql(ids)}`).toHaveLength(0);
    const listed = (await (await call("/admin/api/failed-orders", { headers: ADMIN })).json()) as {
      failedOrders: FailedOrder[];
    };
    const failed = listed.failedOrders.filter((f) => f.saleId === sale.id);
    expect(failed).toHaveLength(sent.length);
    expect(new Set(failed.map((f) => shardOfOrder(f.orderId)))).toEqual(new Set([0, 1, 2, 3]));
    for (const f of failed) {
      expect(f).toMatchObject({ landed: false, replayedAt: null, attempts: 6 });
      expect(f.error).toMatch(/foreign key/i);
    }

    // The cause is fixed, the shards have their queue again, and the merchant replays every row, oldest first.
    await sql`insert into sales ${sql(saleRow)}`;
    for (const d of diverted) await d.restore();
    const answers = [];
    for (const f of [...failed].reverse()) answers.push(await replay(f.id));
    for (const [i, a] of answers.entries()) {
      expect(a.orderId).toBe([...failed].reverse()[i].orderId);
      expect(a.failedOrder.replayedAt).not.toBeNull();
      // Sent again exactly when PostgreSQL did not yet have that version (the shard's own re-send may beat a replay).
      expect(a.replayed).toBe(!a.failedOrder.landed);
    }
    expect(answers.some((a) => a.replayed)).toBe(true);

    // Each order lands once, as its shard holds it now; every shard hears it (outboxes drain).
    const rows = await waitFor("every replayed order in PostgreSQL, in its newest version", async () => {
      const r = await sql<
        { id: string; status: string; version: number; user_id: string; sale_id: string }[]
      >`select id, status, version, user_id, sale_id from orders where sale_id = ${sale.id}`;
      return r.length === expected.size && r.every((row) => row.version === expected.get(row.id)?.version) && r;
    });
    expect(rows).toHaveLength(expected.size);
    for (const row of rows) {
      const e = expected.get(row.id)!;
      expect({ status: row.status, version: row.version, userId: row.user_id, saleId: row.sale_id }).toEqual({
        ...e,
        saleId: sale.id,
      });
      expect(shardOfOrder(row.id)).toBe(homeShard(row.user_id, SHARDS));
    }
    await waitFor("every shard's outbox drained", async () => {
      const s = await adminStats(sale.id);
      return s.outboxDepth === 0 && s.awaitingDatabase === 0;
    });
    for (let shard = 0; shard < SHARDS; shard++) {
      await runInDurableObject(shardStub(sale.id, shard), (object: SaleItem) => {
        for (const e of object.ledger("", 100)) {
          expect(e.persistedVersion).toBe(e.version);
          expect(shardOfOrder(e.id)).toBe(shard);
        }
      });
    }

    // Replaying again sends nothing, and the list says every row has landed.
    for (const f of failed)
      expect(await replay(f.id)).toMatchObject({ replayed: false, failedOrder: { landed: true } });
    const after = (await (await call("/admin/api/failed-orders", { headers: ADMIN })).json()) as {
      failedOrders: FailedOrder[];
    };
    for (const f of after.failedOrders.filter((x) => x.saleId === sale.id)) expect(f.landed).toBe(true);
    expect(await sql`select id from orders where sale_id = ${sale.id}`).toHaveLength(expected.size);

    // Replay moved no stock: 4 units sold (held or paid; one cancelled), and the shards and reserve add up.
    const stats = await adminStats(sale.id);
    expect(stats.sold).toBe(4);
    expect(stats.shards.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(stats.shards.reduce((a, s) => a + s.sold, 0)).toBe(4);
    expect(stats.shards.reduce((a, s) => a + s.stock, 0) + stats.reserve).toBe(STOCK);
    await checkStockInvariant(sale.id, SHARDS, STOCK);
  });
});
