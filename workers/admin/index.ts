/**
 * The admin Worker: merchants create and run sales, read orders, repair what failed, and scrape metrics.
 * Reached through the gateway's service binding (/admin/api/*, /metrics); every route needs
 * `Authorization: Bearer $ADMIN_TOKEN` (auth.ts).
 *
 * Where each answer comes from:
 * - a sale and its live stats: the sale's object (through the seckill Worker), the system of record for stock;
 * - orders, failed orders: PostgreSQL (through Hyperdrive), where the consumer writes them;
 * - /metrics: every sale object's `getStats()` (metrics.ts), also written to Analytics Engine in production
 *   (analytics.ts).
 */
import { defaultShardsForStock } from "../../lib/server/hot/routing.ts";
import { and, asc, count, desc, eq, gt, inArray } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { failedOrders, orders, sales, users } from "../../db/schema.ts";
import { connect, databaseUnavailable, withDatabaseOrUnavailable, type Database } from "../../lib/server/db.ts";
import { checkReadiness } from "../../lib/server/readiness.ts";
import { withTimeout } from "../../lib/server/timeout.ts";
import { requireSecrets } from "../../lib/server/env.ts";
import { type AdminEnv } from "./env.ts";
import { ApiError, rejectionToError } from "../../lib/contract/errors.ts";
import { isUuid } from "../../lib/contract/ids.ts";
import { useErrorPath, validate } from "../../lib/server/http.ts";
import {
  createSaleSchema,
  failedOrdersQuerySchema,
  orderPageQuerySchema,
  orderPrices,
  updateSaleSchema,
  type AdminOrder,
  type FailedOrder,
  type Order,
  type OrderMessage,
  type ReconcileResult,
} from "../../lib/contract/schemas.ts";
import { writeAnalytics } from "./analytics.ts";
import { adminDraws } from "./draws.ts";
import { requireAdminToken } from "./auth.ts";
import { CSV_COLUMNS, csvLine } from "./csv.ts";
import { deleteImage, deleteSaleImages, readImageUpload, storeImage } from "./images.ts";
import { CONTENT_TYPE, renderMetrics, type SaleWithStats } from "./metrics.ts";

type AdminApp = { Bindings: AdminEnv };
type AdminContext = Context<AdminApp>;

const encoder = new TextEncoder();

/** Rows per PostgreSQL round trip when streaming a CSV export. */
const CSV_PAGE_ROWS = 1000;

function saleIdParam(c: AdminContext): string {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) throw new ApiError("NOT_FOUND", "No such sale");
  return id;
}

/** Every order id of a sale starts with the sale's id in hex (lib/contract/ids.ts), so keyset pages start after it. */
function orderIdFloor(saleId: string): string {
  return saleId.replaceAll("-", "");
}

/**
 * A merchant's call to PostgreSQL never hangs: a database that accepts connections and then answers nothing
 * (frozen, overloaded) is a `503 UNAVAILABLE` after this long, not a request that waits for ever.
 */
const ADMIN_DB_TIMEOUT_MS = 5_000;

function db<T>(c: AdminContext, work: (db: Database) => Promise<T>): Promise<T> {
  return withDatabaseOrUnavailable(c.env.HYPERDRIVE, (d) => work(d), {
    worker: "admin",
    timeoutMs: ADMIN_DB_TIMEOUT_MS,
  });
}

/**
 * A sale id of the right shape that the catalog knows; anything else is a 404 before any object is reached,
 * so no route creates an object (or its storage) for an id that names nothing (docs/api.md "More").
 */
async function knownSaleIdParam(c: AdminContext): Promise<string> {
  const id = saleIdParam(c);
  if (!(await c.env.SECKILL.hasSale(id))) throw new ApiError("NOT_FOUND", "No such sale");
  return id;
}

