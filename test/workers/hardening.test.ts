/**
 * Hardening (docs/design.md "Hardening"): unknown ids cost nothing, sessions that end, a sign-in throttle that
 * cannot be aimed at someone else, quiet errors and private answers, secrets that fail closed, a cap on unpaid
 * holds, and a hung PostgreSQL that answers 503 in time instead of hanging.
 */
import { env } from "cloudflare:workers";
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  listDurableObjectIds,
  runInDurableObject,
} from "cloudflare:test";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, inject, it } from "vitest";
import { solveChallenge, type Challenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/web/pbkdf2";
import admin from "../../workers/admin/index.ts";
import consumer from "../../queues/consumer.ts";
import gateway from "../../workers/gateway/index.ts";
import { resetGuards } from "../../workers/gateway/context.ts";
import { knownSalesCount } from "../../workers/gateway/known-sales.ts";
import { HARD_STALE_MS, RevocationCopy } from "../../workers/gateway/revocations.ts";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { type AdminEnv } from "../../workers/admin/env.ts";
import { type ConsumerEnv } from "../../queues/env.ts";
import { type GatewayEnv } from "../../workers/gateway/env.ts";
import { makeOrderId } from "../../lib/contract/ids.ts";
import type { OrderMessage } from "../../lib/contract/schemas.ts";
import type { AccountGuard } from "../../durable-objects/account-guard.ts";
import type { PurchaseRequest, PurchaseResult } from "../../durable-objects/sale-item.ts";
import { ADMIN, BASE, call, createSale, json, purchase, saleObject, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

afterEach(() => resetGuards());

/** Calls the gateway with some bindings or vars replaced. */
async function callWith(overrides: Partial<GatewayEnv>, path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  return await gateway.fetch(
    new Request(BASE + path, { ...init, headers }),
    { ...env, ...overrides } as GatewayEnv,
    createExecutionContext(),
  );
}

function randomOrderId(): string {
  return makeOrderId(crypto.randomUUID(), Math.floor(Math.random() * 1000));
}

function hungHyperdrive(): Hyperdrive {
  return { ...env.HYPERDRIVE, connectionString: inject("hungDatabaseUrl") } as Hyperdrive;
}

describe("unknown ids cost nothing", () => {
  it("answers 404 on every route for random ids, anonymous or signed in, and creates no object", async () => {
    // A real sale and a signed-in shopper, so the known set is warm and sessions are valid.
    const sale = await createSale({ stock: 5 });
    const { cookie } = await shopper("flood");
    // This isolate has read the session feed once (that object exists whatever the ids).
    expect((await call("/api/me", { cookie })).status).toBe(200);
    // …and knows the catalog (read once, on the first sale it was asked about).
    expect((await call(`/api/sales/${sale.id}`)).status).toBe(200);
    const before = (await listDurableObjectIds(env.SALE_ITEM)).length;
    const guardsBefore = (await listDurableObjectIds(env.ACCOUNT_GUARD)).length;
    const knownBefore = knownSalesCount();

    // 2 × 40 random sale ids and 2 × 40 random order ids at every route that takes one, plus order ids that
    // borrow the real sale's id (forged: its object exists, so nothing new may be created either).
    const saleHex = sale.id.replaceAll("-", "");
    const requests: [string, string, string | undefined][] = [];
    for (const who of [undefined, cookie]) {
      for (let i = 0; i < 40; i++) {
        const saleId = crypto.randomUUID();
        const orderId = randomOrderId();
        const forged = saleHex + orderId.slice(32);
        requests.push(["GET", `/api/sales/${saleId}`, who]);
        requests.push(["POST", `/api/sales/${saleId}/purchase`, who]);
        requests.push(["POST", `/api/sales/${saleId}/queue`, who]);
        requests.push(["GET", `/api/orders/${orderId}`, who]);
        requests.push(["POST", `/api/orders/${orderId}/pay`, who]);
        requests.push(["POST", `/api/orders/${orderId}/cancel`, who]);
        requests.push(["GET", `/api/orders/${forged}`, who]);
      }
    }
    // Twenty at a time: a flood, without starving the other test files that share the machine.
    const answers: { path: string; who?: string; status: number; body: ErrorBody }[] = [];
    for (let i = 0; i < requests.length; i += 20) {
      answers.push(
        ...(await Promise.all(
          requests.slice(i, i + 20).map(async ([method, path, who]) => {
            const res = await call(path, { method, cookie: who });
            return { path, who, status: res.status, body: (await res.json()) as ErrorBody };
          }),
        )),
      );
    }
    for (const a of answers) {
      // Signed out, order routes say 401 first (no session, no lookup at all); everything else is 404.
      if (a.status === 401) expect(a.who).toBeUndefined();
      else expect([a.path, a.status, a.body.error.code]).toEqual([a.path, 404, "NOT_FOUND"]);
    }
    expect(answers.filter((a) => a.status === 404).length).toBeGreaterThan(requests.length / 2);

    // No object (with its storage) was created, and the isolate holds no entry per unknown id.
    expect((await listDurableObjectIds(env.SALE_ITEM)).length).toBe(before);
    expect((await listDurableObjectIds(env.ACCOUNT_GUARD)).length).toBe(guardsBefore);
    expect(knownSalesCount()).toBe(knownBefore);
    // The real sale still answers.
    expect((await call(`/api/sales/${sale.id}`)).status).toBe(200);
  });

  it("refuses unknown sales in the admin API without creating objects", async () => {
    const before = (await listDurableObjectIds(env.SALE_ITEM)).length;
    for (const [method, suffix] of [
      ["GET", ""],
      ["POST", "/pause"],
      ["POST", "/resume"],
      ["POST", "/reconcile"],
    ] as const) {
      const res = await call(`/admin/api/sales/${crypto.randomUUID()}${suffix}`, { method, headers: ADMIN });
      expect(res.status).toBe(404);
    }
    expect((await listDurableObjectIds(env.SALE_ITEM)).length).toBe(before);
  });
});

describe("sessions that end", () => {
  it("refuses a replayed cookie after logout with 401", async () => {
    const { cookie } = await shopper("logout");
    expect((await call("/api/me", { cookie })).status).toBe(200);
    const out = await call("/api/auth/logout", { method: "POST", cookie });
    expect(out.status).toBe(204);
    // The same cookie value, replayed.
    const replay = await call("/api/me", { cookie });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as ErrorBody).error.code).toBe("UNAUTHENTICATED");
    // …and on the purchase path too.
    const sale = await createSale();
    expect((await purchase(sale.id, cookie)).status).toBe(401);
  });

  it("signs out everywhere: every session of the shopper, not another shopper's", async () => {
    const { cookie: phone, username } = await shopper("everywhere");
    const login = await call("/api/auth/login", {
      method: "POST",
      body: json({ username, password: "correct horse" }),
    });
    const laptop = login.headers.get("Set-Cookie")!.split(";")[0];
    const { cookie: other } = await shopper("bystander");
    expect((await call("/api/me", { cookie: laptop })).status).toBe(200);

    expect((await call("/api/auth/logout-all", { method: "POST", cookie: phone })).status).toBe(204);
    expect((await call("/api/me", { cookie: phone })).status).toBe(401);
    expect((await call("/api/me", { cookie: laptop })).status).toBe(401);
    expect((await call("/api/me", { cookie: other })).status).toBe(200);
    // Signing in again afterwards works.
    await new Promise((r) => setTimeout(r, 5));
    const again = await call("/api/auth/login", {
      method: "POST",
      body: json({ username, password: "correct horse" }),
    });
    expect((await call("/api/me", { cookie: again.headers.get("Set-Cookie")!.split(";")[0] })).status).toBe(200);
    // Without a session there is nothing to sign out of.
    expect((await call("/api/auth/logout-all", { method: "POST" })).status).toBe(401);
  });

  it("refuses a revoked session in another isolate once its copy of the feed is older than the bound", async () => {
    const { cookie, userId } = await shopper("elsewhere");
    // Another isolate: its own copy of the revocation feed, with its own clock, read before the logout.
    let now = Date.now();
    const elsewhere = new RevocationCopy(() => now);
    const part = cookie.split("=")[1].split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const payload = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))) as { sid: string; st: number };
    expect(await elsewhere.isRevoked(env as GatewayEnv, undefined, payload.sid, userId, payload.st)).toBe(false);

    expect((await call("/api/auth/logout", { method: "POST", cookie })).status).toBe(204);
    // Within the bound it may still accept the cookie; past it, it has read the feed and refuses it.
    now += HARD_STALE_MS;
    expect(HARD_STALE_MS).toBeLessThan(10_000);
    expect(await elsewhere.isRevoked(env as GatewayEnv, undefined, payload.sid, userId, payload.st)).toBe(true);
  });

  it("renews an active session's idle deadline and refuses an idle one", async () => {
    const userId = crypto.randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const sid = crypto.randomUUID();
    // Signed 20 minutes ago, still within its idle window: the answer carries a renewed cookie.
    const active = await sign(
      { sub: userId, name: "idle", sid, st: (now - 1200) * 1000, iat: now - 1200, exp: now + 600 },
      DEV_SESSION_SECRET,
      "HS256",
    );
    const res = await call("/api/me", { cookie: `minishop_session=${active}` });
    expect(res.status).toBe(200);
    const renewed = res.headers.get("Set-Cookie")!;
    expect(renewed).toMatch(/^minishop_session=/);
    expect(Number(/Max-Age=(\d+)/.exec(renewed)![1])).toBeGreaterThan(12 * 3600 - 60);
    // Past its idle deadline: refused.
    const idle = await sign(
      { sub: userId, name: "idle", sid, st: (now - 50_000) * 1000, iat: now - 50_000, exp: now - 6800 },
      DEV_SESSION_SECRET,
      "HS256",
    );
    expect((await call("/api/me", { cookie: `minishop_session=${idle}` })).status).toBe(401);
  });

  it("uses a __Host- Secure cookie and HSTS in production, neither locally", async () => {
    const prod = {
      ENVIRONMENT: "production",
      SESSION_SECRET: "a-production-secret-for-this-test",
      CHALLENGE_HMAC_KEY: "a-production-challenge-key-for-this-test",
      CHALLENGE_DIFFICULTY: "20",
    } as Partial<GatewayEnv>;
    const username = `prod_${crypto.randomUUID().slice(0, 8)}`;
    // Sign-up in production costs a solved challenge (docs/api.md "Proof of work"; test/workers/scalpers.test.ts).
    const challenge = (await (await callWith(prod, "/api/challenge")).json()) as Challenge;
    const solution = await solveChallenge({ challenge, deriveKey });
    const reg = await callWith(prod, "/api/auth/register", {
      method: "POST",
      headers: { "X-Altcha": btoa(JSON.stringify({ challenge, solution })) },
      body: json({ username, password: "correct horse" }),
    });
    expect(reg.status).toBe(201);
    const setCookie = reg.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(/^__Host-minishop_session=/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/Domain=/i);
    expect(reg.headers.get("Strict-Transport-Security")).toMatch(/max-age=\d{7,}/);
    // The production cookie works in production; the development name does not.
    const value = setCookie.split(";")[0];
    expect((await callWith(prod, "/api/me", { cookie: value })).status).toBe(200);
    expect((await callWith(prod, "/api/me", { cookie: value.replace("__Host-", "") })).status).toBe(401);
    // Locally (development): plain name, no HSTS.
    const local = await call("/healthz");
    expect(local.headers.get("Strict-Transport-Security")).toBeNull();
  });
});

