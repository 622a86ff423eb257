/**
 * Generated garbage at every route: random and hostile methods, paths, headers, cookies and bodies. Every
 * answer must be a 4xx (or a plain success for a harmless read) with the error body of docs/api.md,
 * never a 5xx, and the sale's stock must not move.
 */
import { exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { BASE, call, createSale, purchase, saleObject, shopper } from "./helpers.ts";

let saleId: string;
let orderId: string;
let buyerCookie: string;
let remainingBefore: number;

beforeAll(async () => {
  const sale = await createSale({ stock: 50, perUserLimit: 3 });
  saleId = sale.id;
  // A real shopper who has already bought: their valid session may appear in the garbage, and can sell nothing more.
  const buyer = await shopper("garbage");
  buyerCookie = buyer.cookie;
  const { body } = await purchase(saleId, buyerCookie);
  orderId = body.order!.id;
  // Paid, so that garbage carrying the buyer's real session and order id cannot cancel it and move the stock.
  const paid = await call(`/api/orders/${orderId}/pay`, { method: "POST", cookie: buyerCookie });
  expect(paid.status).toBe(200);
  remainingBefore = (await saleObject(saleId).getSale())!.remaining;
});

const hostileStrings = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "\u0000",
    "%E0%A4%A",
    "😀".repeat(5),
    "null",
    "undefined",
    "NaN",
    "-1",
    "1e309",
    "__proto__",
    "constructor",
    "x".repeat(3000),
  ),
);

const segment = fc.oneof(
  hostileStrings.map((s) => encodeURIComponent(s)),
  fc.uuid(),
  fc.constant("SALE"),
  fc.constant("ORDER"),
);

const path = fc.oneof(
  fc.constantFrom(
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/logout",
    "/api/me",
    "/api/sales",
    "/api/orders",
    "/admin/api/sales",
    "/admin/api/failed-orders",
    "/metrics",
    "/healthz",
  ),
  segment.map((s) => `/api/sales/${s}`),
  segment.map((s) => `/api/sales/${s}/purchase`),
  segment.map((s) => `/api/orders/${s}`),
  fc.tuple(segment, fc.constantFrom("pay", "cancel")).map(([s, a]) => `/api/orders/${s}/${a}`),
  segment.map((s) => `/admin/api/sales/${s}`),
  fc
    .tuple(segment, hostileStrings, hostileStrings)
    .map(
      ([s, c, l]) =>
        `/admin/api/sales/${s}/orders?cursor=${encodeURIComponent(c)}&limit=${encodeURIComponent(l)}&format=${encodeURIComponent(c)}`,
    ),
  fc
    .tuple(segment, fc.constantFrom("pause", "resume", "reconcile", "end", "series", "image"))
    .map(([s, a]) => `/admin/api/sales/${s}/${a}`),
  fc.tuple(segment, segment).map(([s, f]) => `/images/${s}/${f}`),
  segment.map((s) => `/admin/api/failed-orders/${s}/replay`),
  fc.webPath().map((p) => `/api/${p.replace(/^\//, "")}`),
);

const cookie = fc.oneof(
  fc.constant(undefined),
  // Header values a client can actually send: printable ASCII (a NUL is refused before any Worker sees it).
  hostileStrings.filter((s) => /^[\x20-\x7e]*$/.test(s)).map((s) => `minishop_session=${s}`),
  fc.constant("BUYER"),
  fc.constant("FORGED"),
  fc.string({ maxLength: 200 }).filter((s) => /^[\x21-\x7e ]*$/.test(s)),
);

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  hostileStrings,
  fc
    .record(
      {
        username: hostileStrings,
        password: hostileStrings,
        quantity: fc.oneof(fc.integer(), fc.double(), hostileStrings),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.constant("{".repeat(5000)),
  fc.constant(JSON.stringify({ title: "x".repeat(17_000) })),
);

const headerValue = fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s));

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"),
  path,
  cookie,
  body,
  contentType: fc.oneof(
    fc.constant("application/json"),
    fc.constant("text/plain"),
    fc.constant(undefined),
    headerValue,
  ),
  authorization: fc.oneof(
    fc.constant(undefined),
    headerValue.map((s) => `Bearer ${s}`),
    headerValue,
  ),
  idempotencyKey: fc.oneof(fc.constant(undefined), headerValue),
  traceparent: fc.oneof(fc.constant(undefined), headerValue),
  origin: fc.oneof(fc.constant(undefined), fc.constant("https://evil.example"), fc.constant(BASE)),
});