/** A page of a sale's orders, each with its shopper's username (a left join: an order outlives nothing, but never hides). */
function ordersPage(d: Database, saleId: string, after: string, limit: number) {
  return d
    .select({ order: orders, username: users.username })
    .from(orders)
    .leftJoin(users, eq(users.id, orders.userId))
    .where(and(eq(orders.saleId, saleId), gt(orders.id, after)))
    .orderBy(asc(orders.id))
    .limit(limit);
}

/**
 * The first page of a sale's orders and, in the same statement, whether PostgreSQL knows the sale (orders live
 * there, so a sale it does not know has none to list: 404). One round trip, not two: under load every round
 * trip to PostgreSQL waits its turn in the Worker's event loop, and a merchant's read paid for each.
 */
async function firstOrdersPage(d: Database, saleId: string, after: string, limit: number) {
  const rows = await d
    .select({ order: orders, username: users.username })
    .from(sales)
    .leftJoin(orders, and(eq(orders.saleId, sales.id), gt(orders.id, after)))
    .leftJoin(users, eq(users.id, orders.userId))
    .where(eq(sales.id, saleId))
    .orderBy(asc(orders.id))
    .limit(limit);
  if (rows.length === 0) throw new ApiError("NOT_FOUND", "No such sale");
  return rows.flatMap((r) => (r.order ? [{ order: r.order, username: r.username }] : []));
}

