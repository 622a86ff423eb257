/**
 * The contract's shapes, once: the Workers validate with these and the web app is typed by them.
 */
import { z } from "zod";
import { isCurrencyCode } from "./currencies.ts";
import type { QueueStats } from "./queue.ts";

export const SALE_STATUSES = ["scheduled", "live", "paused", "sold_out", "ended"] as const;
export type SaleStatus = (typeof SALE_STATUSES)[number];

export const SALE_MODES = ["first_come", "draw"] as const;
export type SaleMode = (typeof SALE_MODES)[number];

export const ORDER_STATUSES = ["reserved", "confirmed", "paid", "expired", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const credentialsSchema = z.strictObject({
  username: z
    .string()
    .min(3, "Username must be 3–32 characters")
    .max(32, "Username must be 3–32 characters")
    .regex(/^[A-Za-z0-9_.-]+$/, "Username may use letters, digits, _ . and -"),
  password: z.string().min(8, "Password must be 8–128 characters").max(128, "Password must be 8–128 characters"),
});
export type Credentials = z.infer<typeof credentialsSchema>;

export const purchaseSchema = z.strictObject({
  quantity: z.number().int().min(1).max(100).optional(),
});
export type PurchaseInput = z.infer<typeof purchaseSchema>;

/** `Idempotency-Key`: printable ASCII, short enough to keep per buyer. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/);

const isoDate = z.iso.datetime({ offset: true });

/** The highest unit price: 100 units of it still fit the orders table's 32-bit price_cents (2,147,483,647). */
export const MAX_PRICE_CENTS = 21_474_836;

const saleFields = {
  title: z.string().trim().min(1).max(200),
  description: z.string().max(5000).optional(),
  // An order's price is priceCents × quantity (up to 100) in a PostgreSQL integer column: capped so it fits.
  priceCents: z.number().int().min(0).max(MAX_PRICE_CENTS),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "ISO 4217 code, e.g. USD")
    .refine(isCurrencyCode, "Not an ISO 4217 currency code")
    .optional(),
  stock: z.number().int().min(1).max(1_000_000),
  perUserLimit: z.number().int().min(1).max(100).optional(),
  startsAt: isoDate,
  endsAt: isoDate,
  paymentWindowSeconds: z.number().int().min(1).max(86_400).optional(),
  // Draw sales and pre-registration (docs/api.md "Draw", "Registration").
  mode: z.enum(SALE_MODES).optional(),
  drawAt: isoDate.optional(),
  registrationRequired: z.boolean().optional(),
  // Proof of work for buying (and joining the queue): docs/api.md "Proof of work".
  challenge: z.boolean().optional(),
  // The queue in front of the sale (docs/api.md "Queue").
  queue: z.boolean().optional(),
};

/** The rules between the draw and registration options, for a whole sale (created, or patched onto one). */
export function drawOptionIssues(s: {
  mode?: SaleMode;
  drawAt?: string;
  registrationRequired?: boolean;
  queue?: boolean;
  startsAt?: string;
  endsAt?: string;
}): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  if (s.mode === "draw" && s.queue) issues.push({ path: ["queue"], message: "a draw sale has no queue" });
  if (s.mode === "draw") {
    if (s.drawAt === undefined) issues.push({ path: ["drawAt"], message: "a draw sale needs drawAt" });
    else if (
      s.startsAt &&
      s.endsAt &&
      !(Date.parse(s.startsAt) < Date.parse(s.drawAt) && Date.parse(s.drawAt) < Date.parse(s.endsAt))
    ) {
      issues.push({ path: ["drawAt"], message: "drawAt must be after startsAt and before endsAt" });
    }
    if (s.registrationRequired)
      issues.push({ path: ["registrationRequired"], message: "registration is for first-come sales only" });
  } else if (s.mode === "first_come" && s.drawAt !== undefined) {
    issues.push({ path: ["drawAt"], message: "drawAt is for draw sales only" });
  }
  return issues;
}

