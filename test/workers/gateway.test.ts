/**
 * The gateway at the edge: sessions, validation, the error body everywhere, rate limits in layers, the
 * sold-out short-circuit, the circuit breaker and tracing.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it } from "vitest";
import gateway from "../../workers/gateway/index.ts";
import { resetGuards } from "../../workers/gateway/context.ts";
import { CircuitBreaker, ClosedSales, SlidingWindow, TokenBucket } from "../../workers/gateway/guards.ts";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { type GatewayEnv } from "../../workers/gateway/env.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { BASE, call, createSale, database, json, purchase, saleObject, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string; message: string; details?: unknown } };

/** Calls the gateway with some bindings replaced (a failing seckill Worker, a strict limiter …). */
async function callWith(overrides: Partial<GatewayEnv>, path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  const ctx = createExecutionContext();
  // The deferred work (counter flushes) is left to run on its own, as in production.
  return await gateway.fetch(
    new Request(BASE + path, { ...init, headers }),
    { ...env, ...overrides } as GatewayEnv,
    ctx,
  );
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  return body;
}

/**
 * Counts the purchases that reach a sale's object from now until the test ends (its class's `reservePurchase`
 * wrapped for that one instance: RPC calls only methods of the class). The object's `attempts` counter cannot
 * say it: the edge's own answers are added to it by a deferred flush, whenever that runs.
 */
const unwraps: (() => void)[] = [];
async function countPurchasesAtObject(saleId: string): Promise<() => number> {
  const seen = { calls: 0 };
  await runInDurableObject(saleObject(saleId), (instance: SaleItem) => {
    const proto = Object.getPrototypeOf(instance) as SaleItem;
    const original = proto.reservePurchase;
    proto.reservePurchase = function (this: SaleItem, request) {
      if (this === instance) seen.calls++;
      return original.call(this, request);
    };
    unwraps.push(() => (proto.reservePurchase = original));
  });
  return () => seen.calls;
}

afterEach(() => {
  for (const unwrap of unwraps.splice(0)) unwrap();
});

afterEach(() => resetGuards());

describe("accounts and sessions", () => {
  it("registers, reads the session, logs out and logs back in", async () => {
    const username = `carol_${crypto.randomUUID().slice(0, 8)}`;
    const reg = await call("/api/auth/register", {
      method: "POST",
      body: json({ username, password: "hunter2hunter2" }),
    });
    expect(reg.status).toBe(201);
    const setCookie = reg.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    const cookie = setCookie.split(";")[0];
    expect(((await (await call("/api/me", { cookie })).json()) as { user: { username: string } }).user.username).toBe(
      username,
    );

    // The same username again.
    await expectError(
      await call("/api/auth/register", { method: "POST", body: json({ username, password: "another-password" }) }),
      409,
      "USERNAME_TAKEN",
    );
    // Wrong password, then the right one.
    await expectError(
      await call("/api/auth/login", { method: "POST", body: json({ username, password: "wrong-password" }) }),
      401,
      "INVALID_CREDENTIALS",
    );
    const login = await call("/api/auth/login", {
      method: "POST",
      body: json({ username, password: "hunter2hunter2" }),
    });
    expect(login.status).toBe(200);
    // Logout clears the cookie.
    const out = await call("/api/auth/logout", { method: "POST", cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get("Set-Cookie")).toMatch(/Max-Age=0/);
    // The stored hash is PBKDF2-SHA256 with 100,000 iterations and a salt of its own.
    const rows = await database()<
      { password_hash: string }[]
    >`select password_hash from users where username = ${username}`;
    expect(rows[0].password_hash).toMatch(/^pbkdf2-sha256\$100000\$/);
  });

  it("refuses forged, expired, unsigned and foreign-algorithm cookies with 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: crypto.randomUUID(), name: "mallory", iat: now, exp: now + 3600 };
    const forged = await sign(claims, "not-the-secret", "HS256");
    const expired = await sign({ ...claims, iat: now - 7200, exp: now - 3600 }, DEV_SESSION_SECRET, "HS256");
    const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
    const payload = btoa(JSON.stringify(claims)).replace(/=+$/, "");
    const unsigned = `${header}.${payload}.`;
    const hs512 = await sign(claims, DEV_SESSION_SECRET, "HS512");
    for (const token of [forged, expired, unsigned, hs512, "garbage", "a.b.c"]) {
      await expectError(await call("/api/me", { cookie: `minishop_session=${token}` }), 401, "UNAUTHENTICATED");
    }
  });

  it("cuts off password guessing per username, whatever the network", async () => {
    const { username } = await shopper("target");
    for (let i = 0; i < 5; i++) {
      await expectError(
        await call("/api/auth/login", { method: "POST", body: json({ username, password: `guess-${i}-xx` }) }),
        401,
        "INVALID_CREDENTIALS",
      );
    }
    // The right password is refused too while the window lasts.
    const res = await call("/api/auth/login", { method: "POST", body: json({ username, password: "correct horse" }) });
    await expectError(res, 429, "RATE_LIMITED");
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
  });
});

