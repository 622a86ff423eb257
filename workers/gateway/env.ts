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
  /** Purchases per shopper (20 per 10 s). */
  PURCHASE_LIMITER?: RateLimit;
  /** Purchases per client address, IPv6 per /64: a NAT-sized budget (500 per 10 s; workers/gateway/limits.ts). */
  PURCHASE_IP_LIMITER?: RateLimit;
  AUTH_LIMITER?: RateLimit;
  /** Per-sale admission ceiling (requests per second reaching one sale's object). */
  ADMISSION_RPS?: string;
  ADMISSION_BURST?: string;
  /** Milliseconds a purchase may wait at the edge for the sale object's admission before a 429 (default 1000). */
  ADMISSION_WAIT_MS?: string;
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
  /**
   * Local runtime only: `"true"` trusts the `CF-Connecting-IP` a local client sends (the bench and tests play many
   * networks); otherwise the header is ignored and the per-address limits are off locally. Ignored in production (workers/gateway/client-address.ts).
   */
  TRUST_CLIENT_IP_HEADER?: string;
  /** HMAC key of the proof-of-work challenges (a secret in production; workers/gateway/challenge.ts). */
  CHALLENGE_HMAC_KEY?: string;
  /** The challenge's counter ceiling: a solver makes 3/4 of it in attempts on average (default 10,000). */
  CHALLENGE_DIFFICULTY?: string;
  /** How long an issued challenge can be solved and spent (seconds; default 300). */
  CHALLENGE_TTL_SECONDS?: string;
  /** `"off"` turns every challenge check off, for local load tests; ignored in production. */
  CHALLENGE?: string;
  /** Workers Analytics Engine dataset "minishop_metrics" (bound in production only). */
  METRICS_AE?: AnalyticsEngineDataset;
}
