import { describe, expect, it } from "vitest";
import { ADMIN, call, createSale, database, purchase, shopper, waitFor } from "./helpers.ts";

describe("the walking skeleton: shopper → gateway → object → queue → PostgreSQL", () => {
  it("reserves, confirms once PostgreSQL has the order, and lists it for the merchant", async () => {
    // A live sale and a signed-in shopper.
    const sale = await createSale({ stock: 3 });
    const alice = await shopper("alice");

    // The purchase is answered 202 reserved by the sale's object.
    const first = await purchase(sale.id, alice.cookie);
    expect(first.status).toBe(202);
    expect(first.body.order).toMatchObject({ saleId: sale.id, userId: alice.userId, quantity: 1, status: "reserved" });
    const orderId = first.body.order!.id;

    // The second purchase by the same shopper is refused.
    const second = await purchase(sale.id, alice.cookie);
    expect(second.status).toBe(409);
    expect(second.body.error?.code).toBe("ALREADY_PURCHASED");

    // The outbox reaches the queue, the consumer writes PostgreSQL and confirms back.
    const confirmed = await waitFor("confirmed", async () => {
      const res = await call(`/api/orders/${orderId}`, { cookie: alice.cookie });
      const body = (await res.json()) as { order: { status: string } };
      return body.order.status === "confirmed" && body.order;
    });
    expect(confirmed.status).toBe("confirmed");
    const sql = database();
    const rows = await sql`select id, status, user_id from orders where id = ${orderId}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "confirmed", user_id: alice.userId });

    // The merchant reads it from PostgreSQL.
    const res = await call(`/admin/api/sales/${sale.id}/orders`, { headers: ADMIN });
    const list = (await res.json()) as { orders: { id: string }[] };
    expect(list.orders.map((o) => o.id)).toEqual([orderId]);
  });

  it("answers 410 SOLD_OUT once the stock is gone", async () => {
    const sale = await createSale({ stock: 1 });
    const a = await shopper();
    const b = await shopper();
    expect((await purchase(sale.id, a.cookie)).status).toBe(202);
    const late = await purchase(sale.id, b.cookie);
    expect(late.status).toBe(410);
    expect(late.body.error?.code).toBe("SOLD_OUT");
  });
});
