/**
 * DrawEntries: one shard of a draw sale's entries (docs/api.md "Draw"; docs/design.md "Draws and registration").
 * A draw sale has `entryShards` of them; a shopper's entry lives in their home shard (`homeShard` in lib/draw.ts),
 * so entering spreads over the shards and no one object takes every entry of a 200,000-entry draw.
 *
 * What it promises:
 * - one entry per shopper (the user id is the primary key; entering again returns the first entry);
 * - no entry from `drawAt` on, and none once the draw has asked this shard for its ranking (`closed`, stored
 *   before any ranking is computed), whatever this object's clock says;
 * - the ranking is computed once, with the one seed the draw gave (a different seed is refused), in bounded
 *   steps (`rankEntries`), and read back sorted by rank key a page at a time (`rankedPage`).
 */
import { DurableObject } from "cloudflare:workers";
import { reject, type Rejection } from "../lib/errors.ts";
import type { SeckillEnv } from "../lib/env.ts";
import { rankKey, type RankedEntry } from "../lib/draw.ts";

export interface EntryShardConfig {
  saleId: string;
  index: number;
  startsAt: number;
  drawAt: number;
}

/** Entries hashed per `rankEntries` call, and the most a page may hold: each call stays a bounded piece of work. */
const RANK_STEP = 5_000;
const PAGE_LIMIT = 5_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS shard (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    seed TEXT,
    ranked_through TEXT NOT NULL DEFAULT '',
    ranking_done INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS entries (
    user_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS ranked (
    rank_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (rank_key, user_id)
  ) WITHOUT ROWID;
`;

export class DrawEntries extends DurableObject<SeckillEnv> {
  /** Overridable clock, so tests can move time. */
  clock: () => number = Date.now;

  private config: EntryShardConfig | null = null;
  private closed = false;
  private count = 0;
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: SeckillEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(SCHEMA);
      const row = this.sql.exec<{ config: string; closed: number }>("SELECT config, closed FROM shard WHERE id = 1").toArray()[0];
      if (row) {
        this.config = JSON.parse(row.config) as EntryShardConfig;
        this.closed = row.closed === 1;
      }
      this.count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM entries").one().n;
    });
  }

  /** Sets (or, before the draw, changes) the shard's sale and times. Safe to call again. */
  configure(config: EntryShardConfig): void {
    if (this.config && this.config.saleId !== config.saleId) throw new Error("shard already holds another sale");
    if (this.closed) return;
    this.config = config;
    this.sql.exec(
      "INSERT INTO shard (id, config) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config",
      JSON.stringify(config),
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
    const found = this.sql.exec<{ created_at: number }>("SELECT created_at FROM entries WHERE user_id = ?", userId).toArray()[0];
    if (found) return { ok: true, created: false, createdAt: found.created_at };
    this.sql.exec("INSERT INTO entries (user_id, created_at) VALUES (?, ?)", userId, now);
    this.count++;
    return { ok: true, created: true, createdAt: now };
  }

  /** The shopper's entry, and whether the draw has closed this shard (then the draw knows the result). */
  entryOf(userId: string): { createdAt: number; closed: boolean } | null {
    const row = this.sql.exec<{ created_at: number }>("SELECT created_at FROM entries WHERE user_id = ?", userId).toArray()[0];
    if (!row) return null;
    const closed = this.closed || (this.config !== null && this.clock() >= this.config.drawAt);
    return { createdAt: row.created_at, closed };
  }

  entryCount(): number {
    return this.count;
  }

  /**
   * Closes the shard to entries (stored first), then hashes up to RANK_STEP more entries with `seed`; true once
   * every entry is ranked. The draw calls it until it says true; calling it after that changes nothing.
   */
  async rankEntries(seed: string): Promise<boolean> {
    const row = this.sql
      .exec<{ seed: string | null; ranked_through: string; ranking_done: number }>(
        "SELECT seed, ranked_through, ranking_done FROM shard WHERE id = 1",
      )
      .toArray()[0];
    if (!row) throw new Error("rankEntries on a shard that was never configured");
    if (row.seed !== null && row.seed !== seed) throw new Error("a shard is ranked with one seed only");
    if (!this.closed || row.seed === null) {
      this.sql.exec("UPDATE shard SET closed = 1, seed = ? WHERE id = 1", seed);
      this.closed = true;
    }
    if (row.ranking_done === 1) return true;
    const users = this.sql
      .exec<{ user_id: string }>(
        "SELECT user_id FROM entries WHERE user_id > ? ORDER BY user_id LIMIT ?",
        row.ranked_through,
        RANK_STEP,
      )
      .toArray();
    const done = users.length < RANK_STEP;
    // The shard is closed (stored above), so its entries cannot change while the keys are computed.
    const keys = await Promise.all(users.map((u) => rankKey(seed, u.user_id)));
    const ranked = JSON.stringify(users.map((u, i) => [keys[i], u.user_id]));
    this.ctx.storage.transactionSync(() => {
      if (users.length > 0) {
        this.sql.exec(
          "INSERT OR IGNORE INTO ranked (rank_key, user_id) SELECT value ->> 0, value ->> 1 FROM json_each(?)",
          ranked,
        );
      }
      this.sql.exec(
        "UPDATE shard SET ranked_through = ?, ranking_done = ? WHERE id = 1",
        users.length > 0 ? users[users.length - 1].user_id : row.ranked_through,
        done ? 1 : 0,
      );
    });
    return done;
  }

  /** Ranked entries after `after` (null: from the first), in rank order, at most `limit` (≤ 5,000). */
  rankedPage(after: RankedEntry | null, limit: number): RankedEntry[] {
    const n = Math.max(1, Math.min(limit, PAGE_LIMIT));
    const rows = after
      ? this.sql.exec<{ rank_key: string; user_id: string }>(
          "SELECT rank_key, user_id FROM ranked WHERE (rank_key, user_id) > (?, ?) ORDER BY rank_key, user_id LIMIT ?",
          after.rankKey,
          after.userId,
          n,
        )
      : this.sql.exec<{ rank_key: string; user_id: string }>(
          "SELECT rank_key, user_id FROM ranked ORDER BY rank_key, user_id LIMIT ?",
          n,
        );
    return rows.toArray().map((r) => ({ rankKey: r.rank_key, userId: r.user_id }));
  }
}
