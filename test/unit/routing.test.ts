import { describe, expect, it } from "vitest";
import {
  MAX_BUYERS_PER_SHARD,
  autoShards,
  defaultShardsForStock,
  fnv1a32,
  homeShard,
  outboxMessagesPerSecond,
  shardObjectName,
  shardOfSequence,
  shardSequence,
} from "../../lib/server/hot/routing.ts";

describe("hot-sale routing (lib/server/hot/routing.ts)", () => {
  it("hashes the same way on every runtime (FNV-1a reference values)", () => {
    // Reference values of 32-bit FNV-1a: a change here moves every shopper's home shard.
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("gives every shopper one home shard, spread evenly", () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 32_000; i++) {
      const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
      const shard = homeShard(id, 16);
      expect(homeShard(id, 16)).toBe(shard);
      counts[shard]++;
    }
    // 2,000 expected per shard; ±15 % is far outside what a uniform hash produces at this size.
    for (const n of counts) expect(Math.abs(n - 2000)).toBeLessThan(300);
    expect(homeShard("anyone", 1)).toBe(0);
    expect(() => homeShard("x", 0)).toThrow(RangeError);
    expect(() => homeShard("x", 65)).toThrow(RangeError);
  });

  it("keeps shard 0 on the sale's own object, so a one-shard sale is the object it always was", () => {
    const sale = "7c1f0c4e-3b0a-4a57-9d53-3b8f3f0a1c2d";
    expect(shardObjectName(sale, 0)).toBe(sale);
    expect(shardObjectName(sale, 3)).toBe(`${sale}#3`);
  });

  it("encodes the shard in an order's sequence, and shard 0's sequences are unchanged", () => {
    expect(shardSequence(0, 41)).toBe(41);
    for (const [shard, local] of [
      [0, 0],
      [1, 7],
      [63, 2 ** 26 - 1],
      [17, 123_456],
    ]) {
      expect(shardOfSequence(shardSequence(shard, local))).toBe(shard);
      expect(shardSequence(shard, local)).toBeLessThan(2 ** 32); // fits the id's 8 hex digits
    }
    expect(() => shardSequence(64, 0)).toThrow(RangeError);
    expect(() => shardSequence(0, 2 ** 26)).toThrow(RangeError);
  });

  it("chooses the default shard count from the stock (the buyers bound) and never more than 64", () => {
    expect(defaultShardsForStock(1)).toBe(1);
    expect(defaultShardsForStock(200_000)).toBe(1);
    expect(defaultShardsForStock(200_001)).toBe(2);
    expect(defaultShardsForStock(1_000_000)).toBe(5);
    expect(1_000_000 / defaultShardsForStock(1_000_000)).toBeLessThan(MAX_BUYERS_PER_SHARD);
    expect(autoShards(20_000, 20_000)).toBe(25);
    expect(autoShards(10, 20_000)).toBe(10); // never more shards than units
    expect(autoShards(100_000_000, 1)).toBe(64);
  });

  it("paces each shard's outbox so the shards of one queue stay under 90 % of 5,000 msg/s", () => {
    for (const shards of [1, 2, 8, 25, 64]) {
      expect(outboxMessagesPerSecond(shards) * shards).toBeLessThanOrEqual(4500);
    }
    expect(outboxMessagesPerSecond(64, 4) * 16).toBeLessThanOrEqual(4500);
  });
});
