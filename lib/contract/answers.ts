/**
 * The answers of the HTTP API (docs/api.md) as zod schemas, for the OpenAPI document (lib/contract/openapi.ts)
 * and for tests that hold real answers to it. Each shape the code answers with is typed in lib/contract/schemas.ts; the
 * `Same<…>` checks at the bottom make `tsc` fail the moment a schema here and its type there differ, so the
 * document cannot drift from what the Workers send.
 */
import { z } from "zod";
import { ERROR_STATUS, type ErrorBody } from "./errors.ts";
import {
  ORDER_STATUSES,
  SALE_STATUSES,
  type FailedOrder,
  type Order,
  type ReconcileResult,
  type Sale,
  type SaleStats,
  type User,
} from "./schemas.ts";

/** Every schema of the document, by component name (`#/components/schemas/<id>`). */
export const components = z.registry<{ id: string; description?: string }>();

/** Request bodies by component name: the same instances the Workers validate with (lib/contract/schemas.ts). */
export const requestComponents = z.registry<{ id: string }>();

/** Names a request body schema as a component (api-routes.ts does it for each body it uses). */
export function requestComponent<T extends z.ZodType>(id: string, schema: T): T {
  if (!requestComponents.has(schema)) requestComponents.add(schema, { id });
  return schema;
}

/** Registers `schema` as component `id` and returns it, so a declaration names its component in one line. */
export function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  components.add(schema, description === undefined ? { id } : { id, description });
  return schema;
}

const time = z.iso.datetime({ offset: true }).describe("ISO-8601 UTC time");
const id = (what: string) => z.string().describe(`Opaque ${what} id`);

export const userSchema = component("User", z.object({ id: id("user"), username: z.string() }));

export const saleSchema = component(
  "Sale",
  z.object({
    id: id("sale"),
    title: z.string(),
    description: z.string(),
    priceCents: z.number().int().min(0),
    currency: z.string().describe("ISO 4217 code"),
    stock: z.number().int().min(1),
    remaining: z.number().int().min(0),
    perUserLimit: z.number().int().min(1).max(100),
    startsAt: time,
    endsAt: time,
    status: z.enum(SALE_STATUSES),
    paymentWindowSeconds: z.number().int().min(1),
    imageUrl: z.string().optional().describe("The product photo: a new URL per upload"),
    mode: z.enum(["first_come", "draw"]).optional().describe('docs/api.md "Draw": `first_come` unless set'),
    registrationRequired: z.boolean().optional().describe('docs/api.md "Registration": false unless set'),
    challenge: z
      .boolean()
      .optional()
      .describe('docs/api.md "Proof of work": buying needs a solved challenge (X-Altcha); false unless set'),
    drawAt: time.optional().describe("Draw sales only: when the draw runs"),
    drawCommitment: z.string().optional().describe("Draw sales only: sha256hex of the draw's secret seed"),
    queue: z
      .boolean()
      .optional()
      .describe('docs/api.md "Queue": buying goes through the sale\'s queue; false unless set'),
  }),
);

export const orderSchema = component(
  "Order",
  z.object({
    id: id("order"),
    saleId: id("sale"),
    userId: id("user"),
    quantity: z.number().int().min(1),
    priceCents: z.number().int().min(0).describe("The order's line total (same as totalCents)"),
    unitPriceCents: z.number().int().min(0).describe("Price of one unit when the order was made"),
    totalCents: z.number().int().min(0).describe("What the shopper pays: unitPriceCents × quantity"),
    status: z.enum(ORDER_STATUSES),
    createdAt: time,
    expiresAt: time,
  }),
);

export const saleStatsSchema = component(
  "SaleStats",
  z.object({
    attempts: z.number().int(),
    sold: z.number().int(),
    remaining: z.number().int(),
    rejected: z.object({
      soldOut: z.number().int(),
      duplicate: z.number().int(),
      rateLimited: z.number().int(),
      notStarted: z.number().int(),
      ended: z.number().int(),
      paused: z.number().int(),
    }),
    outboxDepth: z.number().int(),
    awaitingDatabase: z.number().int(),
    orderConflicts: z.number().int().optional(),
    held: z.object({ units: z.number().int(), revenueCents: z.number().int() }).optional(),
    paid: z.object({ units: z.number().int(), revenueCents: z.number().int() }).optional(),
    registrations: z
      .number()
      .int()
      .optional()
      .describe('Shoppers registered for the sale (docs/api.md "Registration")'),
    queue: z
      .object({
        waiting: z.number().int(),
        admitted: z.number().int(),
        purchased: z.number().int(),
        expired: z.number().int(),
        joined: z.number().int(),
        abandonRate: z.number().min(0).max(1),
        admitRatePerSecond: z.number().min(0),
      })
      .optional()
      .describe('Queue sales only (docs/api.md "Queue")'),
  }),
);

