/**
 * The admin Worker, through the gateway as merchants reach it: the bearer token, validation of every bound
 * of a sale, the sale lifecycle (create, list, get with live stats, PATCH before the start only, pause and
 * resume taking effect at the edge).
 */
import { describe, expect, it, vi } from "vitest";
import { bearerToken, tokensMatch } from "../../workers/admin/auth.ts";
import { MAX_PRICE_CENTS, type Sale } from "../../lib/contract/schemas.ts";
import { ADMIN, call, createSale, database, json, purchase, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type AdminSale = Sale & {
  stats: {
    attempts: number;
    sold: number;
    remaining: number;
    rejected: Record<"soldOut" | "duplicate" | "rateLimited" | "notStarted" | "ended" | "paused", number>;
  };
};

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  return body;
}

/** A valid creation body, starting in an hour; `overrides` replace (or, as undefined, remove) fields. */
function saleBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const start = Date.now() + 3_600_000;
  const body: Record<string, unknown> = {
    title: `Admin test ${crypto.randomUUID().slice(0, 8)}`,
    priceCents: 1_999,
    stock: 5,
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + 3_600_000).toISOString(),
    ...overrides,
  };
  for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
  return body;
}

function postSale(body: unknown): Promise<Response> {
  return call("/admin/api/sales", {
    method: "POST",
    headers: ADMIN,
    body: typeof body === "string" ? body : json(body),
  });
}

function patchSale(id: string, body: unknown): Promise<Response> {
  return call(`/admin/api/sales/${id}`, { method: "PATCH", headers: ADMIN, body: json(body) });
}

describe("admin auth", () => {
  const routes: [string, string][] = [
    ["GET", "/admin/api/sales"],
    ["POST", "/admin/api/sales"],
    ["GET", `/admin/api/sales/${crypto.randomUUID()}`],
    ["PATCH", `/admin/api/sales/${crypto.randomUUID()}`],
    ["POST", `/admin/api/sales/${crypto.randomUUID()}/pause`],
    ["POST", `/admin/api/sales/${crypto.randomUUID()}/resume`],
    ["GET", `/admin/api/sales/${crypto.randomUUID()}/orders`],
    ["GET", `/admin/api/sales/${crypto.randomUUID()}/orders?format=csv`],
    ["POST", `/admin/api/sales/${crypto.randomUUID()}/reconcile`],
    ["GET", "/admin/api/failed-orders"],
    ["POST", `/admin/api/failed-orders/${crypto.randomUUID()}/replay`],
    ["GET", "/metrics"],
    ["GET", "/admin/api/no-such-route"],
  ];

  it("answers 401 UNAUTHENTICATED with the error body on every route without a valid token", async () => {
    const wrong: (Record<string, string> | undefined)[] = [
      undefined,
      { Authorization: "Bearer wrong-token" },
      { Authorization: "Bearer dev-admin-toke" }, // a prefix of the right one
      { Authorization: "Bearer dev-admin-token-and-more" },
      { Authorization: "Bearer " },
      { Authorization: "Bearer" },
      { Authorization: "dev-admin-token" },
      { Authorization: `Basic ${btoa("admin:dev-admin-token")}` },
    ];
    for (const [method, path] of routes) {
      for (const headers of wrong) {
        // Every route, every wrong header: the same 401, before any other check (even the route's existence).
        const res = await call(path, { method, headers, body: method === "GET" ? undefined : json({}) });
        const body = await expectError(res, 401, "UNAUTHENTICATED");
        expect(body.error.message).toMatch(/admin token/);
        expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
      }
    }
  });

  it("lets the right token through, whatever the case of the scheme", async () => {
    // The token as documented.
    expect((await call("/admin/api/sales", { headers: ADMIN })).status).toBe(200);
    // RFC 9110: the scheme is case-insensitive.
    expect((await call("/admin/api/sales", { headers: { Authorization: "bearer dev-admin-token" } })).status).toBe(200);
    expect((await call("/metrics", { headers: { Authorization: "BEARER dev-admin-token" } })).status).toBe(200);
  });

  it("reads the token out of the header strictly", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("Bearer  abc ")).toBe("abc");
    expect(bearerToken("Bearer abc def")).toBeNull();
    expect(bearerToken("Bearerabc")).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });

  it("compares tokens in constant time: two fixed-size digests, compared by the runtime's timingSafeEqual", async () => {
    // Correct answers for the cases a naive comparison gets wrong or answers early.
    expect(await tokensMatch("dev-admin-token", "dev-admin-token")).toBe(true);
    expect(await tokensMatch("dev-admin-tokeN", "dev-admin-token")).toBe(false);
    expect(await tokensMatch("dev-admin-toke", "dev-admin-token")).toBe(false);
    expect(await tokensMatch("dev-admin-token!", "dev-admin-token")).toBe(false);
    expect(await tokensMatch("", "dev-admin-token")).toBe(false);
    expect(await tokensMatch("jeton-secret-é", "jeton-secret-é")).toBe(true);

    // Whatever the length of the guess, what is compared is always two 32-byte SHA-256 digests, by
    // the runtime's constant-time comparison: no early exit on length or on the first differing byte.
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
    try {
      for (const guess of ["", "x", "dev-admin-toke", "dev-admin-token", "y".repeat(10_000)]) {
        compare.mockClear();
        await tokensMatch(guess, "dev-admin-token");
        expect(compare).toHaveBeenCalledTimes(1);
        const [a, b] = compare.mock.calls[0];
        expect(a.byteLength).toBe(32);
        expect(b.byteLength).toBe(32);
      }
    } finally {
      compare.mockRestore();
    }
  });
});

