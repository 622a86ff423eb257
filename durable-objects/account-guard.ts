/**
 * AccountGuard: the state about shoppers that must hold across every gateway isolate, in three kinds of
 * instance of one class (named by the gateway through the seckill Worker, see workers/seckill/index.ts):
 *
 * - `sessions` (one instance): the revocation feed. A logout revokes one session id, "sign out everywhere" moves
 *   a shopper's not-before time; both are rows with a sequence number and an expiry. Gateways pull the rows after
 *   the last sequence number they saw every few seconds (`sessionChanges`) and check cookies against their copy
 *   in memory: no call on the hot path, and a revoked cookie works nowhere after ~10 s (docs/design.md
 *   "Hardening"). A row expires when no cookie it could refuse is still valid (the session's idle timeout), so
 *   the feed holds at most one row per logout in the last idle window.
 * - `login:<client>` (one per client: its address, or `device:<id>` for a known device, workers/gateway/device.ts):
 *   failed sign-ins per (username, this client) and per client,
 *   sliding windows in memory only (no storage: a flood of addresses writes nothing). The owner's own device is
 *   another client, so nobody else's failures slow the owner down.
 * - `holds:<shard>` (`HOLD_SHARDS` of them, a shopper's shard from a hash of the id): shoppers' unpaid held orders
 *   across the shop, for the cap on holds. `acquireHold` counts and reserves in memory (no write: the purchase's
 *   hot path pays one RPC); `settleHold` records the order and its payment deadline (a write, off the purchase's
 *   critical path); a hold ends when the order is paid, cancelled or its deadline passes. Sharded, not one object
 *   per shopper: a crowd of new shoppers would otherwise start one object each.
 *
 * Each instance touches storage only in its own role, so `login:` instances and a `holds:` shard where no hold was
 * ever settled create no storage.
 */
import { DurableObject } from "cloudflare:workers";
import type { ObjectEnv } from "./env.ts";
export { HOLD_SHARDS, holdShard } from "../lib/server/hold-shards.ts";

/** One change in the session feed: a revoked session id, or a shopper's "signed out everywhere" time. */
export type SessionChange =
  | { seq: number; kind: "sid"; key: string; at: number; expiresAt: number }
  | { seq: number; kind: "user"; key: string; at: number; expiresAt: number };

/** Rows per `sessionChanges` page; a gateway that is further behind asks again. */
export const SESSION_PAGE = 2_000;

/** How long an acquired hold waits for its order before it no longer counts (the purchase failed silently). */
const PENDING_HOLD_MS = 30_000;
/** Keys per login-throttle instance; the oldest window is dropped at the bound. */
const MAX_LOGIN_KEYS = 10_000;

export interface LoginLimits {
  /** Failed sign-ins per (username, client) per window. */
  perUsername: number;
  /** Failed sign-ins per client (all usernames) per window. */
  perClient: number;
  windowMs: number;
}

interface Window {
  start: number;
  current: number;
  previous: number;
}

export interface HoldGrant {
  ok: boolean;
  /** Unpaid holds the shopper has now (including this one when granted). */
  held: number;
  /** The grant's token, to settle or release it. */
  token?: string;
}

export class AccountGuard extends DurableObject<ObjectEnv> {
  /** Overridable clock, for tests. */
  clock: () => number = Date.now;

  private readonly sql: SqlStorage;
  private role: "sessions" | "holds" | null = null;

  // login: instances
  private readonly windows = new Map<string, Window>();

  // holds: instances — user → (order id → payment deadline); user → (pending token → until)
  private holds: Map<string, Map<string, number>> | null = null;
  private readonly pending = new Map<string, Map<string, number>>();

