/**
 * SaleDraw: the draw of one draw sale (docs/api.md "Draw"; docs/design.md "Draws and registration"). It holds
 * the secret seed and its commitment, runs the draw from its alarm at `drawAt`, keeps the global ranking, and
 * passes returned units down the waitlist. Entries live in the sale's DrawEntries shards; units and orders live
 * in the sale's SaleItem, which creates every draw order through its usual group commit, outbox and queue.
 *
 * What it promises:
 * - the seed comes from crypto.getRandomValues here, is never chosen by anyone, and never leaves this object
 *   before the draw has ranked every entry (`publicSummary` shows only the commitment until then);
 * - the ranking is sha256hex(seed + ":" + userId) ascending over every entry of every shard: each shard ranks its
 *   own entries and the draw merges the shards' sorted pages (RankedMerge), never sorting everything at once;
 * - ranks 1..`awarded` hold a unit, always a prefix of the ranking: the draw awards the first `stock`, and each
 *   unit that comes back (an order expired or cancelled) goes to the next rank — exactly once, because the
 *   SaleItem gives a shopper at most one order and answers a repeated allocation with the existing order, and
 *   because `attempted_through` (written before each allocation call) lets a restarted draw ask again for the
 *   same ranks instead of skipping them;
 * - every step is resumable: the phase, the merge cursors and the counts are written with the rows they cover,
 *   and the alarm (which survives restarts) carries on from there;
 * - a deleted sale's draw leaves nothing (`destroy`): its entry shards and its own rows and alarm are wiped, and a
 *   step or a merchant's change still running when it is destroyed writes nothing more.
 */
import { DurableObject } from "cloudflare:workers";
import type { ObjectEnv } from "./env.ts";
import type { StubOf } from "../lib/server/env.ts";
import {
  RankedMerge,
  compareRanked,
  sha256hex,
  type DrawPhase,
  type DrawStats,
  type RankedEntry,
} from "../lib/contract/draw.ts";
import type { DrawEntries, EntryShardConfig } from "./draw-entries.ts";
import type { SaleItem } from "./sale-item.ts";
import { ObjectSchema, configText, parseConfig } from "./object-schema.ts";

export interface DrawConfig {
  saleId: string;
  stock: number;
  startsAt: number;
  drawAt: number;
  endsAt: number;
  entryShards: number;
}

export type DrawResult =
  | { phase: "pending" }
  | { phase: "drawn"; rank: number; awarded: number; orderId: string | null; ended: boolean }
  | { phase: "drawn"; rank: null };

/** Rows merged per transaction, and how long one alarm run may go on merging before it hands over to the next. */
const MERGE_STEP = 10_000;
const RUN_BUDGET_MS = 20_000;
/** While waitlisted entries remain, how often the draw asks the sale's object whether units came back. */
const PROMOTE_POLL_MS = 1_000;
/** Ranks handed to the SaleItem per allocation call (its own bound, ALLOCATE_LIMIT, is the same). */
const ALLOCATE_STEP = 500;
const PUBLIC_PAGE_LIMIT = 20_000;

/** Created by `initialize` only: a draw object named by anyone else stays empty (object-schema.ts). */
const SCHEMA = new ObjectSchema(
  "draw",
  `
  CREATE TABLE IF NOT EXISTS draw (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL,
    seed TEXT NOT NULL,
    commitment TEXT NOT NULL,
    phase TEXT NOT NULL,
    cursors TEXT NOT NULL DEFAULT '[]',
    ranked_count INTEGER NOT NULL DEFAULT 0,
    awarded INTEGER NOT NULL DEFAULT 0,
    attempted_through INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    drawn_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS ranked (
    rank INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    order_id TEXT
  );
  CREATE TABLE IF NOT EXISTS promotions (
    rank INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    at INTEGER NOT NULL
  );
`,
);

interface DrawRow extends Record<string, SqlStorageValue> {
  config: string;
  seed: string;
  commitment: string;
  phase: DrawPhase;
  cursors: string;
  ranked_count: number;
  awarded: number;
  attempted_through: number;
  started_at: number | null;
  drawn_at: number | null;
}

export function entryShardName(saleId: string, index: number): string {
  return `${saleId}/entries/${index}`;
}

