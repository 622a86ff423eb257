/**
 * DrawEntries: one shard of a draw sale's entries (docs/api.md "Draw"; docs/design.md "Draws and registration").
 * A draw sale has `entryShards` of them; a shopper's entry lives in their home shard (`homeShard` in lib/contract/draw.ts),
 * so entering spreads over the shards and no one object takes every entry of a 200,000-entry draw.
 *
 * What it promises:
 * - one entry per shopper (the user id is the primary key; entering again returns the first entry);
 * - no entry from `drawAt` on, and none once the draw has asked this shard for its ranking (`closed`, stored
 *   before any ranking is computed), whatever this object's clock says;
 * - the ranking is computed with the one seed the draw gave (a different seed is refused) over this shard's own
 *   entries (`rankEntries`), and read back sorted by rank key a page at a time (`rankedPage`);
 * - deleting the sale (the seckill Worker's `deleteSale`) first closes the shard to entries and counts them in one
 *   synchronous block (`closeForDelete`, stored), so the count the delete decides on cannot grow; `destroy` then
 *   forgets the sale and wipes the storage, and the shard is as one never configured.
 */
import { DurableObject } from "cloudflare:workers";
import { reject, type Rejection } from "../lib/contract/errors.ts";
import type { ObjectEnv } from "./env.ts";
import { compareRanked, rankKeySync, type RankedEntry } from "../lib/contract/draw.ts";
import { ObjectSchema, configText, parseConfig } from "./object-schema.ts";

export interface EntryShardConfig {
  saleId: string;
  index: number;
  startsAt: number;
  drawAt: number;
}

/** The most a page may hold. */
const PAGE_LIMIT = 5_000;

/** Created by `configure` only: a shard named by anyone else stays empty (object-schema.ts). */
const SCHEMA = new ObjectSchema(
  "shard",
  `
  CREATE TABLE IF NOT EXISTS shard (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    seed TEXT
  );
  CREATE TABLE IF NOT EXISTS entries (
    user_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS deleting (
    id INTEGER PRIMARY KEY CHECK (id = 1)
  );
`,
);

/** Present once a delete has closed a shard (shards configured before the table existed have none). */
const DELETE_TABLE = new ObjectSchema("deleting", SCHEMA.ddl);

export class DrawEntries extends DurableObject<ObjectEnv> {
  /** Overridable clock, so tests can move time. */
  clock: () => number = Date.now;

