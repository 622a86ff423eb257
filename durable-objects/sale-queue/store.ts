/**
 * The queue's storage (docs/design.md "The sale queue", Q1–Q6): one `meta` row and one row per ticket.
 *
 * - Tickets are keyed by arrival (`seq`, the rowid) with a unique index on the shopper, so a join is one indexed
 *   insert and "my ticket" one indexed read.
 * - `rank` is the ticket's place in the queue's order: null before the start; the pre-start tickets get a random
 *   permutation of 1..N at the start (one transaction, with `shuffled = 1`: Q2, done once); later joins get
 *   `max_rank + 1` (Q3, arrival order).
 * - Admission takes ranks in order from the cursor `next_rank`, so every ticket with `rank ≥ next_rank` is waiting
 *   and a waiting ticket's position is `rank − next_rank + 1`: O(1), never a scan (Q4).
 * - The counters (joined, admitted, purchased, expired) live in `meta`, changed in the same statements' transaction
 *   as the tickets they count.
 *
 * An object that was never initialised has no tables: `readMeta` only reads `sqlite_master` (Q6, as SaleItem's S7).
 */
import type { TicketState } from "../../lib/contract/queue.ts";
import { ObjectSchema, configText, parseConfig } from "../object-schema.ts";

/** What the queue keeps of its sale: times in epoch milliseconds. */
export interface QueueConfig {
  saleId: string;
  startsAt: number;
  endsAt: number;
  /** How long an admitted ticket may buy (≥ 30 s). */
  admissionWindowMs: number;
  /** The most admissions per second (the sale's objects' capacity). */
  admitPerSecond: number;
}

export interface QueueMeta {
  config: QueueConfig;
  shuffled: boolean;
  /** The lowest rank not admitted yet. */
  nextRank: number;
  /** The highest rank given so far (0 before the shuffle). */
  maxRank: number;
  joined: number;
  /** Admitted, neither purchased nor expired. */
  admitted: number;
  purchased: number;
  expired: number;
  /** The stock left as last read from the sale's object. */
  remaining: number;
}

/** A stored ticket; `state` is the stored one (`sold_out` is derived, see sale-queue.ts). */
export type TicketRow = {
  seq: number;
  user_id: string;
  rank: number | null;
  state: Exclude<TicketState, "sold_out">;
  admitted_until: number | null;
};

const SCHEMA = new ObjectSchema(
  "meta",
  `
  CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL,
    shuffled INTEGER NOT NULL,
    next_rank INTEGER NOT NULL,
    max_rank INTEGER NOT NULL,
    joined INTEGER NOT NULL,
    admitted INTEGER NOT NULL,
    purchased INTEGER NOT NULL,
    expired INTEGER NOT NULL,
    remaining INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS tickets (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    rank INTEGER,
    state TEXT NOT NULL,
    admitted_at INTEGER,
    admitted_until INTEGER,
    order_id TEXT
  );
  CREATE UNIQUE INDEX IF NOT EXISTS tickets_by_user ON tickets (user_id);
  CREATE INDEX IF NOT EXISTS tickets_by_rank ON tickets (rank) WHERE rank IS NOT NULL;
  CREATE INDEX IF NOT EXISTS tickets_admitted ON tickets (admitted_until) WHERE state = 'admitted';
`,
);

/** Whether this queue was ever initialised (object-schema.ts: a read of sqlite_master only). */
export function hasSchema(sql: SqlStorage): boolean {
  return SCHEMA.exists(sql);
}

type MetaRow = {
  config: string;
  shuffled: number;
  next_rank: number;
  max_rank: number;
  joined: number;
  admitted: number;
  purchased: number;
  expired: number;
  remaining: number;
};

export function readMeta(sql: SqlStorage): QueueMeta | null {
  if (!hasSchema(sql)) return null;
  const r = sql.exec<MetaRow>("SELECT * FROM meta WHERE id = 1").toArray()[0];
  if (!r) return null;
  return {
    config: parseConfig<QueueConfig>(r),
    shuffled: r.shuffled === 1,
    nextRank: r.next_rank,
    maxRank: r.max_rank,
    joined: r.joined,
    admitted: r.admitted,
    purchased: r.purchased,
    expired: r.expired,
    remaining: r.remaining,
  };
}

