/**
 * Shopper sales: browse and buy. The purchase route is the hot path of a flash sale, so it is ordered to
 * say "no" as cheaply as possible: sold out or ended first (isolate memory, then the Cache API), before the
 * session, the body or any call; then the shopper's rate limit and the sale's admission bucket; only then
 * the sale's object.
 */
import { Hono, type Next } from "hono";
import { ApiError, CLOSED_SALE_MESSAGES, rejectionToError } from "../../../lib/contract/errors.ts";
import { isUuid } from "../../../lib/contract/ids.ts";
import { idempotencyKeySchema, purchaseSchema, type Sale } from "../../../lib/contract/schemas.ts";
import type { PublishedBuyers } from "../../../lib/server/buyers-filter.ts";
import { callSeckill, getGuards, type GatewayApp, type GatewayContext } from "../context.ts";
import type { ClosedReason } from "../guards.ts";
import { TokenBucket } from "../guards.ts";
import { overPurchaseLimits, rateLimited } from "../limits.ts";
import { CHALLENGE_HEADER, challengeError, requireChallenge } from "../challenge.ts";
import { challengeSettings } from "../../../lib/server/pow.ts";
import { expectsNoNewOrder, holdsCapped, learnFromAnswer, settleHold, takeHold } from "../holds.ts";
import { requireKnownSale, shardsOfKnownSale } from "../known-sales.ts";
import { homeShard, shardObjectName } from "../../../lib/server/hot/routing.ts";
import { IsolateAdmission } from "../../../lib/server/hot/admission.ts";
import { checkAdmitted, isQueueSale, learnQueueSale, ticketUsed } from "../queue-gate.ts";
import { closedVerdictAtObject, reserveAtObject } from "../sale-object.ts";
import type { PurchaseResult } from "../../../durable-objects/sale-item.ts";
import { knownBuyers, learnBuyers, mayBeReplay } from "../replay.ts";
import { traceAnswer } from "../trace.ts";
import type { GatewayEnv } from "../env.ts";
import { requireUser } from "../session.ts";
import { validationFailed } from "../../../lib/server/http.ts";
import { GATEWAY_LATENCY_BUCKETS_MS, emptyHistogram, observe, type Histogram } from "../../../lib/server/histogram.ts";

/** How long a "sold out" is believed without asking the object: stock can come back (expiry, cancel). */
const SOLD_OUT_TTL_MS = 1_000;
const ENDED_TTL_MS = 60_000;
const LIST_TTL_MS = 1_000;
const SALE_TTL_MS = 500;
const EDGE_FLUSH_MS = 2_000;
const CLOSED_CACHE_ORIGIN = "https://closed-sales.minishop.internal/";

const listCache: { at: number; sales: Sale[] | null } = { at: 0, sales: null };

/**
 * Global admission for every sale (docs/design.md "Hot sales: admission"): this isolate's half, one slot per sale
 * object (shard). It calls an object only with a leased token or as its one probe in flight; shoppers who arrive
 * meanwhile wait for the probe's lease, and after a busy answer they wait out a short retry time or are answered
 * 429 by this isolate until it has passed. The object (ObjectAdmission) decides.
 */
const isolateAdmission = new IsolateAdmission();
/**
 * This isolate's name to the objects' admission (leases are per isolate): made on first use, inside a request
 * (a Worker may not generate random values in its global scope).
 */
let isolateId: string | null = null;
function isolateName(): string {
  return (isolateId ??= crypto.randomUUID());
}
const saleCache = new Map<string, { at: number; sale: Sale }>();

function notFound(): ApiError {
  return new ApiError("NOT_FOUND", "No such sale");
}

function closedError(reason: ClosedReason): ApiError {
  return reason === "ended"
    ? new ApiError("ENDED", CLOSED_SALE_MESSAGES.ENDED)
    : new ApiError("SOLD_OUT", CLOSED_SALE_MESSAGES.SOLD_OUT);
}

/** The same answers as `closedError(reason).toResponse()`, with the body serialised once per isolate. */
const CLOSED_BODIES: Record<ClosedReason, { status: number; body: string }> = {
  sold_out: { status: 410, body: JSON.stringify(closedError("sold_out").toBody()) },
  ended: { status: 403, body: JSON.stringify(closedError("ended").toBody()) },
};

