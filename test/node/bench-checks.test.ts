/**
 * The bench's own correctness checks (bench/lib/checks.ts) and its client model (bench/lib/sessions.ts,
 * bench/lib/http.ts): a check that cannot fail proves nothing, so each one is shown failing on the history it
 * exists to catch — a 202 with no row, a row for another shopper, a second order for one shopper, a replay that
 * names another order, more orders than stock.
 */
import { describe, expect, it } from "vitest";
import { crowdOutcome, matchOrders } from "../../bench/lib/checks.ts";
import { CROWD_MIX, behaviourOf, type CrowdAttempt } from "../../bench/lib/http.ts";
import { addressSpread, clientAddresses, MAX_SHARED_ADDRESS } from "../../bench/lib/sessions.ts";

const attempt = (user: string, status: number, o: Partial<CrowdAttempt> = {}): CrowdAttempt => ({
  user,
  behaviour: "once",
  status,
  replayed: false,
  at: 0.1,
  tries: 1,
  retriedAfter: {},
  ...o,
});

describe("matchOrders", () => {
  it("matches every 202 to its row by order id and shopper", () => {
    const m = matchOrders(
      [
        { orderId: "o1", userId: "u1" },
        { orderId: "o2", userId: "u2" },
      ],
      [
        { id: "o1", user_id: "u1" },
        { id: "o2", user_id: "u2" },
      ],
    );
    expect(m).toEqual({
      accepted: 2,
      orders: 2,
      matched: 2,
      lost: 0,
      wrongShopper: 0,
      rowsWithoutAnswer: 0,
      duplicates: 0,
    });
  });

  it("counts a 202 whose id has no row as lost, even when the row count adds up", () => {
    // The old check (202s − rows) saw 0 here: two answers, two rows.
    const m = matchOrders(
      [
        { orderId: "o1", userId: "u1" },
        { orderId: "o2", userId: "u2" },
      ],
      [
        { id: "o1", user_id: "u1" },
        { id: "o3", user_id: "u3" },
      ],
    );
    expect(m.lost).toBe(1);
    expect(m.rowsWithoutAnswer).toBe(1);
    expect(m.matched).toBe(1);
  });

  it("catches a row that belongs to another shopper", () => {
    const m = matchOrders([{ orderId: "o1", userId: "u1" }], [{ id: "o1", user_id: "u2" }]);
    expect(m.wrongShopper).toBe(1);
    expect(m.matched).toBe(0);
  });

  it("counts a second order for one shopper as a duplicate, in the answers or in the rows", () => {
    expect(
      matchOrders(
        [
          { orderId: "o1", userId: "u1" },
          { orderId: "o2", userId: "u1" },
        ],
        [
          { id: "o1", user_id: "u1" },
          { id: "o2", user_id: "u1" },
        ],
      ).duplicates,
    ).toBe(1);
    expect(
      matchOrders(
        [{ orderId: "o1", userId: "u1" }],
        [
          { id: "o1", user_id: "u1" },
          { id: "o9", user_id: "u1" },
        ],
      ).duplicates,
    ).toBe(1);
  });

  it("treats a replayed 202 (same order id twice) as one order", () => {
    const m = matchOrders(
      [
        { orderId: "o1", userId: "u1" },
        { orderId: "o1", userId: "u1" },
      ],
      [{ id: "o1", user_id: "u1" }],
    );
    expect(m).toMatchObject({ accepted: 2, orders: 1, matched: 1, duplicates: 0 });
  });
});

describe("crowdOutcome", () => {
  const rows = [
    { id: "o1", user_id: "u1" },
    { id: "o2", user_id: "u2" },
  ];

  it("folds a clean crowd with replays and retries into sold / oversold / duplicates / lost", () => {
    const out = crowdOutcome(
      {
        attempts: [
          attempt("u1", 202, { orderId: "o1", key: "k1", behaviour: "retryWithKey", at: 0.2 }),
          attempt("u1", 202, { orderId: "o1", key: "k1", behaviour: "retryWithKey", replayed: true, at: 0.3 }),
          attempt("u2", 202, {
            orderId: "o2",
            key: "k2",
            behaviour: "doubleTwoKeys",
            tries: 3,
            retriedAfter: { "429:1": 2 },
            at: 0.5,
          }),
          attempt("u2", 409, { key: "k3", behaviour: "doubleTwoKeys", code: "ALREADY_PURCHASED" }),
          attempt("u3", 410, { key: "k4", code: "SOLD_OUT", tries: 2, retriedAfter: { "429:10": 1 } }),
        ],
        seconds: 1.5,
      },
      rows,
      2,
      3,
      2.25,
    );
    expect(out).toMatchObject({
      sold: 2,
      oversold: 0,
      duplicates: 0,
      lost: 0,
      replays: 1,
      replayMismatches: 0,
      retries: 3,
      requests: 8,
      retriedAfter: { "429:1": 2, "429:10": 1 },
      sellOutSeconds: 0.5,
      drainSeconds: 2.25,
      codes: { ALREADY_PURCHASED: 1, SOLD_OUT: 1 },
      behaviours: { retryWithKey: 1, doubleTwoKeys: 1, once: 1 },
    });
  });

  it("fails a replay that names another order, a second order and an oversell", () => {
    const out = crowdOutcome(
      {
        attempts: [
          attempt("u1", 202, { orderId: "o1", key: "k1" }),
          attempt("u1", 202, { orderId: "o3", key: "k1" }),
          attempt("u2", 202, { orderId: "o2", key: "k2" }),
        ],
        seconds: 1,
      },
      [...rows, { id: "o3", user_id: "u1" }],
      2,
      2,
      1,
    );
    expect(out.replayMismatches).toBe(1);
    expect(out.duplicates).toBe(1);
    expect(out.oversold).toBe(1);
  });

  it("counts a 202 without a row as lost", () => {
    const out = crowdOutcome({ attempts: [attempt("u1", 202, { orderId: "o7" })], seconds: 1 }, [], 1, 1, null);
    expect(out.lost).toBe(1);
    expect(out.drainSeconds).toBeNull();
  });
});

describe("the bench's client model", () => {
  it("spreads shoppers over addresses, some shared, never more than the per-IP limit allows one click each", () => {
    const ips = clientAddresses(20_000, 7);
    expect(ips).toHaveLength(20_000);
    expect(clientAddresses(20_000, 7)).toEqual(ips);
    const spread = addressSpread(ips.map((ip) => ({ ip })));
    expect(spread.largestGroup).toBeLessThanOrEqual(MAX_SHARED_ADDRESS);
    expect(spread.largestGroup).toBeGreaterThan(4);
    expect(spread.sharedShare).toBeGreaterThan(0.2);
    expect(spread.sharedShare).toBeLessThan(0.5);
    for (const ip of ips.slice(0, 100)) expect(ip).toMatch(/^198\.1[89]\.\d+\.\d+$/);
  });

  it("puts some crowd shoppers behind carrier-grade NAT addresses, over the per-IP limit", () => {
    const spread = addressSpread(clientAddresses(5_000, 14, 0, true).map((ip) => ({ ip })));
    expect(spread.largestGroup).toBeGreaterThanOrEqual(30);
    expect(spread.largestGroup).toBeLessThanOrEqual(60);
  });

  it("gives the crowd every behaviour in its share", () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) counts[behaviourOf(i)] = (counts[behaviourOf(i)] ?? 0) + 1;
    for (const [b, share] of CROWD_MIX) expect(counts[b]).toBe(share * 1000);
  });
});
