/**
 * Model-based test of the queue object (durable-objects/sale-queue.ts, Q1–Q5): random joins before and after the
 * start, ticks with the stock the sale's object reports, purchases by whoever the gate lets in, units coming back,
 * time passing over admission windows, and restarts of the object. After every step, from the shoppers' answers:
 *   - the pre-start tickets hold places 1..N exactly once; later joins follow in arrival order (FIFO);
 *   - the used places (admitted, purchased, expired) are always a prefix of the queue order;
 *   - waiting positions are 1..W in queue order; admitted-and-unexpired tickets never exceed the stock left;
 *   - with no stock left nobody is `waiting` (all `sold_out`); only an admitted (or used) ticket passes the gate;
 *   - the merchant's counts agree with the tickets.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SaleQueue } from "../../durable-objects/sale-queue.ts";
import type { Ticket } from "../../lib/contract/queue.ts";

type Op =
  | { kind: "join"; who: number }
  | { kind: "start" }
  | { kind: "tick"; ms: number }
  | { kind: "buy"; who: number }
  | { kind: "return" }
  | { kind: "restart" };

const SHOPPERS = 12;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("join" as const), who: fc.integer({ min: 0, max: SHOPPERS - 1 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "start" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.constantFrom(0, 100, 500, 30_000, 61_000) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("buy" as const), who: fc.integer({ min: 0, max: SHOPPERS - 1 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "return" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

describe("the queue object (model)", () => {
  it("keeps Q1–Q5 under random joins, ticks, purchases, returns and restarts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(opArb, { minLength: 5, maxLength: 60 }),
        async (stock, ops) => {
          const saleId = crypto.randomUUID();
          let stub = env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId));
          // Real time an hour before the start, so no real alarm fires during the run; the object runs on `now`.
          const startsAt = Date.now() + 3_600_000;
          let now = startsAt - 10_000;
          let remaining = stock;
          const users = Array.from({ length: SHOPPERS }, (_, i) => `user-${i}-${saleId.slice(0, 8)}`);
          const joinedBefore: string[] = [];
          const joinedAfter: string[] = [];
          await runInDurableObject(stub, async (q: SaleQueue) => {
            q.clock = () => now;
            await q.initialize(
              { saleId, startsAt, endsAt: startsAt + 86_400_000, admitPerSecond: 3, admissionWindowMs: 60_000 },
              stock,
            );
          });
          for (const op of ops) {
            await runInDurableObject(stub, async (q: SaleQueue) => {
              q.clock = () => now;
              switch (op.kind) {
                case "join": {
                  const u = users[op.who];
                  const r = q.join(u);
                  expect(r.ok).toBe(true);
                  if (!joinedBefore.includes(u) && !joinedAfter.includes(u))
                    (now < startsAt ? joinedBefore : joinedAfter).push(u);
                  break;
                }
                case "start":
                  now = Math.max(now, startsAt);
                  q.step(now, { remaining, endsAt: new Date(startsAt + 86_400_000).toISOString() });
                  break;
                case "tick":
                  now += op.ms;
                  if (now >= startsAt) q.ticket(users[0]); // a call after the start shuffles (lazily) if no alarm did
                  q.step(now, { remaining, endsAt: new Date(startsAt + 86_400_000).toISOString() });
                  break;
                case "buy": {
                  const u = users[op.who];
                  const gate = q.gate(u);
                  const t = q.ticket(u);
                  if (gate.ok) {
                    // Admitted, or used already (the sale's object answers that one's retry, never a new order).
                    expect(["admitted", "purchased"]).toContain(t?.state);
                    if (t?.state === "admitted" && remaining > 0) {
                      remaining--;
                      q.purchased(u, `order-${u}`, remaining);
                    }
                  } else {
                    expect(t?.state ?? null).not.toBe("admitted");
                  }
                  break;
                }
                case "return":
                  if (remaining < stock) remaining++;
                  break;
                case "restart":
                  break;
              }
            });
            if (op.kind === "restart") {
              // A new instance reads everything back from storage.
              await runInDurableObject(stub, (_q: SaleQueue, state: DurableObjectState) =>
                state.abort("model restart"),
              ).catch(() => {});
              stub = env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId));
            }
            await runInDurableObject(stub, async (q: SaleQueue) => {
              q.clock = () => now;
              const tickets = new Map<string, Ticket>();
              for (const u of [...joinedBefore, ...joinedAfter]) tickets.set(u, q.ticket(u)!);
              const started = now >= startsAt && [...tickets.values()].every((t) => t.queueNumber !== null);
              if (now < startsAt) {
                for (const t of tickets.values())
                  expect(t).toMatchObject({ state: "waiting", position: null, queueNumber: null });
                return;
              }
              expect(started).toBe(true);
              // Q2/Q3: places 1..N for the early tickets, then arrival order.
              const early = joinedBefore.map((u) => tickets.get(u)!.queueNumber!);
              expect([...early].sort((a, b) => a - b)).toEqual(early.map((_, i) => i + 1));
              joinedAfter.forEach((u, i) => expect(tickets.get(u)!.queueNumber).toBe(joinedBefore.length + i + 1));
              // Q4: used places are a prefix; waiting positions are 1..W in order.
              const ordered = [...tickets.values()].sort((a, b) => a.queueNumber! - b.queueNumber!);
              const used = ordered.filter(
                (t) => t.state === "admitted" || t.state === "purchased" || t.state === "expired",
              );
              expect(used.map((t) => t.queueNumber)).toEqual(used.map((_, i) => i + 1));
              const waiting = ordered.filter((t) => t.state === "waiting");
              expect(waiting.map((t) => t.position)).toEqual(waiting.map((_, i) => i + 1));
              // Q5: admitted-and-unexpired tickets never exceed the stock left (one unit each).
              const admitted = ordered.filter((t) => t.state === "admitted").length;
              expect(admitted).toBeLessThanOrEqual(remaining);
              // Nobody waits for nothing.
              if (remaining === 0) expect(waiting.length).toBe(0);
              // Counts agree.
              const stats = q.stats()!;
              expect(stats.joined).toBe(tickets.size);
              expect(stats.purchased).toBe(ordered.filter((t) => t.state === "purchased").length);
              expect(stats.waiting).toBe(ordered.filter((t) => t.state === "waiting" || t.state === "sold_out").length);
            });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
