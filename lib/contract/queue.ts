/**
 * The sale queue's shapes (docs/api.md "Queue"; docs/design.md "The sale queue"): what the shopper API answers,
 * what the live feed pushes, and the bounds every side agrees on. Browser-safe: the web app is typed by these.
 */

export const TICKET_STATES = ["waiting", "admitted", "purchased", "expired", "sold_out"] as const;
export type TicketState = (typeof TICKET_STATES)[number];

/** `refreshAfterSeconds` always lies in this range (docs/api.md "Queue"). */
export const REFRESH_AFTER_MIN_SECONDS = 0.5;
export const REFRESH_AFTER_MAX_SECONDS = 30;

/** An admitted ticket may buy for at least this long (docs/api.md: `admittedUntil` ≥ 30 s after admission). */
export const MIN_ADMISSION_WINDOW_SECONDS = 30;

/**
 * `Ticket` of docs/api.md. `position` is 1 + the waiting tickets admitted before this one (waiting tickets only,
 * else 0; null before the start, when the order is not drawn yet). `queueNumber` (an addition) is the ticket's
 * place in the queue's order from the start on — what "sold out, you were #N" says — and null before it.
 */
export interface Ticket {
  saleId: string;
  state: TicketState;
  position: number | null;
  queueNumber: number | null;
  estimatedWaitSeconds: number;
  refreshAfterSeconds: number;
  admittedUntil?: string;
}

/** `POST/GET /api/sales/:id/queue`. */
export interface TicketResponse {
  ticket: Ticket;
}

/** The queue's figures for merchants (admin stats `queue`, /metrics, the dashboard). */
export interface QueueStats {
  /** Tickets still waiting (sold-out tickets included: they are waiting for stock to come back). */
  waiting: number;
  /** Admitted and not used or expired yet. */
  admitted: number;
  purchased: number;
  /** Admissions that ran out unused. */
  expired: number;
  /** Every ticket ever taken. */
  joined: number;
  /** expired / (purchased + expired): the share of admissions that were not used; 0 before any. */
  abandonRate: number;
  /** Admissions per second over the last few seconds (the rate the estimates use). */
  admitRatePerSecond: number;
}

/** One message of the live feed (`GET /api/sales/:id/queue/live`, a WebSocket): the sale and this shopper's ticket. */
export interface QueueUpdate {
  type: "update";
  serverTime: string;
  remaining: number;
  status: "scheduled" | "live" | "sold_out" | "ended";
  ticket: Ticket | null;
}

/** Clamps a refresh hint into the contract's range. */
export function clampRefresh(seconds: number): number {
  if (!Number.isFinite(seconds)) return REFRESH_AFTER_MAX_SECONDS;
  return Math.min(REFRESH_AFTER_MAX_SECONDS, Math.max(REFRESH_AFTER_MIN_SECONDS, Math.round(seconds * 10) / 10));
}