/** A sale (new, or edited) may not end in the past: nobody could ever buy it. */
const endsInTheFuture = {
  check: (s: { endsAt?: string }) => s.endsAt === undefined || Date.parse(s.endsAt) > Date.now(),
  params: { message: "endsAt must be in the future", path: ["endsAt"] },
};

export const createSaleSchema = z
  .strictObject(saleFields)
  .refine((s) => Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    message: "endsAt must be after startsAt",
    path: ["endsAt"],
  })
  .superRefine((s, ctx) => {
    const issues = drawOptionIssues({ ...s, mode: s.mode ?? "first_come" });
    for (const issue of issues) ctx.addIssue({ code: "custom", ...issue });
  })
  .refine(endsInTheFuture.check, endsInTheFuture.params);
export type CreateSaleInput = z.infer<typeof createSaleSchema>;

export const updateSaleSchema = z
  .strictObject(saleFields)
  .partial()
  .refine((s) => !(s.startsAt && s.endsAt) || Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    message: "endsAt must be after startsAt",
    path: ["endsAt"],
  })
  .refine(endsInTheFuture.check, endsInTheFuture.params);
export type UpdateSaleInput = z.infer<typeof updateSaleSchema>;

export interface User {
  id: string;
  username: string;
}

export interface Sale {
  id: string;
  title: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  remaining: number;
  perUserLimit: number;
  startsAt: string;
  endsAt: string;
  status: SaleStatus;
  paymentWindowSeconds: number;
  /** docs/api.md "Hot sales": echoed on every sale (`first_come` and false unless set). */
  mode?: SaleMode;
  registrationRequired?: boolean;
  /** docs/api.md "Proof of work": buying (and joining the queue) needs a solved challenge; false unless set. */
  challenge?: boolean;
  /** Draw sales only: when the draw runs, and sha256hex of its secret seed (published from creation on). */
  drawAt?: string;
  drawCommitment?: string;
  /** docs/api.md "Queue": buying goes through the sale's queue (false unless set). */
  queue?: boolean;
  /** The product photo (docs/api.md "Product image"): a new URL per upload; absent when there is none. */
  imageUrl?: string;
}

export interface SaleStats {
  attempts: number;
  sold: number;
  remaining: number;
  rejected: {
    soldOut: number;
    duplicate: number;
    rateLimited: number;
    notStarted: number;
    ended: number;
    paused: number;
  };
  outboxDepth: number;
  awaitingDatabase: number;
  /** Shoppers registered for the sale (docs/api.md "Registration"); 0 for sales that do not require it. */
  registrations?: number;
  /** Queue sales only (docs/api.md "Hot sales"): the queue's figures (lib/contract/queue.ts `QueueStats`). */
  queue?: QueueStats;
  /** Orders PostgreSQL refused on unique (sale_id, user_id): the one-order guard failed (should stay 0). */
  orderConflicts?: number;
  /** `sold` split by what the shopper did: units (and their price) still held for payment, and paid. */
  held?: { units: number; revenueCents: number };
  paid?: { units: number; revenueCents: number };
}

/**
 * GET /admin/api/sales/:id/series: the sale's counters over time, as the object sampled them (at most one
 * point a second, thinned to a bounded count as the sale goes on). Values are cumulative at `t` (epoch ms);
 * a rate is the difference between two points over their time apart.
 */
export interface SeriesPoint {
  t: number;
  attempts: number;
  sold: number;
  rejected: number;
}

export interface Order {
  id: string;
  saleId: string;
  userId: string;
  quantity: number;
  /** The order's line total (unit price × quantity), as it always was: the same figure as `totalCents`. */
  priceCents: number;
  /** The sale's price of one unit when the order was made (docs/api.md, "Order prices"). */
  unitPriceCents: number;
  /** What the shopper pays: `unitPriceCents × quantity`. */
  totalCents: number;
  status: OrderStatus;
  createdAt: string;
  expiresAt: string;
}

