/**
 * The order consumer: ORDERS queue → PostgreSQL (through Hyperdrive) → confirmation back to each sale's
 * object. Also the dead-letter consumer, which makes one last attempt and otherwise records the message and
 * its error in failed_orders for a merchant to replay.
 *
 * A message is acked only after its state is committed in PostgreSQL. A failure retries it with an
 * exponential delay; after max_retries the queue moves it to the dead-letter queue. Whatever happens here,
 * the object's outbox keeps the order until it is confirmed and sends it again, so an outage of any length
 * ends with every order in PostgreSQL and no manual step.
 */
import { and, eq, isNull } from "drizzle-orm";
import { failedOrders } from "../db/schema.ts";
import { describeDatabaseError, isStatementError, withDatabase, type Database } from "../lib/server/db.ts";
import { chaosOf } from "../lib/server/chaos.ts";
import type { ConsumerEnv } from "./env.ts";
import type { OrderMessage } from "../lib/contract/schemas.ts";
import {
  BATCH_TIMEOUT_MS,
  DEAD_LETTER_QUEUE_SUFFIX,
  confirmationsBySale,
  persistOrderStates,
  retryDelaySeconds,
  type OrderConflict,
} from "./persist.ts";

function log(fields: Record<string, unknown>) {
  console.log(JSON.stringify({ worker: "consumer", ...fields }));
}

function isOrderMessage(body: unknown): body is OrderMessage {
  const m = body as OrderMessage;
  return typeof m === "object" && m !== null && m.kind === "order" && typeof m.order?.id === "string";
}

async function confirmToObjects(env: ConsumerEnv, messages: OrderMessage[]) {
  await Promise.all(
    [...confirmationsBySale(messages)].map(([saleId, items]) =>
      env.SECKILL.confirmPersisted(saleId, items).catch((err: unknown) =>
        // The row is in PostgreSQL; the outbox will send it again and the confirmation will follow.
        log({ msg: "confirm failed", saleId, error: String(err) }),
      ),
    ),
  );
}

/** The reason recorded in failed_orders for an order PostgreSQL's second guard refused. */
export function conflictReason(c: OrderConflict): string {
  return `CONFLICT unique (sale_id, user_id): shopper ${c.message.order.userId} already has order ${c.existingOrderId} for sale ${c.message.order.saleId}; order ${c.message.order.id} was not written`;
}

/**
 * An order that collides on unique (sale_id, user_id) is never confirmed: it is dead-lettered with the reason
 * (one open failed_orders row per order, however often the outbox re-sends it), logged as an error, and
 * counted in the sale's object (`minishop_order_conflicts_total`, alert rule in ops/alerts.yml), which also
 * stops re-sending that version. The second guard firing means the first one (the object) failed.
 */
async function deadLetterConflicts(db: Database, env: ConsumerEnv, conflicts: OrderConflict[], attempts: number) {
  for (const c of conflicts) {
    const { order } = c.message;
    const open = await db
      .select({ id: failedOrders.id })
      .from(failedOrders)
      .where(and(eq(failedOrders.orderId, order.id), isNull(failedOrders.replayedAt)))
      .limit(1);
    if (open.length === 0) {
      await db
        .insert(failedOrders)
        .values({ orderId: order.id, saleId: order.saleId, payload: c.message, error: conflictReason(c), attempts });
    }
    console.error(
      JSON.stringify({
        worker: "consumer",
        msg: "order conflict",
        orderId: order.id,
        saleId: order.saleId,
        userId: order.userId,
        existingOrderId: c.existingOrderId,
        traceId: c.message.traceId,
      }),
    );
  }
  const bySale = new Map<string, { orderId: string; version: number }[]>();
  for (const c of conflicts) {
    const list = bySale.get(c.message.order.saleId) ?? [];
    list.push({ orderId: c.message.order.id, version: c.message.version });
    bySale.set(c.message.order.saleId, list);
  }
  await Promise.all(
    [...bySale].map(([saleId, items]) =>
      env.SECKILL.reportOrderConflicts(saleId, items).catch((err: unknown) =>
        log({ msg: "conflict report failed", saleId, error: String(err) }),
      ),
    ),
  );
}

/** Metrics: the batch's time, to each sale it carried (a batch may mix sales). Failures only cost a data point. */
function recordBatchLatency(env: ConsumerEnv, messages: OrderMessage[], ms: number) {
  const saleIds = new Set(messages.map((m) => m.order.saleId));
  return Promise.allSettled([...saleIds].map((id) => env.SECKILL.recordObservations(id, { consumerBatchMs: ms })));
}