export const adminSaleSchema = component("AdminSale", saleSchema.extend({ stats: saleStatsSchema }));

export const failedOrderSchema = component(
  "FailedOrder",
  z.object({
    id: id("failed order"),
    orderId: id("order"),
    saleId: id("sale"),
    error: z.string(),
    attempts: z.number().int(),
    createdAt: time,
    replayedAt: time.nullable(),
    landed: z.boolean().describe("PostgreSQL has this version of the order (or a later one)"),
  }),
);

export const reconcileResultSchema = component(
  "ReconcileResult",
  z.object({
    ledgerSold: z.number().int(),
    databaseOrders: z.number().int(),
    missing: z.number().int(),
    repaired: z.number().int(),
    ledgerByStatus: z
      .partialRecord(z.enum(ORDER_STATUSES), z.number().int())
      .optional()
      .describe("The object's orders per status"),
    databaseByStatus: z.record(z.string(), z.number().int()).optional().describe("PostgreSQL's orders per status"),
  }),
);

const ERROR_CODES = Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]];

export const errorBodySchema = component(
  "ErrorBody",
  z.object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  }),
  'Every 4xx/5xx answer (docs/api.md "Errors")',
);

// ---------------------------------------------------------------- the answers, route by route

/** `degraded: true`: the sale service did not answer, this is the last list (or sale) the gateway saw. */
const degraded = z.literal(true).optional();

export const userAnswer = component("UserAnswer", z.object({ user: userSchema }));
export const salesAnswer = component(
  "SalesAnswer",
  z.object({ serverTime: time, sales: z.array(saleSchema), degraded }),
);
export const saleAnswer = component("SaleAnswer", z.object({ serverTime: time, sale: saleSchema, degraded }));
export const orderAnswer = component("OrderAnswer", z.object({ order: orderSchema }));
export const ordersAnswer = component("OrdersAnswer", z.object({ orders: z.array(orderSchema) }));
/** `GET /api/challenge`: an ALTCHA v2 challenge, as `altcha-lib` makes it (docs/api.md "Proof of work"). */
export const challengeAnswer = component(
  "ChallengeAnswer",
  z.object({
    parameters: z
      .object({
        algorithm: z.literal("PBKDF2/SHA-256"),
        nonce: z.string(),
        salt: z.string(),
        cost: z.number().int().describe("PBKDF2 iterations per attempt"),
        keyLength: z.number().int(),
        keyPrefix: z.string().describe("The derived key of the winning counter starts with this"),
        keySignature: z.string(),
        expiresAt: z.number().int().describe("Unix seconds"),
        data: z.object({ sub: z.string().describe("The shopper it was issued to") }).optional(),
      })
      .describe("Signed as a whole: any change makes the solution invalid"),
    signature: z.string(),
  }),
);
export const healthAnswer = component("HealthAnswer", z.object({ status: z.literal("ok") }));
export const readyAnswer = component(
  "ReadyAnswer",
  z.object({ status: z.literal("ok"), checks: z.record(z.string(), z.string()) }),
);

