/**
 * Over capacity a shopper is told to retry, never given a 5xx (docs/design.md, "Hot sales: admission"): when the
 * runtime refuses a call because the sale's object is overloaded, the purchase is answered 429 + Retry-After.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import gateway from "../../workers/gateway/index.ts";
import type { GatewayEnv } from "../../workers/gateway/env.ts";
import { BASE, createSale, shopper } from "./helpers.ts";

/** A SALE_ITEM namespace whose objects all throw the runtime's overloaded error. */
function overloadedNamespace(): GatewayEnv["SALE_ITEM"] {
  const real = env.SALE_ITEM;
  const overloaded = Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
    overloaded: true,
  });
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "get") return () => ({ reservePurchase: async () => Promise.reject(overloaded) });
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as GatewayEnv["SALE_ITEM"];
}

describe("an overloaded sale object", () => {
  it("is answered 429 RATE_LIMITED with Retry-After, and does not open the circuit breaker", async () => {
    const sale = await createSale();
    const { cookie } = await shopper("overload");
    const overEnv = { ...env, SALE_ITEM: overloadedNamespace() } as GatewayEnv;
    for (let i = 0; i < 7; i++) {
      const res = await gateway.fetch(
        new Request(`${BASE}/api/sales/${sale.id}/purchase`, { method: "POST", headers: { Cookie: cookie } }),
        overEnv,
        createExecutionContext(),
      );
      // Each of them reaches the (overloaded) object: a busy sale is not a broken one.
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    }
  });
});
