/**
 * An order's life after the 202, end to end through the queue: pay, cancel and expiry reach PostgreSQL as
 * new versions of the row, stock comes back to the sale, and reconciliation repairs a row PostgreSQL lost.
 */
import { describe, expect, it } from "vitest";
import { ADMIN, call, createSale, database, purchase, saleObject, shopper, waitFor } from "./helpers.ts";

async function rowStatus(orderId: string): Promise<string | undefined> {
  const rows = await database()<{ status: string }[]>`select status from orders where id = ${orderId}`;
  return rows[0]?.status;
}

describe("order lifecycle", () => {
  it("records paid and cancelled in PostgreSQL, and a cancel returns the stock", async () => {
    const sale = await createSale({ stock: 2 });
    const payer = await shopper();
    const canceller = await shopper();
    const paid = (await purchase(sale.id, payer.cookie)).body.order!;
    const cancelled = (await purchase(sale.id, canceller.cookie)).body.order!;
    expect((await saleObject(sale.id).getSale())!.status).toBe("sold_out");

    // Pay one, cancel the other.
    const pay = await call(`/api/orders/${paid.id}/pay`, { method: "POST", cookie: payer.cookie });
    expect(((await pay.json()) as { order: { status: string } }).order.status).toBe("paid");
    const cancel = await call(`/api/orders/${cancelled.id}/cancel`, { method: "POST", cookie: canceller.cookie });
    expect(((await cancel.json()) as { order: { status: string } }).order.status).toBe("cancelled");

    // The cancelled unit is on sale again; the paid one is not.
    const sale2 = (await saleObject(sale.id).getSale())!;
    expect(sale2.remaining).toBe(1);
    expect(sale2.status).toBe("live");
    // A paid order cannot be cancelled; a cancelled one cannot be paid.
    expect((await call(`/api/orders/${paid.id}/cancel`, { method: "POST", cookie: payer.cookie })).status).toBe(409);
    const payCancelled = await call(`/api/orders/${cancelled.id}/pay`, { method: "POST", cookie: canceller.cookie });
    expect(((await payCancelled.json()) as { error: { code: string } }).error.code).toBe("ORDER_NOT_PAYABLE");

    // PostgreSQL follows.
    await waitFor("paid in PostgreSQL", async () => (await rowStatus(paid.id)) === "paid");
    await waitFor("cancelled in PostgreSQL", async () => (await rowStatus(cancelled.id)) === "cancelled");
  });

  it("expires an unpaid order after its payment window: stock back, 409 ORDER_EXPIRED, expired in PostgreSQL", async () => {
    const sale = await createSale({ stock: 1, paymentWindowSeconds: 1 });
    const late = await shopper();
    const order = (await purchase(sale.id, late.cookie)).body.order!;
    // The object's alarm expires it once the window has passed, with no request needed.
    await waitFor("stock back", async () => (await saleObject(sale.id).getSale())!.remaining === 1, 10_000);
    const pay = await call(`/api/orders/${order.id}/pay`, { method: "POST", cookie: late.cookie });
    expect(pay.status).toBe(409);
    expect(((await pay.json()) as { error: { code: string } }).error.code).toBe("ORDER_EXPIRED");
    const mine = (await (await call(`/api/orders/${order.id}`, { cookie: late.cookie })).json()) as {
      order: { status: string };
    };
    expect(mine.order.status).toBe("expired");
    await waitFor("expired in PostgreSQL", async () => (await rowStatus(order.id)) === "expired");
    // Someone else can buy the returned unit: at once at the object, and at the edge within 2 s (an isolate's
    // sold-out verdict from the first sale lasts up to its TTL plus a second while it is renewed, docs/design.md).
    const next = await shopper();
    const bought = await waitFor(
      "the returned unit bought",
      async () => {
        const r = await purchase(sale.id, next.cookie);
        return r.status === 202 && r;
      },
      2_500,
    );
    expect(bought.body.order!.status).toBe("reserved");
  });

  it("reconciles: finds what PostgreSQL lacks and re-enqueues it until it lands", async () => {
    const sale = await createSale({ stock: 5 });
    const buyers = await Promise.all([shopper(), shopper(), shopper()]);
    const ids: string[] = [];
    for (const b of buyers) ids.push((await purchase(sale.id, b.cookie)).body.order!.id);
    const sql = database();
    await waitFor(
      "all three in PostgreSQL",
      async () => (await sql`select id from orders where sale_id = ${sale.id}`).length === 3,
    );
    // PostgreSQL loses one row (a restore from an old backup, say).
    await sql`delete from orders where id = ${ids[1]}`;

    const res = await call(`/admin/api/sales/${sale.id}/reconcile`, { method: "POST", headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ledgerSold: 3, databaseOrders: 2, missing: 1, repaired: 1 });
    await waitFor("the lost row is back", async () => (await rowStatus(ids[1])) === "confirmed");

    // Once everything is in, reconcile finds nothing to do.
    await waitFor("clean", async () => {
      const again = (await (
        await call(`/admin/api/sales/${sale.id}/reconcile`, { method: "POST", headers: ADMIN })
      ).json()) as { missing: number };
      return again.missing === 0;
    });
    // Unknown and malformed sales.
    expect(
      (await call(`/admin/api/sales/${crypto.randomUUID()}/reconcile`, { method: "POST", headers: ADMIN })).status,
    ).toBe(404);
    expect((await call(`/admin/api/sales/nope/reconcile`, { method: "POST", headers: ADMIN })).status).toBe(404);
  });
});
