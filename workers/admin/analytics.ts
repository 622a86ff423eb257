/**
 * Workers Analytics Engine: in production (binding METRICS_AE, dataset "minishop_metrics"), every collection
 * of the sale objects' stats — each /metrics scrape, and the admin Worker's Cron Trigger when one is
 * configured — also writes one data point per sale, so the numbers are kept and queryable with the SQL API
 * even with no Prometheus scraping. Locally the binding is absent and nothing is written.
 *
 * One data point per sale and collection: index = sale id; blobs = [sale id, title, status];
 * doubles = the cumulative values below, in this order (a snapshot, not a delta: query with max() or
 * argMax() per interval, e.g. `SELECT blob2 AS title, max(double2) AS sold FROM minishop_metrics
 * WHERE index1 = '<sale id>' AND timestamp > NOW() - INTERVAL '1' HOUR GROUP BY title`).
 */
import type { SaleWithStats } from "./metrics.ts";

export const ANALYTICS_DOUBLES = [
  "attempts",
  "sold",
  "remaining",
  "stock",
  "rejectedSoldOut",
  "rejectedDuplicate",
  "rejectedRateLimited",
  "rejectedNotStarted",
  "rejectedEnded",
  "rejectedPaused",
  "outboxDepth",
  "awaitingDatabase",
  "objectLatencyCount",
  "objectLatencySumMs",
  "gatewayLatencyCount",
  "gatewayLatencySumMs",
  "consumerBatchCount",
  "consumerBatchSumMs",
] as const;

export function toDataPoint(s: SaleWithStats): AnalyticsEngineDataPoint {
  const r = s.stats.rejected;
  const values: Record<(typeof ANALYTICS_DOUBLES)[number], number> = {
    attempts: s.stats.attempts,
    sold: s.stats.sold,
    remaining: s.stats.remaining,
    stock: s.stock,
    rejectedSoldOut: r.soldOut,
    rejectedDuplicate: r.duplicate,
    rejectedRateLimited: r.rateLimited,
    rejectedNotStarted: r.notStarted,
    rejectedEnded: r.ended,
    rejectedPaused: r.paused,
    outboxDepth: s.stats.outboxDepth,
    awaitingDatabase: s.stats.awaitingDatabase,
    objectLatencyCount: s.latency.count,
    objectLatencySumMs: s.latency.sumMs,
    gatewayLatencyCount: s.gatewayLatency.count,
    gatewayLatencySumMs: s.gatewayLatency.sumMs,
    consumerBatchCount: s.consumerBatch.count,
    consumerBatchSumMs: s.consumerBatch.sumMs,
  };
  return {
    indexes: [s.id],
    blobs: [s.id, s.title, s.status],
    doubles: ANALYTICS_DOUBLES.map((k) => values[k]),
  };
}

/** Writes one data point per sale; returns how many were written (0 without the binding). Never throws. */
export function writeAnalytics(dataset: AnalyticsEngineDataset | undefined, sales: SaleWithStats[]): number {
  if (!dataset) return 0;
  let written = 0;
  for (const s of sales) {
    try {
      dataset.writeDataPoint(toDataPoint(s));
      written++;
    } catch (err) {
      console.warn(
        JSON.stringify({ worker: "admin", msg: "analytics write failed", saleId: s.id, error: String(err) }),
      );
    }
  }
  return written;
}
