/**
 * The gateway's Hono types and the isolate-wide guards, configured from the Worker's vars on first use.
 */
import type { Context } from "hono";
import { ApiError } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";
import type { User } from "../../lib/contract/schemas.ts";
import { BreakerOpenError, CircuitBreaker, ClosedSales, SlidingWindow, TokenBucket } from "./guards.ts";

export interface GatewayVariables {
  traceId: string;
  traceparent: string;
  user?: User;
}

export type GatewayApp = { Bindings: GatewayEnv; Variables: GatewayVariables };
export type GatewayContext = Context<GatewayApp>;

function numberVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

export interface Guards {
  admissionRate: number;
  admissionBurst: number;
  /** The longest a purchase waits at the edge for admission (the probe's lease, the next bin) before a 429. */
  admissionWaitMs: number;
  admission: Map<string, TokenBucket>;
  closed: ClosedSales;
  breaker: CircuitBreaker;
  /** The failed sign-in limit per (username, client) and its window (counted in AccountGuard objects). */
  loginFailures: SlidingWindow;
  /** Failed sign-ins per client, all usernames, per the same window. */
  loginClientFailures: number;
  /** Unpaid held orders per shopper across the shop (0: no cap). */
  maxUnpaidHolds: number;
  /** Rejections answered at the edge, per sale, waiting to be added to the object's counters. */
  edgeRejections: Map<string, { rateLimited: number; soldOut: number; ended: number }>;
}

let guards: Guards | null = null;

export function getGuards(env: GatewayEnv): Guards {
  if (guards) return guards;
  guards = {
    admissionRate: numberVar(env.ADMISSION_RPS, 800),
    admissionBurst: numberVar(env.ADMISSION_BURST, 200),
    admissionWaitMs: numberVar(env.ADMISSION_WAIT_MS, 1000),
    admission: new Map(),
    closed: new ClosedSales(),
    breaker: new CircuitBreaker(5, 5_000, numberVar(env.SECKILL_TIMEOUT_MS, 3_000)),
    loginFailures: new SlidingWindow(
      numberVar(env.LOGIN_FAILURES_MAX, 5),
      numberVar(env.LOGIN_FAILURES_WINDOW_SECONDS, 300) * 1000,
    ),
    loginClientFailures: numberVar(env.LOGIN_CLIENT_FAILURES_MAX, 20),
    maxUnpaidHolds: env.MAX_UNPAID_HOLDS === "0" ? 0 : numberVar(env.MAX_UNPAID_HOLDS, 3),
    edgeRejections: new Map(),
  };
  return guards;
}

/** Tests build a fresh gateway state with other vars. */
export function resetGuards(): void {
  guards = null;
}

/** A call to the seckill Worker under the circuit breaker; an open breaker or a failure is a 503. */
export async function callSeckill<T>(c: GatewayContext, call: () => Promise<T>): Promise<T> {
  const g = getGuards(c.env);
  try {
    return await g.breaker.run(call);
  } catch (err) {
    if (err instanceof BreakerOpenError) {
      throw new ApiError("UNAVAILABLE", "The sale service is unavailable, try again shortly", undefined, {
        "Retry-After": String(err.retryAfter),
      });
    }
    console.error(JSON.stringify({ msg: "seckill call failed", traceId: c.get("traceId"), error: String(err) }));
    throw new ApiError("UNAVAILABLE", "The sale service is unavailable, try again shortly", undefined, {
      "Retry-After": "2",
    });
  }
}
