/**
 * What a sale is *now*, on the server's clock: the list may be a couple of seconds old, and a scheduled sale
 * turns live at `startsAt` whether or not we have asked again.
 */
import type { Sale, SaleStatus } from "../../../lib/schemas.ts";

export function effectiveStatus(sale: Sale, now: number): SaleStatus {
  const starts = Date.parse(sale.startsAt);
  const ends = Date.parse(sale.endsAt);
  if (sale.status === "ended" || now >= ends) return "ended";
  if (sale.status === "sold_out" || sale.remaining <= 0) return "sold_out";
  if (sale.status === "paused") return "paused";
  if (now < starts) return "scheduled";
  return "live";
}

export const STATUS_LABEL: Record<SaleStatus, string> = {
  scheduled: "Starts soon",
  live: "Live",
  paused: "Paused",
  sold_out: "Sold out",
  ended: "Ended",
};