describe("validation and the error body", () => {
  it("rejects bad input with 400 VALIDATION_FAILED and zod's issues", async () => {
    const cases: [string, BodyInit][] = [
      ["/api/auth/register", json({ username: "ab", password: "short" })],
      ["/api/auth/register", json({ username: "good_name", password: "long enough", admin: true })],
      ["/api/auth/register", "{not json"],
      ["/api/auth/login", json({ username: 42, password: null })],
    ];
    for (const [path, body] of cases) {
      const res = await call(path, { method: "POST", body });
      const err = await expectError(res, 400, "VALIDATION_FAILED");
      expect(err.error.message.length).toBeGreaterThan(0);
    }
    const { cookie } = await shopper();
    const sale = await createSale();
    for (const body of [
      json({ quantity: 0 }),
      json({ quantity: "1" }),
      json({ quantity: 1, extra: 1 }),
      "[1,2",
      json(null),
    ]) {
      await expectError(
        await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie, body }),
        400,
        "VALIDATION_FAILED",
      );
    }
  });

  it("refuses bodies over 16 KiB with 413", async () => {
    const res = await call("/api/auth/register", {
      method: "POST",
      body: json({ username: "x".repeat(20_000), password: "y" }),
    });
    await expectError(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("answers unknown routes and malformed ids with a JSON 404", async () => {
    await expectError(await call("/api/nope"), 404, "NOT_FOUND");
    await expectError(await call("/api/sales/not-a-uuid"), 404, "NOT_FOUND");
    await expectError(await call("/api/sales/%00"), 404, "NOT_FOUND");
    await expectError(await call(`/api/sales/${crypto.randomUUID()}`), 404, "NOT_FOUND");
    const { cookie } = await shopper();
    await expectError(await call("/api/orders/zzz", { cookie }), 404, "NOT_FOUND");
  });

  it("refuses a state-changing request from a foreign Origin", async () => {
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { Origin: "https://evil.example" },
      body: json({ username: "whoever", password: "whatever1" }),
    });
    await expectError(res, 403, "FORBIDDEN_ORIGIN");
  });

  it("sets security headers", async () => {
    const res = await call("/healthz");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("strict-origin-when-cross-origin");
    expect(res.headers.get("Content-Security-Policy")).toMatch(/default-src 'self'/);
  });

  it("never shows another shopper's order: 404, not readable, payable or cancellable", async () => {
    const sale = await createSale();
    const alice = await shopper();
    const bob = await shopper();
    const { body } = await purchase(sale.id, alice.cookie);
    const id = body.order!.id;
    await expectError(await call(`/api/orders/${id}`, { cookie: bob.cookie }), 404, "NOT_FOUND");
    await expectError(await call(`/api/orders/${id}/pay`, { method: "POST", cookie: bob.cookie }), 404, "NOT_FOUND");
    await expectError(await call(`/api/orders/${id}/cancel`, { method: "POST", cookie: bob.cookie }), 404, "NOT_FOUND");
    const mine = (await (await call("/api/orders", { cookie: bob.cookie })).json()) as { orders: unknown[] };
    expect(mine.orders).toEqual([]);
  });
});

