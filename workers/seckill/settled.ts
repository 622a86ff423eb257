/**
 * Settled sales (docs/design.md "Settled sales are not woken"): a sale whose figures nothing but a merchant's
 * change can move any more. Its last answer is kept by the SaleCatalog, and the sale lists, the admin list,
 * /metrics and "my orders" read it there instead of waking the sale's object(s) on every read, so an object no
 * one buys from is left to be evicted.
 */
import type { Sale } from "../../lib/contract/schemas.ts";
import type { SaleStatsAnswer } from "../../durable-objects/sale-catalog.ts";

/**
 * Settled: sold out or ended, with no unit held for payment (an expiry or a cancel would return it), none in a
 * round not yet written (sold + remaining = stock), and nothing on its way to PostgreSQL (the outbox and the
 * confirmations would move `outboxDepth` and `awaitingDatabase`). Then no purchase can succeed (nothing to sell,
 * or the sale is over), no order can change its units, and no new buyer can appear: the sale's figures and
 * buyers are final. A paused sale is never settled here (its status is "paused" until the merchant resumes it,
 * unless it has ended).
 */
export function isSettled(s: SaleStatsAnswer): boolean {
  if (s.status !== "sold_out" && s.status !== "ended") return false;
  const st = s.stats;
  return (
    (st.held?.units ?? 0) === 0 &&
    st.sold + st.remaining === s.stock &&
    st.outboxDepth === 0 &&
    st.awaitingDatabase === 0
  );
}

/** A settled sale's kept answer, now: a sold-out sale becomes "ended" at its end, as its object would say. */
export function settledNow<T extends Sale>(kept: T, now: number): T {
  return kept.status !== "ended" && now >= Date.parse(kept.endsAt) ? { ...kept, status: "ended" } : kept;
}

/**
 * How often one seckill isolate asks a sold-out or ended sale of the shoppers' list (which reads only the public
 * sale) for its stats, to see whether it has settled: at most every `everyMs` per sale, bounded like the other
 * per-isolate maps. The admin list and /metrics read stats anyway and settle a sale at once.
 */
export class SettleChecks {
  private readonly last = new Map<string, number>();

  constructor(private readonly everyMs = 5_000) {}

  due(saleId: string, now: number): boolean {
    const at = this.last.get(saleId);
    if (at !== undefined && now - at < this.everyMs) return false;
    if (this.last.size >= 1000) this.last.clear();
    this.last.set(saleId, now);
    return true;
  }
}
