/**
 * `npm run bench:draw-scale`: one draw sale with 200,000 entries (ENTRIES), inside workerd — the objects, storage
 * and RPC of the real path, without HTTP in front (filling 200,000 entries over HTTP on a busy 2-core box takes
 * longer than the draw itself is worth measuring; `npm run bench:draw` measures the HTTP path). Not part of
 * `npm test` (the file is not a *.test.ts); it has its own Vitest config (test/workers/scale/vitest.config.ts).
 *
 *   entries/s   ENTRY_SAMPLE entries through the seckill Worker's RPC (enterDraw → home shard), 50 in flight;
 *   fill        the rest written straight into each shard's entries table (its home shard, by homeShard);
 *   draw        the SaleDraw's alarm at drawAt, timed: shards rank (SHA-256 per entry), the k-way merge of their
 *               ranked pages into the global ranking, then `stock` orders through the sale's object;
 *   public      the revealed draw read back (GET /api/sales/:id/draw through the gateway) and the whole ranking
 *               recomputed here from the seed with Web Crypto: winners and waitlist must match.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import {
  DEFAULT_ENTRY_SHARDS,
  homeShard,
  rankKey,
  sha256hex,
  type DrawStats,
  type PublicDraw,
} from "../../../lib/contract/draw.ts";
import { entryShardName, type SaleDraw } from "../../../durable-objects/sale-draw.ts";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { drawSaleInput, pastTheDraw } from "../draw-sale.ts";

const knobs = env as unknown as Record<string, string | undefined>;
const ENTRIES = Number(knobs.SCALE_ENTRIES ?? 200_000);
const ENTRY_SAMPLE = Math.min(ENTRIES, Number(knobs.SCALE_ENTRY_SAMPLE ?? 5_000));
const STOCK = Number(knobs.SCALE_STOCK ?? 1_000);
const IN_FLIGHT = 50;

it(`draws over ${ENTRIES.toLocaleString("en-US")} entries`, async () => {
  const now = Date.now();
  const res = await exports.default.fetch(
    new Request("http://shop.test/admin/api/sales", {
      method: "POST",
      headers: { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json" },
      body: JSON.stringify(drawSaleInput({ title: "Scale draw", priceCents: 1_000, stock: STOCK }, now)),
    }),
  );
  expect(res.status).toBe(201);
  const sale = ((await res.json()) as { sale: Sale }).sale;
  const users = Array.from({ length: ENTRIES }, () => crypto.randomUUID());

  // entries/s through the seckill Worker's RPC.
  let next = 0;
  const sampleStart = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < ENTRY_SAMPLE) {
        const u = users[next++];
        const r = await env.SECKILL.enterDraw(sale.id, u);
        if (!r.ok) throw new Error(`entry refused: ${r.code}`);
      }
    }),
  );
  const sampleSeconds = (performance.now() - sampleStart) / 1000;

  // The same number of purchases into a first-come sale through the seckill Worker, for comparison (same run).
  const plain = await exports.default.fetch(
    new Request("http://shop.test/admin/api/sales", {
      method: "POST",
      headers: { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json" },
      body: JSON.stringify({
        title: "Scale purchases",
        priceCents: 1_000,
        stock: 1_000_000,
        startsAt: new Date(now - 1_000).toISOString(),
        endsAt: new Date(now + 36_000_000).toISOString(),
      }),
    }),
  );
  const plainSale = ((await plain.json()) as { sale: Sale }).sale;
  let bought = 0;
  const buyStart = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (bought < ENTRY_SAMPLE) {
        const u = users[bought++];
        const r = await env.SECKILL.purchase(plainSale.id, { userId: u, quantity: 1 });
        if (!r.ok) throw new Error(`purchase refused: ${r.code}`);
      }
    }),
  );
  const buySeconds = (performance.now() - buyStart) / 1000;

  // fill: the rest straight into each shard's table.
  const fillStart = performance.now();
  const byShard = Array.from({ length: DEFAULT_ENTRY_SHARDS }, () => [] as string[]);
  for (const u of users.slice(ENTRY_SAMPLE)) byShard[homeShard(u, DEFAULT_ENTRY_SHARDS)].push(u);
  await Promise.all(
    byShard.map(async (shardUsers, i) => {
      const stub = env.DRAW_ENTRIES.get(env.DRAW_ENTRIES.idFromName(entryShardName(sale.id, i)));
      for (let j = 0; j < shardUsers.length; j += 5_000) {
        const chunk = JSON.stringify(shardUsers.slice(j, j + 5_000));
        await runInDurableObject(stub, (_shard: unknown, state: DurableObjectState) => {
          state.storage.sql.exec(
            "INSERT INTO entries (user_id, created_at) SELECT value, ? FROM json_each(?)",
            now,
            chunk,
          );
        });
      }
    }),
  );
  const fillSeconds = (performance.now() - fillStart) / 1000;

  // draw: the alarm at drawAt, run until the draw says drawn (a long merge hands over to the next alarm run).
  const drawStub = env.SALE_DRAW.get(env.SALE_DRAW.idFromName(sale.id));
  const drawStart = performance.now();
  const stats = await runInDurableObject(drawStub, async (draw: SaleDraw) => {
    draw.clock = pastTheDraw;
    for (let run = 0; run < 100; run++) {
      await draw.alarm();
      const s = (await draw.stats()) as DrawStats;
      if (s.phase === "drawn") return s;
    }
    throw new Error("the draw did not finish");
  });
  const drawMs = performance.now() - drawStart;
  expect(stats.entries).toBe(ENTRIES);
  expect(stats.awarded).toBe(Math.min(STOCK, ENTRIES));

  // public: read it back through the gateway and recompute it.
  const getStart = performance.now();
  const pub = await exports.default.fetch(new Request(`http://shop.test/api/sales/${sale.id}/draw`));
  const text = await pub.text();
  const getMs = performance.now() - getStart;
  const drawn = JSON.parse(text) as Extract<PublicDraw, { seed: string }>;
  const verifyStart = performance.now();
  expect(await sha256hex(drawn.seed)).toBe(sale.drawCommitment);
  const keys = await Promise.all(drawn.entries.map((u) => rankKey(drawn.seed, u)));
  const ranking = drawn.entries
    .map((u, i) => ({ u, k: keys[i] }))
    .sort((a, b) => (a.k < b.k ? -1 : 1))
    .map((x) => x.u);
  expect(ranking.slice(0, STOCK)).toEqual(drawn.winners);
  expect(ranking.slice(STOCK)).toEqual(drawn.waitlist);
  const verifyMs = performance.now() - verifyStart;

  const figures = {
    entries: ENTRIES,
    entriesPerSecondRpc: Math.round(ENTRY_SAMPLE / sampleSeconds),
    purchasesPerSecondRpc: Math.round(ENTRY_SAMPLE / buySeconds),
    entrySample: ENTRY_SAMPLE,
    fillSeconds: Math.round(fillSeconds * 10) / 10,
    drawMs: Math.round(drawMs),
    drawMsInObject: stats.drawMs,
    publicDrawMs: Math.round(getMs),
    publicDrawMiB: Math.round((text.length / 2 ** 20) * 10) / 10,
    recomputeMs: Math.round(verifyMs),
    verified: true,
  };
  console.log(`DRAW_SCALE ${JSON.stringify(figures)}`);
}, 1_800_000);
