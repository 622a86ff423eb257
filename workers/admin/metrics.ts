/**
 * Prometheus text exposition of what the sale objects count. Every series comes from an object's counters;
 * nothing here is invented.
 */
import { LATENCY_BUCKETS_MS } from "../../durable-objects/sale-item.ts";
import type { Sale, SaleStats } from "../../lib/schemas.ts";

type SaleWithStats = Sale & {
  stats: SaleStats;
  latency: { buckets: number[]; count: number; sumMs: number };
};

function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

export function renderMetrics(sales: SaleWithStats[]): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const per = (fn: (s: SaleWithStats, l: string) => string | string[]) =>
    sales.flatMap((s) => fn(s, `sale="${label(s.id)}",title="${label(s.title)}"`));

  family("minishop_purchase_attempts_total", "counter", "Purchase attempts, answered at the edge or by the object.", per((s, l) => `minishop_purchase_attempts_total{${l}} ${s.stats.attempts}`));
  family("minishop_sold_units", "gauge", "Units held by reserved, confirmed or paid orders.", per((s, l) => `minishop_sold_units{${l}} ${s.stats.sold}`));
  family("minishop_purchase_rejections_total", "counter", "Rejected purchase attempts by reason.",
    per((s, l) => Object.entries(s.stats.rejected).map(([reason, n]) => `minishop_purchase_rejections_total{${l},reason="${reason}"} ${n}`)));
  family("minishop_remaining_units", "gauge", "Units left to sell.", per((s, l) => `minishop_remaining_units{${l}} ${s.stats.remaining}`));
  family("minishop_stock_units", "gauge", "Units put on sale.", per((s, l) => `minishop_stock_units{${l}} ${s.stock}`));
  family("minishop_outbox_depth", "gauge", "Order states in the object's outbox, not yet confirmed by PostgreSQL.", per((s, l) => `minishop_outbox_depth{${l}} ${s.stats.outboxDepth}`));
  family("minishop_orders_awaiting_database", "gauge", "Orders that PostgreSQL does not have yet.", per((s, l) => `minishop_orders_awaiting_database{${l}} ${s.stats.awaitingDatabase}`));
  family("minishop_object_purchase_latency_ms", "histogram", "Time the sale object spends on a successful purchase (since its last start).",
    per((s, l) => [
      ...LATENCY_BUCKETS_MS.map((le, i) => `minishop_object_purchase_latency_ms_bucket{${l},le="${le}"} ${s.latency.buckets[i]}`),
      `minishop_object_purchase_latency_ms_bucket{${l},le="+Inf"} ${s.latency.count}`,
      `minishop_object_purchase_latency_ms_sum{${l}} ${s.latency.sumMs}`,
      `minishop_object_purchase_latency_ms_count{${l}} ${s.latency.count}`,
    ]));
  return out.join("\n") + "\n";
}