/** The draw reaches its entry shards and the sale's object (both bound in the same Worker). */
interface DrawEnv extends ObjectEnv {
  SALE_ITEM: DurableObjectNamespace<SaleItem>;
  DRAW_ENTRIES: DurableObjectNamespace<DrawEntries>;
}

export class SaleDraw extends DurableObject<DrawEnv> {
  /** Overridable clock, so tests can move time. */
  clock: () => number = Date.now;

  private readonly sql: SqlStorage;
  /**
   * The sale was deleted (`destroy`): from then on this instance answers as one never initialised and writes
   * nothing, even from a step that was awaiting another object when the delete came. Memory only: once the
   * storage is wiped, a restarted instance finds no draw anyway.
   */
  private gone = false;

  constructor(ctx: DurableObjectState, env: DrawEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  /** The draw, or null when this object was never initialised or was destroyed (then nothing is read or written). */
  private row(): DrawRow | null {
    return this.gone ? null : this.stored();
  }

  /** The draw's row as stored, whatever `gone` says (`destroy` reads it to find the entry shards). */
  private stored(): DrawRow | null {
    if (!SCHEMA.exists(this.sql)) return null;
    return this.sql.exec<DrawRow>("SELECT * FROM draw WHERE id = 1").toArray()[0] ?? null;
  }

  private shard(index: number, saleId: string): StubOf<DrawEntries> {
    const ns = this.env.DRAW_ENTRIES;
    return ns.get(ns.idFromName(entryShardName(saleId, index))) as unknown as StubOf<DrawEntries>;
  }

  private saleItem(saleId: string): StubOf<SaleItem> {
    return this.env.SALE_ITEM.get(this.env.SALE_ITEM.idFromName(saleId)) as unknown as StubOf<SaleItem>;
  }

  private shardConfig(config: DrawConfig, index: number): EntryShardConfig {
    return { saleId: config.saleId, index, startsAt: config.startsAt, drawAt: config.drawAt };
  }

  // ---------------------------------------------------------------- merchant side

  /**
   * Creates the draw: a fresh random seed and its commitment, the entry shards configured, the alarm set for
   * `drawAt`. Safe to call twice for the same sale (the same seed stays). Returns the commitment.
   */
  async initialize(config: DrawConfig): Promise<string> {
    if (this.gone) throw new Error("the draw's sale was deleted");
    SCHEMA.create(this.sql);
    let row = this.row();
    if (row) {
      if (parseConfig<DrawConfig>(row).saleId !== config.saleId) throw new Error("object already holds another draw");
    } else {
      const seed = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
      this.sql.exec(
        "INSERT INTO draw (id, config, seed, commitment, phase) VALUES (1, ?, ?, ?, 'open')",
        configText(config),
        seed,
        await sha256hex(seed),
      );
      row = this.row()!;
    }
    const stored = parseConfig<DrawConfig>(row);
    await Promise.all(
      Array.from({ length: stored.entryShards }, (_, i) =>
        this.shard(i, stored.saleId).configure(this.shardConfig(stored, i)),
      ),
    );
    if (this.gone) throw new Error("the draw's sale was deleted");
    await this.ctx.storage.setAlarm(stored.drawAt);
    return row.commitment;
  }

  /** Follows a change of the sale before its start (times, stock); the seed and the shards stay. */
  async update(patch: Partial<Pick<DrawConfig, "stock" | "startsAt" | "drawAt" | "endsAt">>): Promise<void> {
    const row = this.row();
    if (!row || row.phase !== "open") return;
    const config = { ...parseConfig<DrawConfig>(row), ...patch };
    this.sql.exec("UPDATE draw SET config = ? WHERE id = 1", configText(config));
    await Promise.all(
      Array.from({ length: config.entryShards }, (_, i) =>
        this.shard(i, config.saleId).configure(this.shardConfig(config, i)),
      ),
    );
    // Deleted while the shards were told: no alarm for a draw that is gone.
    if (this.gone) return;
    await this.ctx.storage.setAlarm(config.drawAt);
  }

  /**
   * Forgets the draw when its sale is deleted (the seckill Worker's `deleteSale`, once the sale's object has
   * forgotten it): memory first (`gone`: every call answers as for no draw, and a step in flight writes nothing
   * more), then every entry shard (`DrawEntries.destroy`), then this object's alarm and rows, so nothing of the draw
   * is kept and no alarm fires for it. A destroy that fails part-way is finished by the next: the entry shards are
   * found from the row, which is wiped last. Answers whether there was a draw to forget.
   */
  async destroy(): Promise<boolean> {
    this.gone = true;
    const row = this.stored();
    if (row) {
      const config = parseConfig<DrawConfig>(row);
      await Promise.all(Array.from({ length: config.entryShards }, (_, i) => this.shard(i, config.saleId).destroy()));
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return row !== null;
  }

  /** The entry shard count (null: no draw here), for routing entries to their home shard. */
  entryShards(): number | null {
    const row = this.row();
    return row ? parseConfig<DrawConfig>(row).entryShards : null;
  }

  // ---------------------------------------------------------------- shopper side

  /** Where a shopper stands once the draw is done; `pending` before that (their shard knows their entry). */
  resultFor(userId: string): DrawResult | null {
    const row = this.row();
    if (!row) return null;
    if (row.phase !== "drawn") return { phase: "pending" };
    const ranked = this.sql
      .exec<{ rank: number; order_id: string | null }>("SELECT rank, order_id FROM ranked WHERE user_id = ?", userId)
      .toArray()[0];
    if (!ranked) return { phase: "drawn", rank: null };
    const config = parseConfig<DrawConfig>(row);
    return {
      phase: "drawn",
      rank: ranked.rank,
      awarded: row.awarded,
      orderId: ranked.order_id,
      ended: this.clock() >= config.endsAt,
    };
  }

  /** What `GET /api/sales/:id/draw` starts from: the commitment, and after the draw the seed and the counts. */
  publicSummary():
    | { commitment: string; drawn: false }
    | { commitment: string; drawn: true; seed: string; stock: number; total: number }
    | null {
    const row = this.row();
    if (!row) return null;
    if (row.phase !== "drawn") return { commitment: row.commitment, drawn: false };
    const config = parseConfig<DrawConfig>(row);
    return { commitment: row.commitment, drawn: true, seed: row.seed, stock: config.stock, total: row.ranked_count };
  }

  /** The ranking after the draw, a page of user ids from rank `fromRank` (1-based), at most 20,000. */
  rankingPage(fromRank: number, limit: number): string[] {
    const row = this.row();
    if (!row || row.phase !== "drawn") return [];
    return this.sql
      .exec<{ user_id: string }>(
        "SELECT user_id FROM ranked WHERE rank >= ? ORDER BY rank LIMIT ?",
        fromRank,
        Math.max(1, Math.min(limit, PUBLIC_PAGE_LIMIT)),
      )
      .toArray()
      .map((r) => r.user_id);
  }

  /** Merchants' view of the ranking after the draw: a page of ranks from `fromRank`, with each rank's order. */
  rankingRows(fromRank: number, limit: number): { rank: number; userId: string; orderId: string | null }[] {
    if (!this.row()) return [];
    return this.sql
      .exec<{ rank: number; user_id: string; order_id: string | null }>(
        "SELECT rank, user_id, order_id FROM ranked WHERE rank >= ? ORDER BY rank LIMIT ?",
        fromRank,
        Math.max(1, Math.min(limit, PUBLIC_PAGE_LIMIT)),
      )
      .toArray()
      .map((r) => ({ rank: r.rank, userId: r.user_id, orderId: r.order_id }));
  }

  /** Merchants' view: the draw's phase and counts, and the latest waitlist movement. */
  async stats(): Promise<DrawStats | null> {
    const row = this.row();
    if (!row) return null;
    const config = parseConfig<DrawConfig>(row);
    const drawn = row.phase === "drawn";
    const entries = drawn
      ? row.ranked_count
      : (
          await Promise.all(
            Array.from({ length: config.entryShards }, (_, i) => this.shard(i, config.saleId).entryCount()),
          )
        ).reduce((a, b) => a + b, 0);
    const winners = Math.min(config.stock, row.ranked_count);
    const promotions = this.sql
      .exec<{ rank: number; user_id: string; order_id: string; at: number }>(
        "SELECT * FROM promotions ORDER BY rank DESC LIMIT 50",
      )
      .toArray()
      .map((p) => ({ rank: p.rank, userId: p.user_id, orderId: p.order_id, at: new Date(p.at).toISOString() }));
    return {
      phase: row.phase,
      drawAt: new Date(config.drawAt).toISOString(),
      commitment: row.commitment,
      entryShards: config.entryShards,
      entries,
      awarded: row.awarded,
      winners: drawn ? winners : 0,
      waitlisted: drawn && this.clock() < config.endsAt ? row.ranked_count - row.awarded : 0,
      promoted: Math.max(0, row.awarded - winners),
      drawMs: row.drawn_at !== null && row.started_at !== null ? row.drawn_at - row.started_at : null,
      drawnAt: row.drawn_at !== null ? new Date(row.drawn_at).toISOString() : null,
      promotions,
    };
  }

  // ---------------------------------------------------------------- the draw

  /**
   * The draw's steps, one after the other, each resumable: at `drawAt` the shards close and rank their entries
   * (`ranking`), their ranked pages are merged into the global ranking (`merging`), the first `stock` ranks get
   * their orders (`allocating`), and from then until `endsAt` returned units go down the waitlist (`drawn`).
   * Safe to run twice: every step reads where the last one stopped from storage.
   */
  async alarm(): Promise<void> {
    try {
      await this.runDraw();
    } catch (err) {
      // A step that was awaiting an entry shard or the sale's object when the sale was deleted: nothing to resume.
      if (this.gone) return;
      throw err;
    }
  }

  private async runDraw(): Promise<void> {
    const started = this.clock();
    let row = this.row();
    if (!row) return;
    const config = parseConfig<DrawConfig>(row);
    if (row.phase === "open") {
      if (started < config.drawAt) {
        await this.ctx.storage.setAlarm(config.drawAt);
        return;
      }
      this.sql.exec("UPDATE draw SET phase = 'ranking', started_at = ? WHERE id = 1", started);
      row = this.row()!;
    }
    if (row.phase === "ranking") {
      await this.rankShards(config, row.seed);
      if (this.gone) return;
      this.sql.exec(
        "UPDATE draw SET phase = 'merging', cursors = ? WHERE id = 1",
        JSON.stringify(Array(config.entryShards).fill(null)),
      );
      row = this.row()!;
      this.logStep(config, "ranked", started);
    }
    if (row.phase === "merging") {
      const done = await this.mergeShards(config, started);
      if (this.gone) return;
      if (!done) {
        await this.ctx.storage.setAlarm(this.clock());
        return;
      }
      // The lookup by shopper (`resultFor`) is needed only from now on: the index is built once, over the whole
      // ranking, instead of being kept up to date row by row during the merge.
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("CREATE INDEX IF NOT EXISTS ranked_by_user ON ranked (user_id)");
        this.sql.exec("UPDATE draw SET phase = 'allocating' WHERE id = 1");
      });
      row = this.row()!;
      this.logStep(config, "merged", started);
    }
    if (row.phase === "allocating") {
      await this.awardUnits(config, false);
      if (this.gone) return;
      this.sql.exec("UPDATE draw SET phase = 'drawn', drawn_at = ? WHERE id = 1", this.clock());
      row = this.row()!;
      console.log(
        JSON.stringify({
          msg: "draw done",
          saleId: config.saleId,
          entries: row.ranked_count,
          awarded: row.awarded,
          drawMs: row.drawn_at! - (row.started_at ?? started),
        }),
      );
    }
    // Drawn: until the end, units that come back go down the waitlist.
    const now = this.clock();
    if (now >= config.endsAt) return;
    await this.awardUnits(config, true);
    if (this.gone) return;
    row = this.row()!;
    if (row.awarded < row.ranked_count)
      await this.ctx.storage.setAlarm(Math.min(this.clock() + PROMOTE_POLL_MS, config.endsAt));
  }

