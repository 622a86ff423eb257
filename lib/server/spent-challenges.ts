/**
 * The challenges this isolate has seen spent, each kept until it expires (docs/design.md "Scalpers made
 * expensive"): what makes a solved challenge single use without storage. Per isolate by design — no I/O to decide
 * — so it stops a solution being spent twice in the isolate that took it; the same solution sent to another
 * isolate (another location, or a second isolate here) can be spent once more there, within its expiry.
 */

/** Enough for 100,000 solved challenges within one expiry in one isolate (≈ 10 MB at worst). */
export const MAX_SPENT = 100_000;

/**
 * A set of spent challenge signatures, each with its expiry (epoch ms). Entries expire in insertion order when
 * every challenge lives as long (the shipped setting); an expired entry is dropped on the next `spend`. Past
 * `max` live entries the oldest is dropped early: that challenge could then be spent once more here before it
 * expires — reaching it takes `max` solved challenges within one expiry, in one isolate.
 *
 * @example
 * const spent = new SpentChallenges();
 * spent.spend(signature, expiresAtMs); // true the first time
 * spent.spend(signature, expiresAtMs); // false: already spent
 */
export class SpentChallenges {
  private readonly until = new Map<string, number>();

  constructor(
    readonly max = MAX_SPENT,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.until.size;
  }

  /** Marks `signature` spent until `expiresAtMs`; false when it was spent already (and has not expired). */
  spend(signature: string, expiresAtMs: number): boolean {
    const now = this.now();
    this.prune(now);
    const previous = this.until.get(signature);
    if (previous !== undefined && previous > now) return false;
    this.until.delete(signature);
    this.until.set(signature, expiresAtMs);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value!);
    return true;
  }

  /** Drops expired entries from the oldest on, stopping at the first live one (insertion order ≈ expiry order). */
  private prune(now: number): void {
    for (const [key, until] of this.until) {
      if (until > now) return;
      this.until.delete(key);
    }
  }
}
