/**
 * `/metrics` speaks Prometheus' conventions: the exposition the admin Worker renders passes
 * `promtool check metrics` (base units — latency histograms in seconds —, `_total` counters, HELP and TYPE for
 * every family, valid label escaping). promtool comes with Debian's `prometheus` package, which .ci/run installs.
 * The series' values (what moves them) are tested in workerd: test/workers/admin-metrics.test.ts.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  emptyHistogram,
  observe,
  CONSUMER_BATCH_BUCKETS_MS,
  GATEWAY_LATENCY_BUCKETS_MS,
  OBJECT_LATENCY_BUCKETS_MS,
} from "../../lib/server/histogram.ts";
import { renderMetrics, type SaleWithStats } from "../../workers/admin/metrics.ts";

function histogram(bounds: readonly number[], samplesMs: number[]) {
  const h = emptyHistogram(bounds);
  for (const ms of samplesMs) observe(h, bounds, ms);
  return h;
}

function sale(id: string, title: string): SaleWithStats {
  return {
    id,
    title,
    description: "",
    priceCents: 100,
    currency: "USD",
    stock: 10,
    remaining: 7,
    perUserLimit: 1,
    startsAt: "2026-12-01T00:00:00.000Z",
    endsAt: "2026-12-01T01:00:00.000Z",
    status: "live",
    paymentWindowSeconds: 900,
    stats: {
      attempts: 12,
      sold: 3,
      remaining: 7,
      rejected: { soldOut: 4, duplicate: 2, rateLimited: 1, notStarted: 1, ended: 0, paused: 1 },
      outboxDepth: 1,
      awaitingDatabase: 0,
    },
    latency: histogram(OBJECT_LATENCY_BUCKETS_MS, [0.05, 0.3, 1.7, 400]),
    gatewayLatency: histogram(GATEWAY_LATENCY_BUCKETS_MS, [0.8, 3, 42, 7000]),
    consumerBatch: histogram(CONSUMER_BATCH_BUCKETS_MS, [12.5, 30_001]),
  } as SaleWithStats;
}

function promtool(text: string): { status: number | null; output: string } {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (run.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

describe("/metrics exposition", () => {
  const queued = sale("3f1c8a52-0000-4000-8000-000000000003", "Queued");
  queued.stats.queue = {
    waiting: 40,
    admitted: 3,
    purchased: 6,
    expired: 2,
    joined: 51,
    abandonRate: 0.25,
    admitRatePerSecond: 1.5,
  };
  const text = renderMetrics([
    sale("3f1c8a52-0000-4000-8000-000000000001", 'Phone "X" \\ one'),
    sale("3f1c8a52-0000-4000-8000-000000000002", "Kettle\nTwo"),
    queued,
  ]);

  it("passes promtool check metrics with no warning", () => {
    const { status, output } = promtool(text);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  it("exposes latency in seconds: bucket bounds and sums are the milliseconds divided by 1,000", () => {
    expect(text).not.toMatch(/_ms[_{ ]/);
    expect(text).toContain(
      'minishop_object_purchase_latency_seconds_bucket{sale="3f1c8a52-0000-4000-8000-000000000001",title="Phone \\"X\\" \\\\ one",le="0.00025"} 1',
    );
    expect(text).toContain(
      'minishop_gateway_purchase_latency_seconds_bucket{sale="3f1c8a52-0000-4000-8000-000000000001",title="Phone \\"X\\" \\\\ one",le="5"} 3',
    );
    expect(text).toContain(
      'minishop_consumer_batch_latency_seconds_sum{sale="3f1c8a52-0000-4000-8000-000000000001",title="Phone \\"X\\" \\\\ one"} 30.0135',
    );
  });

  it("exposes a queue sale's tickets by state, joins, abandon rate and pace (queue sales only)", () => {
    const l = 'sale="3f1c8a52-0000-4000-8000-000000000003",title="Queued"';
    expect(text).toContain(`minishop_queue_tickets{${l},state="waiting"} 40`);
    expect(text).toContain(`minishop_queue_tickets{${l},state="purchased"} 6`);
    expect(text).toContain(`minishop_queue_joined_total{${l}} 51`);
    expect(text).toContain(`minishop_queue_abandon_ratio{${l}} 0.25`);
    expect(text).toContain(`minishop_queue_admissions_per_second{${l}} 1.5`);
    expect(text).not.toMatch(/minishop_queue_tickets\{sale="3f1c8a52-0000-4000-8000-000000000001"/);
  });

  it("the check is real: promtool flags a histogram in milliseconds", () => {
    const { status, output } = promtool(text.replaceAll("_latency_seconds", "_latency_ms"));
    expect(status).not.toBe(0);
    expect(output).toMatch(/abbreviated units/);
  });
});
