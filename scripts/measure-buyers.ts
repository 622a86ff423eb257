/**
 * The heap a shard's buyers map costs at its bound (issue 13 item 8; docs/capacity.md "Memory per buyer"). A
 * Worker cannot read its own heap, so this measures the same map in Node (V8, as workerd): MAX_BUYERS_PER_SHARD
 * entries of user id (36 chars) → order id (48 chars), built as flat strings as SQLite rows are, `heapUsed` after
 * a full GC before and after. Run: `npm run measure:buyers [-- buyers]`.
 */
import { MAX_BUYERS_PER_SHARD } from "../lib/server/hot/routing.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const buyers = Number(process.argv[2] ?? MAX_BUYERS_PER_SHARD);
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

gc();
const before = process.memoryUsage().heapUsed;
const map = new Map<string, string>();
for (let from = 0; from < buyers; from += 10_000) {
  // Sequential (flat) strings, parsed from text as the object's rows arrive from SQLite; the text is dropped.
  const pairs: string[][] = [];
  for (let i = from; i < Math.min(buyers, from + 10_000); i++) {
    pairs.push([
      `${hex(i, 8)}-${hex(i * 7, 4)}-4${hex(i, 3)}-8${hex(i * 3, 3)}-${hex(i * 13, 12)}`,
      `${hex(i * 31, 32)}${hex(i, 8)}${hex(i * 17, 8)}`,
    ]);
  }
  for (const [user, order] of JSON.parse(JSON.stringify(pairs)) as string[][]) map.set(user, order);
}
gc();
const after = process.memoryUsage().heapUsed;
const bytes = after - before;
console.log(
  JSON.stringify({
    buyers: map.size,
    heapBytes: bytes,
    heapMB: Math.round((bytes / 1e6) * 10) / 10,
    bytesPerBuyer: Math.round(bytes / map.size),
    isolateLimitMB: 128,
  }),
);
