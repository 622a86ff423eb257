/**
 * What a sale is *now*, on the server's clock: the list may be a couple of seconds old, and a scheduled sale
 * turns live at `startsAt` whether or not we have asked again.
 */
import type { Sale, SaleStatus } from "../../../lib/contract/schemas.ts";
import { t } from "../i18n/shop.ts";

export function effectiveStatus(sale: Sale, now: number): SaleStatus {
  const starts = Date.parse(sale.startsAt);
  const ends = Date.parse(sale.endsAt);
  if (sale.status === "ended" || now >= ends) return "ended";
  if (sale.status === "sold_out" || sale.remaining <= 0) return "sold_out";
  if (sale.status === "paused") return "paused";
  if (now < starts) return "scheduled";
  return "live";
}

/** The status as a shopper reads it, in the current language. */
export function statusLabel(status: SaleStatus): string {
  return t(`status.${status}`);
}
