/**
 * The seckill Worker's side of queue sales (docs/api.md "Queue"; docs/design.md "The sale queue"): which object
 * answers what. The queue object of a sale exists only for sales created with `queue: true`; every call here
 * first asks whether the sale is a queue sale (from this isolate's memory, else the sale's object), so an unknown
 * or queue-less sale id never creates a queue object.
 */
import { reject, type Rejection } from "../../lib/contract/errors.ts";
import type { QueueStats, Ticket } from "../../lib/contract/queue.ts";
import type { Sale } from "../../lib/contract/schemas.ts";
import type { StubOf } from "../../lib/server/env.ts";
import type { GateResult, SaleQueue } from "../../durable-objects/sale-queue.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import type { SeckillEnv } from "./env.ts";

/** sale id → whether it has a queue (a fact fixed at creation), for sales this isolate has seen. */
const queueSales = new Map<string, boolean>();

export function queueObject(env: SeckillEnv, saleId: string): StubOf<SaleQueue> {
  return env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId)) as unknown as StubOf<SaleQueue>;
}

function numberVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

function noQueue(): Rejection {
  return reject("NOT_FOUND", "No such queue: the sale does not exist or has no queue");
}

/** The sale as its object has it (null when there is none): the one read behind both flags below. */
async function readSale(env: SeckillEnv, saleId: string): Promise<Sale | null> {
  const stub = env.SALE_ITEM.get(env.SALE_ITEM.idFromName(saleId)) as unknown as StubOf<SaleItem>;
  return (await stub.getSale()) as Sale | null;
}

/** Remembers what a read of the sale said: its queue for good (fixed at creation), its challenge flag for a while. */
function remember(sale: Sale): void {
  if (queueSales.size >= 10_000) queueSales.clear();
  queueSales.set(sale.id, sale.queue === true);
  if (challengeSales.size >= 10_000) challengeSales.clear();
  challengeSales.set(sale.id, { challenge: sale.challenge === true, at: Date.now() });
}

/** Whether the sale has a queue: remembered per isolate, else asked of the sale's object (which knows). */
export async function hasQueue(env: SeckillEnv, saleId: string): Promise<boolean> {
  const known = queueSales.get(saleId);
  if (known !== undefined) return known;
  const sale = await readSale(env, saleId);
  if (!sale) return false;
  remember(sale);
  return sale.queue === true;
}

/** How long this isolate trusts a sale's `challenge` flag (a merchant may turn it on or off before the start). */
const CHALLENGE_FLAG_TTL_MS = 10_000;
const challengeSales = new Map<string, { challenge: boolean; at: number }>();

/** Whether joining the sale's queue costs a solved challenge (`Sale.challenge`), at most 10 s old. */
async function needsChallenge(env: SeckillEnv, saleId: string): Promise<boolean> {
  const known = challengeSales.get(saleId);
  if (known && Date.now() - known.at < CHALLENGE_FLAG_TTL_MS) return known.challenge;
  const sale = await readSale(env, saleId);
  if (!sale) return false;
  remember(sale);
  return sale.challenge === true;
}

/** Sets up the queue of a new queue sale (before its object answers anyone). */
export async function createQueue(
  env: SeckillEnv,
  sale: { id: string; startsAt: number; endsAt: number; stock: number },
): Promise<void> {
  await queueObject(env, sale.id).initialize(
    {
      saleId: sale.id,
      startsAt: sale.startsAt,
      endsAt: sale.endsAt,
      admitPerSecond: numberVar(env.QUEUE_ADMIT_RPS, 200),
      admissionWindowMs: numberVar(env.QUEUE_WINDOW_SECONDS, 60) * 1000,
    },
    sale.stock,
  );
  queueSales.set(sale.id, true);
}

/** The sale's times changed (an edit before the start, an early end): its queue follows. */
export async function syncTimes(env: SeckillEnv, sale: Sale): Promise<void> {
  if (sale.queue !== true) return;
  await queueObject(env, sale.id).configure({ startsAt: Date.parse(sale.startsAt), endsAt: Date.parse(sale.endsAt) });
}

/**
 * Joins the queue. A `challenge` sale (docs/api.md "Proof of work") takes a join only with a solved challenge,
 * which the gateway verified and spent (`challengePassed`).
 */
export async function joinQueue(
  env: SeckillEnv,
  saleId: string,
  userId: string,
  challengePassed = false,
): Promise<{ ok: true; ticket: Ticket } | Rejection> {
  if (!(await hasQueue(env, saleId))) return noQueue();
  if (!challengePassed && (await needsChallenge(env, saleId))) {
    return reject("CHALLENGE_REQUIRED", "Solve a proof-of-work challenge first (GET /api/challenge)", {
      reason: "missing",
    });
  }
  return (await queueObject(env, saleId).join(userId)) as { ok: true; ticket: Ticket } | Rejection;
}

/** The shopper's ticket; a NOT_FOUND rejection when the sale has no queue or the shopper has not joined. */
export async function getTicket(env: SeckillEnv, saleId: string, userId: string): Promise<Ticket | Rejection> {
  if (!(await hasQueue(env, saleId))) return noQueue();
  const ticket = (await queueObject(env, saleId).ticket(userId)) as Ticket | null;
  return ticket ?? reject("NOT_FOUND", "You have not joined this queue");
}

export async function gate(env: SeckillEnv, saleId: string, userId: string): Promise<GateResult> {
  if (!(await hasQueue(env, saleId))) return noQueue();
  return (await queueObject(env, saleId).gate(userId)) as GateResult;
}

export async function purchased(env: SeckillEnv, saleId: string, userId: string, orderId: string): Promise<void> {
  if (!(await hasQueue(env, saleId))) return;
  await queueObject(env, saleId).purchased(userId, orderId);
}

export async function queueStats(env: SeckillEnv, saleId: string): Promise<QueueStats | null> {
  if (!(await hasQueue(env, saleId))) return null;
  return (await queueObject(env, saleId).stats()) as QueueStats | null;
}

/** Forgets a deleted sale's queue (storage and memory). */
export async function destroyQueue(env: SeckillEnv, saleId: string): Promise<void> {
  if (queueSales.get(saleId) === false) return;
  await queueObject(env, saleId).destroy();
  queueSales.delete(saleId);
}

/**
 * The live feed: the gateway forwards a signed-in shopper's WebSocket upgrade here (`X-Queue-User` set by it),
 * and the queue object accepts it with hibernation.
 */
export async function live(env: SeckillEnv, saleId: string, request: Request): Promise<Response> {
  if (!(await hasQueue(env, saleId))) return new Response("no such queue", { status: 404 });
  return await env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId)).fetch(request);
}
