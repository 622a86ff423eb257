/**
 * Model-based test of the SaleItem object: random sequences of purchase / retry / pay / cancel / expire /
 * pause / resume / restart, run against the real object and a plain reference model, with the invariants of
 * docs/design.md checked after every step:
 *   sold + remaining = stock, remaining ≥ 0, one order per shopper, quantity ≤ perUserLimit,
 *   a paid order always holds stock, and the object agrees with the model on every answer.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SaleItem } from "../../durable-objects/sale-item.ts";
import { recordQueue } from "./helpers.ts";

type Status = "held" | "paid" | "expired" | "cancelled";
interface ModelOrder {
  id?: string;
  quantity: number;
  status: Status;
  expiresAt: number;
  key?: string;
}
interface Model {
  stock: number;
  remaining: number;
  perUserLimit: number;
  window: number;
  startsAt: number;
  endsAt: number;
  paused: boolean;
  now: number;
  orders: Map<string, ModelOrder>;
}
interface Real {
  item: SaleItem;
  state: DurableObjectState;
  clock: { now: number };
}

const USERS = ["u1", "u2", "u3", "u4", "u5", "u6"];

/** How often each kind of step really ran, so the test shows it exercised what it claims to. */
const executed = new Map<string, number>();
function ran(kind: string) {
  executed.set(kind, (executed.get(kind) ?? 0) + 1);
}

function saleStatus(m: Model): string {
  if (m.now >= m.endsAt) return "ended";
  if (m.paused) return "paused";
  if (m.remaining <= 0) return "sold_out";
  if (m.now < m.startsAt) return "scheduled";
  return "live";
}

function expire(m: Model, o: ModelOrder) {
  if (o.status === "held" && o.expiresAt <= m.now) {
    o.status = "expired";
    m.remaining += o.quantity;
  }
}

function checkInvariants(m: Model, r: Real) {
  const sale = r.item.getSale()!;
  const stats = r.item.getStats()!;
  const held = [...m.orders.values()].filter((o) => o.status === "held" || o.status === "paid");
  const sold = held.reduce((n, o) => n + o.quantity, 0);
  expect(sale.remaining).toBe(m.remaining);
  expect(sale.remaining).toBeGreaterThanOrEqual(0);
  expect(stats.stats.sold + sale.remaining).toBe(m.stock);
  expect(sold + m.remaining).toBe(m.stock);
  expect(sale.status).toBe(saleStatus(m));
  // One order per shopper, within the limit: the ledger has at most one row per user.
  const ledger = r.item.ledger("", 5000);
  expect(ledger.length).toBe(m.orders.size);
}

class Purchase implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: string,
    readonly quantity: number,
    readonly key?: string,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const result = await r.item.reservePurchase({
      userId: this.user,
      quantity: this.quantity,
      idempotencyKey: this.key,
    });
    ran(result.ok ? "purchase ok" : `purchase ${result.code}`);
    const existing = m.orders.get(this.user);
    let expected: string;
    if (existing) {
      expected = this.key !== undefined && existing.key === this.key ? "replay" : "ALREADY_PURCHASED";
    } else {
      const status = saleStatus(m);
      const byStatus: Record<string, string> = {
        ended: "ENDED",
        paused: "PAUSED",
        sold_out: "SOLD_OUT",
        scheduled: "NOT_STARTED",
      };
      if (byStatus[status]) expected = byStatus[status];
      else if (this.quantity > m.perUserLimit) expected = "VALIDATION_FAILED";
      else if (this.quantity > m.remaining) expected = "INSUFFICIENT_STOCK";
      else expected = "ok";
    }
    const actual = result.ok ? (result.replayed ? "replay" : "ok") : result.code;
    expect(actual).toBe(expected);
    if (result.ok && !result.replayed) {
      m.orders.set(this.user, {
        id: result.order.id,
        quantity: this.quantity,
        status: "held",
        expiresAt: m.now + m.window,
        key: this.key,
      });
      m.remaining -= this.quantity;
    }
    if (result.ok && result.replayed) expect(result.order.id).toBe(existing!.id);
    checkInvariants(m, r);
  }
  toString = () => `purchase(${this.user}, ${this.quantity}, ${this.key ?? "-"})`;
}

class Pay implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: string,
    readonly asOther: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.orders.has(this.user);
  async run(m: Model, r: Real) {
    const o = m.orders.get(this.user)!;
    const result = await r.item.payOrder(o.id!, this.asOther ? "intruder" : this.user);
    ran(result.ok ? "pay ok" : `pay ${result.code}`);
    if (this.asOther) {
      expect(result.ok ? "ok" : result.code).toBe("NOT_FOUND");
      return checkInvariants(m, r);
    }
    expire(m, o);
    const expected =
      o.status === "held" || o.status === "paid"
        ? "ok"
        : o.status === "expired"
          ? "ORDER_EXPIRED"
          : "ORDER_NOT_PAYABLE";
    expect(result.ok ? "ok" : result.code).toBe(expected);
    if (expected === "ok") o.status = "paid";
    checkInvariants(m, r);
  }
  toString = () => `pay(${this.user}${this.asOther ? ", as another shopper" : ""})`;
}

