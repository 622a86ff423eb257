import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  modelFromBench,
  runSimulation,
  type SimulationParams,
  type SimulationResult,
} from "../../scripts/lib/sim/sale.ts";

/**
 * `npm run simulate` at a size a test can afford (docs/capacity.md, "Simulating a hot sale"). These assert the
 * promises, not timing: every unit sold once, nobody twice, nobody refused while stock remained, no 5xx, each
 * object under its ceiling, each queue under 5,000 msg/s. The invariant Σ local + reserve + in transit + sold =
 * stock is checked inside the run after every stock change (a broken one throws).
 */
const costs = modelFromBench(JSON.parse(readFileSync(new URL("../../bench/sim-costs.json", import.meta.url), "utf8")));

function simulate(params: Omit<SimulationParams, "costs">): SimulationResult {
  return runSimulation({ ...params, costs });
}

function expectPromisesKept(r: SimulationResult): void {
  expect(r.oversold).toBe(0);
  expect(r.undersold).toBe(0);
  expect(r.duplicates).toBe(0);
  expect(r.sold).toBe(r.stock);
  expect(r.shoppersBought - r.returns.units).toBe(r.stock); // a cancelled shopper does not buy again
  for (const [status, n] of Object.entries(r.answers)) if (Number(status) >= 500) expect(n).toBe(0);
  for (const o of r.objects) expect(o.peakAcceptedRps).toBeLessThanOrEqual(r.objectMaxRps);
  expect(r.queuePeakMsgPerSec).toBeLessThanOrEqual(5000);
  expect(r.invariantChecks).toBeGreaterThan(r.stock);
  expect(r.sellOutSeconds).not.toBeNull();
}

describe("npm run simulate (scripts/lib/sim/sale.ts, driving lib/server/hot/)", () => {
  for (const seed of [1, 2]) {
    it(`oversubscribed, shards auto, 200 isolates (seed ${seed}): sold = stock, all promises kept`, () => {
      const r = simulate({
        shoppers: 20_000,
        stock: 4_000,
        isolates: 200,
        shards: "auto",
        attemptsPerSecond: 8_000,
        seed,
      });
      expect(r.shards).toBe(10);
      expectPromisesKept(r);
      expect(r.answers["410"]).toBeGreaterThan(0);
    });
  }

  it("exact demand over 16 shards: every shopper gets a unit, no one is told sold out", () => {
    const r = simulate({ shoppers: 3_000, stock: 3_000, isolates: 50, shards: 16, attemptsPerSecond: 3_000, seed: 3 });
    expectPromisesKept(r);
    expect(r.answers["410"] ?? 0).toBe(0);
    expect(r.shoppersGaveUp).toBe(0);
  });

  it("few isolates, one shard: the object's ceiling holds without any coordinator", () => {
    const r = simulate({ shoppers: 6_000, stock: 1_000, isolates: 3, shards: 1, attemptsPerSecond: 4_000, seed: 4 });
    expect(r.coordinator).toBeNull();
    expectPromisesKept(r);
  });

  it("with cancels and expiries: returned units are sold again, to shoppers of any shard", () => {
    const r = simulate({
      shoppers: 10_000,
      stock: 1_000,
      isolates: 40,
      shards: 6,
      attemptsPerSecond: 4_000,
      seed: 5,
      cancelShare: 0.1,
    });
    expectPromisesKept(r);
    expect(r.returns.units).toBeGreaterThan(50);
    expect(r.returns.resold).toBe(r.returns.units);
  });

  it("is deterministic: the same seed gives the same run", () => {
    const params = { shoppers: 4_000, stock: 500, isolates: 20, shards: 4, attemptsPerSecond: 3_000, seed: 9 } as const;
    const a = simulate(params);
    const b = simulate(params);
    expect(b).toEqual(a);
  });
});
