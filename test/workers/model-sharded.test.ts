/**
 * Model-based test of a sharded sale (docs/design.md "Hot sales: stock"): random histories of purchases, keyed
 * retries, pays, cancels, expiries (the clock jumps past payment windows and TTLs), background stock moves and
 * the coordinator's reclaims, across K shards and their coordinator — the real objects, with a shared clock. After
 * every step, once the moves in flight have settled:
 *   Σ shard.local + reserve + in transit + Σ shard.sold = stock (every shard's book and the coordinator's),
 *   each shard's S1–S7 and its two books agreeing (H1–H3), one order per shopper, never more sold than stock,
 *   and the answers agree with a reference model: a replay is the same order, a second purchase is refused,
 *   and SOLD_OUT only when no unit remained anywhere (or one came back less than the verdict's TTL ago).
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SaleItem, PurchaseResult, OrderResult } from "../../durable-objects/sale-item.ts";
import type { SaleReserve } from "../../durable-objects/sale-reserve.ts";
import { homeShard, shardObjectName } from "../../lib/server/hot/routing.ts";
import { DEFAULT_STOCK_POLICY, initialAllotments } from "../../lib/server/hot/stock.ts";
import { recordQueue } from "./helpers.ts";
import { checkStockInvariant } from "./shard-helpers.ts";

const USERS = Array.from({ length: 10 }, (_, i) => `m-user-${i}`);
const WINDOW_MS = 5_000;

type Step =
  | { kind: "buy"; user: number; keyed: boolean }
  | { kind: "pay"; user: number }
  | { kind: "cancel"; user: number }
  | { kind: "tick"; ms: number; shard: number }
  | { kind: "pump"; shard: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("buy" as const), user: fc.nat(USERS.length - 1), keyed: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pay" as const), user: fc.nat(USERS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), user: fc.nat(USERS.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 3_000 }),
      shard: fc.nat(7),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("pump" as const), shard: fc.nat(7) }) },
);

const executed = new Map<string, number>();
const ran = (kind: string) => executed.set(kind, (executed.get(kind) ?? 0) + 1);

interface ModelOrder {
  id: string;
  key: string | null;
  status: "held" | "paid" | "expired" | "cancelled";
  expiresAt: number;
}

function stubOf(saleId: string, shard: number) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, shard)));
}

async function inShard<T>(saleId: string, shard: number, fn: (o: SaleItem) => T | Promise<T>): Promise<T> {
  return await runInDurableObject(stubOf(saleId, shard), fn);
}

describe("model: a sharded sale", () => {
  it("keeps the stock invariant and the shopper's promises over random histories", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(step, { minLength: 10, maxLength: 30 }),
        async (shards, stock, steps) => {
          // The objects' clock runs with real time plus the jumps the history makes (never behind real time, so an
          // alarm the objects arm is never already overdue).
          const jump = { ms: 0 };
          const clock = {
            get now() {
              return Date.now() + jump.ms;
            },
          };
          const saleId = crypto.randomUUID();
          const allotments = initialAllotments(stock, shards);
          const reserve = env.SALE_RESERVE.get(env.SALE_RESERVE.idFromName(saleId));
          await runInDurableObject(reserve, (r: SaleReserve) => {
            r.clock = () => clock.now;
            r.initialize(saleId, stock, allotments);
          });
          for (let i = 0; i < shards; i++) {
            await inShard(saleId, i, (o) => {
              o.clock = () => clock.now;
              recordQueue(o);
              o.initialize(
                {
                  id: saleId,
                  title: "model",
                  description: "",
                  priceCents: 100,
                  currency: "USD",
                  stock,
                  perUserLimit: 1,
                  startsAt: clock.now - 1_000,
                  endsAt: clock.now + 3_600_000,
                  paymentWindowSeconds: WINDOW_MS / 1000,
                  shards,
                  shard: i,
                },
                allotments[i],
              );
            });
          }
          const orders = new Map<string, ModelOrder>();
          let lastReturnAt = -Infinity;
          const active = () => [...orders.values()].filter((o) => o.status === "held" || o.status === "paid").length;
          const expireDue = () => {
            for (const o of orders.values()) {
              if (o.status === "held" && o.expiresAt <= clock.now) {
                o.status = "expired";
                lastReturnAt = clock.now;
              }
            }
          };
          /** Lets every move in flight land: each shard runs its moves, the coordinator's reclaims arrive. */
          const settle = async () => {
            for (let round = 0; round < 3; round++) {
              for (let i = 0; i < shards; i++) await inShard(saleId, i, (o) => o.pumpStock());
              await new Promise((r) => setTimeout(r, 5));
            }
          };

          for (const s of steps) {
            if (s.kind === "buy") {
              const userId = USERS[s.user];
              const home = homeShard(userId, shards);
              const key = s.keyed ? `k-${userId}` : undefined;
              const known = orders.get(userId);
              const before = stock - active();
              const result = await inShard(
                saleId,
                home,
                (o) => o.reservePurchase({ userId, quantity: 1, idempotencyKey: key }) as Promise<PurchaseResult>,
              );
              ran("buy");
              if (known) {
                // An earlier order decides: the same order again with its key, else a refusal.
                if (key !== undefined && known.key === key) {
                  expect(result.ok && result.order.id).toBe(known.id);
                  ran("replay");
                } else {
                  expect(result.ok ? "ok" : result.code).toBe("ALREADY_PURCHASED");
                }
              } else if (result.ok) {
                orders.set(userId, {
                  id: result.order.id,
                  key: key ?? null,
                  status: "held",
                  expiresAt: Date.parse(result.order.expiresAt),
                });
                expect(active()).toBeLessThanOrEqual(stock);
                expect(before).toBeGreaterThan(0);
                ran("bought");
              } else if (result.code === "SOLD_OUT") {
                // Only when nothing was left anywhere, or a unit came back less than the verdict's TTL ago.
                expect(before === 0 || clock.now - lastReturnAt < DEFAULT_STOCK_POLICY.soldOutTtlMs * 2).toBe(true);
                ran("soldOut");
              } else {
                expect(result.code).toBe("RATE_LIMITED");
                ran("wait");
              }
            } else if (s.kind === "pay" || s.kind === "cancel") {
              const holders = [...orders.keys()];
              if (holders.length === 0) continue;
              const userId = holders[s.user % holders.length]; // a shopper with an order
              const known = orders.get(userId);
              if (!known) continue;
              const home = homeShard(userId, shards);
              const result = await inShard(
                saleId,
                home,
                (o) =>
                  (s.kind === "pay"
                    ? o.payOrder(known.id, userId)
                    : o.cancelOrder(known.id, userId)) as Promise<OrderResult>,
              );
              expireDue();
              if (known.status === "held") {
                expect(result.ok).toBe(true);
                known.status = s.kind === "pay" ? "paid" : "cancelled";
                if (s.kind === "cancel") lastReturnAt = clock.now;
                ran(s.kind);
              } else {
                expect(result.ok && result.order.status === (s.kind === "pay" ? "paid" : "cancelled")).toBe(
                  known.status === (s.kind === "pay" ? "paid" : "cancelled"),
                );
              }
            } else if (s.kind === "tick") {
              jump.ms += s.ms;
              expireDue();
              await inShard(saleId, s.shard % shards, (o) => o.alarm());
              ran("tick");
            } else {
              await inShard(saleId, s.shard % shards, (o) => o.pumpStock());
              ran("pump");
            }
            await settle();
            // Every shard's own invariants and the whole stock invariant with the coordinator.
            await checkStockInvariant(saleId, shards, stock);
            let sold = 0;
            for (let i = 0; i < shards; i++) sold += (await inShard(saleId, i, (o) => o.shardFigures()))!.sold;
            // Expiries the model saw may not have run in their shard yet (its alarm did not fire): those still hold.
            expect(sold).toBeGreaterThanOrEqual(active());
            expect(sold).toBeLessThanOrEqual(stock);
          }
        },
      ),
      { numRuns: 15 },
    );
    for (const kind of ["buy", "bought", "replay", "pay", "cancel", "tick", "wait"]) {
      expect(executed.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  }, 240_000);
});