class Cancel implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: string) {}
  check = (m: Readonly<Model>) => m.orders.has(this.user);
  async run(m: Model, r: Real) {
    const o = m.orders.get(this.user)!;
    const result = await r.item.cancelOrder(o.id!, this.user);
    ran(result.ok ? "cancel ok" : `cancel ${result.code}`);
    expire(m, o);
    const expected = o.status === "held" || o.status === "cancelled" ? "ok" : "ORDER_NOT_CANCELLABLE";
    expect(result.ok ? "ok" : result.code).toBe(expected);
    if (expected === "ok" && o.status === "held") {
      o.status = "cancelled";
      m.remaining += o.quantity;
    }
    checkInvariants(m, r);
  }
  toString = () => `cancel(${this.user})`;
}

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.now = m.now;
    checkInvariants(m, r);
  }
  toString = () => `advance(${this.ms} ms)`;
}

class Alarm implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    await r.item.alarm();
    ran("alarm");
    for (const o of m.orders.values()) expire(m, o);
    checkInvariants(m, r);
  }
  toString = () => "alarm()";
}

class SetPaused implements fc.AsyncCommand<Model, Real> {
  constructor(readonly paused: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    r.item.setPaused(this.paused);
    m.paused = this.paused;
    checkInvariants(m, r);
  }
  toString = () => (this.paused ? "pause()" : "resume()");
}

/** A new instance over the same storage: memory must come back exactly from SQLite. */
class Restart implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    const revived = new SaleItem(r.state, (r.item as unknown as { env: typeof env }).env);
    // The old instance is gone in production; here the runtime still holds it, so its alarm must not run.
    r.item.alarm = async () => {};
    ran("restart");
    await r.state.blockConcurrencyWhile(async () => {});
    revived.clock = () => r.clock.now;
    r.item = revived;
    checkInvariants(m, r);
  }
  toString = () => "restart()";
}

const user = fc.constantFrom(...USERS);
const commands = [
  fc
    .tuple(user, fc.integer({ min: 1, max: 3 }), fc.option(fc.constantFrom("k1", "k2"), { nil: undefined }))
    .map(([u, q, k]) => new Purchase(u, q, k)),
  fc.tuple(user, fc.integer({ min: 1, max: 3 })).map(([u, q]) => new Purchase(u, q, "k1")),
  fc.tuple(user, fc.boolean()).map(([u, other]) => new Pay(u, other)),
  user.map((u) => new Cancel(u)),
  fc.integer({ min: 1, max: 40_000 }).map((ms) => new Advance(ms)),
  fc.constant(new Alarm()),
  fc.boolean().map((p) => new SetPaused(p)),
  fc.constant(new Restart()),
];

describe("SaleItem against a reference model", () => {
  it("agrees with the model and keeps every invariant for random histories", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(-1, 10_000),
        fc.commands(commands, { maxCommands: 80, size: "large" }),
        async (stock, perUserLimit, startsIn, cmds) => {
          const saleId = crypto.randomUUID();
          const stub = env.SALE_ITEM.get(env.SALE_ITEM.idFromName(saleId));
          await runInDurableObject(stub, async (item: SaleItem, state) => {
            const base = Date.now();
            const clock = { now: base };
            item.clock = () => clock.now;
            recordQueue(item);
            const model: Model = {
              stock,
              remaining: stock,
              perUserLimit,
              window: 30_000,
              startsAt: base + startsIn,
              endsAt: base + 300_000,
              paused: false,
              now: base,
              orders: new Map(),
            };
            item.initialize({
              id: saleId,
              title: "model",
              description: "",
              priceCents: 100,
              currency: "USD",
              stock,
              perUserLimit,
              startsAt: model.startsAt,
              endsAt: model.endsAt,
              paymentWindowSeconds: 30,
            });
            await fc.asyncModelRun(() => ({ model, real: { item, state, clock } }), cmds);
          });
        },
      ),
      { numRuns: 80 },
    );
    // Every kind of step, and the interesting outcomes, happened many times over.
    for (const kind of [
      "purchase ok",
      "purchase ALREADY_PURCHASED",
      "purchase SOLD_OUT",
      "purchase NOT_STARTED",
      "purchase PAUSED",
      "pay ok",
      "pay ORDER_EXPIRED",
      "pay NOT_FOUND",
      "cancel ok",
      "cancel ORDER_NOT_CANCELLABLE",
      "alarm",
      "restart",
    ]) {
      expect(executed.get(kind) ?? 0, kind).toBeGreaterThan(3);
    }
  });
});