describe("sale validation", () => {
  it("accepts a sale on every inclusive bound", async () => {
    const accepted: Record<string, unknown>[] = [
      { title: "x" },
      { title: "t".repeat(200) },
      { priceCents: 0 },
      { priceCents: MAX_PRICE_CENTS },
      { stock: 1 },
      { stock: 1_000_000 },
      { perUserLimit: 1 },
      { perUserLimit: 100 },
      { paymentWindowSeconds: 1 },
      { paymentWindowSeconds: 86_400 },
    ];
    for (const overrides of accepted) {
      // Each bound alone on an otherwise valid sale.
      const res = await postSale(saleBody(overrides));
      expect(res.status, JSON.stringify(overrides)).toBe(201);
      const { sale } = (await res.json()) as { sale: Sale & { paymentWindowSeconds: number } };
      for (const [k, v] of Object.entries(overrides)) expect(sale[k as keyof typeof sale]).toBe(v);
    }
  });

  it("applies the documented defaults", async () => {
    const res = await postSale(saleBody());
    expect(res.status).toBe(201);
    const { sale } = (await res.json()) as { sale: Sale & { paymentWindowSeconds: number } };
    expect(sale).toMatchObject({
      currency: "USD",
      perUserLimit: 1,
      paymentWindowSeconds: 900,
      description: "",
      status: "scheduled",
    });
    expect(sale.remaining).toBe(sale.stock);
  });

  it("refuses every out-of-range or malformed field with 400 VALIDATION_FAILED and zod's issues", async () => {
    const now = Date.now() + 3_600_000;
    const refused: [string, Record<string, unknown>][] = [
      ["title", { title: "" }],
      ["title", { title: "   " }],
      ["title", { title: "t".repeat(201) }],
      ["title", { title: undefined }],
      ["title", { title: 42 }],
      ["priceCents", { priceCents: -1 }],
      ["priceCents", { priceCents: 1.5 }],
      ["priceCents", { priceCents: "1999" }],
      ["priceCents", { priceCents: MAX_PRICE_CENTS + 1 }],
      ["priceCents", { priceCents: undefined }],
      ["stock", { stock: 0 }],
      ["stock", { stock: 1_000_001 }],
      ["stock", { stock: 2.5 }],
      ["stock", { stock: undefined }],
      ["perUserLimit", { perUserLimit: 0 }],
      ["perUserLimit", { perUserLimit: 101 }],
      ["paymentWindowSeconds", { paymentWindowSeconds: 0 }],
      ["paymentWindowSeconds", { paymentWindowSeconds: 86_401 }],
      ["paymentWindowSeconds", { paymentWindowSeconds: 60.5 }],
      ["endsAt", { startsAt: new Date(now).toISOString(), endsAt: new Date(now).toISOString() }],
      ["endsAt", { startsAt: new Date(now).toISOString(), endsAt: new Date(now - 1000).toISOString() }],
      ["startsAt", { startsAt: "tomorrow" }],
      ["endsAt", { endsAt: "2026-02-30" }],
      ["currency", { currency: "usd" }],
      ["description", { description: "d".repeat(5001) }],
      ["", { surprise: true }],
    ];
    for (const [field, overrides] of refused) {
      // One bad field on an otherwise valid sale: 400, and the issue names the field.
      const res = await postSale(saleBody(overrides));
      const body = await expectError(res, 400, "VALIDATION_FAILED");
      const issues = body.error.details as { path: string[]; message: string }[];
      expect(Array.isArray(issues), JSON.stringify(overrides)).toBe(true);
      if (field)
        expect(
          issues.some((i) => i.path[0] === field),
          `${JSON.stringify(overrides)} → ${JSON.stringify(issues)}`,
        ).toBe(true);
    }
    // Not JSON at all.
    await expectError(await postSale("{not json"), 400, "VALIDATION_FAILED");
    // Nothing was created by any of them.
    const sql = database();
    const titles = await sql`select title from sales where title = ${"t".repeat(201)} or title = '   '`;
    expect(titles).toHaveLength(0);
  });
});