async function consumeOrders(batch: MessageBatch<unknown>, env: ConsumerEnv, ctx: ExecutionContext) {
  const started = Date.now();
  const valid = batch.messages.filter((m) => {
    if (isOrderMessage(m.body)) return true;
    log({ msg: "dropping malformed message", id: m.id });
    m.ack();
    return false;
  }) as Message<OrderMessage>[];
  if (valid.length === 0) return;
  const chaos = chaosOf(env);
  if (chaos && Math.random() < chaos.consumerFailRate) {
    // `npm run chaos` (lib/server/chaos.ts): this batch fails before anything is written; all of it comes back.
    log({ msg: "chaos: batch fails", size: valid.length });
    for (const m of valid) m.retry({ delaySeconds: retryDelaySeconds(m.attempts) });
    return;
  }

  let timedOut = false;
  await withDatabase(
    env.HYPERDRIVE,
    async (db, sql) => {
      const committed: Message<OrderMessage>[] = [];
      const conflicts: OrderConflict[] = [];
      try {
        conflicts.push(
          ...(await persistOrderStates(
            sql,
            valid.map((m) => m.body),
          )),
        );
        committed.push(...valid);
      } catch (batchError) {
        // A lost connection is not the messages' fault: let the outer handler send them all back.
        if (!isStatementError(batchError)) throw batchError;
        // One bad message must not hold back the rest: try each alone, retry only those that fail.
        log({
          msg: "batch insert failed, retrying one by one",
          size: valid.length,
          error: describeDatabaseError(batchError),
        });
        for (const m of valid) {
          try {
            conflicts.push(...(await persistOrderStates(sql, [m.body])));
            committed.push(m);
          } catch (err) {
            log({
              msg: "order insert failed",
              orderId: m.body.order.id,
              attempts: m.attempts,
              error: describeDatabaseError(err),
              traceId: m.body.traceId,
            });
            m.retry({ delaySeconds: retryDelaySeconds(m.attempts) });
          }
        }
      }
      // Given up on already (the batch timed out and went back to the queue): the redelivery acks it.
      if (timedOut) return;
      // A conflicting order is acked (retrying cannot change the answer) but never confirmed.
      const conflicting = new Set(conflicts.map((c) => c.message.order.id));
      if (conflicts.length > 0)
        await deadLetterConflicts(db, env, conflicts, Math.max(...valid.map((m) => m.attempts)));
      await confirmToObjects(
        env,
        committed.map((m) => m.body).filter((b) => !conflicting.has(b.order.id)),
      );
      for (const m of committed) m.ack();
      if (committed.length > 0)
        ctx.waitUntil(
          recordBatchLatency(
            env,
            committed.map((m) => m.body),
            Date.now() - started,
          ),
        );
      log({
        msg: "batch",
        queue: batch.queue,
        size: valid.length,
        committed: committed.length,
        ms: Date.now() - started,
      });
    },
    { timeoutMs: BATCH_TIMEOUT_MS, what: "order batch" },
  ).catch((err: unknown) => {
    // No connection at all, or no answer in time: PostgreSQL is down or hung. Everything goes back with a delay
    // (the writes are idempotent, so a batch that commits after all is harmless when it comes again).
    timedOut = true;
    log({ msg: "database unavailable", size: valid.length, error: describeDatabaseError(err) });
    for (const m of valid) m.retry({ delaySeconds: retryDelaySeconds(m.attempts) });
  });
}

async function consumeDeadLetters(batch: MessageBatch<unknown>, env: ConsumerEnv, _ctx: ExecutionContext) {
  await withDatabase(
    env.HYPERDRIVE,
    async (db, sql) => {
      for (const m of batch.messages) {
        if (!isOrderMessage(m.body)) {
          m.ack();
          continue;
        }
        const body = m.body;
        try {
          // One last attempt: the failure that sent it here may be gone.
          const conflicts = await persistOrderStates(sql, [body]);
          if (conflicts.length > 0) await deadLetterConflicts(db, env, conflicts, m.attempts);
          else await confirmToObjects(env, [body]);
        } catch (err) {
          await db.insert(failedOrders).values({
            orderId: body.order.id,
            saleId: body.order.saleId,
            payload: body,
            error: describeDatabaseError(err).slice(0, 2000),
            attempts: m.attempts,
          });
          log({
            msg: "order dead-lettered",
            orderId: body.order.id,
            error: describeDatabaseError(err),
            traceId: body.traceId,
          });
        }
        m.ack();
      }
    },
    { timeoutMs: BATCH_TIMEOUT_MS, what: "dead-letter batch" },
  ).catch((err: unknown) => {
    log({ msg: "dead-letter consumer: database unavailable", error: describeDatabaseError(err) });
    for (const m of batch.messages) m.retry({ delaySeconds: retryDelaySeconds(m.attempts) });
  });
}

export default {
  async queue(batch, env, ctx) {
    if (batch.queue.endsWith(DEAD_LETTER_QUEUE_SUFFIX)) await consumeDeadLetters(batch, env, ctx);
    else await consumeOrders(batch, env, ctx);
  },
} satisfies ExportedHandler<ConsumerEnv, unknown>;
