/**
 * The seckill Worker's side of draws and registration (docs/api.md "Draw", "Registration"; docs/design.md
 * "Draws and registration"): which object answers what.
 * - Entering and "my entry" before the draw: the shopper's home entry shard (DrawEntries), found with the
 *   sale's shard count (asked once per isolate from the sale's SaleDraw; it never changes).
 * - "My entry" after the draw, the public draw, merchants' draw view: the sale's SaleDraw.
 * - Registration: the sale's SaleItem, the object that takes the shopper's purchase.
 * Draw objects are reached only for sales their SaleItem says are draws, so an unknown or first-come sale id
 * makes no draw object.
 */
import { reject, type Rejection } from "../../lib/contract/errors.ts";
import {
  DRAW_ALGORITHM,
  homeShard,
  type DrawStats,
  type Entry,
  type PublicDraw,
  type Registration,
} from "../../lib/contract/draw.ts";
import type { Sale } from "../../lib/contract/schemas.ts";
import type { SeckillEnv } from "./env.ts";
import type { StubOf } from "../../lib/server/env.ts";
import type { DrawEntries } from "../../durable-objects/draw-entries.ts";
import { entryShardName, type DrawConfig, type SaleDraw } from "../../durable-objects/sale-draw.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";

/** sale id → entry shard count, for draw sales this isolate has seen (bounded; a fact that never changes). */
const shardCounts = new Map<string, number>();

export function drawObject(env: SeckillEnv, saleId: string): StubOf<SaleDraw> {
  return env.SALE_DRAW.get(env.SALE_DRAW.idFromName(saleId)) as unknown as StubOf<SaleDraw>;
}

function saleObject(env: SeckillEnv, saleId: string): StubOf<SaleItem> {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(saleId)) as unknown as StubOf<SaleItem>;
}

function entryShard(env: SeckillEnv, saleId: string, index: number): StubOf<DrawEntries> {
  return env.DRAW_ENTRIES.get(
    env.DRAW_ENTRIES.idFromName(entryShardName(saleId, index)),
  ) as unknown as StubOf<DrawEntries>;
}

function notADraw(): Rejection {
  return reject("NOT_FOUND", "No such draw: the sale does not exist or is not a draw sale");
}

/** The shard count of a draw sale, or null when the sale is unknown or not a draw. */
async function entryShardsOf(env: SeckillEnv, saleId: string): Promise<number | null> {
  const known = shardCounts.get(saleId);
  if (known !== undefined) return known;
  const sale = (await saleObject(env, saleId).getSale()) as Sale | null;
  if (!sale || sale.mode !== "draw") return null;
  const count = await drawObject(env, saleId).entryShards();
  if (count === null) return null;
  if (shardCounts.size >= 10_000) shardCounts.clear();
  shardCounts.set(saleId, count);
  return count;
}

/** Sets up the draw of a new draw sale; returns the commitment the sale publishes. */
export async function createDraw(env: SeckillEnv, config: DrawConfig): Promise<string> {
  return await drawObject(env, config.saleId).initialize(config);
}

/**
 * The first step of deleting a draw sale: every entry shard stops taking entries (stored) and counts its own in
 * the same block, so the total cannot grow afterwards (DrawEntries.closeForDelete). Null when the sale has no
 * draw (never made, or destroyed by an earlier delete that stopped part-way).
 */
export async function closeEntriesForDelete(env: SeckillEnv, saleId: string): Promise<{ entries: number } | null> {
  const shards = await drawObject(env, saleId).entryShards();
  if (shards === null) return null;
  const closed = await Promise.all(
    Array.from({ length: shards }, (_, i) => entryShard(env, saleId, i).closeForDelete()),
  );
  return { entries: closed.reduce((a, c) => a + (c?.entries ?? 0), 0) };
}

/** The delete was refused: the entry shards take entries again. */
export async function reopenEntries(env: SeckillEnv, saleId: string): Promise<void> {
  const shards = await drawObject(env, saleId).entryShards();
  if (shards === null) return;
  await Promise.all(Array.from({ length: shards }, (_, i) => entryShard(env, saleId, i).reopen()));
}

