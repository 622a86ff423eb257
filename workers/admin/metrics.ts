/**
 * Prometheus text exposition (format 0.0.4) of what the sale objects count. Every series comes from an
 * object's `getStats()`: its persisted counters, its SQLite tables (sold, outbox, awaiting PostgreSQL) and
 * its in-memory histograms (its own purchase latency, and the gateway's and the consumer's, which reach it
 * through `recordObservations`). Nothing here is invented or estimated.
 *
 * Counters (`_total`) are stored with the sale and survive restarts; the histograms live in the object's
 * memory and start again from zero after it restarts, which Prometheus' `rate()` treats as a counter reset.
 * Every series carries `sale` (the id) and `title`.
 *
 * Names follow Prometheus' conventions, as `promtool check metrics` checks them (test/node/metrics-format.test.ts):
 * base units, so the latency histograms are `_seconds` (the objects count milliseconds, converted here: bucket
 * bounds and sums divided by 1,000), counters end in `_total`.
 */
import {
  CONSUMER_BATCH_BUCKETS_MS,
  GATEWAY_LATENCY_BUCKETS_MS,
  OBJECT_LATENCY_BUCKETS_MS,
  type Histogram,
} from "../../lib/server/histogram.ts";
import { SALE_STATUSES, type Sale, type SaleStats } from "../../lib/contract/schemas.ts";
import type { QueueStats } from "../../lib/contract/queue.ts";

/** A sale as the object's `getStats()` answers it: the contract's sale and stats, and the raw histograms. */
export type SaleWithStats = Sale & {
  stats: SaleStats;
  latency: Histogram;
  gatewayLatency: Histogram;
  consumerBatch: Histogram;
};

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A sample value as Prometheus reads it (integers plainly, no exponent surprises for sums). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : "NaN";
}

/** Milliseconds as seconds, for a bucket bound or a sum (no float noise such as 0.00025000000000000006). */
function seconds(ms: number): number {
  return Number((ms / 1000).toPrecision(12));
}

/** A histogram counted in milliseconds, exposed in seconds. */
function histogramLines(name: string, labels: string, boundsMs: readonly number[], h: Histogram): string[] {
  return [
    ...boundsMs.map((le, i) => `${name}_bucket{${labels},le="${seconds(le)}"} ${h.buckets[i] ?? 0}`),
    `${name}_bucket{${labels},le="+Inf"} ${h.count}`,
    `${name}_sum{${labels}} ${num(seconds(h.sumMs))}`,
    `${name}_count{${labels}} ${h.count}`,
  ];
}

export function renderMetrics(sales: SaleWithStats[]): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const per = (fn: (s: SaleWithStats, l: string) => string | string[]) =>
    sales.flatMap((s) => fn(s, `sale="${label(s.id)}",title="${label(s.title)}"`));

  family(
    "minishop_sale_status",
    "gauge",
    "1 for the sale's current status, 0 for the others.",
    per((s, l) =>
      SALE_STATUSES.map((status) => `minishop_sale_status{${l},status="${status}"} ${s.status === status ? 1 : 0}`),
    ),
  );
  family(
    "minishop_purchase_attempts_total",
    "counter",
    "Purchase attempts, answered at the edge or by the object.",
    per((s, l) => `minishop_purchase_attempts_total{${l}} ${s.stats.attempts}`),
  );
  family(
    "minishop_sold_units",
    "gauge",
    "Units held by reserved, confirmed or paid orders.",
    per((s, l) => `minishop_sold_units{${l}} ${s.stats.sold}`),
  );
  family(
    "minishop_purchase_rejections_total",
    "counter",
    "Rejected purchase attempts by reason.",
    per((s, l) =>
      Object.entries(s.stats.rejected).map(
        ([reason, n]) => `minishop_purchase_rejections_total{${l},reason="${reason}"} ${n}`,
      ),
    ),
  );
  family(
    "minishop_remaining_units",
    "gauge",
    "Units left to sell.",
    per((s, l) => `minishop_remaining_units{${l}} ${s.stats.remaining}`),
  );
  family(
    "minishop_stock_units",
    "gauge",
    "Units put on sale.",
    per((s, l) => `minishop_stock_units{${l}} ${s.stock}`),
  );
  family(
    "minishop_outbox_depth",
    "gauge",
    "Order states in the object's outbox, not yet confirmed by PostgreSQL.",
    per((s, l) => `minishop_outbox_depth{${l}} ${s.stats.outboxDepth}`),
  );
  family(
    "minishop_orders_awaiting_database",
    "gauge",
    "Orders that PostgreSQL does not have yet.",
    per((s, l) => `minishop_orders_awaiting_database{${l}} ${s.stats.awaitingDatabase}`),
  );
  family(
    "minishop_order_conflicts_total",
    "counter",
    "Orders PostgreSQL refused on unique (sale_id, user_id): dead-lettered, never confirmed (alert: ops/alerts.yml).",
    per((s, l) => `minishop_order_conflicts_total{${l}} ${s.stats.orderConflicts ?? 0}`),
  );
  family(
    "minishop_object_purchase_latency_seconds",
    "histogram",
    "Time the sale object spends on a successful purchase (since its last start).",
    per((s, l) => histogramLines("minishop_object_purchase_latency_seconds", l, OBJECT_LATENCY_BUCKETS_MS, s.latency)),
  );
  family(
    "minishop_gateway_purchase_latency_seconds",
    "histogram",
    "Purchase requests as the gateway answered them, every outcome (since the object's last start).",
    per((s, l) =>
      histogramLines("minishop_gateway_purchase_latency_seconds", l, GATEWAY_LATENCY_BUCKETS_MS, s.gatewayLatency),
    ),
  );
  family(
    "minishop_consumer_batch_latency_seconds",
    "histogram",
    "Order-queue batches that carried this sale's orders, from delivery to commit and confirmation (since the object's last start).",
    per((s, l) =>
      histogramLines("minishop_consumer_batch_latency_seconds", l, CONSUMER_BATCH_BUCKETS_MS, s.consumerBatch),
    ),
  );
  // Queue sales only (docs/api.md "Queue"): the queue's tickets by state, joins, the abandon rate and the pace.
  const queued = (fn: (s: SaleWithStats & { stats: { queue: QueueStats } }, l: string) => string | string[]) =>
    per((s, l) => (s.stats.queue ? fn(s as SaleWithStats & { stats: { queue: QueueStats } }, l) : []));
  family(
    "minishop_queue_tickets",
    "gauge",
    "Queue tickets by state: waiting (sold-out ones included), admitted (unused), purchased, expired (admitted, unused).",
    queued((s, l) =>
      (["waiting", "admitted", "purchased", "expired"] as const).map(
        (state) => `minishop_queue_tickets{${l},state="${state}"} ${s.stats.queue[state]}`,
      ),
    ),
  );
  family(
    "minishop_queue_joined_total",
    "counter",
    "Tickets taken in the sale's queue.",
    queued((s, l) => `minishop_queue_joined_total{${l}} ${s.stats.queue.joined}`),
  );
  family(
    "minishop_queue_abandon_ratio",
    "gauge",
    "Share of used admissions that expired unused: expired / (purchased + expired).",
    queued((s, l) => `minishop_queue_abandon_ratio{${l}} ${num(s.stats.queue.abandonRate)}`),
  );
  family(
    "minishop_queue_admissions_per_second",
    "gauge",
    "Admissions per second over the queue's last 10 seconds (the rate its estimates use).",
    queued((s, l) => `minishop_queue_admissions_per_second{${l}} ${num(s.stats.queue.admitRatePerSecond)}`),
  );
  return out.join("\n") + "\n";
}