describe("garbage at every route", () => {
  it("answers only 4xx (or a harmless success) with the error body, and moves no stock", async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await sign(
      { sub: crypto.randomUUID(), name: "x", iat: now, exp: now + 60 },
      DEV_SESSION_SECRET + "!",
      "HS256",
    );
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = new Headers();
        const resolvedCookie =
          r.cookie === "BUYER" ? buyerCookie : r.cookie === "FORGED" ? `minishop_session=${forged}` : r.cookie;
        if (resolvedCookie) headers.set("Cookie", resolvedCookie);
        if (r.contentType) headers.set("Content-Type", r.contentType);
        if (r.authorization) headers.set("Authorization", r.authorization);
        if (r.idempotencyKey) headers.set("Idempotency-Key", r.idempotencyKey);
        if (r.traceparent) headers.set("traceparent", r.traceparent);
        if (r.origin) headers.set("Origin", r.origin);
        const url = BASE + r.path.replaceAll("SALE", saleId).replaceAll("ORDER", orderId);
        const hasBody = r.body !== undefined && r.method !== "GET" && r.method !== "HEAD";
        const res = await exports.default.fetch(
          new Request(url, { method: r.method, headers, body: hasBody ? r.body : undefined }),
        );
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, `${r.method} ${r.path}`).toBeLessThan(500);
        if (res.status >= 400 && r.method !== "HEAD") {
          const text = await res.text();
          const parsed = JSON.parse(text) as { error: { code: string; message: string } };
          expect(parsed.error.code).toMatch(/^[A-Z_]+$/);
          expect(typeof parsed.error.message).toBe("string");
        } else {
          await res.arrayBuffer();
        }
      }),
      { numRuns: 400 },
    );
    // Stock untouched, and the garbage produced a spread of answers, not one.
    expect((await saleObject(saleId).getSale())!.remaining).toBe(remainingBefore);
    expect(seen.size).toBeGreaterThan(4);
  });

  it("gets past the session and the admin token: garbage bodies meet validation, not a 5xx", async () => {
    const seen = new Map<string, number>();
    const deep = fc.record({
      target: fc.constantFrom(
        { method: "POST", p: "/api/sales/SALE/purchase", who: "BUYER" },
        { method: "POST", p: "/api/auth/register", who: "" },
        { method: "POST", p: "/api/auth/login", who: "" },
        { method: "POST", p: "/api/orders/ORDER/pay", who: "BUYER" },
        { method: "POST", p: "/admin/api/sales", who: "ADMIN" },
        { method: "PATCH", p: "/admin/api/sales/SALE", who: "ADMIN" },
      ),
      body: fc.oneof(
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        fc
          .record(
            {
              username: hostileStrings,
              password: hostileStrings,
              quantity: fc.oneof(fc.integer(), fc.double(), hostileStrings),
              title: hostileStrings,
              priceCents: fc.oneof(fc.integer(), fc.double()),
              stock: fc.oneof(fc.integer(), hostileStrings),
              startsAt: fc.oneof(
                hostileStrings,
                fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
              ),
              endsAt: fc.oneof(
                hostileStrings,
                fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
              ),
            },
            { requiredKeys: [] },
          )
          .map((v) => JSON.stringify(v)),
        hostileStrings,
      ),
      idempotencyKey: fc.oneof(fc.constant(undefined), headerValue),
    });
    await fc.assert(
      fc.asyncProperty(deep, async ({ target: { method, p, who }, body, idempotencyKey }) => {
        const headers = new Headers({ "Content-Type": "application/json" });
        if (who === "BUYER") headers.set("Cookie", buyerCookie);
        if (who === "ADMIN") headers.set("Authorization", "Bearer dev-admin-token");
        if (idempotencyKey) headers.set("Idempotency-Key", idempotencyKey);
        const url = BASE + p.replace("SALE", saleId).replace("ORDER", orderId);
        const res = await exports.default.fetch(new Request(url, { method, headers, body }));
        const text = await res.text();
        expect(res.status, `${method} ${p} ${body}`).toBeLessThan(500);
        if (res.status >= 400) {
          const code = (JSON.parse(text) as { error: { code: string } }).error.code;
          seen.set(code, (seen.get(code) ?? 0) + 1);
        } else seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
      }),
      { numRuns: 250 },
    );
    expect((await saleObject(saleId).getSale())!.remaining).toBe(remainingBefore);
    expect(seen.get("VALIDATION_FAILED") ?? 0).toBeGreaterThan(50);
  });
});
