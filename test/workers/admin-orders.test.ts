/**
 * The admin Worker's PostgreSQL side: orders with keyset pagination across pages and as a streamed CSV
 * (a few thousand rows written straight into PostgreSQL), failed orders from the dead-letter consumer, and
 * their replay, which writes an order once however often it is replayed.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import consumer from "../../queues/consumer.ts";
import { csvLine } from "../../workers/admin/csv.ts";
import type { FailedOrder as SharedFailedOrder, Order, OrderMessage } from "../../lib/contract/schemas.ts";
import { ADMIN, call, createSale, database, purchase, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Page = { orders: Order[]; nextCursor: string | null };
type FailedOrder = SharedFailedOrder & { payload: OrderMessage };

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as ErrorBody).error.code).toBe(code);
}

/**
 * Writes `n` orders of a sale straight into PostgreSQL, with ids shaped as the object makes them (the sale's
 * hex id, an 8-hex sequence number, 8 random hex digits). Returns the ids in order.
 */
async function insertOrders(saleId: string, n: number, status = "confirmed"): Promise<string[]> {
  const sql = database();
  const hex = saleId.replaceAll("-", "");
  const now = Date.now();
  const rows = Array.from({ length: n }, (_, i) => ({
    id: hex + (i + 1).toString(16).padStart(8, "0") + crypto.randomUUID().slice(0, 8),
    sale_id: saleId,
    user_id: crypto.randomUUID(),
    quantity: 1 + (i % 3),
    price_cents: 1_000 * (1 + (i % 3)),
    status,
    version: 1,
    created_at: new Date(now + i),
    expires_at: new Date(now + i + 900_000),
  }));
  for (let i = 0; i < rows.length; i += 1000) await sql`insert into orders ${sql(rows.slice(i, i + 1000))}`;
  return rows.map((r) => r.id);
}

