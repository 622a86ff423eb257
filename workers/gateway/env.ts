/**
 * The gateway Worker's bindings, as the root wrangler.toml declares them (types/env-consistency.ts checks the two agree).
 */
import type { AccountGuard } from "../../durable-objects/account-guard.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import type { CommonEnv } from "../../lib/server/env.ts";
import type { SeckillRpc } from "../seckill/rpc.ts";

export interface GatewayEnv extends CommonEnv {
  SECKILL: SeckillRpc;
  /**
   * The sale objects, bound directly (script_name = the seckill Worker) for the purchase hot path. `wrangler types`
   * generates a cross-Worker binding untyped, hence the union; workers/gateway/sale-object.ts types its stubs.
   */
  SALE_ITEM: DurableObjectNamespace<SaleItem> | DurableObjectNamespace;
  /**
   * The AccountGuard objects, bound directly the same way for the purchase's cap on unpaid holds (holds.ts); the
   * other account calls go through SECKILL. Optional: without it the holds go through SECKILL too.
   */
  ACCOUNT_GUARD?: DurableObjectNamespace<AccountGuard> | DurableObjectNamespace;
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
  /** Failed sign-ins allowed per (username, client) per window. */
  LOGIN_FAILURES_MAX?: string;
  LOGIN_FAILURES_WINDOW_SECONDS?: string;
  /** Failed sign-ins allowed per client (all usernames) per window; default 20. */
  LOGIN_CLIENT_FAILURES_MAX?: string;
  /** A session unused this long is over (seconds; default 43,200 = 12 h). */
  SESSION_IDLE_SECONDS?: string;
  /** Unpaid held orders one shopper may have across the shop (default 3; 0 turns the cap off). */
  MAX_UNPAID_HOLDS?: string;
  /** Milliseconds before a call to the seckill Worker counts as failed. */
  SECKILL_TIMEOUT_MS?: string;
  /** Workers Analytics Engine dataset "minishop_metrics" (bound in production only). */
  METRICS_AE?: AnalyticsEngineDataset;
}
