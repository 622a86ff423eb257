/**
 * The gateway's in-isolate guards. Each isolate keeps its own copy; that is the point (no I/O to decide),
 * and it is why every limit here is a ceiling per isolate, backed by the object's own serialisation.
 */
import { withTimeout } from "../../lib/server/timeout.ts";

/**
 * Token bucket: `rate` tokens per second, at most `burst` saved up. Used as the per-sale admission
 * control, so the rate reaching one sale's object stays under what one Durable Object serves (~1,000/s).
 *
 * @example
 * const bucket = new TokenBucket(800, 200);
 * if (!bucket.take()) throw new ApiError("RATE_LIMITED", "…");
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until a token is available. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }
}

/**
 * Sliding-window counter (the two-window approximation): how many events in the last `windowMs`.
 * Used for failed logins per username, so a password-guessing script is cut off whatever IPs it uses.
 */
export class SlidingWindow {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private roll(key: string) {
    const t = this.now();
    const start = t - (t % this.windowMs);
    let w = this.windows.get(key);
    if (!w) {
      w = { start, current: 0, previous: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.previous = start - w.start === this.windowMs ? w.current : 0;
      w.current = 0;
      w.start = start;
    }
    if (this.windows.size > 10_000) this.windows.delete(this.windows.keys().next().value!);
    return { w, t };
  }

  count(key: string): number {
    const { w, t } = this.roll(key);
    const weight = 1 - (t - w.start) / this.windowMs;
    return w.current + w.previous * weight;
  }

  isLimited(key: string): boolean {
    return this.count(key) >= this.limit;
  }

  record(key: string): void {
    this.roll(key).w.current++;
  }

  reset(key: string): void {
    this.windows.delete(key);
  }
}

export type ClosedReason = "sold_out" | "ended";

/**
 * What this isolate knows about sales that say no: sold out (short TTL, stock can come back through an
 * expiry or a cancel) or ended (for good). Read before any session or body work.
 */
export class ClosedSales {
  private readonly closed = new Map<string, { reason: ClosedReason; until: number; refreshing: boolean }>();
  /**
   * @param staleMs how long past its TTL a verdict is still served while one refresh is in flight
   *   (stale-while-revalidate). Without it, a lapsed verdict sends every attempt down the full path, where most
   *   of them stop at a rate limit and never reach the object that would renew it.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly staleMs = 1_000,
  ) {}

  get(saleId: string): ClosedReason | null {
    const entry = this.closed.get(saleId);
    if (!entry) return null;
    if (entry.until <= this.now()) return null;
    return entry.reason;
  }

  /**
   * The verdict, fresh or lapsed less than `staleMs` ago; `refresh` is true for exactly one caller per lapse,
   * who must renew it (`set`) or drop it (`clear`), or `refreshFailed` so another caller may try. A verdict
   * lapsed longer than that is gone: so a verdict outlives its TTL by at most `staleMs`, whatever happens.
   */
  lookup(saleId: string): { reason: ClosedReason; refresh: boolean } | null {
    const entry = this.closed.get(saleId);
    if (!entry) return null;
    const now = this.now();
    if (entry.until > now) return { reason: entry.reason, refresh: false };
    if (entry.until + this.staleMs <= now) {
      this.closed.delete(saleId);
      return null;
    }
    if (entry.refreshing) return { reason: entry.reason, refresh: false };
    entry.refreshing = true;
    return { reason: entry.reason, refresh: true };
  }

  /** A refresh that could not ask (the object did not answer): the next caller of `lookup` may try again. */
  refreshFailed(saleId: string): void {
    const entry = this.closed.get(saleId);
    if (entry) entry.refreshing = false;
  }

  set(saleId: string, reason: ClosedReason, ttlMs: number): void {
    if (this.closed.size >= 10_000 && !this.closed.has(saleId)) this.closed.clear();
    this.closed.set(saleId, { reason, until: this.now() + ttlMs, refreshing: false });
  }

  clear(saleId: string): void {
    this.closed.delete(saleId);
    this.checked.delete(saleId);
  }

  /** Open sales: remembers that the shared cache was just consulted, so it is not asked on every request. */
  private readonly checked = new Map<string, number>();

  checkedRecently(saleId: string): boolean {
    const until = this.checked.get(saleId);
    return until !== undefined && until > this.now();
  }

  markChecked(saleId: string, ttlMs: number): void {
    if (this.checked.size > 10_000) this.checked.clear();
    this.checked.set(saleId, this.now() + ttlMs);
  }
}

export type BreakerState = "closed" | "open" | "half-open";

/**
 * Circuit breaker around calls to the seckill Worker: after `threshold` failures in a row it opens and
 * fails fast for `coolDownMs`; then one probe goes through (half-open) and its outcome closes or re-opens it.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  state: BreakerState = "closed";

  constructor(
    readonly threshold = 5,
    readonly coolDownMs = 5_000,
    readonly timeoutMs = 3_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a call may go through now. */
  allow(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && this.now() - this.openedAt >= this.coolDownMs) {
      this.state = "half-open";
      this.probing = false;
    }
    if (this.state === "half-open" && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.coolDownMs - (this.now() - this.openedAt)) / 1000));
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.state = "closed";
  }

  failure(): void {
    this.failures++;
    this.probing = false;
    if (this.state === "half-open" || this.failures >= this.threshold) {
      this.state = "open";
      this.openedAt = this.now();
    }
  }

  /** Runs `call` under the breaker with the per-call timeout; throws `BreakerOpenError` when open. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (!this.allow()) throw new BreakerOpenError(this.retryAfterSeconds());
    try {
      const result = await withTimeout(call(), this.timeoutMs, "seckill call");
      this.success();
      return result;
    } catch (err) {
      this.failure();
      throw err;
    }
  }
}

export class BreakerOpenError extends Error {
  constructor(readonly retryAfter: number) {
    super("circuit open");
  }
}