describe("a sign-in throttle that cannot be aimed", () => {
  it("slows the attacker's client down and never the owner's", async () => {
    const { username } = await shopper("owner");
    const attacker = { "CF-Connecting-IP": "203.0.113.66" };
    const owner = { "CF-Connecting-IP": "198.51.100.7" };
    // The attacker guesses the owner's password until slowed down.
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await call("/api/auth/login", {
        method: "POST",
        headers: attacker,
        body: json({ username, password: `guess-${i}-xx` }),
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // Even the right password is refused to the attacker's client while the window lasts…
    const right = await call("/api/auth/login", {
      method: "POST",
      headers: attacker,
      body: json({ username, password: "correct horse" }),
    });
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("Retry-After"))).toBeGreaterThan(0);
    // …while the owner, from their own device, signs in at once.
    const mine = await call("/api/auth/login", {
      method: "POST",
      headers: owner,
      body: json({ username, password: "correct horse" }),
    });
    expect(mine.status).toBe(200);
    // The count lives in the client's object, shared by every isolate, not in this isolate's memory.
    resetGuards();
    const after = await call("/api/auth/login", {
      method: "POST",
      headers: attacker,
      body: json({ username, password: "correct horse" }),
    });
    expect(after.status).toBe(429);
  });

  it("knows the owner's browser from an attacker at the same address (no address to tell them apart)", async () => {
    // No CF-Connecting-IP: every client is one ("unknown"), as every local client is. The owner signed in on this
    // browser before, so it carries a device cookie naming the username.
    const { username } = await shopper("device_owner");
    const first = await call("/api/auth/login", {
      method: "POST",
      body: json({ username, password: "correct horse" }),
    });
    expect(first.status).toBe(200);
    /** The `name=value` pair of the cookie `res` sets under `name` (and its whole Set-Cookie line). */
    const setCookie = (res: Response, name: string) => {
      const line = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
      return { pair: line?.split(";")[0], line };
    };
    const device = setCookie(first, "minishop_device").pair!;
    expect(device).toBeDefined();
    expect(setCookie(first, "minishop_device").line).toMatch(/HttpOnly/i);
    const loginAs = (password: string, cookie?: string) =>
      call("/api/auth/login", { method: "POST", cookie, body: json({ username, password }) });
    // The attacker, cookie-less from the same "address", is slowed down…
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await loginAs(`guess-${i}-xx`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // …a forged device cookie and another user's device count as no device…
    const forged = await sign(
      { typ: "device", d: "forged", u: [username.toLowerCase()], exp: Math.floor(Date.now() / 1000) + 3600 },
      "not-the-secret",
      "HS256",
    );
    expect((await loginAs("correct horse", `minishop_device=${forged}`)).status).toBe(429);
    const other = await shopper("device_other");
    const otherLogin = await call("/api/auth/login", {
      method: "POST",
      headers: { "CF-Connecting-IP": "198.51.100.77" },
      body: json({ username: other.username, password: "correct horse" }),
    });
    const otherDevice = setCookie(otherLogin, "minishop_device").pair!;
    expect((await loginAs("correct horse", otherDevice)).status).toBe(429);
    // …and a session cookie is not a device cookie.
    const session = setCookie(first, "minishop_session").pair!.split("=")[1];
    expect((await loginAs("correct horse", `minishop_device=${session}`)).status).toBe(429);
    // The owner's browser signs in at once, and its wrong guesses count against that device only.
    expect((await loginAs("correct horse", device)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await loginAs(`typo-${i}-xx`, device)).status).toBe(401);
    expect((await loginAs("correct horse", device)).status).toBe(429);
  });

  it("slows down one client spraying many usernames", async () => {
    const sprayer = { "CF-Connecting-IP": "192.0.2.99" };
    const { username } = await shopper("sprayed");
    let limited = 0;
    for (let i = 0; i < 22; i++) {
      const res = await call("/api/auth/login", {
        method: "POST",
        headers: sprayer,
        body: json({ username: `nobody_${i}_${crypto.randomUUID().slice(0, 6)}`, password: "whatever-pass" }),
      });
      if (res.status === 429) limited++;
    }
    expect(limited).toBeGreaterThanOrEqual(2);
    // A username it never tried is refused to that client too; the real owner elsewhere is not.
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: sprayer,
      body: json({ username, password: "correct horse" }),
    });
    expect(res.status).toBe(429);
    const owner = await call("/api/auth/login", {
      method: "POST",
      headers: { "CF-Connecting-IP": "198.51.100.8" },
      body: json({ username, password: "correct horse" }),
    });
    expect(owner.status).toBe(200);
    // The client's throttle object keeps its counts in memory only: no storage for any address.
    const id = env.ACCOUNT_GUARD.idFromName("login:192.0.2.99");
    await runInDurableObject(env.ACCOUNT_GUARD.get(id), async (_instance: AccountGuard, state) => {
      expect(state.storage.sql.databaseSize).toBeLessThanOrEqual(8192);
    });
  });
});

