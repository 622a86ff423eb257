/**
 * Every route of the HTTP API (docs/api.md), one line each: what it takes (the same zod schemas the Workers
 * validate with) and what it answers (lib/contract/answers.ts), with its error codes. `openapi.ts` turns this
 * table into the OpenAPI 3.1 document served at `GET /api/openapi.json`; test/workers/openapi.test.ts fails
 * when a route of the gateway or admin app is missing here.
 *
 * Adding a route: one `route("METHOD /path/:param", { … })` line below, with the path exactly as the Hono app
 * spells it. Errors implied by the route's shape are added for you: `400 VALIDATION_FAILED` (a body or a
 * query), `413 PAYLOAD_TOO_LARGE` and `403 FORBIDDEN_ORIGIN` (state-changing methods), `401 UNAUTHENTICATED`
 * (`auth`), `404 NOT_FOUND` (a path parameter: an id of the wrong shape is a 404).
 */
import { z } from "zod";
import type { ErrorCode } from "./errors.ts";
import {
  createSaleSchema as createSale,
  credentialsSchema as credentials,
  failedOrdersQuerySchema,
  idempotencyKeySchema,
  orderPageQuerySchema,
  drawRankingQuerySchema,
  purchaseSchema as purchase,
  updateSaleSchema as updateSale,
} from "./schemas.ts";
import {
  adminDrawAnswer,
  challengeAnswer,
  drawRankingAnswer,
  entryAnswer,
  ticketAnswer,
  publicDrawAnswer,
  registrationAnswer,
  standingAnswer,
  adminSaleAnswer,
  adminSalesAnswer,
  failedOrdersAnswer,
  healthAnswer,
  orderAnswer,
  orderPageAnswer,
  ordersAnswer,
  readyAnswer,
  reconcileAnswer,
  replayAnswer,
  seriesAnswer,
  requestComponent,
  saleAnswer,
  saleOnlyAnswer,
  salesAnswer,
  userAnswer,
} from "./answers.ts";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";
export type RouteTag = "accounts" | "sales" | "orders" | "merchants" | "operations" | "reference";

/** What a route answers when it succeeds: a JSON schema (a component of answers.ts), or another media type. */
export type Success =
  | { status: number; schema: z.ZodType; description?: string }
  | { status: number; mediaType: string; description: string }
  | { status: 204; description: string };

export interface RouteSpec {
  summary: string;
  description?: string;
  tag: RouteTag;
  /** `session`: the shopper's signed cookie; `admin`: `Authorization: Bearer $ADMIN_TOKEN`. */
  auth?: "session" | "admin";
  /** JSON body (requests: the schema the route validates with). */
  body?: z.ZodType;
  /** Set when the body may be absent (the purchase: `{}` or nothing). */
  bodyOptional?: boolean;
  query?: z.ZodObject;
  headers?: Record<string, { schema: z.ZodType; description: string; required?: boolean }>;
  /** Success answers; more than one for content negotiation by query (CSV export) or readiness. */
  ok: Success[];
  /** Error codes the route itself answers, beyond those its shape implies (see the header). */
  errors?: ErrorCode[];
  /** Sets or clears the session cookie. */
  setsCookie?: boolean;
}

export interface ApiRoute extends RouteSpec {
  method: HttpMethod;
  /** As the Hono app spells it: `/api/sales/:id`. */
  path: string;
}

function route(line: `${Uppercase<HttpMethod>} /${string}`, spec: RouteSpec): ApiRoute {
  const [method, path] = line.split(" ");
  return { method: method.toLowerCase() as HttpMethod, path, ...spec };
}

/** A merchant's route of the plain shape: tag `merchants`, the admin token, its answers and its own error codes. */
function merchantRoute(
  line: `${Uppercase<HttpMethod>} /${string}`,
  summary: string,
  ok: Success[],
  errors?: ErrorCode[],
): ApiRoute {
  return route(line, { tag: "merchants", summary, auth: "admin", ok, ...(errors ? { errors } : {}) });
}

/** A shopper's route of the plain shape: the session cookie, no body or query, its answers and its error codes. */
function shopperRoute(
  line: `${Uppercase<HttpMethod>} /${string}`,
  tag: RouteTag,
  summary: string,
  ok: Success[],
  errors?: ErrorCode[],
): ApiRoute {
  return route(line, { tag, summary, auth: "session", ok, ...(errors ? { errors } : {}) });
}

const json = (status: number, schema: z.ZodType, description?: string): Success => ({ status, schema, description });

