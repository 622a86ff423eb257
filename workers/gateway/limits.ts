/**
 * Rate limits through the Workers Rate Limiting binding (counted across the edge location), per client address
 * and per shopper. Locally the runtime simulates the binding. The client's address is `clientAddressKey`'s
 * (client-address.ts: `CF-Connecting-IP` on Cloudflare, IPv6 per /64; what the local runtime trusts is said there).
 *
 * Purchases are limited twice, by two bindings with two jobs (docs/design.md "Scalpers made expensive"):
 * `PURCHASE_LIMITER` per shopper (20 per 10 s: one person's clicks and retries), and `PURCHASE_IP_LIMITER` per
 * address, a budget many times larger (500 per 10 s), because one address is often many shoppers (an office, a
 * carrier-grade NAT): it stops one script hammering from one address, not the 21st shopper of a NAT.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";
import type { GatewayApp, GatewayContext } from "./context.ts";
import { clientAddressKey } from "./client-address.ts";

type LimiterName = "AUTH_LIMITER" | "PURCHASE_LIMITER" | "PURCHASE_IP_LIMITER";

/**
 * A `429`. `scope` says whose pace was too fast (docs/api.md "Rate-limit scope"): `"shopper"` — this shopper's
 * or this network's own attempts; `"sale"` — the sale's admission ceiling, i.e. the crowd. Clients word it
 * differently ("you are clicking too fast" vs "lots of shoppers").
 */
export function rateLimited(message: string, retryAfterSeconds: number, scope?: "shopper" | "sale"): ApiError {
  return new ApiError("RATE_LIMITED", message, scope ? { scope } : undefined, {
    "Retry-After": String(retryAfterSeconds),
  });
}

/** Asks the binding; a missing binding or a failing one lets the request through (the object still guards). */
export async function overLimit(env: GatewayEnv, name: LimiterName, key: string): Promise<boolean> {
  const limiter = env[name];
  if (!limiter) return false;
  try {
    return !(await limiter.limit({ key })).success;
  } catch {
    return false;
  }
}

/**
 * @example
 * app.post("/login", limitByIp("AUTH_LIMITER"), handler)
 */
export function limitByIp(name: LimiterName): MiddlewareHandler<GatewayApp> {
  return async (c, next) => {
    const address = clientAddressKey(c.env, c.req.raw.headers);
    if (address !== undefined && (await overLimit(c.env, name, `ip:${address}`)))
      throw rateLimited("Too many requests from your network", 10);
    await next();
  };
}

/**
 * Whether a purchase attempt by `userId` is over either purchase limit: the shopper's own (`PURCHASE_LIMITER`),
 * then the address's budget (`PURCHASE_IP_LIMITER`, asked only when the shopper's own limit passed, so a
 * shopper's rejected clicks do not spend the budget of everyone behind the same address).
 */
export async function overPurchaseLimits(c: GatewayContext, userId: string): Promise<boolean> {
  if (await overLimit(c.env, "PURCHASE_LIMITER", `user:${userId}`)) return true;
  const address = clientAddressKey(c.env, c.req.raw.headers);
  return address !== undefined && (await overLimit(c.env, "PURCHASE_IP_LIMITER", `ip:${address}`));
}
