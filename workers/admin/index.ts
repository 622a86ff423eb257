/**
 * The admin Worker: merchants create and run sales, read orders, repair what failed, and scrape metrics.
 * Reached through the gateway's service binding (/admin/api/*, /metrics); every route needs
 * `Authorization: Bearer $ADMIN_TOKEN`.
 */
import { and, asc, count, desc, eq, gt, inArray } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { failedOrders, orders, sales } from "../../db/schema.ts";
import { withDatabase, type Database } from "../../lib/db.ts";
import { DEV_ADMIN_TOKEN, requireSecret, requireSecrets, type AdminEnv } from "../../lib/env.ts";
import { ApiError, rejectionToError } from "../../lib/errors.ts";
import { isUuid } from "../../lib/ids.ts";
import { createSaleSchema, updateSaleSchema, type Order, type OrderMessage } from "../../lib/schemas.ts";
import { validate } from "../gateway/validate.ts";
import { renderMetrics } from "./metrics.ts";

type AdminApp = { Bindings: AdminEnv };
type AdminContext = Context<AdminApp>;

const encoder = new TextEncoder();

/** Constant-time: both sides are hashed first, so neither length nor content leaks through timing. */
async function tokensMatch(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

function saleIdParam(c: AdminContext): string {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) throw new ApiError("NOT_FOUND", "No such sale");
  return id;
}

async function db<T>(c: AdminContext, work: (db: Database) => Promise<T>): Promise<T> {
  try {
    return await withDatabase(c.env.HYPERDRIVE, (d) => work(d), { connectTimeoutSeconds: 3 });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    console.error(JSON.stringify({ worker: "admin", msg: "database error", error: String(err) }));
    throw new ApiError("UNAVAILABLE", "PostgreSQL is unavailable", undefined, { "Retry-After": "5" });
  }
}