  private config: EntryShardConfig | null = null;
  private closed = false;
  private count = 0;
  /** A delete of the sale is deciding (`closeForDelete`): no entry until it reopens the shard or destroys it. */
  private deleting = false;
  /**
   * Destroyed with its sale (`destroy`): a late `configure` (a merchant's change in flight) writes nothing. Memory
   * only; a restarted object is unconfigured anyway, and nothing but the draw configures a shard.
   */
  private destroyed = false;
  /** This shard's entries in rank order, once the draw has closed it (memory only; recomputed after a restart). */
  private rankedCache: Promise<RankedEntry[]> | null = null;
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: ObjectEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      if (!SCHEMA.exists(this.sql)) return; // never configured: nothing to read, nothing written
      const row = this.sql
        .exec<{ config: string; closed: number }>("SELECT config, closed FROM shard WHERE id = 1")
        .toArray()[0];
      if (row) {
        this.config = parseConfig<EntryShardConfig>(row);
        this.closed = row.closed === 1;
      }
      this.count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM entries").one().n;
      this.deleting =
        DELETE_TABLE.exists(this.sql) && this.sql.exec("SELECT 1 FROM deleting WHERE id = 1").toArray().length > 0;
    });
  }

  /** Sets (or, before the draw, changes) the shard's sale and times. Safe to call again. */
  configure(config: EntryShardConfig): void {
    if (this.config && this.config.saleId !== config.saleId) throw new Error("shard already holds another sale");
    if (this.closed || this.destroyed) return;
    SCHEMA.create(this.sql);
    this.config = config;
    this.sql.exec(
      "INSERT INTO shard (id, config) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config",
      configText(config),
    );
  }

  /** Enters a shopper; entering again gives the same entry (`created: false`). */
  enter(userId: string): { ok: true; created: boolean; createdAt: number } | Rejection {
    const config = this.config;
    if (!config) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    if (now < config.startsAt) {
      return reject("NOT_STARTED", "Entries open when the sale starts", {
        startsAt: new Date(config.startsAt).toISOString(),
        secondsToStart: Math.ceil((config.startsAt - now) / 1000),
      });
    }
    if (this.closed || now >= config.drawAt) return reject("ENTRIES_CLOSED", "Entries closed at the draw");
    if (this.deleting) return reject("PAUSED", "The sale is being deleted: entries are paused");
    const found = this.sql
      .exec<{ created_at: number }>("SELECT created_at FROM entries WHERE user_id = ?", userId)
      .toArray()[0];
    if (found) return { ok: true, created: false, createdAt: found.created_at };
    this.sql.exec("INSERT INTO entries (user_id, created_at) VALUES (?, ?)", userId, now);
    this.count++;
    return { ok: true, created: true, createdAt: now };
  }

  /** The shopper's entry, and whether the draw has closed this shard (then the draw knows the result). */
  entryOf(userId: string): { createdAt: number; closed: boolean } | null {
    if (!this.config) return null;
    const row = this.sql
      .exec<{ created_at: number }>("SELECT created_at FROM entries WHERE user_id = ?", userId)
      .toArray()[0];
    if (!row) return null;
    const closed = this.closed || (this.config !== null && this.clock() >= this.config.drawAt);
    return { createdAt: row.created_at, closed };
  }

  entryCount(): number {
    return this.count;
  }

  /**
   * The first step of deleting the sale: no entry is taken from here on (stored, so a restart keeps the shard
   * closed), and the entries are counted in the same synchronous block, so the count cannot grow afterwards.
   * Null for a shard never configured (or destroyed already): it holds nothing.
   */
  closeForDelete(): { entries: number } | null {
    if (!this.config) return null;
    if (!this.deleting) {
      DELETE_TABLE.create(this.sql); // a shard configured before the `deleting` table existed gets it
      this.sql.exec("INSERT OR IGNORE INTO deleting (id) VALUES (1)");
      this.deleting = true;
    }
    return { entries: this.count };
  }

  /** The delete was refused (entries or orders): entries are taken again. Only a delete ever closes a shard so. */
  reopen(): void {
    if (!this.config || !this.deleting) return;
    this.sql.exec("DELETE FROM deleting WHERE id = 1");
    this.deleting = false;
  }

  /**
   * Forgets the sale (it was deleted): memory first, so a call that arrives meanwhile finds no shard and writes
   * nothing, then any alarm and every row. The object is as one never configured; destroying it again changes
   * nothing. Answers whether there was a shard to forget.
   */
  async destroy(): Promise<boolean> {
    const had = this.config !== null;
    this.destroyed = true;
    this.config = null;
    this.closed = false;
    this.deleting = false;
    this.count = 0;
    this.rankedCache = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return had;
  }

  /**
   * Closes the shard to entries (stored first, before anything else), then ranks its entries with `seed`. The
   * ranking is this shard's own entries sorted by rank key, kept in memory (a shard's entries are a bounded
   * share of the draw); an instance that restarts computes it again from the stored entries and seed — the
   * same answer, since it depends on nothing else. A different seed is refused: a shard is ranked once.
   */
  async rankEntries(seed: string): Promise<boolean> {
    if (!this.config) throw new Error("rankEntries on a shard that was never configured");
    const row = this.sql.exec<{ seed: string | null }>("SELECT seed FROM shard WHERE id = 1").toArray()[0];
    if (!row) throw new Error("rankEntries on a shard that was never configured");
    if (row.seed !== null && row.seed !== seed) throw new Error("a shard is ranked with one seed only");
    if (!this.closed || row.seed === null) {
      this.sql.exec("UPDATE shard SET closed = 1, seed = ? WHERE id = 1", seed);
      this.closed = true;
    }
    await this.ranking();
    return true;
  }

  /** Ranked entries after `after` (null: from the first), in rank order, at most `limit` (≤ 5,000). */
  async rankedPage(after: RankedEntry | null, limit: number): Promise<RankedEntry[]> {
    const ranked = await this.ranking();
    const n = Math.max(1, Math.min(limit, PAGE_LIMIT));
    let from = 0;
    if (after) {
      // The first entry ranked after `after` (binary search: the list is sorted by compareRanked).
      let lo = 0;
      let hi = ranked.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareRanked(ranked[mid], after) <= 0) lo = mid + 1;
        else hi = mid;
      }
      from = lo;
    }
    return ranked.slice(from, from + n);
  }

  private ranking(): Promise<RankedEntry[]> {
    if (this.rankedCache) return this.rankedCache;
    if (!this.config) throw new Error("the shard was never configured");
    const seed = this.sql.exec<{ seed: string | null }>("SELECT seed FROM shard WHERE id = 1").toArray()[0]?.seed;
    if (!seed || !this.closed) throw new Error("the shard is not closed for the draw yet");
    this.rankedCache = (async () => {
      const users = this.sql.exec<{ user_id: string }>("SELECT user_id FROM entries").toArray();
      const ranked: RankedEntry[] = new Array(users.length);
      // The shard is closed (stored above), so its entries cannot change while the keys are computed.
      for (let i = 0; i < users.length; i++)
        ranked[i] = { rankKey: rankKeySync(seed, users[i].user_id), userId: users[i].user_id };
      ranked.sort(compareRanked);
      return ranked;
    })();
    this.rankedCache.catch(() => (this.rankedCache = null));
    return this.rankedCache;
  }
}
