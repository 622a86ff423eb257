/**
 * The merchant's side of docs/api.md "Product image" and "Merchant controls": photo upload through the
 * gateway (type told from the bytes, 2 MiB limit, served immutable from R2, replaced, deleted), the sale's
 * sell-through series kept by its object, ending and deleting a sale, validation of the end and the
 * currency, usernames in the orders and the CSV, and the reconcile breakdown by status.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SERIES_MAX_POINTS, type SellThroughSeries } from "../../durable-objects/sell-through-series.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import { MAX_IMAGE_BYTES, sniffImageType } from "../../lib/contract/images.ts";
import type { AdminOrder, ReconcileResult, Sale, SeriesPoint } from "../../lib/contract/schemas.ts";
import { ADMIN, call, createSale, database, json, purchase, saleObject, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string; message: string; details?: unknown } };

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe("string");
  return body;
}

// The smallest real files of each type: a 1×1 PNG, a JPEG header, a WebP (RIFF) header.
const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="),
  (ch) => ch.charCodeAt(0),
);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);
const WEBP = new Uint8Array([
  ...new TextEncoder().encode("RIFF"),
  26,
  0,
  0,
  0,
  ...new TextEncoder().encode("WEBPVP8L"),
  13,
  0,
  0,
  0,
  0x2f,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

function putImage(saleId: string, body: BodyInit, type: string, headers: Record<string, string> = ADMIN) {
  return call(`/admin/api/sales/${saleId}/image`, {
    method: "PUT",
    headers: { ...headers, "Content-Type": type },
    body,
  });
}

async function uploaded(res: Response): Promise<Sale> {
  expect(res.status).toBe(200);
  return ((await res.json()) as { sale: Sale }).sale;
}

describe("product image", () => {
  it("tells the three types from their bytes", () => {
    expect(sniffImageType(PNG)).toBe("image/png");
    expect(sniffImageType(JPEG)).toBe("image/jpeg");
    expect(sniffImageType(WEBP)).toBe("image/webp");
    expect(sniffImageType(new TextEncoder().encode("GIF89a......"))).toBeNull();
    expect(sniffImageType(new Uint8Array())).toBeNull();
  });

  it("uploads, serves the same bytes immutably, replaces with a new URL, and deletes", async () => {
    const sale = await createSale({ title: "Photo phone" });
    expect(sale.imageUrl).toBeUndefined();

    // Upload: the sale gets a URL under /images/<saleId>/.
    const first = await uploaded(await putImage(sale.id, PNG, "image/png"));
    expect(first.imageUrl).toMatch(new RegExp(`^/images/${sale.id}/[0-9a-f]+\\.png$`));

    // Served through the gateway: same bytes, same type, cacheable for a year, no session needed.
    const served = await call(first.imageUrl!);
    expect(served.status).toBe(200);
    expect(served.headers.get("Content-Type")).toBe("image/png");
    expect(served.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG);
    // Asked with credentials it is still public and immutable: the private answers' no-store skips /images/*.
    const withCredentials = await call(first.imageUrl!, { headers: ADMIN });
    expect(withCredentials.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    await withCredentials.arrayBuffer();
    // A conditional request with its ETag is a 304.
    const etag = served.headers.get("ETag")!;
    expect((await call(first.imageUrl!, { headers: { "If-None-Match": etag } })).status).toBe(304);

    // Shoppers see the URL on the sale (within the 2 s freshness of docs/api.md).
    await waitFor("imageUrl on the shopper's sale", async () => {
      const body = (await (await call(`/api/sales/${sale.id}`)).json()) as { sale: Sale };
      return body.sale.imageUrl === first.imageUrl;
    });

    // Replace (the same bytes again, then a JPEG): a new URL each time; the old one is gone.
    const again = await uploaded(await putImage(sale.id, PNG, "image/png"));
    expect(again.imageUrl).not.toBe(first.imageUrl);
    const jpeg = await uploaded(await putImage(sale.id, JPEG, "image/jpeg"));
    expect(jpeg.imageUrl).toMatch(/\.jpg$/);
    expect((await call(first.imageUrl!)).status).toBe(404);
    expect((await call(again.imageUrl!)).status).toBe(404);
    const servedJpeg = await call(jpeg.imageUrl!);
    expect(servedJpeg.headers.get("Content-Type")).toBe("image/jpeg");
    expect(new Uint8Array(await servedJpeg.arrayBuffer())).toEqual(JPEG);
    const webp = await uploaded(await putImage(sale.id, WEBP, "image/webp"));
    expect((await call(webp.imageUrl!)).headers.get("Content-Type")).toBe("image/webp");

    // Delete: no URL on the sale, the bytes gone from R2.
    const del = await call(`/admin/api/sales/${sale.id}/image`, { method: "DELETE", headers: ADMIN });
    expect(del.status).toBe(200);
    expect(((await del.json()) as { sale: Sale }).sale.imageUrl).toBeUndefined();
    expect((await call(webp.imageUrl!)).status).toBe(404);
    expect((await env.IMAGES.list({ prefix: `${sale.id}/` })).objects).toEqual([]);
  });

  it("refuses a body that is not the declared type (415), and anything over 2 MiB (413)", async () => {
    const sale = await createSale();
    // Declared PNG, bytes of a JPEG; declared JPEG, bytes of text; a type that is not accepted at all.
    await expectError(await putImage(sale.id, JPEG, "image/png"), 415, "UNSUPPORTED_MEDIA_TYPE");
    await expectError(await putImage(sale.id, "not an image", "image/jpeg"), 415, "UNSUPPORTED_MEDIA_TYPE");
    await expectError(
      await putImage(sale.id, new TextEncoder().encode("GIF89a"), "image/gif"),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectError(await putImage(sale.id, PNG, "application/json"), 415, "UNSUPPORTED_MEDIA_TYPE");
    await expectError(await putImage(sale.id, new Uint8Array(), "image/png"), 415, "UNSUPPORTED_MEDIA_TYPE");

    // Exactly 2 MiB of a PNG is accepted; one byte more is a 413 (with a length, and streamed without one).
    const big = new Uint8Array(MAX_IMAGE_BYTES);
    big.set(PNG);
    expect((await putImage(sale.id, big, "image/png")).status).toBe(200);
    const over = new Uint8Array(MAX_IMAGE_BYTES + 1);
    over.set(PNG);
    await expectError(await putImage(sale.id, over, "image/png"), 413, "PAYLOAD_TOO_LARGE");
    const stream = new Blob([over]).stream();
    await expectError(
      await call(`/admin/api/sales/${sale.id}/image`, {
        method: "PUT",
        headers: { ...ADMIN, "Content-Type": "image/png" },
        body: stream,
        duplex: "half",
      } as RequestInit),
      413,
      "PAYLOAD_TOO_LARGE",
    );

    // The exception is this route only: other admin bodies keep the 16 KiB limit.
    const patch = await call(`/admin/api/sales/${sale.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: json({ description: "x".repeat(20_000) }),
    });
    await expectError(patch, 413, "PAYLOAD_TOO_LARGE");

    // Without the admin token: 401; an unknown sale: 404; an image path that names nothing: 404.
    await expectError(await putImage(sale.id, PNG, "image/png", {}), 401, "UNAUTHENTICATED");
    await expectError(await putImage(crypto.randomUUID(), PNG, "image/png"), 404, "NOT_FOUND");
    await expectError(await call(`/images/${sale.id}/0123abcd.png`), 404, "NOT_FOUND");
    await expectError(await call(`/images/../wrangler.toml`), 404, "NOT_FOUND");
  });
});

describe("merchant controls", () => {
  it("refuses sales that end in the past and unknown currencies", async () => {
    const now = Date.now();
    const body = (over: Record<string, unknown>) =>
      json({
        title: "Validation",
        priceCents: 100,
        stock: 1,
        startsAt: new Date(now - 7_200_000).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
        ...over,
      });
    const post = (b: string) => call("/admin/api/sales", { method: "POST", headers: ADMIN, body: b });
    const past = await expectError(
      await post(body({ endsAt: new Date(now - 60_000).toISOString() })),
      400,
      "VALIDATION_FAILED",
    );
    expect(JSON.stringify(past.error.details)).toContain("endsAt");
    const xyz = await expectError(await post(body({ currency: "XYZ" })), 400, "VALIDATION_FAILED");
    expect(JSON.stringify(xyz.error.details)).toContain("currency");
    expect((await post(body({ currency: "CNY" }))).status).toBe(201);
    expect((await post(body({ currency: "EUR" }))).status).toBe(201);

    // PATCH holds to the same rules.
    const later = await createSale({ startsInSeconds: 3600 });
    const patch = (b: unknown) =>
      call(`/admin/api/sales/${later.id}`, { method: "PATCH", headers: ADMIN, body: json(b) });
    await expectError(await patch({ currency: "XYZ" }), 400, "VALIDATION_FAILED");
    await expectError(await patch({ endsAt: new Date(now - 1000).toISOString() }), 400, "VALIDATION_FAILED");
    expect((await patch({ currency: "JPY", title: "Edited before start" })).status).toBe(200);
  });

  it("ends a sale early: purchases are refused as ENDED, PostgreSQL follows", async () => {
    const sale = await createSale({ stock: 5 });
    const alice = await shopper("ender");
    expect((await purchase(sale.id, alice.cookie)).status).toBe(202);
    const res = await call(`/admin/api/sales/${sale.id}/end`, { method: "POST", headers: ADMIN });
    expect(res.status).toBe(200);
    const ended = ((await res.json()) as { sale: Sale }).sale;
    expect(ended.status).toBe("ended");
    expect(Date.parse(ended.endsAt)).toBeLessThanOrEqual(Date.now());
    const bob = await shopper("late");
    expect((await purchase(sale.id, bob.cookie)).body.error?.code).toBe("ENDED");
    // Ending again changes nothing.
    const again = (
      (await (await call(`/admin/api/sales/${sale.id}/end`, { method: "POST", headers: ADMIN })).json()) as {
        sale: Sale;
      }
    ).sale;
    expect(again.endsAt).toBe(ended.endsAt);
    const [row] = await database()`select ends_at from sales where id = ${sale.id}`;
    expect((row.ends_at as Date).toISOString()).toBe(ended.endsAt);
    // A scheduled sale ended early ends before it starts (and still reads as ended).
    const future = await createSale({ startsInSeconds: 3600 });
    const f = (
      (await (await call(`/admin/api/sales/${future.id}/end`, { method: "POST", headers: ADMIN })).json()) as {
        sale: Sale;
      }
    ).sale;
    expect(f.status).toBe("ended");
    expect(Date.parse(f.startsAt)).toBeLessThanOrEqual(Date.parse(f.endsAt));
    await expectError(
      await call(`/admin/api/sales/${crypto.randomUUID()}/end`, { method: "POST", headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
  });

  it("deletes a sale with no orders (object, catalog, PostgreSQL, photo) and refuses one with orders (409)", async () => {
    const empty = await createSale({ startsInSeconds: 3600, title: "To delete" });
    await uploaded(await putImage(empty.id, PNG, "image/png"));
    const del = await call(`/admin/api/sales/${empty.id}`, { method: "DELETE", headers: ADMIN });
    expect(del.status).toBe(204);
    await expectError(await call(`/admin/api/sales/${empty.id}`, { headers: ADMIN }), 404, "NOT_FOUND");
    await expectError(
      await call(`/admin/api/sales/${empty.id}`, { method: "DELETE", headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
    const listed = (await (await call("/admin/api/sales", { headers: ADMIN })).json()) as { sales: Sale[] };
    expect(listed.sales.map((s) => s.id)).not.toContain(empty.id);
    expect((await env.IMAGES.list({ prefix: `${empty.id}/` })).objects).toEqual([]);
    expect(await database()`select id from sales where id = ${empty.id}`).toHaveLength(0);
    // Shoppers: the sale is gone (within the list's freshness).
    await waitFor(
      "the deleted sale to leave the shop",
      async () => (await call(`/api/sales/${empty.id}`)).status === 404,
    );

    // A sale with an order — even one cancelled since — stays: 409 SALE_HAS_ORDERS, nothing deleted.
    const sold = await createSale({ stock: 3 });
    const alice = await shopper("keeper");
    const { body } = await purchase(sold.id, alice.cookie);
    await call(`/api/orders/${body.order!.id}/cancel`, { method: "POST", cookie: alice.cookie });
    const refused = await expectError(
      await call(`/admin/api/sales/${sold.id}`, { method: "DELETE", headers: ADMIN }),
      409,
      "SALE_HAS_ORDERS",
    );
    expect(refused.error.details).toEqual({ orders: 1 });
    expect((await call(`/admin/api/sales/${sold.id}`, { headers: ADMIN })).status).toBe(200);
  });

  it("lists orders and the CSV with usernames", async () => {
    const sale = await createSale({ stock: 5 });
    const alice = await shopper("named");
    const { body } = await purchase(sale.id, alice.cookie);
    const orderId = body.order!.id;
    const page = await waitFor("the order in PostgreSQL", async () => {
      const p = (await (await call(`/admin/api/sales/${sale.id}/orders`, { headers: ADMIN })).json()) as {
        orders: AdminOrder[];
      };
      return p.orders.length === 1 ? p : null;
    });
    expect(page.orders[0]).toMatchObject({ id: orderId, userId: alice.userId, username: alice.username });
    const csv = await (await call(`/admin/api/sales/${sale.id}/orders?format=csv`, { headers: ADMIN })).text();
    const [header, row] = csv.trim().split("\r\n");
    expect(header).toBe("id,saleId,userId,quantity,unitPriceCents,totalCents,status,createdAt,expiresAt,username");
    expect(row.startsWith(`${orderId},${sale.id},${alice.userId},`)).toBe(true);
    expect(row.endsWith(`,${alice.username}`)).toBe(true);
  });

  it("breaks the reconcile result down by status on both sides", async () => {
    const sale = await createSale({ stock: 5 });
    const [a, b, c] = [await shopper("rec"), await shopper("rec"), await shopper("rec")];
    const orders = [];
    for (const s of [a, b, c]) orders.push((await purchase(sale.id, s.cookie)).body.order!);
    await call(`/api/orders/${orders[0].id}/pay`, { method: "POST", cookie: a.cookie });
    await call(`/api/orders/${orders[1].id}/cancel`, { method: "POST", cookie: b.cookie });
    const result = await waitFor("PostgreSQL to catch up", async () => {
      const r = (await (
        await call(`/admin/api/sales/${sale.id}/reconcile`, { method: "POST", headers: ADMIN })
      ).json()) as ReconcileResult;
      // Both sides settled: PostgreSQL has every order, and the object has heard that it has (confirmed).
      const settled = (by?: Record<string, number>) => by?.paid === 1 && by?.cancelled === 1 && by?.confirmed === 1;
      return settled(r.databaseByStatus) && settled(r.ledgerByStatus) ? r : null;
    });
    expect(result).toMatchObject({
      ledgerSold: 2,
      databaseOrders: 3,
      missing: 0,
      ledgerByStatus: { paid: 1, cancelled: 1, confirmed: 1 },
      databaseByStatus: { paid: 1, cancelled: 1, confirmed: 1 },
    });
    // The stats split sold into held and paid, with revenue.
    const stats = (
      (await (await call(`/admin/api/sales/${sale.id}`, { headers: ADMIN })).json()) as {
        sale: {
          stats: {
            sold: number;
            held: { units: number; revenueCents: number };
            paid: { units: number; revenueCents: number };
          };
        };
      }
    ).sale.stats;
    expect(stats).toMatchObject({
      sold: 2,
      held: { units: 1, revenueCents: 49_900 },
      paid: { units: 1, revenueCents: 49_900 },
    });
  });
});

describe("sell-through series", () => {
  it("keeps sold, attempts and rejections server-side, so a reload sees the whole sale", async () => {
    const sale = await createSale({ stock: 2 });
    const shoppers = [await shopper("series"), await shopper("series"), await shopper("series")];
    for (const s of shoppers) await purchase(sale.id, s.cookie);
    // The third was refused at the gateway (sold out), which hands its count to the object within 2 s.
    const points = await waitFor("the edge rejection in the series", async () => {
      const res = await call(`/admin/api/sales/${sale.id}/series`, { headers: ADMIN });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { points: SeriesPoint[] };
      return body.points.at(-1)!.attempts === 3 ? body.points : null;
    });
    // It starts at zero (the sale's creation) and ends at the current counters.
    expect(points[0]).toMatchObject({ attempts: 0, sold: 0, rejected: 0 });
    expect(points[points.length - 1]).toMatchObject({ attempts: 3, sold: 2, rejected: 1 });
    for (let i = 1; i < points.length; i++) expect(points[i].t).toBeGreaterThan(points[i - 1].t);
    // The object's alarm stores what it has seen: the stored series (without the live tail) ends there too.
    await runDurableObjectAlarm(saleObject(sale.id));
    const stored = await runInDurableObject(saleObject(sale.id) as DurableObjectStub<SaleItem>, (instance) =>
      (instance as unknown as { series: SellThroughSeries }).series.points(0, { attempts: 3, sold: 2, rejected: 1 }),
    );
    expect(stored.at(-1)).toMatchObject({ attempts: 3, sold: 2, rejected: 1 });
    await expectError(
      await call(`/admin/api/sales/${crypto.randomUUID()}/series`, { headers: ADMIN }),
      404,
      "NOT_FOUND",
    );
  });

  it("stays bounded: one point a second, thinned past the cap, counts never lost", async () => {
    const sale = await createSale({ stock: 10_000 });
    await runInDurableObject(saleObject(sale.id) as DurableObjectStub<SaleItem>, async (instance) => {
      const { series } = instance as unknown as { series: SellThroughSeries };
      const t0 = Date.now();
      // Two samples a second for three times the cap's seconds.
      for (let i = 1; i <= SERIES_MAX_POINTS * 6; i++)
        series.record(t0 + i * 500, { attempts: i, sold: i, rejected: 0 });
      const last = { attempts: SERIES_MAX_POINTS * 6, sold: SERIES_MAX_POINTS * 6, rejected: 0 };
      const points = series.points(0, last);
      expect(points.length).toBeLessThanOrEqual(SERIES_MAX_POINTS);
      expect(points.length).toBeGreaterThan(SERIES_MAX_POINTS / 2);
      // The last sample is kept exactly; seconds are distinct; values only grow.
      expect(points.at(-1)).toMatchObject(last);
      expect(points[0]).toMatchObject({ attempts: 0, sold: 0 });
      const seconds = points.slice(1).map((p) => Math.floor(p.t / 1000));
      expect(new Set(seconds).size).toBe(seconds.length);
      for (let i = 1; i < points.length; i++) expect(points[i].attempts).toBeGreaterThan(points[i - 1].attempts);
    });
  });
});