describe("quiet errors and private answers", () => {
  it("names what failed in /readyz and nothing more; merchants read the details", async () => {
    const broken = {
      ...env.HYPERDRIVE,
      connectionString: "postgres://postgres:postgres@127.0.0.1:1/postgres",
    } as Hyperdrive;
    const res = await callWith({ HYPERDRIVE: broken }, "/readyz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe("UNAVAILABLE");
    expect(body.error.details).toEqual({ checks: { database: "failed", seckill: "ok" } });
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|connect|timed out/i);
    // The admin Worker's readiness, behind the token, says what went wrong.
    const adminEnv = { ...env, HYPERDRIVE: broken } as AdminEnv;
    const details = await admin.fetch(
      new Request(`${BASE}/admin/api/readiness`, { headers: ADMIN }),
      adminEnv,
      createExecutionContext(),
    );
    expect(details.status).toBe(503);
    const detailed = (await details.json()) as ErrorBody;
    expect(typeof (detailed.error.details as { errors: Record<string, string> }).errors.database).toBe("string");
    expect((await call("/admin/api/readiness")).status).toBe(401);
  });

  it("marks every answer to a request with a session cookie or the admin token no-store, errors included", async () => {
    const { cookie } = await shopper("private");
    const sale = await createSale({ stock: 1 });
    const answers = [
      await call("/api/me", { cookie }),
      await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie }),
      await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie: (await shopper("private")).cookie }),
      await call(`/api/sales/${crypto.randomUUID()}`, { cookie }),
      await call("/api/nope", { cookie }),
      await call("/api/orders", { cookie }),
      await call("/admin/api/sales", { headers: ADMIN }),
      await call("/admin/api/sales", { headers: { Authorization: "Bearer wrong" } }),
      await call("/metrics", { headers: ADMIN }),
      await call("/api/me", { cookie: "minishop_session=forged" }),
    ];
    // The sold-out short-circuit (answered before the app) once this isolate knows the sale is sold out.
    answers.push(await call(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie }));
    for (const res of answers)
      expect([res.url, res.status, res.headers.get("Cache-Control")]).toEqual([res.url, res.status, "no-store"]);
    // A public answer is not marked private.
    expect((await call("/healthz")).headers.get("Cache-Control")).toBeNull();
  });

  it("sends a CSP with object-src 'none'", async () => {
    const csp = (await call("/healthz")).headers.get("Content-Security-Policy")!;
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it("fails closed: without an explicit development setting, missing secrets refuse to serve", async () => {
    for (const ENVIRONMENT of [undefined, "staging", "prod", "Development"]) {
      const res = await callWith({ ENVIRONMENT, SESSION_SECRET: undefined }, "/api/me");
      expect(res.status).toBe(500);
      expect(((await res.json()) as ErrorBody).error.message).not.toContain("dev-");
      const adminEnv = { ...env, ENVIRONMENT, ADMIN_TOKEN: undefined } as AdminEnv;
      const adminRes = await admin.fetch(
        new Request(`${BASE}/admin/api/sales`, { headers: ADMIN }),
        adminEnv,
        createExecutionContext(),
      );
      expect(adminRes.status).toBe(500);
    }
    // The dev defaults are used only with ENVIRONMENT=development (this test Worker's setting).
    expect((await callWith({ SESSION_SECRET: undefined }, "/healthz")).status).toBe(200);
  });
});