function closedResponse(reason: ClosedReason): Response {
  const { status, body } = CLOSED_BODIES[reason];
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

function countEdgeRejection(c: GatewayContext, saleId: string, kind: "rateLimited" | "soldOut" | "ended") {
  countEdgeRejectionIn(c.env, c.executionCtx as ExecutionContext, saleId, kind);
}

function countEdgeRejectionIn(
  env: GatewayEnv,
  ctx: ExecutionContext,
  saleId: string,
  kind: "rateLimited" | "soldOut" | "ended",
) {
  const edgeRejections = getGuards(env).edgeRejections;
  const counts = edgeRejections.get(saleId) ?? { rateLimited: 0, soldOut: 0, ended: 0 };
  counts[kind]++;
  edgeRejections.set(saleId, counts);
  scheduleFlush(env, ctx);
}

// What the gateway observes for /metrics — rejections it answered itself, and purchase latency per sale — is
// kept in isolate memory and handed to each sale's object by one deferred flush, at most every 2 s per isolate,
// one call per sale, off the request's critical path: a purchase pays a few additions, never a call or an await.
const purchaseLatency = new Map<string, Histogram>();
let flushScheduled = false;

function scheduleFlush(env: GatewayEnv, ctx: ExecutionContext) {
  if (flushScheduled) return;
  flushScheduled = true;
  ctx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, EDGE_FLUSH_MS)).then(() => {
      flushScheduled = false;
      const edgeRejections = getGuards(env).edgeRejections;
      const rejections = [...edgeRejections];
      edgeRejections.clear();
      const latencies = [...purchaseLatency];
      purchaseLatency.clear();
      return Promise.allSettled([
        ...rejections.map(([id, n]) => env.SECKILL.recordEdgeRejections(id, n)),
        ...latencies.map(([id, h]) => env.SECKILL.recordObservations(id, { gatewayLatency: h })),
      ]);
    }),
  );
}

async function observePurchaseLatency(c: GatewayContext, next: Next): Promise<void> {
  const started = performance.now();
  await next();
  const saleId = c.req.param("id");
  if (!saleId || c.res.status === 404) return; // no such sale: nothing to count it against
  let h = purchaseLatency.get(saleId);
  if (!h) {
    if (purchaseLatency.size >= 1000) return;
    h = emptyHistogram(GATEWAY_LATENCY_BUCKETS_MS);
    purchaseLatency.set(saleId, h);
  }
  observe(h, GATEWAY_LATENCY_BUCKETS_MS, performance.now() - started);
  scheduleFlush(c.env, c.executionCtx as ExecutionContext);
}

const PURCHASE_PATH = /^\/api\/sales\/([0-9a-f-]{36})\/purchase$/;

/**
 * The cheapest "no" of all, for the Worker's `fetch` before the app runs: a purchase for a sale this isolate
 * knows is sold out or ended is answered from memory — no routing, middleware, session, body or call — with the
 * headers the app's own answer carries (`headersLike`) and its own trace id and log line. Null when the sale is
 * not known to be closed: the app decides.
 */
export function answerIfClosed(
  request: Request,
  env: GatewayEnv,
  ctx: ExecutionContext,
  headersLike: Headers,
): Response | null {
  if (request.method !== "POST") return null;
  const url = request.url;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const match = PURCHASE_PATH.exec(url.slice(pathStart));
  if (!match) return null;
  const saleId = match[1];
  const closed = closedNow(env, ctx, saleId);
  if (!closed) return null;
  // A retry that may replay an accepted purchase goes on to the app and the object (replay.ts).
  if (mayBeReplay(saleId, request.headers, shardsOfKnownSale(saleId))) return null;
  countEdgeRejectionIn(env, ctx, saleId, closed === "ended" ? "ended" : "soldOut");
  const { status, body } = CLOSED_BODIES[closed];
  const headers = new Headers(headersLike);
  headers.set("content-type", "application/json");
  const response = new Response(body, { status, headers });
  return traceAnswer(request, response, "/api/sales/" + saleId + "/purchase");
}

