/**
 * Prometheus-style histograms as plain data: they cross an RPC boundary by structured clone and two of them
 * merge by adding, so the gateway can count latencies in memory and hand a whole window to a sale's object
 * in one call (never one call per request).
 *
 * `buckets[i]` counts the observations ≤ `bounds[i]` (cumulative, as Prometheus exposes them); the implicit
 * `+Inf` bucket is `count`.
 */
export interface Histogram {
  buckets: number[];
  count: number;
  sumMs: number;
}

/** A successful purchase's time inside the sale's object (its own clock), in milliseconds. */
export const OBJECT_LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250] as const;

/** Purchase latency as the gateway sees it (session, limits, the object's answer), in milliseconds. */
export const GATEWAY_LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

/** One order-queue batch in the consumer, from delivery to commit and confirmation, in milliseconds. */
export const CONSUMER_BATCH_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

export function emptyHistogram(bounds: readonly number[]): Histogram {
  return { buckets: new Array<number>(bounds.length).fill(0), count: 0, sumMs: 0 };
}

export function observe(h: Histogram, bounds: readonly number[], ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return;
  h.count++;
  h.sumMs += ms;
  for (let i = 0; i < bounds.length; i++) if (ms <= bounds[i]) h.buckets[i]++;
}

/**
 * Adds `from` into `into`. Returns false (and changes nothing) when `from` is not a histogram of the same
 * shape: it comes over RPC, from another Worker's build that may use other bounds.
 */
export function mergeHistogram(into: Histogram, from: Histogram): boolean {
  if (
    !Array.isArray(from?.buckets) ||
    from.buckets.length !== into.buckets.length ||
    !from.buckets.every((n) => Number.isInteger(n) && n >= 0) ||
    !Number.isInteger(from.count) ||
    from.count < 0 ||
    !Number.isFinite(from.sumMs)
  ) {
    return false;
  }
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i] += from.buckets[i];
  into.count += from.count;
  into.sumMs += from.sumMs;
  return true;
}