function toOrder(row: typeof orders.$inferSelect): Order {
  return {
    id: row.id,
    saleId: row.saleId,
    userId: row.userId,
    quantity: row.quantity,
    // PostgreSQL keeps the line total (orders.price_cents): the three price fields come from it.
    ...orderPrices(row.priceCents, row.quantity),
    status: row.status as Order["status"],
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

type OrderWithUsername = Awaited<ReturnType<typeof ordersPage>>[number];

function toAdminOrder(row: OrderWithUsername): AdminOrder {
  return { ...toOrder(row.order), username: row.username };
}

/** The sale and its stats as merchants read them; the raw histograms are for /metrics only. */
function toAdminSale(s: SaleWithStats) {
  const { latency: _l, gatewayLatency: _g, consumerBatch: _c, ...sale } = s;
  return sale;
}

function toFailedOrder(r: typeof failedOrders.$inferSelect, landedVersion: number): FailedOrder & { payload: unknown } {
  return {
    id: r.id,
    orderId: r.orderId,
    saleId: r.saleId,
    error: r.error,
    attempts: r.attempts,
    createdAt: r.createdAt.toISOString(),
    replayedAt: r.replayedAt?.toISOString() ?? null,
    /** PostgreSQL has this version of the order (or a later one): nothing is left to repair. */
    landed: landedVersion >= (r.payload as OrderMessage).version,
    payload: r.payload,
  };
}

function csvRows(rows: OrderWithUsername[]): Uint8Array {
  return encoder.encode(
    rows
      .map((r) => {
        const o = toAdminOrder(r);
        return csvLine(CSV_COLUMNS.map((k) => o[k] ?? ""));
      })
      .join(""),
  );
}

/**
 * The CSV export, streamed: one keyset page of PostgreSQL rows per chunk, fetched only when the client has
 * taken the previous one (`pull`), so memory stays one page whatever the size of the sale. The sale check and
 * the first page run before the answer starts, so an unknown sale is a 404 and an outage a 503, never a
 * 200 that breaks off; a failure later on aborts the stream (the client sees a truncated download).
 */
async function streamCsv(c: AdminContext, saleId: string, cursor: string | undefined): Promise<Response> {
  // Each page gets an answer in time or the export fails (503 before the first byte, a cut-off stream after).
  const { db: d } = connect(c.env.HYPERDRIVE, { connectTimeoutSeconds: 3 });
  const page = <T>(work: Promise<T>) => withTimeout(work, ADMIN_DB_TIMEOUT_MS, "PostgreSQL");
  let after = cursor ?? orderIdFloor(saleId);
  let first: OrderWithUsername[];
  try {
    first = await page(firstOrdersPage(d, saleId, after, CSV_PAGE_ROWS));
  } catch (err) {
    throw databaseUnavailable(err, { worker: "admin" });
  }
  let more = first.length === CSV_PAGE_ROWS;
  if (first.length > 0) after = first[first.length - 1].order.id;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvLine([...CSV_COLUMNS])));
      if (first.length > 0) controller.enqueue(csvRows(first));
      if (!more) controller.close();
    },
    async pull(controller) {
      try {
        const rows = await page(ordersPage(d, saleId, after, CSV_PAGE_ROWS));
        if (rows.length > 0) {
          after = rows[rows.length - 1].order.id;
          controller.enqueue(csvRows(rows));
        }
        more = rows.length === CSV_PAGE_ROWS;
        if (!more) controller.close();
      } catch (err) {
        console.error(JSON.stringify({ worker: "admin", msg: "csv export failed", saleId, after, error: String(err) }));
        controller.error(err);
      }
    },
  });
  return new Response(body, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="orders-${saleId}.csv"`,
      "Cache-Control": "no-store",
    },
  });
}

/** Exported for the route-coverage test of the OpenAPI document (test/workers/openapi.test.ts). */
export const app = new Hono<AdminApp>();

useErrorPath(app, "admin");

// A body the route did not read (a 401, a pause with `{}`) is drained before the answer goes: the gateway
// streams it over the service binding, and a body still unread once the answer is sent fails there with an
// uncaught "Can't read from request stream after response has been sent". The gateway caps bodies at 16 KiB.
app.use(async (c, next) => {
  await next();
  if (c.req.raw.body && !c.req.raw.bodyUsed) await c.req.raw.arrayBuffer().catch(() => {});
});

// Production without its secrets answers nothing but a 500 (one log line says which; see docs/deploy.md).
app.use(requireSecrets("ADMIN_TOKEN"));

app.use(requireAdminToken);

app.get("/metrics", async (c) => {
  const stats = await c.env.SECKILL.listStats();
  writeAnalytics(c.env.METRICS_AE, stats);
  return c.body(renderMetrics(stats), 200, { "Content-Type": CONTENT_TYPE, "Cache-Control": "no-store" });
});

const api = new Hono<AdminApp>()
  /** What `/readyz` does not say publicly: which check failed and how (docs/api.md "Hardening"). */
  .get("/readiness", async (c) => {
    const { ready, checks, errors } = await checkReadiness(c.env);
    if (ready) return c.json({ status: "ok", checks }, 200, { "Cache-Control": "no-store" });
    throw new ApiError(
      "UNAVAILABLE",
      `Not ready: ${Object.keys(errors).join(", ")}`,
      { checks, errors },
      { "Retry-After": "5" },
    );
  })
  .post("/sales", validate("json", createSaleSchema), async (c) => {
    const input = c.req.valid("json");
    const id = crypto.randomUUID();
    const row = {
      id,
      title: input.title,
      description: input.description ?? "",
      priceCents: input.priceCents,
      currency: input.currency ?? "USD",
      stock: input.stock,
      perUserLimit: input.perUserLimit ?? 1,
      startsAt: new Date(input.startsAt),
      endsAt: new Date(input.endsAt),
      paymentWindowSeconds: input.paymentWindowSeconds ?? 900,
    };
    // PostgreSQL first (orders reference the sale), then the object, then the catalog: a failure part-way
    // leaves a row no shopper can see, and the merchant's retry creates a new sale.
    await db(c, (d) => d.insert(sales).values(row));
    const sale = await c.env.SECKILL.createSale({
      ...row,
      startsAt: row.startsAt.getTime(),
      endsAt: row.endsAt.getTime(),
      // Draw sales and pre-registration live in the sale's objects (docs/design.md "Draws and registration").
      mode: input.mode ?? "first_come",
      registrationRequired: input.registrationRequired ?? false,
      challenge: input.challenge ?? false,
      queue: input.queue ?? false,
      ...(input.mode === "draw" ? { drawAt: Date.parse(input.drawAt!) } : {}),
      // docs/api.md "Hot sales": fixed at creation; by default 1 unless the stock is too large for one object.
      shards:
        input.shards ??
        (input.mode === "draw" || input.registrationRequired || input.queue ? 1 : defaultShardsForStock(input.stock)),
    });
    return c.json({ sale }, 201);
  })
  .get("/sales", async (c) => c.json({ sales: (await c.env.SECKILL.listStats()).map(toAdminSale) }))
  .get("/sales/:id", async (c) => {
    const sale = await c.env.SECKILL.getStats(await knownSaleIdParam(c));
    if (!sale) throw new ApiError("NOT_FOUND", "No such sale");
    return c.json({ sale: toAdminSale(sale) });
  })
  .patch("/sales/:id", validate("json", updateSaleSchema), async (c) => {
    const id = await knownSaleIdParam(c);
    const input = c.req.valid("json");
    const patch = {
      ...input,
      startsAt: input.startsAt ? Date.parse(input.startsAt) : undefined,
      endsAt: input.endsAt ? Date.parse(input.endsAt) : undefined,
      drawAt: input.drawAt ? Date.parse(input.drawAt) : undefined,
    };
    for (const k of Object.keys(patch) as (keyof typeof patch)[]) if (patch[k] === undefined) delete patch[k];
    // The object decides (it alone knows whether the sale has started: 409 SALE_STARTED after), then
    // PostgreSQL follows so exports and joins show the same sale.
    const result = await c.env.SECKILL.updateSale(id, patch);
    if (!result.ok) throw rejectionToError(result);
    const s = result.sale;
    await db(c, (d) =>
      d
        .update(sales)
        .set({
          title: s.title,
          description: s.description,
          priceCents: s.priceCents,
          currency: s.currency,
          stock: s.stock,
          perUserLimit: s.perUserLimit,
          startsAt: new Date(s.startsAt),
          endsAt: new Date(s.endsAt),
          paymentWindowSeconds: s.paymentWindowSeconds,
          updatedAt: new Date(),
        })
        .where(eq(sales.id, id)),
    );
    return c.json({ sale: s });
  })
  // Pause and resume change the object, which every purchase reaches: the gateway never caches a "paused"
  // verdict (only sold out and ended, for ≤ 1 s), so the next purchase sees it; GET /api/sales/:id follows
  // within its 500 ms cache.
  .post("/sales/:id/pause", async (c) => {
    const result = await c.env.SECKILL.setPaused(await knownSaleIdParam(c), true);
    if (!result.ok) throw rejectionToError(result);
    return c.json({ sale: result.sale });
  })
  .post("/sales/:id/resume", async (c) => {
    const result = await c.env.SECKILL.setPaused(await knownSaleIdParam(c), false);
    if (!result.ok) throw rejectionToError(result);
    return c.json({ sale: result.sale });
  })
  /**
   * Ends the sale now (docs/api.md "Merchant controls"): the object moves `endsAt` to now (and `startsAt`, if
   * it had not started), then PostgreSQL follows, as for a PATCH. Ending an ended sale answers it unchanged.
   */
  .post("/sales/:id/end", async (c) => {
    const id = saleIdParam(c);
    const result = await c.env.SECKILL.endSale(id);
    if (!result.ok) throw rejectionToError(result);
    const s = result.sale;
    await db(c, (d) =>
      d
        .update(sales)
        .set({ startsAt: new Date(s.startsAt), endsAt: new Date(s.endsAt), updatedAt: new Date() })
        .where(eq(sales.id, id)),
    );
    return c.json({ sale: s });
  })
  /**
   * Deletes a sale that has no orders (any status) and, a draw sale, no entries: `409 SALE_HAS_ORDERS` otherwise —
   * end it instead. The object decides and forgets the sale first (no purchase or entry can land after its check;
   * a sharded sale's shards and coordinator, a draw's SaleDraw and entry shards, a queue all go, seckill
   * `deleteSale`), then the catalog, PostgreSQL and the photos follow. A repeat after a part-way failure finishes the
   * job: the sale row is deleted if it has no orders, and the answer is 204 as long as something was there to delete.
   */
  .delete("/sales/:id", async (c) => {
    const id = saleIdParam(c);
    const result = await c.env.SECKILL.deleteSale(id);
    if (!result.ok && result.code !== "NOT_FOUND") throw rejectionToError(result);
    const deletedRows = await db(c, async (d) => {
      const [{ n }] = await d.select({ n: count() }).from(orders).where(eq(orders.saleId, id));
      if (n > 0) return -1;
      return (await d.delete(sales).where(eq(sales.id, id)).returning({ id: sales.id })).length;
    });
    if (deletedRows < 0) throw new ApiError("SALE_HAS_ORDERS", "PostgreSQL holds orders of this sale");
    if (!result.ok && deletedRows === 0) throw new ApiError("NOT_FOUND", "No such sale");
    await deleteSaleImages(c.env.IMAGES, id);
    return c.body(null, 204);
  })
  /** The sale's sell-through series, as its object keeps it (durable-objects/sell-through-series.ts). */
  .get("/sales/:id/series", async (c) => {
    const id = saleIdParam(c);
    const points = await c.env.SECKILL.getSeries(id);
    if (!points) throw new ApiError("NOT_FOUND", "No such sale");
    return c.json({ saleId: id, serverTime: new Date().toISOString(), points });
  })
  /** Uploads or replaces the product photo (images.ts): a new URL each time, the old photo deleted. */
  .put("/sales/:id/image", async (c) => {
    const id = saleIdParam(c);
    if (!(await c.env.SECKILL.getSale(id))) throw new ApiError("NOT_FOUND", "No such sale");
    const { bytes, type } = await readImageUpload(c.req.raw);
    const url = await storeImage(c.env.IMAGES, id, bytes, type);
    const result = await c.env.SECKILL.setImage(id, url);
    if (!result.ok) {
      await deleteImage(c.env.IMAGES, url);
      throw rejectionToError(result);
    }
    if (result.previous !== url) await deleteImage(c.env.IMAGES, result.previous);
    return c.json({ sale: result.sale });
  })
  .delete("/sales/:id/image", async (c) => {
    const result = await c.env.SECKILL.setImage(saleIdParam(c), null);
    if (!result.ok) throw rejectionToError(result);
    await deleteImage(c.env.IMAGES, result.previous);
    return c.json({ sale: result.sale });
  })
  /**
   * Keyset pagination by order id (ids sort by creation within a sale): `nextCursor` is the last id of the
   * page, or null on the last page. Stable under concurrent inserts, and every page is one index range scan.
   */
  .get("/sales/:id/orders", validate("query", orderPageQuerySchema), async (c) => {
    const saleId = saleIdParam(c);
    const { cursor, limit = 100, format } = c.req.valid("query");
    if (format === "csv") return streamCsv(c, saleId, cursor);
    const rows = await db(c, (d) => firstOrdersPage(d, saleId, cursor ?? orderIdFloor(saleId), limit + 1));
    const page = rows.slice(0, limit);
    return c.json({
      orders: page.map(toAdminOrder),
      nextCursor: rows.length > limit ? page[page.length - 1].order.id : null,
    });
  })
  .post("/sales/:id/reconcile", async (c) => {
    const saleId = await knownSaleIdParam(c);
    let after = "";
    let ledgerSold = 0;
    const ledgerByStatus: Partial<Record<Order["status"], number>> = {};
    const missing: string[] = [];
    for (;;) {
      const page = await c.env.SECKILL.ledger(saleId, after, 5000);
      if (page.length === 0) break;
      after = page[page.length - 1].id;
      const known = await db(c, (d) =>
        d
          .select({ id: orders.id, version: orders.version })
          .from(orders)
          .where(
            inArray(
              orders.id,
              page.map((e) => e.id),
            ),
          ),
      );
      const versions = new Map(known.map((r) => [r.id, r.version]));
      for (const e of page) {
        if (e.status === "reserved" || e.status === "confirmed" || e.status === "paid") ledgerSold++;
        ledgerByStatus[e.status] = (ledgerByStatus[e.status] ?? 0) + 1;
        if ((versions.get(e.id) ?? 0) < e.version) missing.push(e.id);
      }
    }
    const byStatus = await db(c, (d) =>
      d
        .select({ status: orders.status, n: count() })
        .from(orders)
        .where(eq(orders.saleId, saleId))
        .groupBy(orders.status),
    );
    const databaseByStatus = Object.fromEntries(byStatus.map((r) => [r.status, r.n]));
    const databaseOrders = byStatus.reduce((sum, r) => sum + r.n, 0);
    let repaired = 0;
    for (let i = 0; i < missing.length; i += 1000)
      repaired += await c.env.SECKILL.requeue(saleId, missing.slice(i, i + 1000));
    const result: ReconcileResult = {
      ledgerSold,
      databaseOrders,
      missing: missing.length,
      repaired,
      ledgerByStatus,
      databaseByStatus,
    };
    return c.json({ ...result, missingOrderIds: missing.slice(0, 100) });
  })
  /** What the dead-letter consumer gave up on, newest first, with its last error and whether it has landed since. */
  .get("/failed-orders", validate("query", failedOrdersQuerySchema), async (c) => {
    const { limit = 500 } = c.req.valid("query");
    const { rows, landed } = await db(c, async (d) => {
      const rows = await d.select().from(failedOrders).orderBy(desc(failedOrders.createdAt)).limit(limit);
      const landed =
        rows.length === 0
          ? []
          : await d
              .select({ id: orders.id, version: orders.version })
              .from(orders)
              .where(inArray(orders.id, [...new Set(rows.map((r) => r.orderId))]));
      return { rows, landed };
    });
    const versions = new Map(landed.map((r) => [r.id, r.version]));
    return c.json({ failedOrders: rows.map((r) => toFailedOrder(r, versions.get(r.orderId) ?? 0)) });
  })
  /**
   * Sends a failed order through the pipeline again. The sale's object re-sends its current state of the
   * order (which may be newer than the failed message) from its outbox, and the consumer's insert is
   * idempotent on the order id and moves only to higher versions: replaying twice, or replaying an order
   * that has landed since, writes nothing twice. An order that PostgreSQL already has is not sent at all.
   */
  .post("/failed-orders/:id/replay", async (c) => {
    const id = c.req.param("id");
    if (!isUuid(id)) throw new ApiError("NOT_FOUND", "No such failed order");
    const row = (await db(c, (d) => d.select().from(failedOrders).where(eq(failedOrders.id, id)).limit(1)))[0];
    if (!row) throw new ApiError("NOT_FOUND", "No such failed order");
    const landedVersion = await db(c, async (d) => {
      const found = await d.select({ version: orders.version }).from(orders).where(eq(orders.id, row.orderId)).limit(1);
      return found[0]?.version ?? 0;
    });
    let replayed = false;
    if (landedVersion < (row.payload as OrderMessage).version) {
      replayed = (await c.env.SECKILL.requeue(row.saleId, [row.orderId])) === 1;
      if (!replayed) throw new ApiError("NOT_FOUND", "The sale no longer holds this order; nothing to send again");
    }
    const replayedAt = new Date();
    await db(c, (d) => d.update(failedOrders).set({ replayedAt }).where(eq(failedOrders.id, id)));
    // `replayed`: the order was sent again (false: PostgreSQL already had it, nothing to send).
    return c.json({
      replayed,
      orderId: row.orderId,
      failedOrder: toFailedOrder({ ...row, replayedAt }, landedVersion),
    });
  });

app.route("/admin/api", api);
app.route("/admin/api", adminDraws);

export default {
  fetch: app.fetch,
  /**
   * A Cron Trigger (when configured for the Worker, e.g. every minute) records the same snapshot to
   * Analytics Engine as a /metrics scrape does, so production keeps its numbers with no scraper running.
   */
  async scheduled(_controller, env) {
    writeAnalytics(env.METRICS_AE, await env.SECKILL.listStats());
  },
} satisfies ExportedHandler<AdminEnv>;
