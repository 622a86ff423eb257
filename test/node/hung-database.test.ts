/**
 * A hung PostgreSQL is not a down one (docs/design.md "Hardening"): a private embedded PostgreSQL is frozen with
 * SIGSTOP in the middle of a sale — it keeps its sockets and accepts connections, and answers nothing — on the
 * stack exactly as `npm start` runs it. Purchases go on, the admin API answers 503 within its timeout (never a
 * hang), sign-in and sign-up answer a clear 503, /readyz says what failed; after SIGCONT every order lands.
 * Never the machine's shared PostgreSQL: the process paused is one this test started.
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, freePort, startEmbeddedPostgres } from "../../scripts/lib/postgres.ts";
import { ADMIN_HEADERS, Client, createSale, startStack, waitUntil } from "./stack.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
});

/** A request with its own deadline, so a hang fails the test instead of waiting for ever. */
async function timed(
  client: Client,
  method: string,
  pathname: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  const started = Date.now();
  const answer = await Promise.race([
    client.request(method, pathname, body, headers),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${method} ${pathname} hung`)), 20_000)),
  ]);
  return { ...answer, ms: Date.now() - started };
}

describe("PostgreSQL frozen mid-sale (SIGSTOP)", () => {
  it("keeps selling, answers 503 in time where PostgreSQL is needed, and lands every order after SIGCONT", async () => {
    const step = (what: string) => console.log(`[hung-database] ${what}`);
    const pg = await startEmbeddedPostgres({ dataDir: "memory://", port: await freePort(), quiet: true });
    step("PostgreSQL up");
    const pid = pg.pid!;
    cleanup.push(async () => {
      try {
        process.kill(pid, "SIGCONT");
        step("PostgreSQL thawed");
      } catch {}
      await pg.stop();
    });
    await applyMigrations(pg.url);
    const stack = await startStack({ env: { DATABASE_URL: pg.url, SKIP_WEB_BUILD: "1" } });
    cleanup.push(() => stack.crash());
    step("stack up");

    // Before: a sale, shoppers with accounts (accounts live in PostgreSQL), one order that lands.
    const sale = await createSale(stack.url, 20);
    const shoppers = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const c = new Client(stack.url);
        const r = await c.request("POST", "/api/auth/register", {
          username: `frozen${i}_${Date.now() % 100000}`,
          password: "password123",
        });
        expect(r.status).toBe(201);
        return c;
      }),
    );

    // PostgreSQL freezes: the process stops, its sockets stay open.
    process.kill(pid, "SIGSTOP");
    step("PostgreSQL frozen");

    // Shoppers keep buying (the purchase path never touches PostgreSQL).
    const bought = await Promise.all(shoppers.map((c) => timed(c, "POST", `/api/sales/${sale.id}/purchase`, {})));
    expect(bought.map((a) => a.status)).toEqual(shoppers.map(() => 202));
    const orderIds = bought.map((a) => a.body.order.id as string);

    const anyone = new Client(stack.url);
    const [ready, orders, csv, failed, create, login, register] = await Promise.all([
      timed(anyone, "GET", "/readyz"),
      timed(anyone, "GET", `/admin/api/sales/${sale.id}/orders`, undefined, ADMIN_HEADERS),
      timed(anyone, "GET", `/admin/api/sales/${sale.id}/orders?format=csv`, undefined, ADMIN_HEADERS),
      timed(anyone, "GET", "/admin/api/failed-orders", undefined, ADMIN_HEADERS),
      timed(
        anyone,
        "POST",
        "/admin/api/sales",
        {
          title: "x",
          priceCents: 100,
          stock: 1,
          startsAt: new Date().toISOString(),
          endsAt: new Date(Date.now() + 60_000).toISOString(),
        },
        ADMIN_HEADERS,
      ),
      timed(new Client(stack.url), "POST", "/api/auth/login", { username: "frozen0_x", password: "password123" }),
      timed(new Client(stack.url), "POST", "/api/auth/register", {
        username: `late_${Date.now() % 100000}`,
        password: "password123",
      }),
    ]);
    // /readyz names what failed, and nothing more.
    expect(ready.status).toBe(503);
    expect(ready.body.error.details).toEqual({ checks: { database: "failed", seckill: "ok" } });
    expect(ready.ms).toBeLessThan(5_000);
    // The admin API: 503 within its timeout (5 s), never a hang.
    for (const a of [orders, csv, failed, create]) {
      expect(a.status).toBe(503);
      expect(a.body.error.code).toBe("UNAVAILABLE");
      expect(a.ms).toBeLessThan(12_000);
    }
    // Sign-in and sign-up: a clear 503 with Retry-After.
    for (const a of [login, register]) {
      expect(a.status).toBe(503);
      expect(a.body.error.code).toBe("UNAVAILABLE");
      expect(a.headers.get("retry-after")).not.toBeNull();
      expect(a.ms).toBeLessThan(12_000);
    }
    // Orders wait, reserved, in their objects.
    expect((await timed(shoppers[0], "GET", `/api/orders/${orderIds[0]}`)).body.order.status).toBe("reserved");

    // PostgreSQL wakes up; nobody does anything else: every order lands (the consumer retried, bounded).
    process.kill(pid, "SIGCONT");
    step("PostgreSQL thawed");
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    cleanup.push(() => sql.end());
    const rows = await waitUntil(
      "every order in PostgreSQL",
      async () => {
        const r = await sql<{ id: string }[]>`select id from orders where sale_id = ${sale.id}`;
        return r.length === orderIds.length && r;
      },
      120_000,
    );
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(orderIds));
    await waitUntil("ready again", async () => (await anyone.request("GET", "/readyz")).status === 200, 30_000);
    expect((await timed(anyone, "GET", `/admin/api/sales/${sale.id}/orders`, undefined, ADMIN_HEADERS)).status).toBe(
      200,
    );
    await stack.stop();
  }, 420_000);
});