  constructor(ctx: DurableObjectState, env: ObjectEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  // ---------------------------------------------------------------- sessions

  private sessionsTable(): void {
    if (this.role === "sessions") return;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS session_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS session_changes_by_expiry ON session_changes (expires_at);
    `);
    this.role = "sessions";
  }

  private appendSessionChange(kind: "sid" | "user", key: string, at: number, expiresAt: number): number {
    this.sessionsTable();
    const now = this.clock();
    // Rows no cookie can need any more go first (each write removes what has expired: the table stays bounded).
    this.sql.exec("DELETE FROM session_changes WHERE expires_at < ?", now);
    return this.sql
      .exec<{ seq: number }>(
        "INSERT INTO session_changes (kind, key, at, expires_at) VALUES (?, ?, ?, ?) RETURNING seq",
        kind,
        key,
        at,
        expiresAt,
      )
      .one().seq;
  }

  /** Revokes one session id until `expiresAt` (when every cookie of it has expired anyway). */
  revokeSession(sid: string, expiresAt: number): number {
    return this.appendSessionChange("sid", sid, this.clock(), expiresAt);
  }

  /** Every session of `userId` started before now is refused from now on ("sign out everywhere"). */
  revokeAllSessions(userId: string, expiresAt: number): { seq: number; at: number } {
    const at = this.clock();
    return { seq: this.appendSessionChange("user", userId, at, expiresAt), at };
  }

  /** The changes after `after` that have not expired, oldest first, at most `SESSION_PAGE`. */
  sessionChanges(after: number): { changes: SessionChange[]; last: number; more: boolean } {
    this.sessionsTable();
    const rows = this.sql
      .exec<{ seq: number; kind: "sid" | "user"; key: string; at: number; expires_at: number }>(
        "SELECT seq, kind, key, at, expires_at FROM session_changes WHERE seq > ? AND expires_at >= ? ORDER BY seq LIMIT ?",
        after,
        this.clock(),
        SESSION_PAGE,
      )
      .toArray();
    const changes = rows.map((r) => ({ seq: r.seq, kind: r.kind, key: r.key, at: r.at, expiresAt: r.expires_at }));
    // With nothing new, the cursor is the newest sequence number (so a fresh gateway skips expired history).
    const last = changes.length
      ? changes[changes.length - 1].seq
      : Math.max(after, this.sql.exec<{ n: number | null }>("SELECT max(seq) AS n FROM session_changes").one().n ?? 0);
    return { changes, last, more: rows.length === SESSION_PAGE };
  }

  // ---------------------------------------------------------------- sign-in throttle (memory only)

  private window(key: string, windowMs: number): { w: Window; now: number } {
    const now = this.clock();
    const start = now - (now % windowMs);
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= MAX_LOGIN_KEYS) this.windows.delete(this.windows.keys().next().value!);
      w = { start, current: 0, previous: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.previous = start - w.start === windowMs ? w.current : 0;
      w.current = 0;
      w.start = start;
    }
    return { w, now };
  }

  /** The two-window sliding count: failures in the last `windowMs`. */
  private failures(key: string, windowMs: number): number {
    const { w, now } = this.window(key, windowMs);
    return w.current + w.previous * (1 - (now - w.start) / windowMs);
  }

  /**
   * Seconds the client must wait before trying `username` again (0: go ahead). Checked before the password, so a
   * slowed-down client learns nothing about it.
   */
  loginRetryAfter(username: string, limits: LoginLimits): number {
    const limited =
      this.failures(`u:${username}`, limits.windowMs) >= limits.perUsername ||
      this.failures("client", limits.windowMs) >= limits.perClient;
    return limited ? Math.ceil(limits.windowMs / 1000) : 0;
  }

  /** Records the outcome of a sign-in from this client: a success clears the username's failures here. */
  loginResult(username: string, ok: boolean, limits: LoginLimits): void {
    if (ok) {
      this.windows.delete(`u:${username}`);
      return;
    }
    this.window(`u:${username}`, limits.windowMs).w.current++;
    this.window("client", limits.windowMs).w.current++;
  }

  // ---------------------------------------------------------------- unpaid holds (`holds:<shard>`)

  /** Loads the shard's holds once (the table exists only once a hold was settled: reading must not create it). */
  private loadHolds(): Map<string, Map<string, number>> {
    if (this.holds) return this.holds;
    this.role = "holds";
    this.holds = new Map();
    const exists = this.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'holds'")
      .one().n;
    if (exists) {
      this.sql.exec("DELETE FROM holds WHERE expires_at <= ?", this.clock());
      for (const r of this.sql.exec<{ user_id: string; order_id: string; expires_at: number }>(
        "SELECT user_id, order_id, expires_at FROM holds",
      )) {
        this.userHolds(r.user_id).set(r.order_id, r.expires_at);
      }
    }
    return this.holds;
  }

  private userHolds(userId: string): Map<string, number> {
    const all = this.holds!;
    let mine = all.get(userId);
    if (!mine) {
      mine = new Map();
      all.set(userId, mine);
    }
    return mine;
  }

  /** The shopper's unpaid holds and pending grants now; what has expired is dropped on the way. */
  private activeHolds(userId: string, now: number): { held: Map<string, number>; pending: Map<string, number> } {
    this.loadHolds();
    const held = this.userHolds(userId);
    for (const [id, until] of held) if (until <= now) held.delete(id);
    let pending = this.pending.get(userId);
    if (!pending) {
      pending = new Map();
      this.pending.set(userId, pending);
    }
    for (const [token, until] of pending) if (until <= now) pending.delete(token);
    return { held, pending };
  }

  /** Drops shoppers with nothing held or pending, so memory follows the active holds (bounded: the next call). */
  private forgetIdle(userId: string): void {
    if (this.holds?.get(userId)?.size === 0) this.holds.delete(userId);
    if (this.pending.get(userId)?.size === 0) this.pending.delete(userId);
  }

  /**
   * Counts the shopper's unpaid holds and, under `cap`, reserves one more (pending until `settleHold` or
   * `releaseHold`, or `PENDING_HOLD_MS`). Synchronous and in memory: two purchases by one shopper at once cannot
   * both take the last slot, and a purchase pays one RPC and no write here.
   */
  acquireHold(userId: string, cap: number, saleIdHex: string): HoldGrant {
    const now = this.clock();
    const { held, pending } = this.activeHolds(userId, now);
    const count = held.size + pending.size;
    // The shopper already holds an order in this sale (one order per shopper per sale): the purchase can only be
    // the replay of that order or an ALREADY_PURCHASED, never a new hold — the sale's object answers it.
    for (const orderId of held.keys()) if (orderId.startsWith(saleIdHex)) return { ok: true, held: count };
    if (count >= cap) {
      this.forgetIdle(userId);
      return { ok: false, held: count };
    }
    const token = crypto.randomUUID();
    pending.set(token, now + PENDING_HOLD_MS);
    return { ok: true, held: count + 1, token };
  }

  /** The purchase made an order: its hold lasts until it is paid, cancelled, or `expiresAt` passes. */
  settleHold(userId: string, token: string, orderId: string, expiresAt: number): void {
    const now = this.clock();
    const { held, pending } = this.activeHolds(userId, now);
    pending.delete(token);
    if (expiresAt > now) {
      held.set(orderId, expiresAt);
      this.sql.exec(
        "CREATE TABLE IF NOT EXISTS holds (user_id TEXT NOT NULL, order_id TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (user_id, order_id)) WITHOUT ROWID",
      );
      this.sql.exec(
        "INSERT OR REPLACE INTO holds (user_id, order_id, expires_at) VALUES (?, ?, ?)",
        userId,
        orderId,
        expiresAt,
      );
    }
    this.forgetIdle(userId);
  }

  /** The purchase made no order (refused, replayed, failed): the pending grant is given back. */
  releaseHold(userId: string, token: string): void {
    this.pending.get(userId)?.delete(token);
    this.forgetIdle(userId);
  }

  /** The order was paid or cancelled: it no longer holds stock unpaid. */
  endHold(userId: string, orderId: string): void {
    this.loadHolds();
    if (this.holds!.get(userId)?.delete(orderId))
      this.sql.exec("DELETE FROM holds WHERE user_id = ? AND order_id = ?", userId, orderId);
    this.forgetIdle(userId);
  }

  /** For tests: the shopper's unpaid holds (and pending grants) now. */
  holdCount(userId: string): number {
    const { held, pending } = this.activeHolds(userId, this.clock());
    const n = held.size + pending.size;
    this.forgetIdle(userId);
    return n;
  }
}