function toOrder(row: typeof orders.$inferSelect): Order {
  return {
    id: row.id,
    saleId: row.saleId,
    userId: row.userId,
    quantity: row.quantity,
    priceCents: row.priceCents,
    status: row.status as Order["status"],
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

const listQuery = z.strictObject({
  cursor: z.string().regex(/^[0-9a-f]{48}$/, "an order id").optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  format: z.enum(["json", "csv"]).optional(),
});

const CSV_COLUMNS = ["id", "saleId", "userId", "quantity", "priceCents", "status", "createdAt", "expiresAt"] as const;

function csvLine(values: (string | number)[]): string {
  return values.map((v) => (/[",\n\r]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v))).join(",") + "\r\n";
}

const app = new Hono<AdminApp>();

app.onError((err, c) => {
  if (err instanceof ApiError) return err.toResponse();
  if (err instanceof HTTPException && err.status < 500) {
    return new ApiError("VALIDATION_FAILED", err.message || "Bad request").toResponse();
  }
  console.error(JSON.stringify({ worker: "admin", msg: "unhandled error", path: c.req.path, error: String(err) }));
  return new ApiError("INTERNAL", "Something went wrong on our side").toResponse();
});
app.notFound(() => new ApiError("NOT_FOUND", "No such route").toResponse());

// Production without its secrets answers nothing but a 500 (one log line says which; see docs/deploy.md).
app.use(requireSecrets("ADMIN_TOKEN"));

app.use(async (c, next) => {
  const expected = requireSecret(c.env, c.env.ADMIN_TOKEN, "ADMIN_TOKEN", DEV_ADMIN_TOKEN);
  const header = c.req.header("Authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!given || !(await tokensMatch(given, expected))) {
    throw new ApiError("UNAUTHENTICATED", "A valid admin token is required");
  }
  await next();
});

app.get("/metrics", async (c) => {
  const stats = await c.env.SECKILL.listStats();
  return c.text(renderMetrics(stats), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});

const api = new Hono<AdminApp>()
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
    });
    return c.json({ sale }, 201);
  })
  .get("/sales", async (c) => c.json({ sales: await c.env.SECKILL.listStats() }))
  .get("/sales/:id", async (c) => {
    const sale = await c.env.SECKILL.getStats(saleIdParam(c));
    if (!sale) throw new ApiError("NOT_FOUND", "No such sale");
    return c.json({ sale });
  })
  .patch("/sales/:id", validate("json", updateSaleSchema), async (c) => {
    const id = saleIdParam(c);
    const input = c.req.valid("json");
    const patch = {
      ...input,
      startsAt: input.startsAt ? Date.parse(input.startsAt) : undefined,
      endsAt: input.endsAt ? Date.parse(input.endsAt) : undefined,
    };
    for (const k of Object.keys(patch) as (keyof typeof patch)[]) if (patch[k] === undefined) delete patch[k];
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
  .post("/sales/:id/pause", async (c) => {
    const result = await c.env.SECKILL.setPaused(saleIdParam(c), true);
    if (!result.ok) throw rejectionToError(result);
    return c.json({ sale: result.sale });
  })
  .post("/sales/:id/resume", async (c) => {
    const result = await c.env.SECKILL.setPaused(saleIdParam(c), false);
    if (!result.ok) throw rejectionToError(result);
    return c.json({ sale: result.sale });
  })
  .get("/sales/:id/orders", validate("query", listQuery), async (c) => {
    const saleId = saleIdParam(c);
    const { cursor, limit = 100, format } = c.req.valid("query");
    if (format === "csv") return streamCsv(c, saleId);
    const rows = await db(c, (d) =>
      d
        .select()
        .from(orders)
        .where(cursor ? and(eq(orders.saleId, saleId), gt(orders.id, cursor)) : eq(orders.saleId, saleId))
        .orderBy(asc(orders.id))
        .limit(limit + 1),
    );
    const page = rows.slice(0, limit);
    return c.json({ orders: page.map(toOrder), nextCursor: rows.length > limit ? page[page.length - 1].id : null });
  })
  .post("/sales/:id/reconcile", async (c) => {
    const saleId = saleIdParam(c);
    if (!(await c.env.SECKILL.getSale(saleId))) throw new ApiError("NOT_FOUND", "No such sale");
    let after = "";
    let ledgerSold = 0;
    const missing: string[] = [];
    for (;;) {
      const page = await c.env.SECKILL.ledger(saleId, after, 5000);
      if (page.length === 0) break;
      after = page[page.length - 1].id;
      const known = await db(c, (d) =>
        d.select({ id: orders.id, version: orders.version }).from(orders).where(inArray(orders.id, page.map((e) => e.id))),
      );
      const versions = new Map(known.map((r) => [r.id, r.version]));
      for (const e of page) {
        if (e.status === "reserved" || e.status === "confirmed" || e.status === "paid") ledgerSold++;
        if ((versions.get(e.id) ?? 0) < e.version) missing.push(e.id);
      }
    }
    const [{ n: databaseOrders }] = await db(c, (d) =>
      d.select({ n: count() }).from(orders).where(eq(orders.saleId, saleId)),
    );
    let repaired = 0;
    for (let i = 0; i < missing.length; i += 1000) repaired += await c.env.SECKILL.requeue(saleId, missing.slice(i, i + 1000));
    return c.json({ ledgerSold, databaseOrders, missing: missing.length, repaired, missingOrderIds: missing.slice(0, 100) });
  })
  .get("/failed-orders", async (c) => {
    const rows = await db(c, (d) => d.select().from(failedOrders).orderBy(desc(failedOrders.createdAt)).limit(500));
    const landed = await db(c, async (d) =>
      rows.length === 0
        ? []
        : d.select({ id: orders.id, version: orders.version }).from(orders).where(inArray(orders.id, rows.map((r) => r.orderId))),
    );
    const versions = new Map(landed.map((r) => [r.id, r.version]));
    return c.json({
      failedOrders: rows.map((r) => ({
        id: r.id,
        orderId: r.orderId,
        saleId: r.saleId,
        error: r.error,
        attempts: r.attempts,
        createdAt: r.createdAt.toISOString(),
        replayedAt: r.replayedAt?.toISOString() ?? null,
        landed: (versions.get(r.orderId) ?? 0) >= (r.payload as OrderMessage).version,
        payload: r.payload,
      })),
    });
  })
  .post("/failed-orders/:id/replay", async (c) => {
    const id = c.req.param("id");
    if (!isUuid(id)) throw new ApiError("NOT_FOUND", "No such failed order");
    const row = (await db(c, (d) => d.select().from(failedOrders).where(eq(failedOrders.id, id)).limit(1)))[0];
    if (!row) throw new ApiError("NOT_FOUND", "No such failed order");
    // The object sends its current state of the order again; the consumer's insert is idempotent, so
    // replaying twice (or replaying an order that has landed since) writes nothing twice.
    const requeued = await c.env.SECKILL.requeue(row.saleId, [row.orderId]);
    await db(c, (d) => d.update(failedOrders).set({ replayedAt: new Date() }).where(eq(failedOrders.id, id)));
    return c.json({ replayed: requeued === 1, orderId: row.orderId });
  });

function streamCsv(c: AdminContext, saleId: string): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const pump = withDatabase(c.env.HYPERDRIVE, async (d) => {
    await writer.write(encoder.encode(csvLine([...CSV_COLUMNS])));
    let after = "";
    for (;;) {
      const rows = await d
        .select()
        .from(orders)
        .where(and(eq(orders.saleId, saleId), gt(orders.id, after)))
        .orderBy(asc(orders.id))
        .limit(1000);
      if (rows.length === 0) break;
      after = rows[rows.length - 1].id;
      const chunk = rows.map((r) => {
        const o = toOrder(r);
        return csvLine(CSV_COLUMNS.map((k) => o[k]));
      });
      await writer.write(encoder.encode(chunk.join("")));
    }
  })
    .then(() => writer.close())
    .catch((err: unknown) => writer.abort(err));
  c.executionCtx.waitUntil(pump);
  return new Response(readable, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="orders-${saleId}.csv"`,
    },
  });
}

app.route("/admin/api", api);

export default app satisfies ExportedHandler<AdminEnv>;
