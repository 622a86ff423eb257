/**
 * Telemetry of a sale: the merchant's counters (attempts and each kind of "no"), saved by the alarm rather
 * than on every request, and latency histograms kept in memory only (a restart starts them from zero).
 * Nothing here moves stock or orders; its one write touches the `counters` column alone.
 */
import {
  CONSUMER_BATCH_BUCKETS_MS,
  GATEWAY_LATENCY_BUCKETS_MS,
  OBJECT_LATENCY_BUCKETS_MS,
  emptyHistogram,
  mergeHistogram,
  observe,
  type Histogram,
} from "../../lib/server/histogram.ts";

export interface Counters {
  attempts: number;
  soldOut: number;
  duplicate: number;
  rateLimited: number;
  notStarted: number;
  ended: number;
  paused: number;
  /** Orders PostgreSQL refused on unique (sale_id, user_id) (never confirmed; see queues/consumer.ts). */
  orderConflicts: number;
}

/** The purchase latency histogram's upper bounds, in milliseconds of the object's own time. */
export const LATENCY_BUCKETS_MS = OBJECT_LATENCY_BUCKETS_MS;

export function zeroCounters(): Counters {
  return {
    attempts: 0,
    soldOut: 0,
    duplicate: 0,
    rateLimited: 0,
    notStarted: 0,
    ended: 0,
    paused: 0,
    orderConflicts: 0,
  };
}

export class Telemetry {
  counters: Counters = zeroCounters();
  /** Counters changed since they were last saved. */
  dirty = false;
  readonly latency = { buckets: new Array<number>(LATENCY_BUCKETS_MS.length).fill(0), count: 0, sumMs: 0 };
  /** Measured elsewhere and handed over by `recordObservations` (memory only, like `latency`). */
  readonly gatewayLatency = emptyHistogram(GATEWAY_LATENCY_BUCKETS_MS);
  readonly consumerBatch = emptyHistogram(CONSUMER_BATCH_BUCKETS_MS);

  load(saved: string): void {
    this.counters = { ...zeroCounters(), ...(JSON.parse(saved) as Partial<Counters>) };
  }

  serialize(): string {
    return JSON.stringify(this.counters);
  }

  /** Counts one event; returns true when the counters just became dirty (the caller arms the flush). */
  count(kind: keyof Counters, n = 1): boolean {
    this.counters[kind] += n;
    const first = !this.dirty;
    this.dirty = true;
    return first;
  }

  recordEdgeRejections(counts: { rateLimited?: number; soldOut?: number; ended?: number }): boolean {
    this.counters.rateLimited += counts.rateLimited ?? 0;
    this.counters.soldOut += counts.soldOut ?? 0;
    this.counters.ended += counts.ended ?? 0;
    return this.count("attempts", (counts.rateLimited ?? 0) + (counts.soldOut ?? 0) + (counts.ended ?? 0));
  }

  recordObservations(o: { gatewayLatency?: Histogram; consumerBatchMs?: number }): void {
    if (o.gatewayLatency) mergeHistogram(this.gatewayLatency, o.gatewayLatency);
    if (o.consumerBatchMs !== undefined) observe(this.consumerBatch, CONSUMER_BATCH_BUCKETS_MS, o.consumerBatchMs);
  }

  observeLatency(ms: number): void {
    const l = this.latency;
    l.count++;
    l.sumMs += ms;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]) l.buckets[i]++;
  }

  /** Saves the counters, and only them. */
  persist(sql: SqlStorage): void {
    sql.exec("UPDATE sale SET counters = ? WHERE id = 1", this.serialize());
    this.dirty = false;
  }
}
