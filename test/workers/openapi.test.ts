/**
 * The OpenAPI document (lib/contract/openapi.ts) against the code it describes:
 * - every route of the gateway and admin Hono apps is in it, and nothing in it is a route neither app serves;
 * - the gateway serves it at /api/openapi.json and a script-free reference at /api/docs;
 * - real answers, along a shopper's and a merchant's whole flow, are among the documented statuses and match the
 *   documented schemas to the field (an undocumented field fails too).
 * The document's validity against the OpenAPI 3.1 schema is checked in Node (test/node/openapi-document.test.ts):
 * the validator compiles JSON Schemas with `new Function`, which workerd forbids.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { errorBodySchema } from "../../lib/contract/answers.ts";
import { API_ROUTES, type ApiRoute } from "../../lib/contract/api-routes.ts";
import { buildOpenApiDocument, errorCodesOf } from "../../lib/contract/openapi.ts";
import { ERROR_STATUS } from "../../lib/contract/errors.ts";
import { app as adminApp } from "../../workers/admin/index.ts";
import { app as gatewayApp } from "../../workers/gateway/index.ts";
import { ADMIN, call, createSale, json, shopper } from "./helpers.ts";

/** What the apps serve, as `METHOD /path`: middleware (`use`) and catch-alls (proxies, the web app) are not routes. */
function servedRoutes(): Set<string> {
  const served = new Set<string>();
  for (const r of [...gatewayApp.routes, ...adminApp.routes]) {
    if (r.method === "ALL" || r.path.includes("*")) continue;
    served.add(`${r.method} ${r.path}`);
  }
  return served;
}

const documented = new Set(API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));