const idempotencyKey = {
  "Idempotency-Key": {
    schema: idempotencyKeySchema,
    description: "A retry with the same key gets the first 202 again (same order), sold out, ended or not",
  },
};

const credentialsSchema = requestComponent("Credentials", credentials);
const purchaseSchema = requestComponent("PurchaseInput", purchase);
const createSaleSchema = requestComponent("CreateSaleInput", createSale);
const updateSaleSchema = requestComponent("UpdateSaleInput", updateSale);

const UNAVAILABLE_SALES: ErrorCode[] = ["UNAVAILABLE"];

export const API_ROUTES: ApiRoute[] = [
  // Accounts
  route("POST /api/auth/register", {
    tag: "accounts",
    summary: "Create an account and sign in",
    body: credentialsSchema,
    ok: [json(201, userAnswer)],
    headers: {
      "X-Altcha": {
        schema: z.string(),
        description: 'Production: a solved challenge (docs/api.md "Proof of work")',
      },
    },
    errors: ["USERNAME_TAKEN", "CHALLENGE_REQUIRED", "RATE_LIMITED", "UNAVAILABLE"],
    setsCookie: true,
  }),
  route("POST /api/auth/login", {
    tag: "accounts",
    summary: "Sign in",
    body: credentialsSchema,
    ok: [json(200, userAnswer)],
    errors: ["INVALID_CREDENTIALS", "RATE_LIMITED", "UNAVAILABLE"],
    setsCookie: true,
  }),
  route("POST /api/auth/logout", {
    tag: "accounts",
    summary: "Sign out (clears the session cookie)",
    ok: [{ status: 204, description: "Signed out" }],
    setsCookie: true,
  }),
  route("POST /api/auth/logout-all", {
    tag: "accounts",
    summary: 'Sign out everywhere: every session of the shopper started before it is refused (docs/api.md "Hardening")',
    auth: "session",
    ok: [{ status: 204, description: "Signed out on every device" }],
    setsCookie: true,
    errors: ["UNAVAILABLE"],
  }),
  route("GET /api/challenge", {
    tag: "accounts",
    summary:
      'A proof-of-work challenge (ALTCHA): the signed-in shopper\'s own, else anonymous (docs/api.md "Proof of work")',
    ok: [json(200, challengeAnswer)],
  }),
  shopperRoute("GET /api/me", "accounts", "The signed-in shopper", [json(200, userAnswer)]),

  // Sales
  route("GET /api/sales", {
    tag: "sales",
    summary: "Every sale, with the server's clock",
    ok: [json(200, salesAnswer)],
    errors: UNAVAILABLE_SALES,
  }),
  route("GET /api/sales/:id", {
    tag: "sales",
    summary: "One sale",
    ok: [json(200, saleAnswer)],
    errors: UNAVAILABLE_SALES,
  }),
  route("POST /api/sales/:id/purchase", {
    tag: "sales",
    summary: "Buy: reserve stock for the payment window",
    description: "A sale known to be sold out or ended may be answered 410/403 before the session is looked at.",
    auth: "session",
    body: purchaseSchema,
    bodyOptional: true,
    headers: {
      ...idempotencyKey,
      "X-Altcha": {
        schema: z.string(),
        description: 'A `challenge` sale: a solved challenge issued to this shopper (docs/api.md "Proof of work")',
      },
    },
    ok: [json(202, orderAnswer, "Reserved (or the first answer again, for a repeated Idempotency-Key)")],
    errors: [
      "ALREADY_PURCHASED",
      "INSUFFICIENT_STOCK",
      "SOLD_OUT",
      "NOT_STARTED",
      "ENDED",
      "PAUSED",
      "NOT_ADMITTED",
      "NOT_REGISTERED",
      "CHALLENGE_REQUIRED",
      "RATE_LIMITED",
      "UNAVAILABLE",
    ],
  }),

  // Orders
  shopperRoute(
    "GET /api/orders",
    "orders",
    "The shopper's own orders, newest first",
    [json(200, ordersAnswer)],
    UNAVAILABLE_SALES,
  ),
  shopperRoute(
    "GET /api/orders/:id",
    "orders",
    "One of the shopper's orders (another shopper's is a 404)",
    [json(200, orderAnswer)],
    UNAVAILABLE_SALES,
  ),
  shopperRoute(
    "POST /api/orders/:id/pay",
    "orders",
    "Pay a reserved order",
    [json(200, orderAnswer)],
    ["ORDER_EXPIRED", "ORDER_NOT_PAYABLE", "UNAVAILABLE"],
  ),
  shopperRoute(
    "POST /api/orders/:id/cancel",
    "orders",
    "Cancel an unpaid order; its stock goes back on sale",
    [json(200, orderAnswer)],
    ["ORDER_NOT_CANCELLABLE", "UNAVAILABLE"],
  ),

  // Merchants
  route("POST /admin/api/sales", {
    tag: "merchants",
    summary: "Create a sale",
    auth: "admin",
    body: createSaleSchema,
    ok: [json(201, saleOnlyAnswer)],
    errors: ["UNAVAILABLE"],
  }),
  merchantRoute("GET /admin/api/sales", "Every sale with its live stats", [json(200, adminSalesAnswer)]),
  merchantRoute("GET /admin/api/sales/:id", "One sale with its live stats", [json(200, adminSaleAnswer)]),
  route("PATCH /admin/api/sales/:id", {
    tag: "merchants",
    summary: "Change a sale before it starts",
    auth: "admin",
    body: updateSaleSchema,
    ok: [json(200, saleOnlyAnswer)],
    errors: ["SALE_STARTED", "UNAVAILABLE"],
  }),
  merchantRoute("POST /admin/api/sales/:id/pause", "Pause a sale (purchases answer 423)", [json(200, saleOnlyAnswer)]),
  merchantRoute("POST /admin/api/sales/:id/resume", "Resume a paused sale", [json(200, saleOnlyAnswer)]),
  route("GET /admin/api/sales/:id/orders", {
    tag: "merchants",
    summary: "A sale's orders from PostgreSQL: keyset pages, or the whole sale as CSV",
    auth: "admin",
    query: orderPageQuerySchema,
    ok: [
      json(200, orderPageAnswer),
      { status: 200, mediaType: "text/csv", description: "`?format=csv`: every order, streamed" },
    ],
    errors: ["UNAVAILABLE"],
  }),
  merchantRoute(
    "POST /admin/api/sales/:id/reconcile",
    "Compare the sale's ledger with PostgreSQL and re-send what is missing",
    [json(200, reconcileAnswer)],
    ["UNAVAILABLE"],
  ),
  route("GET /admin/api/failed-orders", {
    tag: "merchants",
    summary: "Orders the dead-letter consumer gave up on, newest first",
    auth: "admin",
    query: failedOrdersQuerySchema,
    ok: [json(200, failedOrdersAnswer)],
    errors: ["UNAVAILABLE"],
  }),
  merchantRoute(
    "POST /admin/api/failed-orders/:id/replay",
    "Send a failed order through the pipeline again",
    [json(200, replayAnswer)],
    ["UNAVAILABLE"],
  ),
  route("GET /admin/api/readiness", {
    tag: "operations",
    summary: "Readiness with what went wrong (the public /readyz names only what failed)",
    auth: "admin",
    ok: [json(200, readyAnswer)],
    errors: ["UNAVAILABLE"],
  }),

  merchantRoute(
    "POST /admin/api/sales/:id/end",
    "End a sale now (an ended sale is answered unchanged)",
    [json(200, saleOnlyAnswer)],
    ["UNAVAILABLE"],
  ),
  merchantRoute(
    "DELETE /admin/api/sales/:id",
    "Delete a sale that has no orders of any status and, a draw sale, no entries (else end it)",
    [
      {
        status: 204,
        description:
          "Deleted: the sale's objects (shards, coordinator, draw and entry shards, queue), the catalog entry, the PostgreSQL row and the photos",
      },
    ],
    ["SALE_HAS_ORDERS", "UNAVAILABLE"],
  ),
  merchantRoute(
    "GET /admin/api/sales/:id/series",
    "The sale's sell-through series (sold, attempts, rejections over time), kept by its object",
    [json(200, seriesAnswer)],
  ),
  route("PUT /admin/api/sales/:id/image", {
    tag: "merchants",
    summary: "Upload or replace the product photo: the raw PNG, JPEG or WebP body (≤ 2 MiB), checked from its bytes",
    description:
      "The body is the image itself with `content-type` image/png, image/jpeg or image/webp. Each upload gets a new immutable `Sale.imageUrl`.",
    auth: "admin",
    ok: [json(200, saleOnlyAnswer)],
    errors: ["UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE"],
  }),
  merchantRoute("DELETE /admin/api/sales/:id/image", "Remove the product photo", [json(200, saleOnlyAnswer)]),

  // Operations
  route("GET /healthz", { tag: "operations", summary: "Liveness: the process serves", ok: [json(200, healthAnswer)] }),
  route("GET /readyz", {
    tag: "operations",
    summary: "Readiness: PostgreSQL and the sale objects answer",
    ok: [json(200, readyAnswer)],
    errors: ["UNAVAILABLE"],
  }),
  route("GET /metrics", {
    tag: "operations",
    summary: "Prometheus text exposition of the sales' counters and latency histograms",
    auth: "admin",
    ok: [{ status: 200, mediaType: "text/plain; version=0.0.4", description: "Prometheus text format 0.0.4" }],
  }),

  // This document
  route("GET /api/openapi.json", {
    tag: "reference",
    summary: "This OpenAPI 3.1 document",
    ok: [{ status: 200, mediaType: "application/json", description: "OpenAPI 3.1" }],
  }),
  route("GET /api/docs", {
    tag: "reference",
    summary: "A readable reference of this document",
    ok: [{ status: 200, mediaType: "text/html", description: "HTML, no scripts" }],
  }),

  // Queue sales (docs/api.md "Queue")
  shopperRoute(
    "POST /api/sales/:id/queue",
    "sales",
    "Join a queue sale's queue (joining again returns the same ticket); no body",
    [json(200, ticketAnswer)],
    ["ENDED", "RATE_LIMITED", "UNAVAILABLE"],
  ),
  shopperRoute(
    "GET /api/sales/:id/queue",
    "sales",
    "The shopper's ticket in a queue sale",
    [json(200, ticketAnswer)],
    ["UNAVAILABLE"],
  ),
  route("GET /api/sales/:id/queue/live", {
    tag: "sales",
    summary: "Live updates of the sale and the shopper's ticket: a WebSocket (Upgrade: websocket)",
    description:
      'Each message is JSON `{type: "update", serverTime, remaining, status, ticket}` (ticket as GET …/queue, or null). Without an upgrade: 400. Poll GET …/queue (refreshAfterSeconds) when refused (503) or dropped.',
    auth: "session",
    ok: [{ status: 101, mediaType: "application/json", description: "Switching to a WebSocket" }],
    errors: ["UNAVAILABLE"],
  }),

  // Draw sales and pre-registration (docs/api.md "Draw", "Registration", "Draws and registration: details")
  shopperRoute(
    "POST /api/sales/:id/entries",
    "sales",
    "Enter a draw sale (201 new, 200 the existing entry); no body",
    [json(201, entryAnswer, "Entered"), json(200, entryAnswer, "Already entered: the same entry")],
    ["ENTRIES_CLOSED", "PAUSED", "RATE_LIMITED", "UNAVAILABLE"],
  ),
  shopperRoute(
    "GET /api/sales/:id/entries/me",
    "sales",
    "The shopper's entry in a draw sale",
    [json(200, entryAnswer)],
    ["UNAVAILABLE"],
  ),
  route("GET /api/sales/:id/draw", {
    tag: "sales",
    summary: "The draw's commitment; after the draw, the seed and lists to recompute it",
    ok: [json(200, publicDrawAnswer)],
    errors: ["UNAVAILABLE"],
  }),
  shopperRoute(
    "POST /api/sales/:id/registrations",
    "sales",
    "Register for a sale that requires it, before its start (201 new, 200 existing); no body",
    [json(201, registrationAnswer, "Registered"), json(200, registrationAnswer, "Already registered")],
    ["REGISTRATION_CLOSED", "REGISTRATION_NOT_REQUIRED", "RATE_LIMITED", "UNAVAILABLE"],
  ),
  shopperRoute(
    "GET /api/sales/:id/me",
    "sales",
    "The shopper's entry and registration in a sale (null for none)",
    [json(200, standingAnswer)],
    ["UNAVAILABLE"],
  ),
  shopperRoute(
    "GET /api/sales/:id/registrations/me",
    "sales",
    "The shopper's registration",
    [json(200, registrationAnswer)],
    ["UNAVAILABLE"],
  ),
  merchantRoute(
    "GET /admin/api/sales/:id/draw",
    "A draw sale's draw: phase, counts, timings, latest promotions",
    [json(200, adminDrawAnswer)],
    ["UNAVAILABLE"],
  ),
  route("GET /admin/api/sales/:id/draw/ranking", {
    tag: "merchants",
    summary: "The draw's ranking, a page at a time",
    auth: "admin",
    query: drawRankingQuerySchema,
    ok: [json(200, drawRankingAnswer)],
    errors: ["UNAVAILABLE"],
  }),
];