/** Shares a "closed" verdict (and the sale's buyers filter) with the other isolates of this location, for as long as it holds. */
function publishClosed(c: GatewayContext, saleId: string, reason: ClosedReason) {
  publishClosedIn(c.env, c.executionCtx, saleId, reason);
}

function publishClosedIn(
  env: GatewayEnv,
  ctx: Pick<ExecutionContext, "waitUntil">,
  saleId: string,
  reason: ClosedReason,
) {
  const ttl = reason === "ended" ? ENDED_TTL_MS : SOLD_OUT_TTL_MS;
  getGuards(env).closed.set(saleId, reason, ttl);
  ctx.waitUntil(
    caches.default
      .put(
        CLOSED_CACHE_ORIGIN + saleId,
        new Response(JSON.stringify({ reason, buyers: knownBuyers(saleId) }), {
          headers: { "Cache-Control": `max-age=${Math.ceil(ttl / 1000)}` },
        }),
      )
      .catch(() => {}),
  );
}

function forgetClosed(c: GatewayContext, saleId: string) {
  forgetClosedIn(c.env, c.executionCtx, saleId);
}

function forgetClosedIn(env: GatewayEnv, ctx: Pick<ExecutionContext, "waitUntil">, saleId: string) {
  getGuards(env).closed.clear(saleId);
  ctx.waitUntil(caches.default.delete(CLOSED_CACHE_ORIGIN + saleId).catch(() => false));
}

/**
 * This isolate's verdict on a sale, from memory: fresh, or lapsed less than a second ago while ONE background
 * call asks the sale's object again (stale-while-revalidate, `ClosedSales.lookup`). The request that starts the
 * renewal takes the normal path itself, as every request did before (so a shopper arriving just as stock comes
 * back is not turned away); the others in that second are answered from the lapsed verdict. Renewed, it holds
 * another TTL; dropped when the sale is open again, so stock that comes back is buyable here within TTL + 1 s.
 * Without this, a lapsed verdict sent every attempt down the full path, where most stopped at a rate limit and
 * never reached the object that would renew it: a sold-out crowd cost the edge as much as a live one.
 */
function closedNow(env: GatewayEnv, ctx: Pick<ExecutionContext, "waitUntil">, saleId: string): ClosedReason | null {
  const verdict = getGuards(env).closed.lookup(saleId);
  if (!verdict) return null;
  if (verdict.refresh) {
    ctx.waitUntil(renewClosed(env, ctx, saleId));
    return null;
  }
  return verdict.reason;
}

async function renewClosed(env: GatewayEnv, ctx: Pick<ExecutionContext, "waitUntil">, saleId: string): Promise<void> {
  try {
    const verdict = await closedVerdictAtObject(env, saleId, knownBuyers(saleId)?.version);
    learnBuyers(saleId, verdict?.buyers);
    if (verdict?.saleStatus === "sold_out" || verdict?.saleStatus === "ended") {
      publishClosedIn(env, ctx, saleId, verdict.saleStatus);
    } else {
      forgetClosedIn(env, ctx, saleId);
    }
  } catch {
    getGuards(env).closed.refreshFailed(saleId);
  }
}

/**
 * The Cache API's verdict, for when this isolate has no fresh one of its own (the caller reads memory first,
 * without a microtask); asked at most every half TTL per sale.
 */
async function sharedClosedReason(c: GatewayContext, saleId: string): Promise<ClosedReason | null> {
  const g = getGuards(c.env);
  if (g.closed.checkedRecently(saleId)) return null;
  const cached = await caches.default.match(CLOSED_CACHE_ORIGIN + saleId).catch(() => undefined);
  if (!cached) {
    g.closed.markChecked(saleId, SOLD_OUT_TTL_MS / 2);
    return null;
  }
  const shared = parseShared(await cached.text());
  if (!shared) return null;
  const reason = shared.reason;
  learnBuyers(saleId, shared.buyers);
  g.closed.set(saleId, reason, reason === "ended" ? ENDED_TTL_MS : SOLD_OUT_TTL_MS);
  return reason;
}

