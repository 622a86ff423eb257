/**
 * The k-way merge of the entry shards' ranked pages (lib/contract/draw.ts `RankedMerge`): for random shards, page sizes and
 * stopping points, merging page by page — and resuming a new merge from the cursors of a stopped one, as the draw
 * does after a restart — gives exactly the global sort of every entry, each once. Also the home-shard routing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RankedMerge,
  compareRanked,
  homeShard,
  rankKey,
  rankKeySync,
  sha256hex,
  sha256hexSync,
  type RankedEntry,
} from "../../lib/contract/draw.ts";

function source(sorted: RankedEntry[], reads: { n: number }) {
  return async (after: RankedEntry | null, limit: number) => {
    reads.n++;
    const from = after ? sorted.findIndex((e) => compareRanked(e, after) > 0) : 0;
    return from < 0 ? [] : sorted.slice(from, from + limit);
  };
}

describe("RankedMerge", () => {
  it("merges sorted pages into the global order, and resumes from its cursors", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 40 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 25 }),
        async (shards, pageSize, stopAfter) => {
          // Distinct user ids per shard (a shopper has one home shard); rank keys may collide across shards.
          const seen = new Set<string>();
          const sorted = shards.map((keys, s) =>
            keys
              .map((k, i) => ({ rankKey: k, userId: `u${s}-${i}` }))
              .filter((e) => !seen.has(e.userId) && seen.add(e.userId))
              .sort(compareRanked),
          );
          const all = sorted.flat().sort(compareRanked);
          const reads = { n: 0 };
          const first = new RankedMerge(
            sorted.map((s) => source(s, reads)),
            undefined,
            pageSize,
          );
          const head = (await first.take(stopAfter)).map((x) => x.entry);
          // A new merge, as after a restart, from the first one's cursors.
          const second = new RankedMerge(
            sorted.map((s) => source(s, reads)),
            first.cursors(),
            pageSize,
          );
          const tail: RankedEntry[] = [];
          for (let batch = await second.take(3); batch.length > 0; batch = await second.take(3))
            tail.push(...batch.map((x) => x.entry));
          expect([...head, ...tail]).toEqual(all);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("ranks by sha256hex(seed + ':' + userId) and routes a shopper to one home shard", async () => {
    // SHA-256 of the UTF-8 text "s:u", computed independently (printf 's:u' | sha256sum).
    expect(await rankKey("s", "u")).toBe("b5aa2620005f8cafcdcb2aab6869a9dc7578d706abfa3b53bed079fcc0e2ddcc");
    expect(rankKeySync("s", "u")).toBe("b5aa2620005f8cafcdcb2aab6869a9dc7578d706abfa3b53bed079fcc0e2ddcc");
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const id = crypto.randomUUID();
      const shard = homeShard(id, 8);
      expect(homeShard(id, 8)).toBe(shard);
      counts[shard]++;
    }
    // Spread: every shard gets a fair share (8,000 random ids, expected 1,000 each).
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });

  it("hashes like Web Crypto: the synchronous SHA-256 the shards rank with agrees with crypto.subtle", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300, unit: "binary" }), async (text) => {
        expect(sha256hexSync(text)).toBe(await sha256hex(text));
      }),
      { numRuns: 500 },
    );
    // Padding edges: 55, 56 and 64 bytes, and the empty string.
    for (const n of [0, 55, 56, 63, 64, 65, 119, 120])
      expect(sha256hexSync("a".repeat(n))).toBe(await sha256hex("a".repeat(n)));
    expect(sha256hexSync("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
