/**
 * GET /metrics: valid Prometheus text exposition, and every series moves when the thing it counts happens —
 * a purchase, each kind of refusal, an order that PostgreSQL does not have yet, the consumer's batch, the
 * gateway's answer. Also the Analytics Engine data points written from the same numbers.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import admin from "../../workers/admin/index.ts";
import { ANALYTICS_DOUBLES, writeAnalytics } from "../../workers/admin/analytics.ts";
import gateway from "../../workers/gateway/index.ts";
import { resetGuards } from "../../workers/gateway/context.ts";
import type { AdminEnv } from "../../workers/admin/env.ts";
import type { GatewayEnv } from "../../workers/gateway/env.ts";
import { ADMIN, BASE, call, createSale, database, purchase, shopper, waitFor } from "./helpers.ts";

afterEach(() => resetGuards());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text format (0.0.4): every sample belongs to a family declared by `# TYPE` before it,
 * histogram samples are its `_bucket` (with `le`), `_sum` and `_count`, label values are quoted and escaped,
 * and a histogram's buckets are cumulative and end with `+Inf` = `_count`.
 */
function parseExposition(text: string): Sample[] {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        expect(["counter", "gauge", "histogram"]).toContain(meta[3]);
        expect(types.has(meta[2]), `family ${meta[2]} declared twice`).toBe(false);
        types.set(meta[2], meta[3]);
      }
      continue;
    }
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\} (-?[0-9.e+]+|NaN|\+Inf)$/.exec(
        line,
      );
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const [, name, rawLabels, value] = m!;
    const labels: Record<string, string> = {};
    for (const l of rawLabels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replaceAll("\\n", "\n").replaceAll('\\"', '"').replaceAll("\\\\", "\\");
    }
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(family), `sample ${name} has no # TYPE`).toBe(true);
    if (types.get(family) === "histogram") expect(name).not.toBe(family);
    if (name.endsWith("_bucket")) expect(labels.le).toBeDefined();
    samples.push({ name, labels, value: Number(value) });
  }
  // Histogram buckets: cumulative, +Inf last and equal to _count.
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const bySale = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      bySale.set(s.labels.sale, [...(bySale.get(s.labels.sale) ?? []), s]);
    }
    for (const [sale, buckets] of bySale) {
      for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
      expect(buckets[buckets.length - 1].labels.le).toBe("+Inf");
      const total = samples.find((x) => x.name === `${family}_count` && x.labels.sale === sale);
      expect(total?.value).toBe(buckets[buckets.length - 1].value);
    }
  }
  return samples;
}

/** Scrapes /metrics through the gateway, as Prometheus would, and reads one sale's series. */
async function scrape(saleId: string) {
  const res = await call("/metrics", { headers: ADMIN });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const samples = parseExposition(await res.text()).filter((s) => s.labels.sale === saleId);
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
    return found[0].value;
  };
  return {
    samples,
    value,
    rejected: (reason: string) => value("minishop_purchase_rejections_total", { reason }),
    count: (histogram: string) => value(`${histogram}_count`),
  };
}

type Scrape = Awaited<ReturnType<typeof scrape>>;

/** Waits until a scrape satisfies `ok` (for what reaches the object by a deferred flush or the queue). */
async function scrapeUntil(saleId: string, what: string, ok: (m: Scrape) => boolean): Promise<Scrape> {
  return await waitFor(what, async () => {
    const m = await scrape(saleId);
    return ok(m) && m;
  });
}

/** The gateway with some bindings replaced (a strict admission bucket). */
async function purchaseWith(overrides: Partial<GatewayEnv>, saleId: string, cookie: string) {
  return await gateway.fetch(
    new Request(`${BASE}/api/sales/${saleId}/purchase`, { method: "POST", headers: { Cookie: cookie } }),
    { ...env, ...overrides } as GatewayEnv,
    createExecutionContext(),
  );
}

const title = (what: string) => `${what} ${crypto.randomUUID().slice(0, 8)}`;