describe("rate limits in layers", () => {
  it("limits one shopper through the Rate Limiting binding, keyed by shopper, and the address by its own budget", async () => {
    const sale = await createSale({ stock: 100 });
    const { cookie, userId } = await shopper();
    const keys: string[] = [];
    const strict = {
      limit: async ({ key }: { key: string }) => (keys.push(key), { success: !key.startsWith("user:") }),
    };
    const res = await callWith({ PURCHASE_LIMITER: strict as RateLimit }, `/api/sales/${sale.id}/purchase`, {
      method: "POST",
      cookie,
      headers: { "CF-Connecting-IP": "203.0.113.7" },
    });
    await expectError(res, 429, "RATE_LIMITED");
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(keys).toContain(`user:${userId}`);
    // Per address: a different shopper on a limited network (the address's own budget, PURCHASE_IP_LIMITER).
    const other = await shopper();
    const byIp = { limit: async ({ key }: { key: string }) => ({ success: key !== "ip:203.0.113.9" }) };
    await expectError(
      await callWith({ PURCHASE_IP_LIMITER: byIp as RateLimit }, `/api/sales/${sale.id}/purchase`, {
        method: "POST",
        cookie: other.cookie,
        headers: { "CF-Connecting-IP": "203.0.113.9" },
      }),
      429,
      "RATE_LIMITED",
    );
    // Nothing was sold.
    expect((await saleObject(sale.id).getSale())!.remaining).toBe(100);
  });

  it("limits auth routes per IP", async () => {
    const limited = { limit: async () => ({ success: false }) };
    const res = await callWith({ AUTH_LIMITER: limited as RateLimit }, "/api/auth/login", {
      method: "POST",
      headers: { "CF-Connecting-IP": "198.51.100.1" },
      body: json({ username: "someone", password: "whatever1" }),
    });
    await expectError(res, 429, "RATE_LIMITED");
  });

  it("admits at most the configured rate to one sale's object", async () => {
    const sale = await createSale({ stock: 1000 });
    const shoppers = await Promise.all(Array.from({ length: 8 }, () => shopper("crowd")));
    // Eight shoppers at once against a ceiling of 1/s with a burst of 3 (the guards are read from these vars:
    // deferred work of earlier tests may have built them from the default ones).
    resetGuards();
    const responses = await Promise.all(
      shoppers.map((s) =>
        callWith({ ADMISSION_RPS: "1", ADMISSION_BURST: "3" }, `/api/sales/${sale.id}/purchase`, {
          method: "POST",
          cookie: s.cookie,
        }),
      ),
    );
    const answers = responses.map((r) => r.status);
    for (const r of responses) if (r.status === 429) expect(r.headers.get("Retry-After")).toBe("1");
    expect(answers.filter((s) => s === 202).length).toBeLessThanOrEqual(4);
    expect(answers.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
  });

  it("token bucket and sliding window behave as specified", () => {
    let t = 0;
    const bucket = new TokenBucket(10, 2, () => t);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
    t = 100; // 0.1 s → one token
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    const window = new SlidingWindow(3, 1000, () => t);
    window.record("k");
    window.record("k");
    window.record("k");
    expect(window.isLimited("k")).toBe(true);
    t = 2100; // two windows later, all forgotten
    expect(window.isLimited("k")).toBe(false);
  });
});

describe("sold-out short-circuit", () => {
  it("answers 410 without calling the object once sold out, and lifts when stock returns", async () => {
    const sale = await createSale({ stock: 1 });
    const buyer = await shopper();
    // The crowd signs up first: the sold-out verdict lasts a second, and sign-ups (PBKDF2) on a busy machine can
    // take longer than that.
    const crowd = await Promise.all(Array.from({ length: 5 }, () => shopper()));
    const { body } = await purchase(sale.id, buyer.cookie);
    const reached = await countPurchasesAtObject(sale.id);
    // Twenty attempts after the sell-out, with and without a session.
    for (let i = 0; i < 20; i++) {
      await expectError(
        await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie: crowd[i % 5].cookie }),
        410,
        "SOLD_OUT",
      );
    }
    const anonymous = await call(`/api/sales/${sale.id}/purchase`, { method: "POST" });
    // Answered before the app runs, yet with the app's security headers and a trace of its own.
    expect(anonymous.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(anonymous.headers.get("Content-Security-Policy")).toMatch(/default-src 'self'/);
    expect(anonymous.headers.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await expectError(anonymous, 410, "SOLD_OUT");
    // The object saw none of them.
    expect(reached()).toBe(0);
    // The buyer cancels: the stock is purchasable again within 2 seconds.
    expect((await call(`/api/orders/${body.order!.id}/cancel`, { method: "POST", cookie: buyer.cookie })).status).toBe(
      200,
    );
    const again = await waitFor(
      "stock back",
      async () => {
        const r = await purchase(sale.id, crowd[0].cookie);
        return r.status === 202 && r;
      },
      2_500,
    );
    expect(again.body.order!.status).toBe("reserved");
  });
});

describe("a lapsed sold-out verdict (stale-while-revalidate)", () => {
  it("is served for at most a second past its TTL while one call renews it, and only the first caller refreshes", () => {
    let t = 0;
    const closed = new ClosedSales(() => t, 1_000);
    closed.set("s", "sold_out", 1_000);
    expect(closed.lookup("s")).toEqual({ reason: "sold_out", refresh: false });
    t = 1_000; // lapsed: one caller refreshes, the others are answered from the stale verdict meanwhile
    expect(closed.get("s")).toBeNull();
    expect(closed.lookup("s")).toEqual({ reason: "sold_out", refresh: true });
    expect(closed.lookup("s")).toEqual({ reason: "sold_out", refresh: false });
    closed.refreshFailed("s"); // the object did not answer: the next caller may try
    expect(closed.lookup("s")).toEqual({ reason: "sold_out", refresh: true });
    t = 1_999;
    expect(closed.lookup("s")?.reason).toBe("sold_out");
    t = 2_000; // never renewed: gone, whatever happened to the refresh
    expect(closed.lookup("s")).toBeNull();
    closed.set("s", "sold_out", 1_000); // renewed: fresh again
    expect(closed.lookup("s")).toEqual({ reason: "sold_out", refresh: false });
  });

  it("keeps shedding a sold-out crowd past the TTL without the full path, and lifts when stock returns behind the edge's back", async () => {
    const sale = await createSale({ stock: 1 });
    const buyer = await shopper();
    const crowd = await Promise.all(Array.from({ length: 3 }, () => shopper()));
    const { body } = await purchase(sale.id, buyer.cookie);
    expect(body.order?.status).toBe("reserved");
    // A keyed attempt reaches the object once and brings back the sale's buyers filter (replay.ts).
    const keyed = { headers: { "Idempotency-Key": "first" }, body: json({ quantity: 1 }) };
    expect((await purchase(sale.id, crowd[0].cookie, keyed)).body.error?.code).toBe("SOLD_OUT");
    const reached = await countPurchasesAtObject(sale.id);
    // Past the TTL: the lapsed verdict still answers (one background call renews it), for keyed attempts too.
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 12; i++) {
      const res = await call(`/api/sales/${sale.id}/purchase`, {
        method: "POST",
        cookie: crowd[i % 3].cookie,
        headers: { "Idempotency-Key": `k-${i}` },
        body: json({ quantity: 1 }),
      });
      await expectError(res, 410, "SOLD_OUT");
    }
    // The one attempt that started the renewal took the normal path (as every attempt did before); the rest were
    // answered from the lapsed verdict while it was renewed.
    expect(reached()).toBeLessThanOrEqual(1);
    // The unit comes back at the object itself (this isolate is not told): within TTL + 1 s it is buyable here.
    expect((await env.SECKILL.cancelOrder(body.order!.id, buyer.userId)).ok).toBe(true);
    const again = await waitFor(
      "stock back",
      async () => {
        const r = await purchase(sale.id, crowd[1].cookie);
        return r.status === 202 && r;
      },
      2_500,
    );
    expect(again.body.order!.status).toBe("reserved");
  });
});

