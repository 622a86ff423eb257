/**
 * Unknown ids cost nothing (docs/api.md "More"): before any route reaches a sale's object — which would create
 * the object and its storage for any id — the gateway checks the id against the sales it knows, the SaleCatalog's
 * list kept in isolate memory. A miss refreshes the list at most once per `REFRESH_MIN_MS` per isolate (calls are
 * shared by every request waiting on the same refresh), so a flood of random ids costs at most a few catalog
 * reads a second and no object, storage or per-id state: the set holds the catalog's ids and nothing else.
 *
 * A new sale is known everywhere within `REFRESH_MIN_MS` of its creation (the contract allows 2 s for a new sale
 * to show up). A sale is never removed from the catalog, so "known" never becomes wrong.
 *
 * @example
 * sales.use("/:id/*", requireKnownSale); // every route under /api/sales/:id, now and later
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";
import { isOrderId, isUuid, saleIdOfOrder } from "../../lib/contract/ids.ts";
import type { GatewayApp, GatewayContext } from "./context.ts";

/** The least time between two catalog reads in one isolate, whatever the misses: at most 4 reads a second. */
export const REFRESH_MIN_MS = 250;
/** The catalog's answer is bounded by the number of sales; this bounds it again, against a runaway catalog. */
const MAX_KNOWN = 100_000;

class KnownSales {
  private ids = new Set<string>();
  /** Sales with more than one shard (docs/api.md "Hot sales"); a shard count never changes after creation. */
  private sharded = new Map<string, number>();
  private fetchedAt = 0;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.ids.size;
  }

  /**
   * Whether `saleId` names a sale: memory first; on a miss, the catalog is read again — at once if the last read
   * is older than `REFRESH_MIN_MS`, else when it is (the request waits on a timer, not on work). Every miss in
   * the meantime shares that one read.
   */
  async has(env: GatewayEnv, saleId: string): Promise<boolean> {
    if (this.ids.has(saleId)) return true;
    await this.refresh(env);
    return this.ids.has(saleId);
  }

  /** The shard count of a sale this isolate knows (1 unless the catalog says more). */
  shardsOf(saleId: string): number {
    return this.sharded.get(saleId) ?? 1;
  }

  /** The catalog changed (a sale was created through this isolate): the next miss reads it at once. */
  invalidate(): void {
    this.fetchedAt = 0;
  }

  private refresh(env: GatewayEnv): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const wait = this.fetchedAt + REFRESH_MIN_MS - this.now();
    const slot = wait > 0 ? new Promise<void>((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
    this.refreshing = slot
      .then(() => {
        this.fetchedAt = this.now();
        return env.SECKILL.saleCatalog();
      })
      .then(
        ({ ids, sharded }) => {
          this.ids = new Set(ids.slice(0, MAX_KNOWN));
          this.sharded = new Map(sharded.slice(0, MAX_KNOWN));
        },
        (err: unknown) => {
          // Keep what was known; with nothing known at all the caller cannot tell, and says so (503).
          console.error(JSON.stringify({ msg: "sale catalog unavailable", error: String(err) }));
          if (this.ids.size === 0) throw err;
        },
      )
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }
}

const known = new KnownSales();

/** A sale was just created through this isolate: it is known on the next request, not after a refresh slot. */
export function catalogChanged(): void {
  known.invalidate();
}

/**
 * How many shards a known sale has (after `assertKnownSale` / `requireKnownSale` let the request through): the
 * gateway sends a purchase to the shopper's home shard (lib/server/hot/routing.ts).
 */
export function shardsOfKnownSale(saleId: string): number {
  return known.shardsOf(saleId);
}

/** For tests: how many ids this isolate holds (must not grow with unknown ids). */
export function knownSalesCount(): number {
  return known.size;
}

/**
 * Throws `404 NOT_FOUND` unless `saleId` is a well-shaped id of a sale in the catalog; `503` when the catalog
 * cannot be read and this isolate knows nothing yet.
 */
export async function assertKnownSale(c: GatewayContext, saleId: string, what = "sale"): Promise<void> {
  if (!isUuid(saleId)) throw new ApiError("NOT_FOUND", `No such ${what}`);
  let found: boolean;
  try {
    found = await known.has(c.env, saleId);
  } catch {
    throw new ApiError("UNAVAILABLE", "The sale service is unavailable, try again shortly", undefined, {
      "Retry-After": "2",
    });
  }
  if (!found) throw new ApiError("NOT_FOUND", `No such ${what}`);
}

/** An order id of the right shape whose sale is known (an order id carries its sale's id, lib/contract/ids.ts). */
export async function assertKnownOrder(c: GatewayContext, orderId: string): Promise<void> {
  if (!isOrderId(orderId)) throw new ApiError("NOT_FOUND", "No such order");
  await assertKnownSale(c, saleIdOfOrder(orderId), "order");
}

/**
 * Hono middleware for every route with a sale id in `:id` — the guard that routes under `/api/sales/:id`
 * (purchase, and the queue, entries and registrations routes) share.
 *
 * @example
 * sales.use("/:id", requireKnownSale).use("/:id/*", requireKnownSale)
 */
export const requireKnownSale: MiddlewareHandler<GatewayApp> = async (c, next) => {
  await assertKnownSale(c, c.req.param("id") ?? "");
  await next();
};
