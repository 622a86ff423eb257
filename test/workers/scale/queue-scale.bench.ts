/**
 * `npm run bench:queue-scale`: what one queue object does with 50,000 tickets (TICKETS), inside workerd — its
 * storage and RPC, without HTTP in front (`npm run bench:queue` measures the HTTP path). Not part of `npm test`
 * (the file is not a *.test.ts); it runs under test/workers/scale/vitest.config.ts.
 *
 *   joins      JOIN_SAMPLE joins through RPC (50 in flight), one ticket each: joins/s of one object;
 *   fill       the rest joined in batches inside the object (the same `join`, no RPC per ticket);
 *   shuffle    the start's one Fisher-Yates over every pre-start ticket and its rank writes (one transaction);
 *   reads      5,000 random shoppers' tickets by RPC after the shuffle (positions from the rank: no scan);
 *   admit      one step admitting STOCK tickets, then expiring them all in one later step;
 *   storage    the object's database size with every ticket in it.
 *
 * Timings are taken outside the object, around its calls (workerd's clock does not move inside a call).
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import type { SaleQueue } from "../../../durable-objects/sale-queue.ts";
import type { StubOf } from "../../../lib/server/env.ts";

const knobs = env as unknown as Record<string, string | undefined>;
const TICKETS = Number(knobs.SCALE_TICKETS ?? 50_000);
const JOIN_SAMPLE = Math.min(TICKETS, Number(knobs.SCALE_JOIN_SAMPLE ?? 5_000));
const STOCK = Number(knobs.SCALE_STOCK ?? 500);

it(`holds ${TICKETS.toLocaleString("en-US")} tickets in one queue object`, async () => {
  const saleId = crypto.randomUUID();
  const stub = env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId));
  const rpc = stub as unknown as StubOf<SaleQueue>;
  const startsAt = Date.now() + 3_600_000;
  let now = Date.now();
  await runInDurableObject(stub, async (q: SaleQueue) => {
    q.clock = () => now;
    await q.initialize({ saleId, startsAt, endsAt: startsAt + 3_600_000, admitPerSecond: 100_000 }, STOCK);
  });
  const users = Array.from({ length: TICKETS }, (_, i) => `u${i}-${crypto.randomUUID()}`);

  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < JOIN_SAMPLE) {
        const u = users[next++];
        const r = await rpc.join(u);
        expect(r.ok).toBe(true);
      }
    }),
  );
  const joinMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = JOIN_SAMPLE; i < TICKETS; i += 5_000) {
    const batch = users.slice(i, i + 5_000);
    await runInDurableObject(stub, (q: SaleQueue) => {
      for (const u of batch) q.join(u);
    });
  }
  const fillMs = performance.now() - t1;

  const t2 = performance.now();
  await runInDurableObject(stub, (q: SaleQueue) => {
    now = startsAt;
    q.ticket(users[0]); // the first call after the start shuffles
  });
  const shuffleMs = performance.now() - t2;

  const t3 = performance.now();
  const sample = Array.from({ length: 5_000 }, () => users[Math.floor(Math.random() * TICKETS)]);
  const numbers = new Set<number>();
  for (let i = 0; i < sample.length; i += 50) {
    const tickets = await Promise.all(sample.slice(i, i + 50).map((u) => rpc.ticket(u)));
    for (const t of tickets) numbers.add(t!.queueNumber!);
  }
  const readMs = performance.now() - t3;
  expect(Math.max(...numbers)).toBeLessThanOrEqual(TICKETS);

  const t4 = performance.now();
  await runInDurableObject(stub, (q: SaleQueue) => {
    now = startsAt + 1_000;
    q.step(now, null);
  });
  const admitMs = performance.now() - t4;
  const t5 = performance.now();
  const after = await runInDurableObject(stub, (q: SaleQueue, state: DurableObjectState) => {
    now = startsAt + 120_000;
    q.step(now, null);
    return { stats: q.stats()!, bytes: state.storage.sql.databaseSize };
  });
  const expireMs = performance.now() - t5;
  expect(after.stats).toMatchObject({ joined: TICKETS, expired: STOCK });

  const figures = {
    tickets: TICKETS,
    joinsPerSecondRpc: Math.round(JOIN_SAMPLE / (joinMs / 1000)),
    fillPerSecondInObject: Math.round((TICKETS - JOIN_SAMPLE) / (fillMs / 1000)),
    shuffleMs: Math.round(shuffleMs),
    ticketReadsPerSecondRpc: Math.round(sample.length / (readMs / 1000)),
    admitStockMs: Math.round(admitMs),
    expireStockMs: Math.round(expireMs),
    databaseMiB: Math.round((after.bytes / 2 ** 20) * 10) / 10,
    bytesPerTicket: Math.round(after.bytes / TICKETS),
  };
  console.log(JSON.stringify({ msg: "queue scale", ...figures }));
});