describe("circuit breaker", () => {
  it("opens after repeated failures, fails fast with 503 + Retry-After, and probes when half-open", async () => {
    const sale = await createSale();
    const { cookie } = await shopper();
    let calls = 0;
    const healthy = false;
    const flaky = new Proxy(env.SECKILL, {
      get(target, prop) {
        if (prop === "purchase" || prop === "listSales") {
          return async (...args: unknown[]) => {
            calls++;
            if (!healthy) throw new Error("seckill is down");
            return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop as string](...args);
          };
        }
        return Reflect.get(target, prop);
      },
    });
    // Without the direct SALE_ITEM binding the purchase goes through SECKILL (workers/gateway/sale-object.ts).
    const over = { SECKILL: flaky as GatewayEnv["SECKILL"], SALE_ITEM: undefined } as Partial<GatewayEnv>;
    // Five failures open the breaker.
    for (let i = 0; i < 5; i++) {
      await expectError(
        await callWith(over, `/api/sales/${sale.id}/purchase`, { method: "POST", cookie }),
        503,
        "UNAVAILABLE",
      );
    }
    expect(calls).toBe(5);
    // Open: answered at once, without a call.
    const fast = await callWith(over, `/api/sales/${sale.id}/purchase`, { method: "POST", cookie });
    await expectError(fast, 503, "UNAVAILABLE");
    expect(Number(fast.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(calls).toBe(5);
  });

  it("times out slow calls, and serves the last known sales list while open", async () => {
    await createSale({ title: "Listed before the outage" });
    const warm = await callWith({}, "/api/sales");
    expect(warm.status).toBe(200);
    const slow = new Proxy(env.SECKILL, {
      get(target, prop) {
        if (prop === "listSales" || prop === "getSale") return () => new Promise(() => {});
        return Reflect.get(target, prop);
      },
    });
    // Let the list cache go stale, then ask with a seckill Worker that never answers (200 ms timeout).
    await new Promise((r) => setTimeout(r, 1100));
    resetGuards();
    const res = await callWith({ SECKILL: slow as GatewayEnv["SECKILL"], SECKILL_TIMEOUT_MS: "200" }, "/api/sales");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { degraded?: boolean; sales: { title: string }[] };
    expect(body.degraded).toBe(true);
    expect(body.sales.some((s) => s.title === "Listed before the outage")).toBe(true);
  });

  it("goes closed → open → half-open → closed on its own clock", async () => {
    let t = 0;
    const breaker = new CircuitBreaker(2, 1000, 50, () => t);
    const fail = () => breaker.run(() => Promise.reject(new Error("x"))).catch(() => {});
    await fail();
    await fail();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
    t = 1000;
    expect(breaker.allow()).toBe(true); // the probe
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(false); // only one probe at a time
    breaker.success();
    expect(breaker.state).toBe("closed");
  });
});

describe("tracing", () => {
  it("continues a traceparent into the object, the queue message and the order's row", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const sale = await createSale();
    const { cookie } = await shopper();
    const res = await call(`/api/sales/${sale.id}/purchase`, {
      method: "POST",
      cookie,
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const { order } = (await res.json()) as { order: { id: string } };
    const row = await waitFor("row", async () => {
      const rows = await database()<{ trace_id: string }[]>`select trace_id from orders where id = ${order.id}`;
      return rows[0];
    });
    expect(row.trace_id).toBe(traceId);
  });

  it("starts a trace when there is none or it is malformed", async () => {
    const res = await call("/healthz", { headers: { traceparent: "00-zzzz-bad-01" } });
    expect(res.headers.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