/**
 * Wipes a deleted sale's draw: its entry shards, its rows and its alarm (SaleDraw.destroy). On an object that
 * holds no draw it stores nothing (a repeat of a delete, or a sale that was not a draw).
 */
export async function destroyDraw(env: SeckillEnv, saleId: string): Promise<void> {
  await drawObject(env, saleId).destroy();
  shardCounts.delete(saleId);
}

export async function enterDraw(
  env: SeckillEnv,
  saleId: string,
  userId: string,
): Promise<{ ok: true; created: boolean; entry: Entry } | Rejection> {
  const shards = await entryShardsOf(env, saleId);
  if (shards === null) return notADraw();
  const result = await entryShard(env, saleId, homeShard(userId, shards)).enter(userId);
  if (!result.ok) return result;
  return { ok: true, created: result.created, entry: { saleId, userId, state: "entered" } };
}

/**
 * The shopper's entry: `entered` while their shard is open; once the draw has closed it, what the draw says —
 * `won` (rank within the awarded prefix), `waitlisted` (position = rank − awarded), or `lost` after the end.
 * While the draw is still running the entry stays `entered`.
 */
export async function getEntry(env: SeckillEnv, saleId: string, userId: string): Promise<Entry | Rejection> {
  const shards = await entryShardsOf(env, saleId);
  if (shards === null) return notADraw();
  const own = await entryShard(env, saleId, homeShard(userId, shards)).entryOf(userId);
  if (!own) return reject("NOT_FOUND", "You have not entered this draw");
  const entered: Entry = { saleId, userId, state: "entered" };
  if (!own.closed) return entered;
  const result = await drawObject(env, saleId).resultFor(userId);
  if (!result || result.phase === "pending" || result.rank === null) return entered;
  if (result.rank <= result.awarded) return { saleId, userId, state: "won", orderId: result.orderId ?? undefined };
  if (result.ended) return { saleId, userId, state: "lost" };
  return { saleId, userId, state: "waitlisted", waitlistPosition: result.rank - result.awarded };
}

/** `GET /api/sales/:id/draw`: the commitment; after the draw, the seed and the lists (read in pages). */
export async function getPublicDraw(env: SeckillEnv, saleId: string): Promise<PublicDraw | null> {
  if ((await entryShardsOf(env, saleId)) === null) return null;
  const draw = drawObject(env, saleId);
  const summary = await draw.publicSummary();
  if (!summary) return null;
  if (!summary.drawn) return { commitment: summary.commitment };
  const ranking: string[] = [];
  for (let from = 1; from <= summary.total;) {
    const page = await draw.rankingPage(from, 20_000);
    if (page.length === 0) break;
    ranking.push(...page);
    from += page.length;
  }
  if (ranking.length !== summary.total) throw new Error("the draw's ranking is incomplete");
  const winners = ranking.slice(0, summary.stock);
  return {
    commitment: summary.commitment,
    seed: summary.seed,
    algorithm: DRAW_ALGORITHM,
    // Entries in user-id order, so the list itself says nothing of the ranking: recompute it from the seed.
    entries: [...ranking].sort(),
    winners,
    waitlist: ranking.slice(summary.stock),
  };
}

export async function getDrawStats(env: SeckillEnv, saleId: string): Promise<DrawStats | null> {
  if ((await entryShardsOf(env, saleId)) === null) return null;
  return await drawObject(env, saleId).stats();
}

export async function getDrawRanking(env: SeckillEnv, saleId: string, fromRank: number, limit: number) {
  if ((await entryShardsOf(env, saleId)) === null) return null;
  return await drawObject(env, saleId).rankingRows(fromRank, limit);
}

export async function register(
  env: SeckillEnv,
  saleId: string,
  userId: string,
): Promise<{ ok: true; created: boolean; registration: Registration } | Rejection> {
  return await saleObject(env, saleId).register(userId);
}

export async function getRegistration(env: SeckillEnv, saleId: string, userId: string): Promise<Registration | null> {
  return await saleObject(env, saleId).registrationOf(userId);
}
