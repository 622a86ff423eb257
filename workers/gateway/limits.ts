/**
 * Rate limits through the Workers Rate Limiting binding (counted across the edge location), per client IP
 * and per shopper. Locally Miniflare simulates the binding. A request without `CF-Connecting-IP` (only
 * possible off Cloudflare) is not limited per IP.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";
import type { GatewayApp } from "./context.ts";

type LimiterName = "AUTH_LIMITER" | "PURCHASE_LIMITER";

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
    const ip = c.req.header("CF-Connecting-IP");
    if (ip && (await overLimit(c.env, name, `ip:${ip}`))) throw rateLimited("Too many requests from your network", 10);
    await next();
  };
}