  /** Each shard closes and ranks its own entries, all shards at once. */
  private async rankShards(config: DrawConfig, seed: string): Promise<void> {
    await Promise.all(
      Array.from({ length: config.entryShards }, (_, i) => this.shard(i, config.saleId).rankEntries(seed)),
    );
  }

  private logStep(config: DrawConfig, step: string, started: number): void {
    console.log(JSON.stringify({ msg: `draw ${step}`, saleId: config.saleId, ms: this.clock() - started }));
  }

  /** Merges the shards' ranked pages into the global ranking, MERGE_STEP rows per transaction; true when done. */
  private async mergeShards(config: DrawConfig, started: number): Promise<boolean> {
    const row = this.row()!;
    const cursors = JSON.parse(row.cursors) as (RankedEntry | null)[];
    const merge = new RankedMerge(
      Array.from({ length: config.entryShards }, (_, i) => {
        const shard = this.shard(i, config.saleId);
        return (after: RankedEntry | null, limit: number) => shard.rankedPage(after, limit);
      }),
      cursors,
    );
    let rank = row.ranked_count;
    let previous = cursors.reduce<RankedEntry | null>(
      (max, c) => (c && (!max || compareRanked(c, max) > 0) ? c : max),
      null,
    );
    for (;;) {
      const batch = await merge.take(MERGE_STEP);
      if (this.gone) return false;
      if (batch.length === 0) return true;
      const rows = JSON.stringify(batch.map((b, i) => [rank + i + 1, b.entry.userId]));
      rank += batch.length;
      // The merge resumes exactly where it stopped: the global ranking only ever grows in rank-key order.
      if (previous && compareRanked(previous, batch[0].entry) >= 0) throw new Error("merge resumed out of order");
      previous = batch[batch.length - 1].entry;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("INSERT INTO ranked (rank, user_id) SELECT value ->> 0, value ->> 1 FROM json_each(?)", rows);
        this.sql.exec(
          "UPDATE draw SET cursors = ?, ranked_count = ? WHERE id = 1",
          JSON.stringify(merge.cursors()),
          rank,
        );
      });
      if (batch.length < MERGE_STEP) return true;
      if (this.clock() - started > RUN_BUDGET_MS) return false;
    }
  }

  /**
   * Gives the sale's free units to the next ranks, in rank order. The sale's object says how many units are
   * free (`remaining`: only the draw takes units, and only expiries and cancels give them back). Before each
   * call, `attempted_through` records which ranks it covers, so a draw that restarts after the call but before
   * recording its answer asks again for the same ranks: the SaleItem answers those with the orders it made,
   * taking no more stock, and the promotion happens exactly once.
   */
  private async awardUnits(config: DrawConfig, promotion: boolean): Promise<void> {
    const item = this.saleItem(config.saleId);
    for (let round = 0; round < 10_000; round++) {
      const row = this.row()!;
      if (row.awarded >= row.ranked_count) return;
      const sale = await item.getSale();
      if (!sale || this.gone) return;
      const through = Math.min(
        row.ranked_count,
        row.awarded + ALLOCATE_STEP,
        Math.max(row.attempted_through, row.awarded + sale.remaining),
      );
      if (through <= row.awarded) return;
      this.sql.exec("UPDATE draw SET attempted_through = max(attempted_through, ?) WHERE id = 1", through);
      const candidates = this.sql
        .exec<{ user_id: string }>(
          "SELECT user_id FROM ranked WHERE rank > ? AND rank <= ? ORDER BY rank",
          row.awarded,
          through,
        )
        .toArray()
        .map((r) => r.user_id);
      const allocated = await item.allocateDrawOrders(candidates);
      if (allocated.length === 0 || this.gone) return;
      // What comes back is a prefix of the candidates (allocateDrawOrders' promise): check it, then record it.
      allocated.forEach((a, i) => {
        if (a.userId !== candidates[i]) throw new Error("allocation is not a prefix of the ranking");
      });
      const now = this.clock();
      const winners = Math.min(config.stock, row.ranked_count);
      const pairs = JSON.stringify(allocated.map((a, i) => [row.awarded + i + 1, a.orderId, a.userId]));
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          `UPDATE ranked SET order_id = (SELECT p.value ->> 1 FROM json_each(?1) AS p WHERE p.value ->> 0 = ranked.rank)
           WHERE rank IN (SELECT value ->> 0 FROM json_each(?1))`,
          pairs,
        );
        if (promotion) {
          this.sql.exec(
            `INSERT OR IGNORE INTO promotions (rank, user_id, order_id, at)
             SELECT value ->> 0, value ->> 2, value ->> 1, ? FROM json_each(?) WHERE value ->> 0 > ?`,
            now,
            pairs,
            winners,
          );
        }
        this.sql.exec("UPDATE draw SET awarded = ? WHERE id = 1", row.awarded + allocated.length);
      });
      if (allocated.length < candidates.length) return;
    }
  }
}
