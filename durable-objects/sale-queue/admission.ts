/**
 * The queue's pace (docs/design.md "The sale queue"): a token bucket that keeps admissions at or under the sale's
 * capacity, and the measured admission rate the estimates use. Memory only: after a restart the bucket starts
 * full and the rate is measured again (both only shape pace, never who is admitted or how many may be).
 */

/** Admissions allowed per `take`: refilled at `perSecond`, at most one second's worth saved up. */
export class AdmissionBucket {
  private tokens: number;
  private at: number | null = null;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** How many admissions the bucket allows now (whole tokens). */
  available(now: number): number {
    if (this.at !== null)
      this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    return Math.floor(this.tokens);
  }

  /** Spends `n` tokens (n ≤ `available`). */
  spend(n: number): void {
    this.tokens -= n;
  }
}

/** The admission rate over the last `windowMs`, from (time, admitted so far) samples taken each tick. */
export class RateMeter {
  private readonly samples: { t: number; total: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  record(t: number, total: number): void {
    this.samples.push({ t, total });
    while (this.samples.length > 2 && this.samples[0].t < t - this.windowMs) this.samples.shift();
  }

  /** Admissions per second over the window; 0 with fewer than two samples or no time between them. */
  perSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t <= first.t) return 0;
    return ((last.total - first.total) * 1000) / (last.t - first.t);
  }
}

/**
 * How many to admit now (Q5): no more than the bucket allows, than are waiting, and never so many that the
 * admitted-but-unused tickets would exceed the stock left.
 */
export function admissionsNow(o: { tokens: number; waiting: number; remaining: number; admitted: number }): number {
  return Math.max(0, Math.min(o.tokens, o.waiting, o.remaining - o.admitted));
}