/** The object's first write: schema and meta row, one transaction. */
export function createQueue(storage: DurableObjectStorage, config: QueueConfig, stock: number): QueueMeta {
  const meta: QueueMeta = {
    config,
    shuffled: false,
    nextRank: 1,
    maxRank: 0,
    joined: 0,
    admitted: 0,
    purchased: 0,
    expired: 0,
    remaining: stock,
  };
  storage.transactionSync(() => {
    SCHEMA.create(storage.sql);
    storage.sql.exec(
      "INSERT INTO meta (id, config, shuffled, next_rank, max_rank, joined, admitted, purchased, expired, remaining) VALUES (1, ?, 0, 1, 0, 0, 0, 0, 0, ?)",
      configText(config),
      stock,
    );
  });
  return meta;
}

/** Writes the meta row from memory (called inside the transaction that changed the tickets it counts). */
export function saveMeta(sql: SqlStorage, m: QueueMeta): void {
  sql.exec(
    "UPDATE meta SET config = ?, shuffled = ?, next_rank = ?, max_rank = ?, joined = ?, admitted = ?, purchased = ?, expired = ?, remaining = ? WHERE id = 1",
    configText(m.config),
    m.shuffled ? 1 : 0,
    m.nextRank,
    m.maxRank,
    m.joined,
    m.admitted,
    m.purchased,
    m.expired,
    m.remaining,
  );
}

export function ticketOf(sql: SqlStorage, userId: string): TicketRow | undefined {
  return sql
    .exec<TicketRow>("SELECT seq, user_id, rank, state, admitted_until FROM tickets WHERE user_id = ?", userId)
    .toArray()[0];
}

/** A new ticket at the end of the arrival order; `rank` null before the shuffle. */
export function insertTicket(sql: SqlStorage, userId: string, rank: number | null): TicketRow {
  const seq = sql
    .exec<{ seq: number }>(
      "INSERT INTO tickets (user_id, rank, state) VALUES (?, ?, 'waiting') RETURNING seq",
      userId,
      rank,
    )
    .one().seq;
  return { seq, user_id: userId, rank, state: "waiting", admitted_until: null };
}

/** Every pre-start ticket's arrival number, in arrival order (the shuffle's input). */
export function unrankedSeqs(sql: SqlStorage): number[] {
  return sql
    .exec<{ seq: number }>("SELECT seq FROM tickets WHERE rank IS NULL ORDER BY seq")
    .toArray()
    .map((r) => r.seq);
}

/** Gives ticket `seqs[i]` rank `first + i`: one statement for all (json_each parsed once, joined on the rowid). */
export function assignRanks(sql: SqlStorage, seqs: number[], first: number): void {
  if (seqs.length === 0) return;
  sql.exec(
    `UPDATE tickets SET rank = ? + j.key FROM json_each(?) AS j WHERE tickets.seq = j.value`,
    first,
    JSON.stringify(seqs),
  );
}

/** Admits the ranks [from, to): one range update on the rank index. Returns how many rows changed. */
export function admitRanks(sql: SqlStorage, from: number, to: number, now: number, until: number): number {
  if (to <= from) return 0;
  return sql
    .exec(
      "UPDATE tickets SET state = 'admitted', admitted_at = ?, admitted_until = ? WHERE rank >= ? AND rank < ? AND state = 'waiting' RETURNING seq",
      now,
      until,
      from,
      to,
    )
    .toArray().length;
}

/** Admitted tickets whose window has passed become `expired`; returns how many. */
export function expireAdmissions(sql: SqlStorage, now: number): number {
  return sql
    .exec("UPDATE tickets SET state = 'expired' WHERE state = 'admitted' AND admitted_until <= ? RETURNING seq", now)
    .toArray().length;
}

/** The ticket's purchase; returns the state it left (undefined if there was no such ticket). */
export function markPurchased(sql: SqlStorage, userId: string, orderId: string): TicketRow["state"] | undefined {
  const row = ticketOf(sql, userId);
  if (!row) return undefined;
  if (row.state === "admitted" || row.state === "expired") {
    sql.exec("UPDATE tickets SET state = 'purchased', order_id = ? WHERE seq = ?", orderId, row.seq);
  }
  return row.state;
}

/** Rank of a seq (for the live feed's sockets, which remember their ticket's rank once it has one). */
export function rankOfUser(sql: SqlStorage, userId: string): number | null {
  return ticketOf(sql, userId)?.rank ?? null;
}
