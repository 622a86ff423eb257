/**
 * The outbox and the alarm. Every version of every order that PostgreSQL must learn has an outbox row (written
 * in the same transaction as the order change); the alarm sends due rows to the ORDERS queue, and a row stays
 * until the consumer confirms that version (S5: no outbox row without its order). Unconfirmed rows are sent
 * again on a timer, because local queues forget messages in flight on a restart.
 */
import type { OrderMessage } from "../../lib/contract/schemas.ts";
import { toOrder, type OrderRow } from "./orders.ts";

const SEND_CHUNK = 100; // Queues' sendBatch takes at most 100 messages
/** Outbox rows per alarm run (short runs keep purchases flowing); the next run follows at once. */
export const DRAIN_LIMIT = 200;
const RESEND_AFTER_MS = 5_000; // an unconfirmed message is sent again after this, doubling up to the cap
const RESEND_CAP_MS = 30_000;
/**
 * The outbox is drained at most this long after a commit, in one alarm run for everything committed meanwhile,
 * instead of one alarm run per group commit (each with its own `setAlarm` write and fsync, its queries and a
 * `sendBatch`): at most 20 runs a second under a crowd, each `sendBatch` carrying up to 50 ms of purchases.
 * 50 ms is small next to the time an order takes to reach PostgreSQL.
 */
export const DRAIN_DELAY_MS = 50;

/**
 * Sends due outbox rows to the ORDERS queue, 100 per `sendBatch`. A row is only marked as sent (and due
 * again later, until confirmed) after its batch was accepted; a refused batch is retried with backoff.
 * A purchase never waits for this: it runs in the alarm, after the purchase has been answered. Returns how
 * many rows it sent or tried to send (at most `limit`: a shard's pacing, `OutboxPacer`).
 */
export async function drainOutbox(
  sql: SqlStorage,
  queue: Queue,
  saleId: string,
  now: number,
  clock: () => number,
  limit = DRAIN_LIMIT,
): Promise<number> {
  if (limit < 1) return 0;
  const due = sql
    .exec<OrderRow & { outbox_version: number; attempts: number }>(
      `SELECT o.*, b.version AS outbox_version, b.attempts AS attempts
       FROM outbox b JOIN orders o ON o.id = b.order_id
       WHERE b.next_send_at <= ? ORDER BY b.next_send_at LIMIT ?`,
      now,
      Math.min(limit, DRAIN_LIMIT),
    )
    .toArray();
  for (let i = 0; i < due.length; i += SEND_CHUNK) {
    const chunk = due.slice(i, i + SEND_CHUNK);
    const messages = chunk.map((row) => ({
      body: {
        kind: "order",
        order: toOrder(row, saleId, row.version),
        version: row.version,
        traceId: row.trace_id ?? undefined,
      } satisfies OrderMessage,
      contentType: "json" as const,
    }));
    let sent = true;
    try {
      await queue.sendBatch(messages);
    } catch (err) {
      sent = false;
      console.warn(JSON.stringify({ msg: "outbox send failed", saleId, error: String(err) }));
    }
    // One statement for the chunk. Only the version that was sent is rescheduled; a newer version written
    // meanwhile stays due now. Sent: due again (unless confirmed) after 5 s, doubling up to the cap;
    // refused: retried after 1 s, doubling up to the cap.
    sql.exec(
      `UPDATE outbox SET next_send_at = ? + min(? * (1 << min(attempts, 20)), ?), attempts = attempts + 1
       WHERE order_id IN (SELECT o.order_id FROM json_each(?) AS s
         JOIN outbox AS o ON o.order_id = s.value ->> 0 AND o.version = s.value ->> 1)`,
      clock(),
      sent ? RESEND_AFTER_MS : 1000,
      RESEND_CAP_MS,
      JSON.stringify(chunk.map((row) => [row.id, row.outbox_version])),
    );
  }
  return due.length;
}

/**
 * The consumer has written these versions to PostgreSQL. Their outbox rows go (a newer version of the
 * same order stays), and a held order now shows as `confirmed`. Two statements for the whole batch (the pairs
 * travel as one JSON parameter), both looking rows up by primary key, never scanning the tables.
 */
export function confirmPersisted(storage: DurableObjectStorage, items: { orderId: string; version: number }[]): void {
  const pairs = JSON.stringify(items.map((i) => [i.orderId, i.version]));
  storage.transactionSync(() => {
    storage.sql.exec(
      `UPDATE orders SET persisted_version = max(persisted_version,
         (SELECT max(c.value ->> 1) FROM json_each(?1) AS c WHERE c.value ->> 0 = orders.id))
       WHERE id IN (SELECT value ->> 0 FROM json_each(?1))`,
      pairs,
    );
    storage.sql.exec(
      `DELETE FROM outbox WHERE order_id IN (SELECT o.order_id FROM json_each(?) AS c
         JOIN outbox AS o ON o.order_id = c.value ->> 0 AND o.version <= c.value ->> 1)`,
      pairs,
    );
  });
}

/**
 * PostgreSQL refused these versions (a conflict on unique (sale_id, user_id)): their outbox rows go, so they are
 * not re-sent every 30 s; the order stays `reserved` here and the failed_orders row is the record to act on
 * (a replay puts it back in the outbox).
 */
