/**
 * End to end, as a developer runs it: `npm start` (embedded PostgreSQL unless DATABASE_URL is set), then
 * register → create sale → purchase → confirmed over HTTP, then Ctrl-C leaves nothing running.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ADMIN_HEADERS, Client, alive, createSale, descendants, startStack, waitUntil, type Stack } from "./stack.ts";

let stack: Stack;

beforeAll(async () => {
  // The test project's own database when the machine's PostgreSQL is in use; otherwise npm start's embedded one.
  const env = process.env.DATABASE_URL ? { DATABASE_URL: inject("databaseUrl") } : {};
  stack = await startStack({ env });
});

afterAll(async () => {
  if (stack && stack.child.exitCode === null) await stack.crash();
});

describe("npm start", () => {
  it("prints the shop URL, the admin token and the database", () => {
    const out = stack.output();
    expect(out).toContain(`Shop:        ${stack.url}/`);
    expect(out).toContain("admin token: dev-admin-token");
    expect(out).toMatch(/PostgreSQL:\s+postgres:\/\//);
  });

  it("runs register → create sale → purchase → confirmed, with the row in PostgreSQL", async () => {
    const shopper = new Client(stack.url);
    // Health first.
    expect((await shopper.request("GET", "/healthz")).body).toEqual({ status: "ok" });
    expect((await shopper.request("GET", "/readyz")).status).toBe(200);
    // A shopper registers; a merchant puts 2 phones on sale.
    const reg = await shopper.request("POST", "/api/auth/register", {
      username: `e2e_${Date.now()}`,
      password: "password123",
    });
    expect(reg.status).toBe(201);
    const sale = await createSale(stack.url, 2);
    const listed = await shopper.request("GET", `/api/sales/${sale.id}`);
    expect(listed.body.sale).toMatchObject({ id: sale.id, remaining: 2, status: "live" });
    expect(Date.parse(listed.body.serverTime)).toBeGreaterThan(0);
    // Buy, then buy again.
    const bought = await shopper.request("POST", `/api/sales/${sale.id}/purchase`, {});
    expect(bought.status).toBe(202);
    expect(bought.body.order.status).toBe("reserved");
    const again = await shopper.request("POST", `/api/sales/${sale.id}/purchase`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("ALREADY_PURCHASED");
    // The order becomes confirmed within seconds.
    const confirmed = await waitUntil("confirmed", async () => {
      const r = await shopper.request("GET", `/api/orders/${bought.body.order.id}`);
      return r.body.order?.status === "confirmed" && r.body.order;
    });
    expect(confirmed.id).toBe(bought.body.order.id);
    // The merchant sees it, read from PostgreSQL.
    const merchant = new Client(stack.url);
    const orders = await merchant.request("GET", `/admin/api/sales/${sale.id}/orders`, undefined, ADMIN_HEADERS);
    expect(orders.body.orders.map((o: { id: string }) => o.id)).toEqual([bought.body.order.id]);
    // And the row is there when we look ourselves.
    if (process.env.DATABASE_URL) {
      const sql = postgres(inject("databaseUrl"), { max: 1 });
      const rows = await sql`select status from orders where id = ${bought.body.order.id}`;
      await sql.end();
      expect(rows[0].status).toBe("confirmed");
    }
  });

  it("stops every process it started on SIGTERM", async () => {
    const tree = descendants(stack.child.pid!);
    expect(tree.length).toBeGreaterThan(0);
    const code = await stack.stop();
    expect(code).toBe(0);
    await waitUntil("all children gone", async () => tree.every((pid) => !alive(pid)), 15_000);
    // Nothing listens on the port any more.
    await expect(fetch(`${stack.url}/healthz`)).rejects.toThrow();
  });
});