/** A shared verdict: `{reason, buyers?}` (see `publishClosed`); null for anything else. */
function parseShared(text: string): { reason: ClosedReason; buyers?: PublishedBuyers } | null {
  try {
    const parsed = JSON.parse(text) as { reason?: unknown; buyers?: PublishedBuyers };
    if (parsed.reason !== "sold_out" && parsed.reason !== "ended") return null;
    return { reason: parsed.reason, buyers: parsed.buyers };
  } catch {
    return null;
  }
}

/** The purchase body is optional (`{}` or nothing); when present it is JSON with only known fields. */
async function readPurchaseBody(c: GatewayContext): Promise<{ quantity: number }> {
  const text = await c.req.text();
  // The common bodies, answered without parsing: what the schema would conclude for them.
  if (text === "{}" || text.trim() === "") return { quantity: 1 };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError("VALIDATION_FAILED", "The body is not valid JSON");
  }
  const parsed = purchaseSchema.safeParse(json);
  if (!parsed.success) throw validationFailed(parsed.error);
  return { quantity: parsed.data.quantity ?? 1 };
}

function readIdempotencyKey(c: GatewayContext): string | undefined {
  const raw = c.req.header("Idempotency-Key");
  if (raw === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError("VALIDATION_FAILED", "Idempotency-Key must be 1–128 printable characters", [
      { path: ["Idempotency-Key"], message: "1–128 printable ASCII characters" },
    ]);
  }
  return parsed.data;
}

/** How long this isolate believes a sale needs a challenge after its object said so (a merchant may turn it off). */
const CHALLENGE_SALE_TTL_MS = 30_000;
/** Sales whose object refused a purchase for want of a challenge, until when (bounded like `saleCache`). */
const challengeSales = new Map<string, number>();

/**
 * Whether this purchase passed the proof of work (docs/api.md "Proof of work"): true when challenges are off
 * (locally) or the request carries the shopper's own good, unspent solution; false when it carries none and the
 * sale is not known to need one (the object decides). Throws `403 CHALLENGE_REQUIRED` for a bad, expired, spent
 * or another shopper's solution, and for no solution on a sale this isolate knows needs one.
 */
async function purchaseChallenge(c: GatewayContext, saleId: string, userId: string): Promise<boolean> {
  if (challengeSettings(c.env).off) return true;
  const header = c.req.header(CHALLENGE_HEADER);
  if (header === undefined) {
    const until = challengeSales.get(saleId);
    if (until !== undefined && until > Date.now()) throw challengeError("missing");
    if (until !== undefined) challengeSales.delete(saleId);
    return false;
  }
  await requireChallenge(c, { subject: userId });
  if (challengeSales.size > 1000) challengeSales.clear();
  return true;
}

function admit(c: GatewayContext, saleId: string): boolean {
  const g = getGuards(c.env);
  let bucket = g.admission.get(saleId);
  if (!bucket) {
    bucket = new TokenBucket(g.admissionRate, g.admissionBurst);
    g.admission.set(saleId, bucket);
  }
  return bucket.take();
}

