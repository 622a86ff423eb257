/**
 * The order pipeline under faults, on the real local runtime:
 * - a PostgreSQL outage during a sale (a private PostgreSQL this test starts and stops): purchases go on,
 *   /readyz says 503, and every order lands once it is back, with no manual step;
 * - the runtime killed mid-sale (SIGKILL to every process) and restarted on the same persisted state: no
 *   oversell, the outbox resumes, and every 202 ends in PostgreSQL.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, freePort, startEmbeddedPostgres, type Database } from "../../scripts/lib/postgres.ts";
import { Client, createSale, startStack, waitUntil, type Stack } from "./stack.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
});

async function privatePostgres(dataDir: string, port: number): Promise<Database> {
  const db = await startEmbeddedPostgres({ dataDir, port, quiet: true });
  cleanup.push(() => db.stop());
  return db;
}

async function registered(base: string, n: number, prefix: string): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = new Client(base);
      const r = await c.request("POST", "/api/auth/register", {
        username: `${prefix}${i}_${Date.now() % 100000}`,
        password: "password123",
      });
      if (r.status !== 201) throw new Error(`register ${r.status} ${JSON.stringify(r.body)}`);
      return c;
    }),
  );
}

async function ordersInDatabase(url: string, saleId: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await sql<
      { id: string; user_id: string; status: string }[]
    >`select id, user_id, status from orders where sale_id = ${saleId}`;
  } finally {
    await sql.end();
  }
}

describe("PostgreSQL outage during a sale", () => {
  it("keeps selling, reports not ready, and lands every order when PostgreSQL is back", async () => {
    const pgDir = mkdtempSync(path.join(os.tmpdir(), "minishop-pg-"));
    const pgPort = await freePort();
    let pg = await privatePostgres(pgDir, pgPort);
    const url = pg.url;
    await applyMigrations(url);
    const stack = await startStack({ env: { DATABASE_URL: url, SKIP_WEB_BUILD: "1" } });
    cleanup.push(() => stack.crash());

    // Before the outage: a sale and its shoppers (accounts live in PostgreSQL).
    const sale = await createSale(stack.url, 20);
    const shoppers = await registered(stack.url, 12, "outage");

    // PostgreSQL goes away.
    await pg.stop();
    const ready = await new Client(stack.url).request("GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe("UNAVAILABLE");
    expect(JSON.stringify(ready.body.error.details)).toContain("database");

    // Shoppers still browse and buy.
    expect((await shoppers[0].request("GET", "/api/sales")).status).toBe(200);
    const answers = await Promise.all(shoppers.map((c) => c.request("POST", `/api/sales/${sale.id}/purchase`, {})));
    expect(answers.map((a) => a.status)).toEqual(shoppers.map(() => 202));
    const orderIds = answers.map((a) => a.body.order.id as string);
    // They stay reserved while PostgreSQL is down.
    await new Promise((r) => setTimeout(r, 3000));
    const during = await shoppers[0].request("GET", `/api/orders/${orderIds[0]}`);
    expect(during.body.order.status).toBe("reserved");

    // PostgreSQL comes back on the same data; nobody does anything else.
    pg = await privatePostgres(pgDir, pgPort);
    const rows = await waitUntil(
      "every order in PostgreSQL",
      async () => {
        const r = await ordersInDatabase(url, sale.id);
        return r.length === orderIds.length && r;
      },
      90_000,
    );
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(orderIds));
    // And the shoppers see them confirmed.
    await waitUntil(
      "confirmed",
      async () => (await shoppers[0].request("GET", `/api/orders/${orderIds[0]}`)).body.order.status === "confirmed",
      30_000,
    );
    expect((await new Client(stack.url).request("GET", "/readyz")).status).toBe(200);
    await stack.stop();
  });
});

describe("runtime killed mid-sale", () => {
  it("restarts on the same state with no oversell, and every 202 reaches PostgreSQL", async () => {
    const pg = await privatePostgres(mkdtempSync(path.join(os.tmpdir(), "minishop-pg-")), await freePort());
    await applyMigrations(pg.url);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "minishop-state-"));
    let stack: Stack = await startStack({ dataDir, env: { DATABASE_URL: pg.url, SKIP_WEB_BUILD: "1" } });
    cleanup.push(() => stack.crash());

    const STOCK = 15;
    const sale = await createSale(stack.url, STOCK);
    const shoppers = await registered(stack.url, 30, "crash");
    const accepted = new Map<string, string>(); // order id → shopper cookie

    // The first half buys; the runtime is killed the moment they have their answers.
    const first = await Promise.all(
      shoppers.slice(0, 15).map((c) => c.request("POST", `/api/sales/${sale.id}/purchase`, {})),
    );
    await stack.crash();
    first.forEach((a, i) => a.status === 202 && accepted.set(a.body.order.id, shoppers[i].cookie));
    expect(accepted.size).toBeGreaterThan(0);

    // Restart on the same persisted state (same data directory, same session secret, same port).
    stack = await startStack({
      dataDir,
      port: Number(new URL(stack.url).port),
      env: { DATABASE_URL: pg.url, SKIP_WEB_BUILD: "1" },
    });
    const retry = await Promise.all(
      shoppers.slice(0, 15).map((c) => c.request("POST", `/api/sales/${sale.id}/purchase`, {})),
    );
    // Nobody bought twice across the crash.
    for (const r of retry) expect([409, 410]).toContain(r.status);
    const second = await Promise.all(
      shoppers.slice(15).map((c) => c.request("POST", `/api/sales/${sale.id}/purchase`, {})),
    );
    second.forEach((a, i) => a.status === 202 && accepted.set(a.body.order.id, shoppers[15 + i].cookie));

    // No oversell: exactly the stock was sold, once each.
    expect(accepted.size).toBe(STOCK);
    const sale2 = await new Client(stack.url).request("GET", `/api/sales/${sale.id}`);
    expect(sale2.body.sale.remaining).toBe(0);

    // Every 202 ends in PostgreSQL, including those whose queue messages died with the runtime.
    const rows = await waitUntil(
      "every accepted order in PostgreSQL",
      async () => {
        const r = await ordersInDatabase(pg.url, sale.id);
        return r.length >= accepted.size && r;
      },
      90_000,
    );
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(accepted.keys()));
    expect(new Set(rows.map((r) => r.user_id)).size).toBe(STOCK);
    await stack.stop();
  });
});