export function dropRefused(sql: SqlStorage, items: { orderId: string; version: number }[]): void {
  sql.exec(
    `DELETE FROM outbox WHERE order_id IN (SELECT o.order_id FROM json_each(?) AS c
       JOIN outbox AS o ON o.order_id = c.value ->> 0 AND o.version <= c.value ->> 1)`,
    JSON.stringify(items.map((i) => [i.orderId, i.version])),
  );
}

/** Puts stored orders back in the outbox (reconcile, replay); unknown ids are skipped. Returns how many. */
export function requeue(sql: SqlStorage, orderIds: string[], now: number): number {
  let queued = 0;
  for (const id of orderIds) {
    const row = sql.exec<{ version: number }>("SELECT version FROM orders WHERE id = ?", id).toArray()[0];
    if (!row) continue;
    sql.exec(
      `INSERT INTO outbox (order_id, version, next_send_at, attempts) VALUES (?, ?, ?, 0)
       ON CONFLICT (order_id) DO UPDATE SET next_send_at = excluded.next_send_at, attempts = 0`,
      id,
      row.version,
      now,
    );
    queued++;
  }
  return queued;
}

export function outboxDepth(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
}

/** S5 from storage: outbox rows whose order is not stored. Always 0. */
export function orphanOutboxRows(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE order_id NOT IN (SELECT id FROM orders)").one()
    .n;
}

/** When the alarm is next needed: the earliest due outbox row, held order expiry, or counter flush. */
export function nextWakeAt(sql: SqlStorage, now: number, countersDueAt: number | null): number | null {
  const outbox = sql.exec<{ t: number | null }>("SELECT min(next_send_at) AS t FROM outbox").one().t;
  const expiry = sql
    .exec<{ t: number | null }>("SELECT min(expires_at) AS t FROM orders WHERE status = 'held'")
    .one().t;
  let next: number | null = null;
  for (const t of [outbox, expiry, countersDueAt]) {
    if (t !== null && (next === null || t < next)) next = t;
  }
  return next === null ? null : Math.max(next, now);
}

/**
 * An alarm this far past its time was lost, not merely late: the runtime retries a failed run after 2 s, 4 s, … and
 * otherwise runs an alarm within milliseconds of its time.
 */
export const LOST_ALARM_MS = 10_000;

/**
 * The object's one alarm, as far as this instance knows. `setAlarm` is a storage write, skipped when an alarm at
 * or before the requested time is pending. Two rules keep that memo honest, so every outbox row is sent
 * (docs/design.md, S5):
 * - During an alarm run nothing is set for the time that run fired at, or earlier (`running`): setting a stored
 *   alarm to the value it already holds writes nothing, so the runtime never hears of it, treats the run as the
 *   end of that alarm and forgets it, while storage and this memo still say "pending". The first expiry of a sale
 *   did exactly that (`changeStatus` arms for `now`, which is the expiry the alarm was set for), and the sale's
 *   outbox was never drained again: pays, cancels, expiries and new orders never reached PostgreSQL.
 * - A pending alarm long past its time (`LOST_ALARM_MS`) does not count: it is set again.
 */
export class AlarmSchedule {
  at: number | null = null;
  /** While the alarm handler runs: the earliest time it may set (after the time it fired at). */
  private floor: number | null = null;
  constructor(
    private readonly storage: () => DurableObjectStorage,
    private readonly clock: () => number,
  ) {}

  /** The alarm handler starts at `now` (at or after the time it fired at): the alarm it ran is spent. */
  running(now: number): void {
    this.at = null;
    this.floor = now + 1;
  }

  /** The alarm handler has returned or thrown. */
  ran(): void {
    this.floor = null;
  }

  /** Sets the alarm if nothing earlier is pending. */
  arm(requested: number | null): void {
    if (requested === null) return;
    const at = this.floor === null ? requested : Math.max(requested, this.floor);
    if (this.at !== null && this.at <= at && this.at > this.clock() - LOST_ALARM_MS) return;
    this.at = at;
    void this.storage().setAlarm(at);
  }
}

/**
 * A shard's outbox pacing (docs/design.md "Hot sales: orders to the queue"): the K shards of a sale share one
 * ORDERS queue, so each sends at most `perSecond` = `outboxMessagesPerSecond(K)` messages a second (90 % of the
 * queue's 5,000 msg/s over K). The budget is earned with time and capped at one drain window's worth (`runCap`),
 * so in any second a shard sends at most `perSecond + runCap`, and K shards stay under 5,000 msg/s. A sale of one
 * shard is not paced.
 */
export class OutboxPacer {
  /** What one drain window earns: the most a run may send at once. */
  readonly runCap: number;
  private lastAt = -Infinity;
  private carried = 0;

  constructor(readonly perSecond: number) {
    this.runCap = Math.max(1, Math.min(DRAIN_LIMIT, Math.ceil((perSecond * DRAIN_DELAY_MS) / 1000)));
  }

  /** How many rows a run may send now: the budget earned since the last run, at most `runCap`. */
  budget(now: number): number {
    return Math.floor(this.earned(now));
  }

  /** The run sent `sent` rows at `now` (never more than `budget(now)`). */
  spent(now: number, sent: number): void {
    this.carried = Math.max(0, this.earned(now) - sent);
    this.lastAt = now;
  }

  /** When the next run may send again, after one that used its whole budget. */
  nextAt(now: number): number {
    return now + Math.max(DRAIN_DELAY_MS, Math.ceil(1000 / this.perSecond));
  }

  private earned(now: number): number {
    return Math.min(this.runCap, this.carried + (Math.max(0, now - this.lastAt) * this.perSecond) / 1000);
  }
}