describe("holds with a price", () => {
  it("caps unpaid held orders per shopper across the shop; paying frees a slot; a replay still answers", async () => {
    const sales = await Promise.all([1, 2, 3, 4].map(() => createSale({ stock: 5, paymentWindowSeconds: 600 })));
    const { cookie } = await shopper("hoarder");
    const held: string[] = [];
    for (const sale of sales.slice(0, 3)) {
      const r = await purchase(sale.id, cookie, { headers: { "Idempotency-Key": `k-${sale.id}` } });
      expect(r.status).toBe(202);
      held.push(r.body.order!.id);
    }
    // The fourth unpaid hold is refused with the documented code.
    const fourth = await call(`/api/sales/${sales[3].id}/purchase`, { method: "POST", cookie });
    expect(fourth.status).toBe(409);
    const body = (await fourth.json()) as ErrorBody;
    expect(body.error.code).toBe("TOO_MANY_UNPAID_ORDERS");
    expect(body.error.details).toEqual({ limit: 3, held: 3 });
    // A retry of an accepted purchase (same Idempotency-Key) still gets its 202, at the cap.
    const replay = await purchase(sales[0].id, cookie, { headers: { "Idempotency-Key": `k-${sales[0].id}` } });
    expect(replay.status).toBe(202);
    expect(replay.body.order!.id).toBe(held[0]);
    // Nothing of the fourth sale was sold.
    expect(
      ((await (await call(`/api/sales/${sales[3].id}`)).json()) as { sale: { remaining: number } }).sale.remaining,
    ).toBe(5);
    // Paying one frees a slot.
    expect((await call(`/api/orders/${held[1]}/pay`, { method: "POST", cookie })).status).toBe(200);
    await waitFor(
      "a free slot",
      async () => (await call(`/api/sales/${sales[3].id}/purchase`, { method: "POST", cookie })).status === 202,
    );
    // The merchant's payment window is on the sale shoppers read.
    const shown = (await (await call(`/api/sales/${sales[3].id}`)).json()) as {
      sale: { paymentWindowSeconds: number };
    };
    expect(shown.sale.paymentWindowSeconds).toBe(600);
  });

  it("a retry of an accepted purchase whose order was paid still answers at the cap (it takes no slot)", async () => {
    const sales = await Promise.all([1, 2, 3, 4].map(() => createSale({ stock: 5, paymentWindowSeconds: 600 })));
    const { cookie } = await shopper("payer");
    const key = `k-${sales[0].id}`;
    const first = await purchase(sales[0].id, cookie, { headers: { "Idempotency-Key": key } });
    expect(first.status).toBe(202);
    expect((await call(`/api/orders/${first.body.order!.id}/pay`, { method: "POST", cookie })).status).toBe(200);
    await waitFor("the paid order's slot", async () => (await purchase(sales[1].id, cookie)).status === 202);
    for (const sale of sales.slice(2)) expect((await purchase(sale.id, cookie)).status).toBe(202);
    // Three unpaid holds now: a new purchase is refused, the paid order's retry is not.
    const extra = await createSale({ stock: 5 });
    expect((await purchase(extra.id, cookie)).body.error?.code).toBe("TOO_MANY_UNPAID_ORDERS");
    const replay = await call(`/api/sales/${sales[0].id}/purchase`, {
      method: "POST",
      cookie,
      headers: { "Idempotency-Key": key },
    });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await replay.json()) as { order: { id: string } }).order.id).toBe(first.body.order!.id);
  });

  it("a purchase sent without a slot never makes an order: the object asks for one and takes nothing", async () => {
    const sale = await createSale({ stock: 5 });
    const { userId } = await shopper("slotless");
    // The object's RPC methods, typed plainly (the generated stub type is too deep for a literal request).
    const object = saleObject(sale.id) as unknown as {
      reservePurchase(request: PurchaseRequest): Promise<PurchaseResult>;
    };
    const asked = await object.reservePurchase({ userId, quantity: 1, withoutHold: true });
    expect(asked).toEqual({ ok: false, holdNeeded: true });
    expect(
      ((await (await call(`/api/sales/${sale.id}`)).json()) as { sale: { remaining: number } }).sale.remaining,
    ).toBe(5);
    // With a slot, the same purchase is made; sent without one again, it is answered as a replay would be.
    const made = await object.reservePurchase({ userId, quantity: 1, idempotencyKey: "k1" });
    expect(made.ok).toBe(true);
    const again = await object.reservePurchase({
      userId,
      quantity: 1,
      idempotencyKey: "k1",
      withoutHold: true,
    });
    expect(again.ok && again.replayed).toBe(true);
  });
});