describe("orders from PostgreSQL", () => {
  it("pages through a few thousand orders with keyset cursors, each exactly once, in id order", async () => {
    // A sale with 2,345 orders in PostgreSQL, and a neighbour sale whose orders must not leak in.
    const sale = await createSale({ stock: 10_000 });
    const ids = await insertOrders(sale.id, 2_345);
    const other = await createSale({ stock: 10 });
    const otherIds = await insertOrders(other.id, 3);

    // Walk the pages of 500: five pages, the last one without a cursor.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(`/admin/api/sales/${sale.id}/orders?limit=500${cursor ? `&cursor=${cursor}` : ""}`, {
        headers: ADMIN,
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      pages++;
      expect(page.orders.length).toBe(pages < 5 ? 500 : 345);
      for (const o of page.orders) expect(o.saleId).toBe(sale.id);
      seen.push(...page.orders.map((o) => o.id));
      cursor = page.nextCursor;
      if (cursor) expect(cursor).toBe(page.orders[page.orders.length - 1].id);
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(ids);

    // The default page is 100, with a cursor to the next.
    const first = (await (await call(`/admin/api/sales/${sale.id}/orders`, { headers: ADMIN })).json()) as Page;
    expect(first.orders.map((o) => o.id)).toEqual(ids.slice(0, 100));
    expect(first.nextCursor).toBe(ids[99]);
    // An order's fields, as the contract shapes them.
    expect(first.orders[1]).toMatchObject({ saleId: sale.id, quantity: 2, priceCents: 2_000, status: "confirmed" });
    expect(Date.parse(first.orders[1].createdAt)).not.toBeNaN();

    // An exact multiple of the page size ends without a cursor.
    const tail = (await (
      await call(`/admin/api/sales/${sale.id}/orders?limit=345&cursor=${ids[1_999]}`, { headers: ADMIN })
    ).json()) as Page;
    expect(tail.orders.map((o) => o.id)).toEqual(ids.slice(2_000));
    expect(tail.nextCursor).toBeNull();

    // The neighbour sees only its own.
    const theirs = (await (
      await call(`/admin/api/sales/${other.id}/orders?limit=500`, { headers: ADMIN })
    ).json()) as Page;
    expect(theirs.orders.map((o) => o.id)).toEqual(otherIds);
    expect(theirs.nextCursor).toBeNull();
  });

  it("refuses bad paging parameters and unknown sales", async () => {
    const sale = await createSale();
    for (const query of [
      "limit=0",
      "limit=501",
      "limit=abc",
      "cursor=nope",
      `cursor=${"g".repeat(48)}`,
      "format=xml",
      "page=2",
    ]) {
      // Each malformed parameter is a 400.
      await expectError(
        await call(`/admin/api/sales/${sale.id}/orders?${query}`, { headers: ADMIN }),
        400,
        "VALIDATION_FAILED",
      );
    }
    // A sale PostgreSQL does not know, and an id of the wrong shape, are 404 (JSON and CSV alike).
    await expectError(
      await call(`/admin/api/sales/${crypto.randomUUID()}/orders`, { headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
    await expectError(
      await call(`/admin/api/sales/${crypto.randomUUID()}/orders?format=csv`, { headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
    await expectError(await call("/admin/api/sales/not-a-sale/orders", { headers: ADMIN }), 404, "NOT_FOUND");
    // A sale with no orders is an empty page.
    expect(await (await call(`/admin/api/sales/${sale.id}/orders`, { headers: ADMIN })).json()).toEqual({
      orders: [],
      nextCursor: null,
    });
  });

  it("streams every order as CSV, whatever the size", async () => {
    // 3,210 orders: more than three of the export's PostgreSQL pages.
    const sale = await createSale({ stock: 10_000 });
    const ids = await insertOrders(sale.id, 3_210);

    // The export is a CSV attachment.
    const res = await call(`/admin/api/sales/${sale.id}/orders?format=csv`, { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/csv/);
    expect(res.headers.get("Content-Disposition")).toContain(`orders-${sale.id}.csv`);

    // Read as a stream, chunk by chunk.
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }

    // A header, then one CRLF-terminated line per order, in id order, each with the order's fields.
    const lines = text.split("\r\n");
    expect(lines.pop()).toBe("");
    // (`username` last: the shopper's name, joined from users; these rows were written with no account.)
    expect(lines[0]).toBe("id,saleId,userId,quantity,unitPriceCents,totalCents,status,createdAt,expiresAt,username");
    expect(lines.length).toBe(1 + 3_210);
    const rows = lines.slice(1).map((l) => l.split(","));
    expect(rows.map((r) => r[0])).toEqual(ids);
    // Quantity 3 of a 1,000-cent unit: the unit price and the total, each in its own named column.
    expect(rows[2]).toMatchObject({ 1: sale.id, 3: "3", 4: "1000", 5: "3000", 6: "confirmed" });
    expect(Date.parse(rows[2][7])).not.toBeNaN();

    // A sale with no orders is just the header.
    const empty = await createSale();
    expect(await (await call(`/admin/api/sales/${empty.id}/orders?format=csv`, { headers: ADMIN })).text()).toBe(
      "id,saleId,userId,quantity,unitPriceCents,totalCents,status,createdAt,expiresAt,username\r\n",
    );
  });

  it("quotes CSV fields as RFC 4180 says", () => {
    expect(csvLine(["plain", 42])).toBe("plain,42\r\n");
    expect(csvLine(['say "hi"', "a,b", "two\nlines"])).toBe('"say ""hi""","a,b","two\nlines"\r\n');
  });
});

describe("failed orders and replay", () => {
  it("lists a dead-lettered order with its error and replays it into exactly one row, however often", async () => {
    // A real order, landed in PostgreSQL through the pipeline.
    const sale = await createSale({ stock: 5 });
    const alice = await shopper("replayalice");
    const bought = await purchase(sale.id, alice.cookie);
    expect(bought.status).toBe(202);
    const order = bought.body.order!;
    const sql = database();
    await waitFor(
      "order in PostgreSQL",
      async () => (await sql`select 1 from orders where id = ${order.id}`).length === 1,
    );

    // The failure: PostgreSQL loses the order and the sale's row (an operator's mistake), and the
    // dead-letter consumer's last attempt of the order's message fails on the missing sale.
    const [saleRow] = await sql`select * from sales where id = ${sale.id}`;
    await sql`delete from orders where id = ${order.id}`;
    await sql`delete from sales where id = ${sale.id}`;
    const message: OrderMessage = { kind: "order", order: { ...order, status: "confirmed" }, version: 1 };
    const batch = createMessageBatch<unknown>("minishop-orders-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 6, body: message },
    ]);
    const ctx = createExecutionContext();
    await consumer.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["dead-1"]);

    // The merchant sees it, with PostgreSQL's error and the attempts it took.
    const list = (await (await call("/admin/api/failed-orders", { headers: ADMIN })).json()) as {
      failedOrders: FailedOrder[];
    };
    const failed = list.failedOrders.find((f) => f.orderId === order.id)!;
    expect(failed).toMatchObject({ saleId: sale.id, attempts: 6, landed: false, replayedAt: null });
    expect(failed.error).toMatch(/foreign key/i);
    expect(failed.payload).toEqual(message);

    // The cause is fixed (the sale's row is back), then the merchant replays twice in a row.
    await sql`insert into sales ${sql(saleRow)}`;
    const replays = [
      await call(`/admin/api/failed-orders/${failed.id}/replay`, { method: "POST", headers: ADMIN }),
      await call(`/admin/api/failed-orders/${failed.id}/replay`, { method: "POST", headers: ADMIN }),
    ];
    const answers: { failedOrder: FailedOrder; replayed: boolean }[] = [];
    for (const res of replays) {
      expect(res.status).toBe(200);
      const body = (await res.json()) as { failedOrder: FailedOrder; replayed: boolean; orderId: string };
      expect(body.orderId).toBe(order.id);
      expect(body.failedOrder.id).toBe(failed.id);
      expect(body.failedOrder.replayedAt).not.toBeNull();
      answers.push(body);
    }
    // The first one certainly found it missing and had the object send it again.
    expect(answers[0].replayed).toBe(true);

    // The order lands, once, with the object's state of it, and the object hears it is confirmed.
    await waitFor(
      "replayed order in PostgreSQL",
      async () => (await sql`select 1 from orders where id = ${order.id}`).length === 1,
    );
    await waitFor("object outbox drained", async () => {
      const stats = (await (await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).json()) as {
        sale: { stats: { outboxDepth: number; awaitingDatabase: number } };
      };
      return stats.sale.stats.outboxDepth === 0;
    });
    const rows = await sql<
      { status: string; user_id: string }[]
    >`select status, user_id from orders where id = ${order.id}`;
    expect(rows).toEqual([{ status: "confirmed", user_id: alice.userId }]);

    // Now the list says it landed, and a third replay sends nothing at all.
    const after = (await (await call("/admin/api/failed-orders", { headers: ADMIN })).json()) as {
      failedOrders: FailedOrder[];
    };
    expect(after.failedOrders.find((f) => f.id === failed.id)?.landed).toBe(true);
    const third = await call(`/admin/api/failed-orders/${failed.id}/replay`, { method: "POST", headers: ADMIN });
    expect(third.status).toBe(200);
    expect((await third.json()) as { replayed: boolean; failedOrder: FailedOrder }).toMatchObject({
      replayed: false,
      failedOrder: { landed: true },
    });
    expect(await sql`select 1 from orders where id = ${order.id}`).toHaveLength(1);
  });

  it("answers 404 for failed orders that do not exist and 400 for bad list parameters", async () => {
    await expectError(
      await call(`/admin/api/failed-orders/${crypto.randomUUID()}/replay`, { method: "POST", headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
    await expectError(
      await call("/admin/api/failed-orders/%00/replay", { method: "POST", headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
    await expectError(await call("/admin/api/failed-orders?limit=0", { headers: ADMIN }), 400, "VALIDATION_FAILED");
    expect((await call("/admin/api/failed-orders?limit=5", { headers: ADMIN })).status).toBe(200);
  });
});