describe("the sale lifecycle", () => {
  it("lists and reads sales with live stats from their objects, without the raw histograms", async () => {
    // A live sale with one purchase.
    const sale = await createSale({ stock: 4, title: `Stats ${crypto.randomUUID().slice(0, 8)}` });
    const alice = await shopper("statsalice");
    expect((await purchase(sale.id, alice.cookie)).status).toBe(202);

    // The sale's own page has the stats the contract names.
    const res = await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN });
    expect(res.status).toBe(200);
    const { sale: read } = (await res.json()) as { sale: AdminSale & Record<string, unknown> };
    expect(read.stats).toMatchObject({
      attempts: 1,
      sold: 1,
      remaining: 3,
      rejected: { soldOut: 0, duplicate: 0, rateLimited: 0, notStarted: 0, ended: 0, paused: 0 },
    });
    expect(read.latency).toBeUndefined();
    expect(read.gatewayLatency).toBeUndefined();

    // The list has it too, with the same stats.
    const list = (await (await call("/admin/api/sales", { headers: ADMIN })).json()) as { sales: AdminSale[] };
    expect(list.sales.find((s) => s.id === sale.id)?.stats).toMatchObject({ attempts: 1, sold: 1, remaining: 3 });

    // Unknown and malformed ids are 404.
    await expectError(await call(`/admin/api/sales/${crypto.randomUUID()}`, { headers: ADMIN }), 404, "NOT_FOUND");
    await expectError(await call("/admin/api/sales/%00", { headers: ADMIN }), 404, "NOT_FOUND");
  });

  it("changes a sale before its start, in the object and in PostgreSQL", async () => {
    // A sale that starts in an hour.
    const sale = await createSale({ startsInSeconds: 3600, stock: 10 });

    // A PATCH of several fields is answered with the new sale.
    const res = await patchSale(sale.id, { title: "Renamed phone", stock: 25, priceCents: 2_500, perUserLimit: 3 });
    expect(res.status).toBe(200);
    const { sale: changed } = (await res.json()) as { sale: Sale };
    expect(changed).toMatchObject({
      title: "Renamed phone",
      stock: 25,
      remaining: 25,
      priceCents: 2_500,
      perUserLimit: 3,
    });

    // The object keeps it…
    const read = (await (await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).json()) as { sale: AdminSale };
    expect(read.sale).toMatchObject({ title: "Renamed phone", stock: 25 });
    // … and PostgreSQL follows.
    const sql = database();
    const [row] = await sql<{ title: string; stock: number; price_cents: number }[]>`
      select title, stock, price_cents from sales where id = ${sale.id}`;
    expect(row).toMatchObject({ title: "Renamed phone", stock: 25, price_cents: 2_500 });

    // The same bounds as at creation.
    await expectError(await patchSale(sale.id, { stock: 0 }), 400, "VALIDATION_FAILED");
    await expectError(await patchSale(sale.id, { title: "" }), 400, "VALIDATION_FAILED");
    await expectError(await patchSale(sale.id, { perUserLimit: 101 }), 400, "VALIDATION_FAILED");
    await expectError(await patchSale(sale.id, { paymentWindowSeconds: 86_401 }), 400, "VALIDATION_FAILED");
    await expectError(await patchSale(sale.id, { unknown: 1 }), 400, "VALIDATION_FAILED");
    // endsAt after startsAt, both in the body or against the stored one.
    const start = Date.parse(sale.startsAt);
    await expectError(
      await patchSale(sale.id, { startsAt: new Date(start).toISOString(), endsAt: new Date(start - 1).toISOString() }),
      400,
      "VALIDATION_FAILED",
    );
    await expectError(
      await patchSale(sale.id, { endsAt: new Date(start - 60_000).toISOString() }),
      400,
      "VALIDATION_FAILED",
    );
    // A sale nobody created.
    await expectError(await patchSale(crypto.randomUUID(), { title: "Ghost" }), 404, "NOT_FOUND");
  });

  it("refuses to change a sale once it has started: 409 SALE_STARTED", async () => {
    // A live sale.
    const sale = await createSale({ stock: 10 });
    // Any change is refused, and nothing moves.
    await expectError(await patchSale(sale.id, { stock: 1 }), 409, "SALE_STARTED");
    await expectError(await patchSale(sale.id, { title: "Too late" }), 409, "SALE_STARTED");
    const read = (await (await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).json()) as { sale: AdminSale };
    expect(read.sale).toMatchObject({ stock: 10, title: sale.title });
  });

  it("pauses and resumes a sale, and the edge follows at once", async () => {
    // A live sale and two shoppers.
    const sale = await createSale({ stock: 5 });
    const [a, b] = [await shopper("pausea"), await shopper("pauseb")];
    expect((await purchase(sale.id, a.cookie)).status).toBe(202);

    // Pause: the answer is the paused sale, and the very next purchase is refused 423 PAUSED
    // (the gateway never caches a paused verdict, every purchase reaches the object).
    const paused = await call(`/admin/api/sales/${sale.id}/pause`, { method: "POST", headers: ADMIN });
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { sale: Sale }).sale.status).toBe("paused");
    const refused = await purchase(sale.id, b.cookie);
    expect(refused.status).toBe(423);
    expect(refused.body.error?.code).toBe("PAUSED");

    // Shoppers' sale page shows it once its short cache (500 ms) has passed.
    await waitFor("paused in GET /api/sales/:id", async () => {
      const res = (await (await call(`/api/sales/${sale.id}`)).json()) as { sale: Sale };
      return res.sale.status === "paused";
    });

    // Resume: the next purchase goes through.
    const resumed = await call(`/admin/api/sales/${sale.id}/resume`, { method: "POST", headers: ADMIN });
    expect(resumed.status).toBe(200);
    expect(((await resumed.json()) as { sale: Sale }).sale.status).toBe("live");
    expect((await purchase(sale.id, b.cookie)).status).toBe(202);
    await waitFor("live again in GET /api/sales/:id", async () => {
      const res = (await (await call(`/api/sales/${sale.id}`)).json()) as { sale: Sale };
      return res.sale.status === "live";
    });

    // The refusal was counted.
    const read = (await (await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).json()) as { sale: AdminSale };
    expect(read.sale.stats.rejected.paused).toBe(1);
    expect(read.sale.stats.sold).toBe(2);

    // Unknown sales cannot be paused.
    await expectError(
      await call(`/admin/api/sales/${crypto.randomUUID()}/pause`, { method: "POST", headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
  });
});