/**
 * An order's three price fields from its stored line total (what the object and PostgreSQL keep, `price_cents`),
 * derived here once: `totalCents` is the line total, `priceCents` the same figure (as it always was), and
 * `unitPriceCents` the line total over the quantity (docs/api.md, "Order prices").
 */
export function orderPrices(
  lineTotalCents: number,
  quantity: number,
): Pick<Order, "priceCents" | "unitPriceCents" | "totalCents"> {
  return { priceCents: lineTotalCents, unitPriceCents: lineTotalCents / quantity, totalCents: lineTotalCents };
}

/** What the outbox sends to the ORDERS queue: the order's state at `version`. */
export interface OrderMessage {
  kind: "order";
  order: Order;
  version: number;
  traceId?: string;
}

// ---------------------------------------------------------------- admin API answers

/** A message the dead-letter consumer gave up on (GET /admin/api/failed-orders). */
export interface FailedOrder {
  id: string;
  orderId: string;
  saleId: string;
  error: string;
  attempts: number;
  createdAt: string;
  replayedAt: string | null;
  /** PostgreSQL has this version of the order (or a later one): nothing is left to repair. */
  landed: boolean;
}

/** POST /admin/api/sales/:id/reconcile. */
export interface ReconcileResult {
  ledgerSold: number;
  databaseOrders: number;
  missing: number;
  repaired: number;
  /** Orders per status on each side, so rows that are not "sold" (expired, cancelled) are accounted for. */
  ledgerByStatus?: Partial<Record<OrderStatus, number>>;
  databaseByStatus?: Record<string, number>;
}

// ---------------------------------------------------------------- shopper API answers and routes

/** `GET /api/sales`. `degraded`: the list came from the gateway's last copy while the catalogue was unreachable. */
export interface SalesListResponse {
  serverTime: string;
  sales: Sale[];
  degraded?: boolean;
}

/** `GET /api/sales/:id`. */
export interface SaleResponse {
  serverTime: string;
  sale: Sale;
  degraded?: boolean;
}

export interface UserResponse {
  user: User;
}

export interface OrderResponse {
  order: Order;
}

export interface OrdersResponse {
  orders: Order[];
}

/**
 * The shopper API of docs/api.md as one type: `"METHOD /path/:param"` → the JSON body it takes and the
 * answer it gives on success. The web app's client is typed by it (web/src/lib/shop.ts), so a request or
 * answer shape is written once, here.
 */
export type ShopperRoutes = {
  "POST /api/auth/register": { body: Credentials; response: UserResponse };
  "POST /api/auth/login": { body: Credentials; response: UserResponse };
  "POST /api/auth/logout": { body: undefined; response: undefined };
  "GET /api/me": { body: undefined; response: UserResponse };
  "GET /api/sales": { body: undefined; response: SalesListResponse };
  "GET /api/sales/:id": { body: undefined; response: SaleResponse };
  "POST /api/sales/:id/purchase": { body: PurchaseInput; response: OrderResponse };
  "GET /api/orders": { body: undefined; response: OrdersResponse };
  "GET /api/orders/:id": { body: undefined; response: OrderResponse };
  "POST /api/orders/:id/pay": { body: undefined; response: OrderResponse };
  "POST /api/orders/:id/cancel": { body: undefined; response: OrderResponse };
};
/** An order as the admin API lists it: with the shopper's username (null if the account is gone). */
export interface AdminOrder extends Order {
  username: string | null;
}

// ---------------------------------------------------------------- admin API queries

/** GET /admin/api/sales/:id/orders: keyset pagination by order id, or the whole sale as CSV. */
export const orderPageQuerySchema = z.strictObject({
  cursor: z
    .string()
    .regex(/^[0-9a-f]{48}$/, "an order id")
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  format: z.enum(["json", "csv"]).optional(),
});

/** GET /admin/api/failed-orders. */
export const failedOrdersQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** `GET /admin/api/sales/:id/draw/ranking` (docs/api.md "Draws and registration: details"). */
export const drawRankingQuerySchema = z.strictObject({
  from: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