/** Retry-After is whole seconds: at least 1. */
function retrySeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export const sales = new Hono<GatewayApp>()
  .get("/", async (c) => {
    const now = Date.now();
    if (listCache.sales && now - listCache.at < LIST_TTL_MS) {
      return c.json({ serverTime: new Date(now).toISOString(), sales: listCache.sales });
    }
    try {
      const list = await callSeckill(c, () => c.env.SECKILL.listSales());
      listCache.at = Date.now();
      listCache.sales = list;
      return c.json({ serverTime: new Date().toISOString(), sales: list });
    } catch (err) {
      // Degraded, not down: shoppers keep the last list this isolate saw.
      if (!listCache.sales) throw err;
      return c.json({ serverTime: new Date().toISOString(), sales: listCache.sales, degraded: true });
    }
  })
  // Unknown ids cost nothing: every route under /:id first checks the id against the known sales (known-sales.ts).
  .use("/:id", requireKnownSale)
  .use("/:id/*", requireKnownSale)
  .get("/:id", async (c) => {
    const saleId = c.req.param("id");
    if (!isUuid(saleId)) throw notFound();
    const now = Date.now();
    const cached = saleCache.get(saleId);
    if (cached && now - cached.at < SALE_TTL_MS) {
      return c.json({ serverTime: new Date(now).toISOString(), sale: cached.sale });
    }
    let sale: Sale | null;
    try {
      sale = await callSeckill(c, () => c.env.SECKILL.getSale(saleId));
    } catch (err) {
      if (!cached) throw err;
      return c.json({ serverTime: new Date().toISOString(), sale: cached.sale, degraded: true });
    }
    if (!sale) throw notFound();
    if (saleCache.size > 1000) saleCache.clear();
    saleCache.set(saleId, { at: Date.now(), sale });
    return c.json({ serverTime: new Date().toISOString(), sale });
  })
  .use("/:id/purchase", observePurchaseLatency)
  .post("/:id/purchase", async (c) => {
    const saleId = c.req.param("id");
    if (!isUuid(saleId)) throw notFound();

    // 1. The cheap "no": decided before the session, the body or any call — from this isolate's memory
    //    without even a microtask when it knows, else from the Cache API — and answered without throwing
    //    (an exception's stack trace costs more than the rest of this answer).
    //    A keyed retry by a shopper who may hold an order goes on (replay.ts).
    const closed = closedNow(c.env, c.executionCtx, saleId) ?? (await sharedClosedReason(c, saleId));
    if (closed && !mayBeReplay(saleId, c.req.raw.headers, shardsOfKnownSale(saleId))) {
      countEdgeRejection(c, saleId, closed === "ended" ? "ended" : "soldOut");
      return closedResponse(closed);
    }

    // 2. Who is buying, and what.
    const user = await requireUser(c);
    c.set("user", user);
    const idempotencyKey = readIdempotencyKey(c);
    const { quantity } = await readPurchaseBody(c);

    // 3. Rate limits: the shopper, the shopper's network, then the sale's admission ceiling.
    if (await overPurchaseLimits(c, user.id)) {
      countEdgeRejection(c, saleId, "rateLimited");
      throw rateLimited("Too many purchase attempts, slow down", 10, "shopper");
    }
    // Every sale's objects admit globally (lib/server/hot/admission.ts): this isolate's lease, probe or short wait
    // here, the object's ceiling there. A sale of one shard also keeps its per-isolate bucket in front, the cheap
    // first line it always had (a sharded sale's isolates may send more than one object's worth, across shards).
    const shards = shardsOfKnownSale(saleId);
    const objectName = shardObjectName(saleId, homeShard(user.id, shards));
    if (shards === 1 && !admit(c, saleId)) {
      countEdgeRejection(c, saleId, "rateLimited");
      throw rateLimited("The sale is busy, retrying shortly will get you in", 1, "sale");
    }
    const waitMs = getGuards(c.env).admissionWaitMs;
    const admissionDeadline = Date.now() + waitMs;
    const entered = await isolateAdmission.enter(objectName, waitMs);
    if (!entered.send) {
      countEdgeRejection(c, saleId, "rateLimited");
      throw rateLimited(
        "The sale is busy, retrying shortly will get you in",
        retrySeconds(entered.retryAfterMs),
        "sale",
      );
    }
    let probe = entered.probe;

    // Until the object is called, a stop (a refusal below, an error) hands the admission back unused.
    let challengePassed: boolean;
    let queueAdmitted = false;
    try {
      // 4. Proof of work (challenge.ts), after the limits so a rate-limited click does not spend its solution: a
      //    solution sent is verified and spent here; without one, the object refuses a `challenge` sale, and this
      //    isolate remembers that sale to refuse the next such purchase itself.
      challengePassed = await purchaseChallenge(c, saleId, user.id);

      // 5. Queue sales (queue-gate.ts): only a shopper with an admitted ticket goes on; other sales skip this.
      if (isQueueSale(saleId)) {
        const refusal = await callSeckill(c, () => checkAdmitted(c.env, saleId, user.id));
        if (refusal) throw rejectionToError(refusal);
        queueAdmitted = true;
      }
    } catch (err) {
      isolateAdmission.release(Date.now(), objectName, probe);
      throw err;
    }

    // 6. The shopper's cap on unpaid holds across the shop (holds.ts), then the sale's object decides: the
    //    shopper's home shard (lib/server/hot/routing.ts; the sale's own object when it has one shard). A purchase
    //    expected to make no new order (a replay, a refusal) takes no slot: it goes `withoutHold`, and comes back
    //    `holdNeeded` (nothing taken) if it would have made one, to be sent again with a slot.
    const request = {
      userId: user.id,
      quantity,
      idempotencyKey,
      traceId: c.get("traceId"),
      knownBuyers: knownBuyers(objectName)?.version,
      challengePassed,
    };
    // The first call passes the object's admission (a bin refusal of a lease holder waits for the next bin and
    // goes again, within the same budget); a second call for the same click (a queue check, a hold) was admitted.
    const reserveAdmitted = async (extra: { withoutHold: boolean; queueAdmitted: boolean }) => {
      for (;;) {
        const admission = { isolate: isolateName(), wantTokens: isolateAdmission.wantTokens(Date.now(), objectName) };
        let answer: PurchaseResult;
        try {
          answer = await callSeckill(c, () => reserveAtObject(c.env, objectName, { ...request, ...extra, admission }));
        } catch (err) {
          isolateAdmission.onAnswer(Date.now(), objectName, probe, null);
          throw err;
        }
        isolateAdmission.onAnswer(Date.now(), objectName, probe, answer.admission ?? null);
        const verdict = answer.admission;
        if (!verdict || verdict.admitted || !verdict.keepLease) return answer;
        const again = await isolateAdmission.enter(objectName, admissionDeadline - Date.now());
        if (!again.send) return answer;
        probe = again.probe;
      }
    };
    const withoutHold = holdsCapped(c) && expectsNoNewOrder(user.id, saleId, closed !== null);
    let holdToken: string | undefined;
    try {
      holdToken = withoutHold ? undefined : await takeHold(c, user.id, saleId);
    } catch (err) {
      isolateAdmission.release(Date.now(), objectName, probe);
      throw err;
    }
    let result: PurchaseResult;
    try {
      result = await reserveAdmitted({ withoutHold, queueAdmitted });
      // A queue sale this isolate did not know: its object refused the unchecked purchase. Check, then buy.
      if (!queueAdmitted && learnQueueSale(result, saleId)) {
        const refusal = await callSeckill(c, () => checkAdmitted(c.env, saleId, user.id));
        if (refusal) result = refusal;
        else {
          queueAdmitted = true;
          result = await callSeckill(c, () =>
            reserveAtObject(c.env, objectName, { ...request, withoutHold, queueAdmitted: true }),
          );
        }
      }
      if (result.holdNeeded) {
        holdToken = await takeHold(c, user.id, saleId);
        result = await callSeckill(c, () => reserveAtObject(c.env, objectName, { ...request, queueAdmitted }));
      }
    } catch (err) {
      settleHold(c, user.id, holdToken, null);
      throw err;
    }
    if (result.holdNeeded) throw new Error("the sale's object asked for a slot on a purchase that had one");
    settleHold(c, user.id, holdToken, result.ok && !result.replayed ? result.order : null);
    learnFromAnswer(user.id, saleId, result);
    learnBuyers(objectName, result.buyers);
    if (result.saleStatus === "sold_out" || result.saleStatus === "ended") publishClosed(c, saleId, result.saleStatus);
    if (!result.ok) {
      if (result.code === "CHALLENGE_REQUIRED") challengeSales.set(saleId, Date.now() + CHALLENGE_SALE_TTL_MS);
      if (result.code === "RATE_LIMITED" && result.admission && !result.admission.admitted) {
        countEdgeRejection(c, saleId, "rateLimited");
        throw rejectionToError(
          { ...result, details: { scope: "sale" } },
          { "Retry-After": String(retrySeconds(result.admission.retryAfterMs)) },
        );
      }
      if (result.code === "UNAVAILABLE" || result.code === "RATE_LIMITED")
        throw rejectionToError(result, { "Retry-After": "1" });
      throw rejectionToError(result);
    }
    if (queueAdmitted) ticketUsed(c.env, c.executionCtx as ExecutionContext, saleId, user.id, result.order.id);
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json({ order: result.order }, 202);
  });

export { forgetClosed };
