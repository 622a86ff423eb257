/**
 * How long to wait before trying a purchase again after `429 RATE_LIMITED` or `503 UNAVAILABLE`.
 *
 * Never sooner than the server's `Retry-After` (it knows when it will have room), plus random jitter so a
 * crowd told "1 second" does not come back in the same millisecond and get turned away together again.
 * Without `Retry-After`, exponential backoff from 500 ms, capped at 8 s.
 */
export function retryDelayMs(retryAfterMs: number | null, attempt: number, random: () => number = Math.random): number {
  const base = retryAfterMs ?? Math.min(8_000, 500 * 2 ** Math.max(0, attempt - 1));
  const jitter = random() * Math.max(250, base * 0.5);
  return Math.round(base + jitter);
}

/** Automatic retries before the shopper is asked to press the button again. */
export const MAX_RATE_LIMITED_RETRIES = 30;
export const MAX_UNAVAILABLE_RETRIES = 5;