describe("a hung PostgreSQL is not a down one", () => {
  it("answers sign-in and sign-up with a clear 503 in time", async () => {
    const started = Date.now();
    const [login, register] = await Promise.all([
      callWith({ HYPERDRIVE: hungHyperdrive() }, "/api/auth/login", {
        method: "POST",
        body: json({ username: "someone", password: "whatever-pass" }),
      }),
      callWith({ HYPERDRIVE: hungHyperdrive() }, "/api/auth/register", {
        method: "POST",
        body: json({ username: `hung_${Date.now()}`, password: "whatever-pass" }),
      }),
    ]);
    expect(Date.now() - started).toBeLessThan(8_000);
    for (const res of [login, register]) {
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorBody).error.code).toBe("UNAVAILABLE");
      expect(res.headers.get("Retry-After")).not.toBeNull();
    }
  });

  it("answers the admin API 503 within its timeout, never hangs", async () => {
    const sale = await createSale();
    const adminEnv = { ...env, HYPERDRIVE: hungHyperdrive() } as AdminEnv;
    const started = Date.now();
    const answers = await Promise.all(
      [
        new Request(`${BASE}/admin/api/sales/${sale.id}/orders`, { headers: ADMIN }),
        new Request(`${BASE}/admin/api/sales/${sale.id}/orders?format=csv`, { headers: ADMIN }),
        new Request(`${BASE}/admin/api/failed-orders`, { headers: ADMIN }),
        new Request(`${BASE}/admin/api/sales`, {
          method: "POST",
          headers: { ...ADMIN, "Content-Type": "application/json" },
          body: json({
            title: "x",
            priceCents: 100,
            stock: 1,
            startsAt: new Date().toISOString(),
            endsAt: new Date(Date.now() + 60_000).toISOString(),
          }),
        }),
      ].map((req) => admin.fetch(req, adminEnv, createExecutionContext())),
    );
    expect(Date.now() - started).toBeLessThan(12_000);
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorBody).error.code).toBe("UNAVAILABLE");
    }
    // Shoppers' reads never needed PostgreSQL.
    expect((await callWith({ HYPERDRIVE: hungHyperdrive() }, `/api/sales/${sale.id}`)).status).toBe(200);
  });

  it("gives a consumer batch up within its timeout and sends it back for a retry", async () => {
    const sale = await createSale();
    const now = Date.now();
    const body: OrderMessage = {
      kind: "order",
      version: 1,
      order: {
        id: makeOrderId(sale.id, 1),
        saleId: sale.id,
        userId: crypto.randomUUID(),
        quantity: 1,
        priceCents: 100,
        unitPriceCents: 100,
        totalCents: 100,
        status: "confirmed",
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 60_000).toISOString(),
      },
    };
    const batch = createMessageBatch<unknown>("minishop-orders", [
      { id: "hung-1", timestamp: new Date(), attempts: 1, body },
    ]);
    const ctx = createExecutionContext();
    const started = Date.now();
    await consumer.queue(batch, { ...env, HYPERDRIVE: hungHyperdrive() } as ConsumerEnv, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["hung-1"]);
    expect(result.explicitAcks).toHaveLength(0);
  });
});