describe("GET /metrics", () => {
  it("needs the admin token", async () => {
    const res = await call("/metrics");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
  });

  it("exposes every family for a new sale, at zero, with sale and title labels", async () => {
    // A new sale whose title needs escaping in a label value.
    const sale = await createSale({
      stock: 7,
      startsInSeconds: 3600,
      title: `Quote " and \\ ${crypto.randomUUID().slice(0, 4)}`,
    });
    const m = await scrape(sale.id);
    expect(new Set(m.samples.map((s) => s.labels.title))).toEqual(new Set([sale.title]));
    expect(m.value("minishop_purchase_attempts_total")).toBe(0);
    expect(m.value("minishop_sold_units")).toBe(0);
    expect(m.value("minishop_remaining_units")).toBe(7);
    expect(m.value("minishop_stock_units")).toBe(7);
    expect(m.value("minishop_outbox_depth")).toBe(0);
    expect(m.value("minishop_orders_awaiting_database")).toBe(0);
    for (const reason of ["soldOut", "duplicate", "rateLimited", "notStarted", "ended", "paused"])
      expect(m.rejected(reason)).toBe(0);
    for (const h of [
      "minishop_object_purchase_latency_seconds",
      "minishop_gateway_purchase_latency_seconds",
      "minishop_consumer_batch_latency_seconds",
    ]) {
      expect(m.count(h)).toBe(0);
      expect(m.value(`${h}_sum`)).toBe(0);
    }
    expect(m.value("minishop_sale_status", { status: "scheduled" })).toBe(1);
    expect(m.value("minishop_sale_status", { status: "live" })).toBe(0);
  });

  it("moves attempts, sold, remaining and all three latency histograms with a purchase", async () => {
    // A live sale and a shopper.
    const sale = await createSale({ stock: 3, title: title("Purchase metrics") });
    const alice = await shopper("metricsalice");
    const before = await scrape(sale.id);
    expect(before.value("minishop_sale_status", { status: "live" })).toBe(1);

    // One purchase: the object's counters and its own latency histogram move at once.
    expect((await purchase(sale.id, alice.cookie)).status).toBe(202);
    const now = await scrape(sale.id);
    expect(now.value("minishop_purchase_attempts_total")).toBe(1);
    expect(now.value("minishop_sold_units")).toBe(1);
    expect(now.value("minishop_remaining_units")).toBe(2);
    expect(now.count("minishop_object_purchase_latency_seconds")).toBe(1);
    expect(now.value("minishop_object_purchase_latency_seconds_bucket", { le: "+Inf" })).toBe(1);

    // The gateway's latency arrives with its deferred flush; the consumer's batch once the order is written,
    // and then nothing is left in the outbox or waiting for PostgreSQL.
    const later = await scrapeUntil(
      sale.id,
      "gateway and consumer histograms",
      (m) =>
        m.count("minishop_gateway_purchase_latency_seconds") >= 1 &&
        m.count("minishop_consumer_batch_latency_seconds") >= 1 &&
        m.value("minishop_outbox_depth") === 0 &&
        m.value("minishop_orders_awaiting_database") === 0,
    );
    expect(later.count("minishop_gateway_purchase_latency_seconds")).toBe(1);
    expect(later.value("minishop_gateway_purchase_latency_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(later.value("minishop_consumer_batch_latency_seconds_sum")).toBeGreaterThanOrEqual(0);
    expect(later.value("minishop_sold_units")).toBe(1);
  });

  it("counts orders that PostgreSQL does not have in the outbox and awaiting gauges, until they land", async () => {
    // A live sale whose row PostgreSQL has lost: its orders cannot be written (foreign key) until it is back.
    const sale = await createSale({ stock: 5, title: title("Outbox metrics") });
    const sql = database();
    const [saleRow] = await sql`select * from sales where id = ${sale.id}`;
    await sql`delete from sales where id = ${sale.id}`;

    // Two purchases: both orders wait in the object's outbox, and PostgreSQL has neither.
    for (const who of ["outboxa", "outboxb"])
      expect((await purchase(sale.id, (await shopper(who)).cookie)).status).toBe(202);
    const stuck = await scrape(sale.id);
    expect(stuck.value("minishop_outbox_depth")).toBe(2);
    expect(stuck.value("minishop_orders_awaiting_database")).toBe(2);
    expect(stuck.value("minishop_sold_units")).toBe(2);

    // The row is back and the merchant reconciles: both land, and the gauges fall to zero.
    await sql`insert into sales ${sql(saleRow)}`;
    expect((await call(`/admin/api/sales/${sale.id}/reconcile`, { method: "POST", headers: ADMIN })).status).toBe(200);
    await scrapeUntil(
      sale.id,
      "orders landed",
      (m) => m.value("minishop_outbox_depth") === 0 && m.value("minishop_orders_awaiting_database") === 0,
    );
  });

  it("counts every kind of refusal under its reason", async () => {
    // duplicate: the same shopper twice.
    const dup = await createSale({ stock: 5, title: title("Duplicate metrics") });
    const bob = await shopper("metricsbob");
    expect((await purchase(dup.id, bob.cookie)).status).toBe(202);
    expect((await purchase(dup.id, bob.cookie)).status).toBe(409);
    const d = await scrape(dup.id);
    expect(d.rejected("duplicate")).toBe(1);
    expect(d.value("minishop_purchase_attempts_total")).toBe(2);

    // soldOut: one unit, two more shoppers (the object or the edge says no; the edge's count is flushed).
    const one = await createSale({ stock: 1, title: title("Sold out metrics") });
    expect((await purchase(one.id, (await shopper("soa")).cookie)).status).toBe(202);
    expect((await purchase(one.id, (await shopper("sob")).cookie)).status).toBe(410);
    expect((await purchase(one.id, (await shopper("soc")).cookie)).status).toBe(410);
    const so = await scrapeUntil(one.id, "two sold-out refusals", (m) => m.rejected("soldOut") === 2);
    expect(so.value("minishop_purchase_attempts_total")).toBe(3);
    expect(so.value("minishop_remaining_units")).toBe(0);
    expect(so.value("minishop_sale_status", { status: "sold_out" })).toBe(1);

    // notStarted: a sale an hour away.
    const early = await createSale({ startsInSeconds: 3600, title: title("Not started metrics") });
    expect((await purchase(early.id, bob.cookie)).status).toBe(403);
    expect((await scrape(early.id)).rejected("notStarted")).toBe(1);

    // ended: a sale that is over (ended early by the merchant: a sale cannot be created already over).
    const over = await createSale({ title: title("Ended metrics") });
    expect((await call(`/admin/api/sales/${over.id}/end`, { method: "POST", headers: ADMIN })).status).toBe(200);
    expect((await purchase(over.id, bob.cookie)).status).toBe(403);
    const e = await scrapeUntil(over.id, "an ended refusal", (m) => m.rejected("ended") === 1);
    expect(e.value("minishop_sale_status", { status: "ended" })).toBe(1);

    // paused: the merchant pauses.
    const held = await createSale({ title: title("Paused metrics") });
    await call(`/admin/api/sales/${held.id}/pause`, { method: "POST", headers: ADMIN });
    expect((await purchase(held.id, bob.cookie)).status).toBe(423);
    const p = await scrape(held.id);
    expect(p.rejected("paused")).toBe(1);
    expect(p.value("minishop_sale_status", { status: "paused" })).toBe(1);

    // rateLimited: an admission bucket of one token lets the first purchase in and refuses the next at the
    // edge; the refusal reaches the object with the gateway's flush.
    const busy = await createSale({ title: title("Rate limited metrics") });
    resetGuards();
    const strict = { ADMISSION_RPS: "0.001", ADMISSION_BURST: "1" };
    expect((await purchaseWith(strict, busy.id, (await shopper("rla")).cookie)).status).toBe(202);
    expect((await purchaseWith(strict, busy.id, (await shopper("rlb")).cookie)).status).toBe(429);
    const rl = await scrapeUntil(busy.id, "a rate-limited refusal", (m) => m.rejected("rateLimited") === 1);
    expect(rl.value("minishop_purchase_attempts_total")).toBe(2);

    // Each sale counted only its own reason.
    for (const reason of ["soldOut", "rateLimited", "notStarted", "ended", "paused"])
      expect(d.rejected(reason)).toBe(0);
  });
});

describe("Workers Analytics Engine", () => {
  function fakeDataset() {
    const points: AnalyticsEngineDataPoint[] = [];
    return { points, dataset: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p!) } };
  }

  it("writes one data point per sale with the same numbers as /metrics, and nothing without the binding", async () => {
    // A sale with one purchase.
    const sale = await createSale({ stock: 4, title: title("Analytics") });
    expect((await purchase(sale.id, (await shopper("aealice")).cookie)).status).toBe(202);
    const stats = await env.SECKILL.listStats();

    // With the binding: one point per sale, indexed by the sale id, the values named by ANALYTICS_DOUBLES.
    const { points, dataset } = fakeDataset();
    expect(writeAnalytics(dataset, stats)).toBe(stats.length);
    const point = points.find((p) => p.indexes?.[0] === sale.id)!;
    expect(point.blobs).toEqual([sale.id, sale.title, "live"]);
    expect(point.doubles).toHaveLength(ANALYTICS_DOUBLES.length);
    expect(ANALYTICS_DOUBLES.length).toBeLessThanOrEqual(20); // Analytics Engine's limit per data point
    const named = Object.fromEntries(ANALYTICS_DOUBLES.map((k, i) => [k, point.doubles![i]]));
    expect(named).toMatchObject({
      attempts: 1,
      sold: 1,
      remaining: 3,
      stock: 4,
      rejectedSoldOut: 0,
      objectLatencyCount: 1,
    });

    // Without it (local runs): nothing, and no error.
    expect(writeAnalytics(undefined, stats)).toBe(0);
  });

  it("writes from the Cron Trigger handler too", async () => {
    const sale = await createSale({ title: title("Analytics cron") });
    const { points, dataset } = fakeDataset();
    await admin.scheduled(createScheduledController({ cron: "* * * * *" }), {
      ...env,
      METRICS_AE: dataset,
    } as AdminEnv);
    expect(points.some((p) => p.indexes?.[0] === sale.id)).toBe(true);
  });
});
