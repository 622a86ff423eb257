/**
 * The storefront's contract plumbing: the typed client builds the right requests from `ShopperRoutes`
 * (lib/contract/schemas.ts) and rejects wrong ones at compile time; soft errors (`X-Error-Status`) are failures like
 * real ones; sign-in's plain-TypeScript rules agree with `credentialsSchema`; a 429's scope picks the words.
 */
import fc from "fast-check";
import { afterEach, describe, expect, test, vi } from "vitest";
import { credentialsSchema, type ShopperRoutes } from "../../lib/contract/schemas.ts";
import { ApiFailure, createClient, routeUrl } from "../../web/src/lib/api.ts";
import { rateLimitReason } from "../../web/src/components/BuyPanel.tsx";
import { credentialErrors } from "../../web/src/pages/Auth.tsx";
import { json, makeSale, mockFetch } from "./helpers.ts";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("typed client", () => {
  test("route + params + query → method and path", () => {
    expect(routeUrl("GET /api/sales/:id", { id: "a b/c" })).toEqual({ method: "GET", path: "/api/sales/a%20b%2Fc" });
    expect(routeUrl("POST /api/orders/:id/pay", { id: "x" })).toEqual({ method: "POST", path: "/api/orders/x/pay" });
    expect(routeUrl("GET /x", {}, { cursor: "c 1", limit: 50, none: undefined })).toEqual({
      method: "GET",
      path: "/x?cursor=c+1&limit=50",
    });
    expect(() => routeUrl("GET /api/sales/:id", {})).toThrow(/:id/);
  });

  test("answers are typed by the route table; a soft 4xx is an ApiFailure with the real status", async () => {
    const shopper = createClient<ShopperRoutes>();
    const sale = makeSale();
    const calls = mockFetch((path) =>
      path === `/api/sales/${sale.id}`
        ? json({ serverTime: new Date().toISOString(), sale })
        : new Response(
            JSON.stringify({ error: { code: "ALREADY_PURCHASED", message: "m", details: { orderId: "o" } } }),
            {
              status: 200,
              headers: { "Content-Type": "application/json", "X-Error-Status": "409" },
            },
          ),
    );
    const { data } = await shopper("GET /api/sales/:id", { params: { id: sale.id } });
    expect(data.sale.title).toBe(sale.title);
    expect(new Headers(calls[0].init.headers).get("X-Soft-Errors")).toBe("1");
    const failure = await shopper("POST /api/sales/:id/purchase", {
      params: { id: sale.id },
      body: { quantity: 1 },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiFailure);
    expect([(failure as ApiFailure).status, (failure as ApiFailure).code]).toEqual([409, "ALREADY_PURCHASED"]);
    expect(calls[1]).toMatchObject({ method: "POST", path: `/api/sales/${sale.id}/purchase` });
    expect(calls[1].init.body).toBe('{"quantity":1}');

    // Compile-time checks (npm run typecheck): a route's params and body are required and typed.
    const typeChecks = () => {
      // @ts-expect-error the route needs :id
      void shopper("GET /api/sales/:id");
      // @ts-expect-error no such route
      void shopper("GET /api/nope");
      // @ts-expect-error the purchase body is PurchaseInput
      void shopper("POST /api/sales/:id/purchase", { params: { id: "x" }, body: { quantity: "2" } });
      // @ts-expect-error the answer has no `orders`
      void shopper("GET /api/sales").then((r) => r.data.orders);
    };
    void typeChecks;
  });
});

test("sign-in's rules agree with credentialsSchema on any input", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_.-]{0,40}$/)),
      fc.string({ maxLength: 140 }),
      (username, password) => {
        const parsed = credentialsSchema.safeParse({ username, password });
        const ours = credentialErrors({ username, password });
        const theirs = new Set(parsed.success ? [] : parsed.error.issues.map((i) => String(i.path[0])));
        expect(new Set(Object.keys(ours))).toEqual(theirs);
      },
    ),
    { numRuns: 500 },
  );
});

test("a 429 is the shopper's own pace or the crowd's, by details.scope (else by Retry-After)", () => {
  const failure = (details: unknown, retryAfterMs: number | null) =>
    new ApiFailure(429, "RATE_LIMITED", "m", details, retryAfterMs);
  expect(rateLimitReason(failure({ scope: "shopper" }, 1_000))).toBe("too_fast");
  expect(rateLimitReason(failure({ scope: "sale" }, 10_000))).toBe("busy");
  expect(rateLimitReason(failure(undefined, 10_000))).toBe("too_fast");
  expect(rateLimitReason(failure(undefined, 1_000))).toBe("busy");
  expect(rateLimitReason(failure(undefined, null))).toBe("busy");
});
