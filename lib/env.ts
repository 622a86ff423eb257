/**
 * The bindings of each Worker, as their wrangler.toml files declare them.
 */
import type { SaleCatalog } from "../durable-objects/sale-catalog.ts";
import type { SaleItem } from "../durable-objects/sale-item.ts";
import type { SaleReserve } from "../durable-objects/sale-reserve.ts";
import type { OrderMessage } from "./schemas.ts";
import type { WorkerEntrypoint } from "cloudflare:workers";
import type SeckillService from "../workers/seckill/index.ts";

/** "production" makes the secrets mandatory and the session cookie Secure. */
interface Common {
  ENVIRONMENT?: string;
}

export interface SeckillEnv extends Common {
  SALE_ITEM: DurableObjectNamespace<SaleItem>;
  SALE_CATALOG: DurableObjectNamespace<SaleCatalog>;
  /** Stock coordinators of sharded sales (docs/design.md, "Hot sales"). */
  SALE_RESERVE: DurableObjectNamespace<SaleReserve>;
  ORDERS: Queue<OrderMessage>;
}

/**
 * The seckill Worker's RPC methods with their plain result types: results cross the binding by structured
 * clone, so they arrive as the same plain data (the generic `Service<>` typing loses the unions on the way).
 */
export type SeckillRpc = Fetcher & {
  [K in Exclude<keyof SeckillService, keyof WorkerEntrypoint | "fetch">]: SeckillService[K];
};

export interface GatewayEnv extends Common {
  SECKILL: SeckillRpc;
  /**
   * The sale objects, bound directly (script_name = the seckill Worker) for the purchase hot path. `wrangler types`
   * generates a cross-Worker binding untyped, hence the union; workers/gateway/sale-object.ts types its stubs.
   */
  SALE_ITEM: DurableObjectNamespace<SaleItem> | DurableObjectNamespace;
  ADMIN: Fetcher;
  HYPERDRIVE: Hyperdrive;
  ASSETS?: Fetcher;
  /** Product photos (R2), served at /images/* (workers/gateway/images.ts). */
  IMAGES: R2Bucket;
  SESSION_SECRET?: string;
  PURCHASE_LIMITER?: RateLimit;
  AUTH_LIMITER?: RateLimit;
  /** Per-sale admission ceiling (requests per second reaching one sale's object). */
  ADMISSION_RPS?: string;
  ADMISSION_BURST?: string;
  /** Failed logins allowed per username per window. */
  LOGIN_FAILURES_MAX?: string;
  LOGIN_FAILURES_WINDOW_SECONDS?: string;
  /** Milliseconds before a call to the seckill Worker counts as failed. */
  SECKILL_TIMEOUT_MS?: string;
  /** Workers Analytics Engine dataset "minishop_metrics" (bound in production only). */
  METRICS_AE?: AnalyticsEngineDataset;
}

export interface AdminEnv extends Common {
  SECKILL: SeckillRpc;
  HYPERDRIVE: Hyperdrive;
  /** Product photos (R2), written by PUT /admin/api/sales/:id/image (images.ts). */
  IMAGES: R2Bucket;
  ADMIN_TOKEN?: string;
  /** Workers Analytics Engine dataset "minishop_metrics" (bound in production only). */
  METRICS_AE?: AnalyticsEngineDataset;
}

export interface ConsumerEnv extends Common {
  SECKILL: SeckillRpc;
  HYPERDRIVE: Hyperdrive;
}

export const DEV_ADMIN_TOKEN = "dev-admin-token";
export const DEV_SESSION_SECRET = "dev-session-secret-change-me-in-production";

export function isProduction(env: Common): boolean {
  return env.ENVIRONMENT === "production";
}

/** Secrets are required in production; locally the documented defaults apply. */
export function requireSecret(env: Common, value: string | undefined, name: string, devDefault: string): string {
  if (value) return value;
  if (isProduction(env)) throw new Error(`${name} is not set: run \`wrangler secret put ${name}\``);
  return devDefault;
}

/** The names among `names` that are unset (or empty) in `env`. */
export function missingSecrets(env: object, names: readonly string[]): string[] {
  const values = env as Record<string, unknown>;
  return names.filter((name) => typeof values[name] !== "string" || values[name] === "");
}

/** Which refusals this isolate has logged already (one line each, not one per request). */
const refusalsLogged = new Set<string>();

/**
 * Production refuses to serve at all while a secret it needs is missing, rather than failing route by route
 * (or, worse, answering health checks as if all were well). Returns the 500 to send, or null when the Worker
 * may serve. Logs one line per isolate naming the secrets and the command that sets them. Outside production
 * it always returns null: the documented local defaults apply there (see `requireSecret`).
 * `wrangler deploy --env production` already refuses to deploy without them (`secrets.required` in each
 * wrangler.toml); this is the runtime half, for a secret deleted after the deploy.
 *
 * @example
 * // first lines of a plain fetch handler
 * const refusal = refuseWithoutSecrets(env, ["ADMIN_TOKEN"]);
 * if (refusal) return refusal;
 */
export function refuseWithoutSecrets(env: Common, names: readonly string[]): Response | null {
  if (!isProduction(env)) return null;
  const missing = missingSecrets(env, names);
  if (missing.length === 0) return null;
  if (!refusalsLogged.has(missing.join())) {
    refusalsLogged.add(missing.join());
    console.error(
      JSON.stringify({
        msg: "refusing to serve: required secrets are not set",
        missing,
        fix: missing.map((name) => `wrangler secret put ${name} --env production`),
      }),
    );
  }
  return Response.json(
    { error: { code: "INTERNAL", message: "The service is not configured; see the Worker's logs" } },
    { status: 500 },
  );
}

/**
 * Hono middleware form of `refuseWithoutSecrets`, mounted first in a Worker's app.
 *
 * @example
 * app.use(requireSecrets("SESSION_SECRET"));
 */
export function requireSecrets(...names: string[]) {
  return async (c: { env: Common }, next: () => Promise<void>): Promise<Response | void> => {
    const refusal = refuseWithoutSecrets(c.env, names);
    if (refusal) return refusal;
    await next();
  };
}

/**
 * A Durable Object stub as its callers use it: each public method, awaited, with its plain result type.
 * (The generic stub typing turns result unions into unions of promises, which nothing can narrow.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;
export type StubOf<T> = {
  [K in keyof T as T[K] extends AnyFunction ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};
