/**
 * The bench's correctness checks, pure so they are unit-tested (test/node/bench-checks.test.ts): every 202 matched
 * BY ORDER ID to its row in PostgreSQL (or, for the Redis baseline, in its Redis list), and a crowd's answers
 * folded into sold / oversold / duplicates / lost.
 */
import type { CrowdAttempt } from "./http.ts";
import type { AcceptedOrder } from "./wrk.ts";
import { count, type Tally } from "./tally.ts";

export interface OrderRow {
  id: string;
  user_id: string;
}

export interface OrderMatch {
  /** 202 answers seen. */
  accepted: number;
  /** Distinct order ids among them (a replayed 202 repeats its order's id). */
  orders: number;
  /** Orders whose id has a row, for the same shopper. */
  matched: number;
  /** Orders answered 202 with no row of that id: lost. */
  lost: number;
  /** Orders whose row belongs to another shopper than the 202 said. */
  wrongShopper: number;
  /** Rows with no 202 seen: requests still in flight when a closed-loop chunk ended (wrk drops their answers). */
  rowsWithoutAnswer: number;
  /** Shoppers with more than one order (in the answers or in the rows). */
  duplicates: number;
}

export function matchOrders(accepted: AcceptedOrder[], rows: OrderRow[]): OrderMatch {
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const byId = new Map<string, AcceptedOrder>();
  for (const a of accepted) if (!byId.has(a.orderId)) byId.set(a.orderId, a);
  let matched = 0;
  let lost = 0;
  let wrongShopper = 0;
  for (const [id, a] of byId) {
    const row = rowById.get(id);
    if (!row) lost++;
    else if (row.user_id !== a.userId) wrongShopper++;
    else matched++;
  }
  let rowsWithoutAnswer = 0;
  for (const r of rows) if (!byId.has(r.id)) rowsWithoutAnswer++;
  const ordersPerShopper = new Map<string, Set<string>>();
  const add = (user: string, id: string) => {
    let set = ordersPerShopper.get(user);
    if (!set) ordersPerShopper.set(user, (set = new Set()));
    set.add(id);
  };
  for (const a of byId.values()) add(a.userId, a.orderId);
  for (const r of rows) add(r.user_id, r.id);
  let duplicates = 0;
  for (const set of ordersPerShopper.values()) duplicates += set.size - 1;
  return { accepted: accepted.length, orders: byId.size, matched, lost, wrongShopper, rowsWithoutAnswer, duplicates };
}

export interface CrowdOutcome {
  users: number;
  stock: number;
  /** Requests sent (every click and every retry of it). */
  requests: number;
  /** Distinct orders answered 202. */
  sold: number;
  oversold: number;
  duplicates: number;
  lost: number;
  wrongShopper: number;
  rowsWithoutAnswer: number;
  /** 202s that repeated an order already answered (same key: the first 202 again). */
  replays: number;
  /** A replay that came back with a different order than its key's first 202 (must be 0). */
  replayMismatches: number;
  /** Final answers by status, and by error code. */
  statuses: Tally;
  codes: Tally;
  /** Retries after 429/503 (not counting the behaviours' own second clicks). */
  retries: number;
  /** Those retries by the answer that caused them, "status:Retry-After" (the gateway's admission says 1 s, the
   * per-shopper and per-IP limiters 10 s). */
  retriedAfter: Tally;
  /** Seconds from the start to the last new order's 202. */
  sellOutSeconds: number | null;
  /** Seconds until every shopper had a final answer. */
  answeredSeconds: number;
  /** Seconds until every order was in the database (null: timed out). */
  drainSeconds: number | null;
  databaseRows: number;
  /** Behaviours and how many shoppers had each. */
  behaviours: Tally;
}

export function crowdOutcome(
  run: { attempts: CrowdAttempt[]; seconds: number },
  rows: OrderRow[],
  stock: number,
  users: number,
  drainSeconds: number | null,
): CrowdOutcome {
  const accepted = run.attempts.filter((a) => a.status === 202);
  const match = matchOrders(
    accepted.map((a) => ({ orderId: a.orderId ?? "(no id)", userId: a.user })),
    rows,
  );
  const statuses: Tally = {};
  const codes: Tally = {};
  for (const a of run.attempts) {
    count(statuses, a.status);
    if (a.code) count(codes, a.code);
  }
  // Same key → same order: the first 202 of a key fixes its order id.
  const orderOfKey = new Map<string, string>();
  let replayMismatches = 0;
  for (const a of accepted) {
    if (!a.key || !a.orderId) continue;
    const first = orderOfKey.get(a.key);
    if (first === undefined) orderOfKey.set(a.key, a.orderId);
    else if (first !== a.orderId) replayMismatches++;
  }
  const firstAt = new Map<string, number>();
  for (const a of accepted) if (a.orderId) firstAt.set(a.orderId, Math.min(firstAt.get(a.orderId) ?? Infinity, a.at));
  const behaviours: Tally = {};
  const seen = new Set<string>();
  for (const a of run.attempts) {
    if (seen.has(a.user)) continue;
    seen.add(a.user);
    count(behaviours, a.behaviour);
  }
  const retriedAfter: Tally = {};
  for (const a of run.attempts)
    for (const [k, v] of Object.entries(a.retriedAfter)) retriedAfter[k] = (retriedAfter[k] ?? 0) + v;
  const sold = match.orders;
  return {
    users,
    stock,
    requests: run.attempts.reduce((s, a) => s + a.tries, 0),
    sold,
    oversold: Math.max(0, sold - stock, rows.length - stock),
    duplicates: match.duplicates,
    lost: match.lost,
    wrongShopper: match.wrongShopper,
    rowsWithoutAnswer: match.rowsWithoutAnswer,
    replays: accepted.length - sold,
    replayMismatches,
    statuses,
    codes,
    retries: run.attempts.reduce((s, a) => s + a.tries - 1, 0),
    retriedAfter,
    sellOutSeconds: firstAt.size ? Math.round(Math.max(...firstAt.values()) * 1000) / 1000 : null,
    answeredSeconds: Math.round(run.seconds * 1000) / 1000,
    drainSeconds: drainSeconds === null ? null : Math.round(drainSeconds * 1000) / 1000,
    databaseRows: rows.length,
    behaviours,
  };
}