describe("the OpenAPI document covers the code", () => {
  it("describes every route the gateway and admin apps serve", () => {
    const missing = [...servedRoutes()].filter((r) => !documented.has(r));
    // A failure here names the routes to add: one `route("METHOD /path", {…})` line each in lib/contract/api-routes.ts.
    expect(missing, "routes missing from lib/contract/api-routes.ts").toEqual([]);
  });

  it("describes nothing that no app serves", () => {
    const served = servedRoutes();
    expect(
      [...documented].filter((r) => !served.has(r)),
      "documented routes no app serves",
    ).toEqual([]);
  });

  it("is served at /api/openapi.json, the same document as built from the table", async () => {
    const res = await call("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const doc = (await res.json()) as ReturnType<typeof buildOpenApiDocument>;
    expect(doc).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/sales/{id}/purchase");
    expect(Object.keys(doc.paths["/api/sales/{id}/purchase"].post.responses as object)).toEqual(
      expect.arrayContaining(["202", "401", "403", "404", "409", "410", "423", "429", "503"]),
    );
  });

  it("has a readable reference at /api/docs: HTML naming every route, with no script to load", async () => {
    const res = await call("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\/(?!shop\.example)/); // nothing fetched from elsewhere
    for (const r of API_ROUTES) expect(html).toContain(r.path.replace(/:([a-z]+)/gi, "{$1}"));
  });
});

// ---------------------------------------------------------------- real answers against the document

function routeOf(method: string, path: string): ApiRoute {
  const r = API_ROUTES.find((x) => x.method === method.toLowerCase() && x.path === path);
  if (!r) throw new Error(`${method} ${path} is not documented`);
  return r;
}

/**
 * Checks one real answer against its route's description: the status is documented, and the body matches the
 * documented schema exactly (parsing strips unknown fields, so the parsed value must equal the body).
 */
async function expectConforms(method: string, path: string, res: Response): Promise<unknown> {
  const route = routeOf(method, path);
  const text = await res.text();
  const body: unknown =
    text === "" ? null : res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text;
  const where = `${method} ${path} → ${res.status} ${text.slice(0, 200)}`;
  const success = route.ok.filter((o) => o.status === res.status);
  if (success.length > 0) {
    const schemas = success.flatMap((o) => ("schema" in o ? [o.schema] : []));
    if (schemas.length > 0 && typeof body === "object" && body !== null) {
      const parsed = (schemas[0] as z.ZodType).safeParse(body);
      expect(parsed.success, `${where}: ${parsed.error?.message}`).toBe(true);
      expect(parsed.data, `${where}: fields the document does not describe`).toEqual(body);
    }
    return body;
  }
  const codes = errorCodesOf(route);
  expect(
    codes.map((c) => ERROR_STATUS[c]),
    `${where}: status not documented`,
  ).toContain(res.status);
  const parsed = errorBodySchema.safeParse(body);
  expect(parsed.success, where).toBe(true);
  expect(codes, `${where}: error code not documented`).toContain(parsed.data!.error.code);
  return body;
}

describe("real answers match the document", () => {
  it("a shopper's flow: register, sign in, browse, buy, read, pay, cancel, sign out", async () => {
    const sale = await createSale({ stock: 3, perUserLimit: 2 });
    const username = `oas_${crypto.randomUUID().slice(0, 8)}`;
    const credentials = json({ username, password: "correct horse" });

    // Accounts.
    const registered = await call("/api/auth/register", { method: "POST", body: credentials });
    const cookie = registered.headers.get("Set-Cookie")!.split(";")[0];
    await expectConforms("POST", "/api/auth/register", registered);
    await expectConforms(
      "POST",
      "/api/auth/register",
      await call("/api/auth/register", { method: "POST", body: credentials }),
    );
    await expectConforms(
      "POST",
      "/api/auth/login",
      await call("/api/auth/login", { method: "POST", body: credentials }),
    );
    await expectConforms("POST", "/api/auth/login", await call("/api/auth/login", { method: "POST", body: "{" }));
    await expectConforms("GET", "/api/me", await call("/api/me", { cookie }));
    await expectConforms("GET", "/api/me", await call("/api/me"));

    // Browsing.
    await expectConforms("GET", "/api/sales", await call("/api/sales"));
    await expectConforms("GET", "/api/sales/:id", await call(`/api/sales/${sale.id}`));
    await expectConforms("GET", "/api/sales/:id", await call(`/api/sales/${crypto.randomUUID()}`));

    // Buying: accepted, replayed by key, refused twice, unauthenticated, malformed.
    const buy = (init: RequestInit & { cookie?: string }) =>
      call(`/api/sales/${sale.id}/purchase`, { method: "POST", ...init });
    const first = (await expectConforms(
      "POST",
      "/api/sales/:id/purchase",
      await buy({ cookie, headers: { "Idempotency-Key": "k1" } }),
    )) as {
      order: { id: string };
    };
    await expectConforms(
      "POST",
      "/api/sales/:id/purchase",
      await buy({ cookie, headers: { "Idempotency-Key": "k1" } }),
    );
    await expectConforms("POST", "/api/sales/:id/purchase", await buy({ cookie }));
    await expectConforms("POST", "/api/sales/:id/purchase", await buy({}));
    await expectConforms("POST", "/api/sales/:id/purchase", await buy({ cookie, body: json({ quantity: 0 }) }));

    // Orders.
    const orderId = first.order.id;
    await expectConforms("GET", "/api/orders", await call("/api/orders", { cookie }));
    await expectConforms("GET", "/api/orders/:id", await call(`/api/orders/${orderId}`, { cookie }));
    await expectConforms("GET", "/api/orders/:id", await call(`/api/orders/${"0".repeat(48)}`, { cookie }));
    await expectConforms(
      "POST",
      "/api/orders/:id/pay",
      await call(`/api/orders/${orderId}/pay`, { method: "POST", cookie }),
    );
    await expectConforms(
      "POST",
      "/api/orders/:id/pay",
      await call(`/api/orders/${orderId}/pay`, { method: "POST", cookie }),
    );
    await expectConforms(
      "POST",
      "/api/orders/:id/cancel",
      await call(`/api/orders/${orderId}/cancel`, { method: "POST", cookie }),
    );
    const other = await shopper("oas");
    const second = (await (await buy({ cookie: other.cookie })).json()) as { order: { id: string } };
    await expectConforms(
      "POST",
      "/api/orders/:id/cancel",
      await call(`/api/orders/${second.order.id}/cancel`, { method: "POST", cookie: other.cookie }),
    );

    await expectConforms("POST", "/api/auth/logout", await call("/api/auth/logout", { method: "POST", cookie }));
    await expectConforms("GET", "/healthz", await call("/healthz"));
    await expectConforms("GET", "/readyz", await call("/readyz"));
  });

  it("a merchant's flow: create, list, read, change, pause, resume, orders (JSON and CSV), reconcile, failed orders", async () => {
    const start = Date.now() + 3_600_000;
    const body = {
      title: "Documented",
      priceCents: 100,
      stock: 2,
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + 60_000).toISOString(),
    };
    const created = (await expectConforms(
      "POST",
      "/admin/api/sales",
      await call("/admin/api/sales", { method: "POST", headers: ADMIN, body: json(body) }),
    )) as {
      sale: { id: string };
    };
    const id = created.sale.id;
    await expectConforms(
      "POST",
      "/admin/api/sales",
      await call("/admin/api/sales", { method: "POST", headers: ADMIN, body: json({ ...body, stock: 0 }) }),
    );
    await expectConforms(
      "POST",
      "/admin/api/sales",
      await call("/admin/api/sales", { method: "POST", body: json(body) }),
    );
    await expectConforms("GET", "/admin/api/sales", await call("/admin/api/sales", { headers: ADMIN }));
    await expectConforms("GET", "/admin/api/sales/:id", await call(`/admin/api/sales/${id}`, { headers: ADMIN }));
    await expectConforms("GET", "/admin/api/sales/:id", await call(`/admin/api/sales/nope`, { headers: ADMIN }));
    await expectConforms(
      "PATCH",
      "/admin/api/sales/:id",
      await call(`/admin/api/sales/${id}`, { method: "PATCH", headers: ADMIN, body: json({ title: "Renamed" }) }),
    );
    await expectConforms(
      "POST",
      "/admin/api/sales/:id/pause",
      await call(`/admin/api/sales/${id}/pause`, { method: "POST", headers: ADMIN }),
    );
    await expectConforms(
      "POST",
      "/admin/api/sales/:id/resume",
      await call(`/admin/api/sales/${id}/resume`, { method: "POST", headers: ADMIN }),
    );
    await expectConforms(
      "GET",
      "/admin/api/sales/:id/orders",
      await call(`/admin/api/sales/${id}/orders?limit=5`, { headers: ADMIN }),
    );
    await expectConforms(
      "GET",
      "/admin/api/sales/:id/orders",
      await call(`/admin/api/sales/${id}/orders?limit=0`, { headers: ADMIN }),
    );
    const csv = await call(`/admin/api/sales/${id}/orders?format=csv`, { headers: ADMIN });
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    await expectConforms("GET", "/admin/api/sales/:id/orders", csv);
    await expectConforms(
      "POST",
      "/admin/api/sales/:id/reconcile",
      await call(`/admin/api/sales/${id}/reconcile`, { method: "POST", headers: ADMIN }),
    );
    await expectConforms("GET", "/admin/api/failed-orders", await call("/admin/api/failed-orders", { headers: ADMIN }));
    await expectConforms(
      "POST",
      "/admin/api/failed-orders/:id/replay",
      await call(`/admin/api/failed-orders/${crypto.randomUUID()}/replay`, { method: "POST", headers: ADMIN }),
    );
    await expectConforms("GET", "/metrics", await call("/metrics", { headers: ADMIN }));
    await expectConforms("GET", "/metrics", await call("/metrics"));
  });
});
