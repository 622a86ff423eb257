/**
 * What the gateway does for the web app (docs/api.md "Web app transport"): expected 4xx answers as 200 +
 * `X-Error-Status` for a client that asks (`X-Soft-Errors: 1`), unchanged for every other client, on the
 * app's routes and on the sold-out short-circuit alike; and `429`s that say whose pace was too fast.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import gateway from "../../workers/gateway/index.ts";
import { resetGuards } from "../../workers/gateway/context.ts";
import type { GatewayEnv } from "../../workers/gateway/env.ts";
import { BASE, call, createSale, purchase, shopper } from "./helpers.ts";

type ErrorBody = { error: { code: string; message: string; details?: { scope?: string } } };

const SOFT = { "X-Soft-Errors": "1" };

async function callWith(overrides: Partial<GatewayEnv>, path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  return await gateway.fetch(
    new Request(BASE + path, { ...init, headers }),
    { ...env, ...overrides } as GatewayEnv,
    createExecutionContext(),
  );
}

afterEach(() => resetGuards());

describe("soft errors for the web app", () => {
  it("answers an expected 4xx as 200 with X-Error-Status and the same body, only when asked", async () => {
    const sale = await createSale({ stock: 5 });
    const { cookie } = await shopper();
    expect((await purchase(sale.id, cookie)).status).toBe(202);

    // The same refused purchase, twice: as any client sees it, then as the web app asks for it.
    const plain = await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie });
    expect(plain.status).toBe(409);
    expect(plain.headers.get("X-Error-Status")).toBeNull();
    const soft = await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie, headers: SOFT });
    expect(soft.status).toBe(200);
    expect(soft.headers.get("X-Error-Status")).toBe("409");
    expect(soft.headers.get("Vary")).toMatch(/X-Soft-Errors/);
    const body = (await soft.json()) as ErrorBody;
    expect(body.error.code).toBe("ALREADY_PURCHASED");

    // A wrong admin token and an unknown sale, the same way.
    const admin = await call("/admin/api/sales", { headers: { Authorization: "Bearer wrong", ...SOFT } });
    expect([admin.status, admin.headers.get("X-Error-Status")]).toEqual([200, "401"]);
    expect(((await admin.json()) as ErrorBody).error.code).toBe("UNAUTHENTICATED");
    const missing = await call(`/api/sales/${crypto.randomUUID()}`, { headers: SOFT });
    expect([missing.status, missing.headers.get("X-Error-Status")]).toEqual([200, "404"]);

    // Success is untouched, and so is a header value other than "1".
    const ok = await call("/api/sales", { headers: SOFT });
    expect([ok.status, ok.headers.get("X-Error-Status")]).toEqual([200, null]);
    const other = await call(`/api/sales/${crypto.randomUUID()}`, { headers: { "X-Soft-Errors": "yes" } });
    expect(other.status).toBe(404);
  });

  it("softens the sold-out short-circuit too, keeping its headers", async () => {
    const sale = await createSale({ stock: 1 });
    const buyer = await shopper();
    expect((await purchase(sale.id, buyer.cookie)).status).toBe(202);
    const late = await shopper();
    // The first refusal teaches the gateway that the sale is sold out; the next ones are answered before the app.
    expect((await purchase(sale.id, late.cookie)).status).toBe(410);
    const shortCircuit = await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie: late.cookie });
    expect(shortCircuit.status).toBe(410);
    const soft = await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie: late.cookie, headers: SOFT });
    expect([soft.status, soft.headers.get("X-Error-Status")]).toEqual([200, "410"]);
    expect(soft.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(((await soft.json()) as ErrorBody).error.code).toBe("SOLD_OUT");
  });
});

describe("whose pace a 429 is about", () => {
  it("says scope 'shopper' when the shopper's own limit is reached", async () => {
    const sale = await createSale({ stock: 100 });
    const { cookie } = await shopper();
    const strict = { limit: async () => ({ success: false }) };
    const own = await callWith({ PURCHASE_LIMITER: strict as RateLimit }, `/api/sales/${sale.id}/purchase`, {
      method: "POST",
      cookie,
    });
    expect(own.status).toBe(429);
    expect(((await own.json()) as ErrorBody).error.details).toEqual({ scope: "shopper" });
  });

  it("says scope 'sale' when the sale's admission ceiling turns a shopper away", async () => {
    const sale = await createSale({ stock: 100 });
    // A ceiling of one purchase a second with no burst: the second shopper in the same moment meets the crowd.
    const crowd = await Promise.all([shopper(), shopper(), shopper(), shopper()]);
    const answers = await Promise.all(
      crowd.map((s) =>
        callWith({ ADMISSION_RPS: "1", ADMISSION_BURST: "1" }, `/api/sales/${sale.id}/purchase`, {
          method: "POST",
          cookie: s.cookie,
        }),
      ),
    );
    const refused = answers.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.headers.get("Retry-After")).toBe("1");
      expect(((await r.json()) as ErrorBody).error.details).toEqual({ scope: "sale" });
    }
  });
});