// Draw sales and pre-registration (docs/api.md "Draw", "Registration", "Draws and registration: details").
export const entrySchema = component(
  "Entry",
  z.object({
    saleId: id("sale"),
    userId: id("user"),
    state: z.enum(["entered", "won", "waitlisted", "lost"]),
    orderId: id("order").optional(),
    waitlistPosition: z.number().int().min(1).optional(),
  }),
);
export const registrationSchema = component(
  "Registration",
  z.object({ saleId: id("sale"), userId: id("user"), createdAt: time }),
);
// Queue sales (docs/api.md "Queue").
export const ticketSchema = component(
  "Ticket",
  z.object({
    saleId: id("sale"),
    state: z.enum(["waiting", "admitted", "purchased", "expired", "sold_out"]),
    position: z
      .number()
      .int()
      .min(0)
      .nullable()
      .describe("1 + waiting tickets admitted first; 0 when not waiting; null before the start"),
    queueNumber: z
      .number()
      .int()
      .min(1)
      .nullable()
      .describe("The ticket's place in the queue's order (null before the start)"),
    estimatedWaitSeconds: z.number().min(0),
    refreshAfterSeconds: z.number().min(0.5).max(30),
    admittedUntil: time.optional(),
  }),
);
export const ticketAnswer = component("TicketAnswer", z.object({ ticket: ticketSchema }));
export const entryAnswer = component("EntryAnswer", z.object({ entry: entrySchema }));
export const registrationAnswer = component("RegistrationAnswer", z.object({ registration: registrationSchema }));
export const standingAnswer = component(
  "StandingAnswer",
  z.object({ entry: entrySchema.nullable(), registration: registrationSchema.nullable() }),
);
export const publicDrawAnswer = component(
  "PublicDraw",
  z.union([
    z.object({
      commitment: z.string(),
      seed: z.string(),
      algorithm: z.literal("sha256-rank-v1"),
      entries: z.array(z.string()),
      winners: z.array(z.string()),
      waitlist: z.array(z.string()),
    }),
    z.object({ commitment: z.string().describe("Before the draw: sha256hex of the secret seed") }),
  ]),
);
export const adminDrawAnswer = component(
  "AdminDrawAnswer",
  z.object({
    draw: z.object({
      phase: z.enum(["open", "ranking", "merging", "allocating", "drawn"]),
      drawAt: time,
      commitment: z.string(),
      entryShards: z.number().int(),
      entries: z.number().int(),
      awarded: z.number().int(),
      winners: z.number().int(),
      waitlisted: z.number().int(),
      promoted: z.number().int(),
      drawMs: z.number().nullable(),
      drawnAt: time.nullable(),
      promotions: z.array(z.object({ rank: z.number().int(), userId: id("user"), orderId: id("order"), at: time })),
    }),
  }),
);
export const drawRankingAnswer = component(
  "DrawRankingAnswer",
  z.object({
    ranking: z.array(
      z.object({
        rank: z.number().int().min(1),
        userId: id("user"),
        orderId: id("order").nullable(),
        state: z.enum(["won", "waitlisted", "lost"]),
        waitlistPosition: z.number().int().min(1).optional(),
      }),
    ),
    nextFrom: z.number().int().nullable().describe("The next page's `from`, or null on the last page"),
  }),
);

export const adminSaleAnswer = component("AdminSaleAnswer", z.object({ sale: adminSaleSchema }));
export const adminSalesAnswer = component("AdminSalesAnswer", z.object({ sales: z.array(adminSaleSchema) }));
export const saleOnlyAnswer = component("SaleOnlyAnswer", z.object({ sale: saleSchema }));
export const orderPageAnswer = component(
  "OrderPageAnswer",
  z.object({
    orders: z.array(orderSchema),
    nextCursor: z.string().nullable().describe("The last id of this page, or null on the last page"),
  }),
);
export const reconcileAnswer = component(
  "ReconcileAnswer",
  reconcileResultSchema.extend({ missingOrderIds: z.array(z.string()).max(100) }),
);
const failedOrderWithPayload = failedOrderSchema.extend({
  payload: z.unknown().describe("The queue message that failed (OrderMessage)"),
});
export const failedOrdersAnswer = component(
  "FailedOrdersAnswer",
  z.object({ failedOrders: z.array(failedOrderWithPayload) }),
);
export const seriesAnswer = component(
  "SeriesAnswer",
  z.object({
    saleId: id("sale"),
    serverTime: time,
    points: z
      .array(
        z.object({
          t: z.number().int().describe("Epoch milliseconds"),
          attempts: z.number().int(),
          sold: z.number().int(),
          rejected: z.number().int(),
        }),
      )
      .describe("Cumulative counters, at most one point a second, thinned to a bounded count"),
  }),
);
export const replayAnswer = component(
  "ReplayAnswer",
  z.object({
    replayed: z.boolean().describe("The order was sent again (false: PostgreSQL already had it)"),
    orderId: z.string(),
    failedOrder: failedOrderWithPayload,
  }),
);

// ---------------------------------------------------------------- schema = type, checked by tsc

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const SCHEMAS_MATCH_TYPES: [
  Same<z.infer<typeof userSchema>, User>,
  Same<z.infer<typeof saleSchema>, Sale>,
  Same<z.infer<typeof orderSchema>, Order>,
  Same<z.infer<typeof saleStatsSchema>, SaleStats>,
  Same<z.infer<typeof failedOrderSchema>, FailedOrder>,
  Same<z.infer<typeof reconcileResultSchema>, ReconcileResult>,
  Same<z.infer<typeof errorBodySchema>["error"]["code"], ErrorBody["error"]["code"]>,
] = [true, true, true, true, true, true, true];
