/**
 * The concurrent model test of the SaleItem object (docs/design.md, "SaleItem: durable state only"). Commands are
 * fired WITHOUT awaiting each other — purchases, retries with an Idempotency-Key, pays, cancels, order reads,
 * pauses, alarms, clock jumps past the payment window — while the test decides when each group-commit round
 * becomes durable (`storage.sync()` settles only on a `settle` step), injects failed writes while rounds are in
 * flight, and restarts the object (a new instance over the same storage, the old one cut off). Purchases go
 * through the edge's sold-out/ended short-circuit first (the gateway's `ClosedSales`, as the purchase route uses
 * it), so the replay promise is checked end to end.
 *
 * After every step and every restart:
 *  - storage: Σ(held + paid quantity) + stored remaining = stock, remaining ≥ 0, no outbox row without its
 *    order, at most one order per shopper;
 *  - memory: the object's own assertions (`assertInvariants`) hold, and the stock it offers plus what it holds
 *    and has reserved is the stock;
 *  - every 202: its order is in storage when the answer is seen, and stays there (restarts included);
 *  - every ALREADY_PURCHASED names an order that is in storage;
 *  - a retry with the Idempotency-Key of an accepted purchase gets that 202 again — sold out, ended or not.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PurchaseResult, SaleItem } from "../../durable-objects/sale-item.ts";
import { makeWorld, saleConfig, settle, storageView, type World } from "./concurrent-harness.ts";
import { edgeFor, type Edge } from "./concurrent-edge.ts";

const USERS = ["u1", "u2", "u3", "u4", "u5"];

interface Model {
  /** Accepted purchases (a 202 seen), by shopper. */
  accepted: Map<string, { orderId: string; key?: string }>;
  /** The key each shopper's web app uses for its purchase and its retries. */
  keyOf: Map<string, string>;
  violations: string[];
  counts: Map<string, number>;
  /** Checks left out (to isolate one bug at a time when looking for seeds on old code). */
  skip: Set<"edge" | "alreadyPurchased">;
}

interface Real {
  world: World;
  edge: Edge;
  inFlight: Set<Promise<unknown>>;
}

function count(m: Model, what: string) {
  m.counts.set(what, (m.counts.get(what) ?? 0) + 1);
}

function violate(m: Model, what: string) {
  m.violations.push(what);
}

function storedOrder(r: Real, id: string) {
  return r.world.sql
    .exec<{ id: string; user_id: string }>("SELECT id, user_id FROM orders WHERE id = ?", id)
    .toArray()[0];
}

/** The invariants, read from both sides: storage directly, and the object's memory. */
function checkInvariants(m: Model, r: Real, when: string) {
  const s = storageView(r.world.sql);
  if (s.holding + s.remaining !== s.stock)
    violate(m, `${when}: storage held+paid ${s.holding} + remaining ${s.remaining} != stock ${s.stock}`);
  if (s.remaining < 0) violate(m, `${when}: storage remaining ${s.remaining} < 0`);
  if (s.orphans > 0) violate(m, `${when}: ${s.orphans} outbox row(s) without an order`);
  const users = new Set(s.orders.map((o) => o.user_id));
  if (users.size !== s.orders.length) violate(m, `${when}: a shopper has two orders in storage`);
  for (const [user, a] of m.accepted) {
    if (!storedOrder(r, a.orderId)) violate(m, `${when}: the 202 order of ${user} (${a.orderId}) is not in storage`);
  }
  // Memory: what the object offers + what storage holds + what is reserved and not yet written = stock.
  const item = r.world.item as unknown as {
    assertInvariants?: () => void;
    remaining?: number;
    uncommitted?: Map<string, { quantity: number }>;
    stockView?: () => { available: number; durableRemaining: number; reserved: number };
  };
  try {
    item.assertInvariants?.();
  } catch (err) {
    violate(m, `${when}: object assertion: ${String(err)}`);
  }
  if (item.stockView) {
    const v = item.stockView();
    if (v.durableRemaining !== s.remaining)
      violate(m, `${when}: memory durable remaining ${v.durableRemaining} != storage ${s.remaining}`);
    if (v.available + v.reserved !== v.durableRemaining)
      violate(m, `${when}: memory available ${v.available} + reserved ${v.reserved} != ${v.durableRemaining}`);
  } else {
    // Today's object: `remaining` counts reserved rows, `uncommitted` holds the reserved rows not yet written.
    const reserved = [...(item.uncommitted?.values() ?? [])].reduce((n, o) => n + o.quantity, 0);
    if (item.remaining! + reserved + s.holding !== s.stock) {
      violate(
        m,
        `${when}: memory remaining ${item.remaining} + reserved ${reserved} + stored held/paid ${s.holding} != stock ${s.stock}`,
      );
    }
  }
}

/** Remembers a fired command's promise so the run can wait for everything at the end. */
function track<T>(r: Real, p: Promise<T>): Promise<T> {
  r.inFlight.add(p);
  const done = () => void r.inFlight.delete(p);
  p.then(done, done);
  return p;
}

function isInjected(err: unknown): boolean {
  return /injected write failure|object was reset/.test(String(err));
}

class Purchase implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: string,
    readonly quantity: number,
    readonly keyMode: "own" | "other" | "none",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const key =
      this.keyMode === "own" ? m.keyOf.get(this.user) : this.keyMode === "other" ? `other-${Math.random()}` : undefined;
    const saleId = r.world.config.id;
    const acceptedBefore = m.accepted.get(this.user);
    const replayExpected = acceptedBefore !== undefined && key !== undefined && acceptedBefore.key === key;
    // The edge first: the sold-out/ended short-circuit.
    const shed = m.skip.has("edge") ? null : r.edge.decide(saleId, this.user, key);
    if (shed) {
      count(m, `edge ${shed}`);
      if (replayExpected) violate(m, `purchase(${this.user}) with the accepted key shed at the edge with ${shed}`);
      return checkInvariants(m, r, this.toString());
    }
    const item = r.world.item;
    const call = track(
      r,
      item.reservePurchase(r.edge.request(saleId, { userId: this.user, quantity: this.quantity, idempotencyKey: key })),
    );
    call.then(
      (result: PurchaseResult) => {
        r.edge.learn(saleId, result);
        if (result.ok) {
          count(m, result.replayed ? "purchase replay" : "purchase ok");
          // Every 202 is durable when it is seen.
          if (!storedOrder(r, result.order.id))
            violate(m, `202 for ${this.user} (${result.order.id}) before its order is in storage`);
          const known = m.accepted.get(this.user);
          if (known && known.orderId !== result.order.id)
            violate(m, `${this.user} was given a second order ${result.order.id} (first ${known.orderId})`);
          if (!result.replayed && !known) m.accepted.set(this.user, { orderId: result.order.id, key });
          return;
        }
        count(m, `purchase ${result.code}`);
        const accepted = m.accepted.get(this.user);
        if (accepted && key !== undefined && accepted.key === key && !m.skip.has("edge")) {
          violate(m, `retry of ${this.user} with the accepted key answered ${result.code}, not its 202`);
        }
        if (result.code === "ALREADY_PURCHASED" && !m.skip.has("alreadyPurchased")) {
          const named = (result.details as { orderId?: string } | undefined)?.orderId;
          if (!named || !storedOrder(r, named))
            violate(m, `ALREADY_PURCHASED for ${this.user} names ${named}, which is not in storage`);
        }
      },
      (err: unknown) => {
        count(m, "purchase error");
        if (!isInjected(err)) violate(m, `purchase(${this.user}) threw ${String(err)}`);
      },
    );
    await settle();
    checkInvariants(m, r, this.toString());
  }
  toString = () => `purchase(${this.user}, ${this.quantity}, ${this.keyMode})`;
}

/** Order reads, pay and cancel by the shopper: fired, not awaited. */
class OrderCall implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: string,
    readonly kind: "pay" | "cancel" | "getOrder" | "getOrderForUser",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const item = r.world.item;
    // The order id: the accepted one, or (for reads by shopper) whatever the object thinks.
    const orderId = m.accepted.get(this.user)?.orderId;
    let p: Promise<unknown>;
    if (this.kind === "getOrderForUser") p = Promise.resolve().then(() => item.getOrderForUser(this.user));
    else if (orderId === undefined) return checkInvariants(m, r, this.toString());
    else if (this.kind === "getOrder") p = Promise.resolve().then(() => item.getOrder(orderId, this.user));
    else if (this.kind === "pay") p = item.payOrder(orderId, this.user);
    else p = item.cancelOrder(orderId, this.user);
    track(r, p).then(
      (res) => {
        const code =
          res === null
            ? "none"
            : (res as { ok?: boolean; code?: string }).ok === false
              ? (res as { code: string }).code
              : "ok";
        count(m, `${this.kind} ${code}`);
      },
      (err: unknown) => {
        count(m, `${this.kind} error`);
        if (!isInjected(err)) violate(m, `${this.kind}(${this.user}) threw ${String(err)}`);
      },
    );
    await settle();
    checkInvariants(m, r, this.toString());
  }
  toString = () => `${this.kind}(${this.user})`;
}

class Step implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly kind:
      "settle" | "alarm" | "pause" | "resume" | "advance" | "pastWindow" | "toEnd" | "failNext" | "restart",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const w = r.world;
    switch (this.kind) {
      case "settle":
        if (w.settleOne()) count(m, "settle");
        break;
      case "alarm":
        count(m, "alarm");
        track(r, w.item.alarm()).catch((err: unknown) => {
          if (!isInjected(err)) violate(m, `alarm threw ${String(err)}`);
        });
        break;
      case "pause":
      case "resume":
        try {
          w.item.setPaused(this.kind === "pause");
          count(m, this.kind);
        } catch (err) {
          if (!isInjected(err)) violate(m, `${this.kind} threw ${String(err)}`);
        }
        break;
      case "advance":
        w.clock.now += 700;
        break;
      case "pastWindow":
        w.clock.now += w.config.paymentWindowSeconds * 1000 + 1;
        count(m, "pastWindow");
        break;
      case "toEnd":
        if (w.clock.now < w.config.endsAt) w.clock.now = w.config.endsAt;
        count(m, "ended");
        break;
      case "failNext":
        w.failNextTransaction();
        count(m, "failNext");
        break;
      case "restart":
        await w.restart();
        count(m, "restart");
        break;
    }
    await settle();
    checkInvariants(m, r, this.toString());
  }
  toString = () => this.kind;
}

const user = fc.constantFrom(...USERS);
export type CommandKind =
  | "purchase"
  | "retry"
  | "pay"
  | "cancel"
  | "read"
  | "settle"
  | "alarm"
  | "pause"
  | "clock"
  | "end"
  | "fail"
  | "restart";
const ALL_KINDS: CommandKind[] = [
  "purchase",
  "retry",
  "pay",
  "cancel",
  "read",
  "settle",
  "alarm",
  "pause",
  "clock",
  "end",
  "fail",
  "restart",
];

function commandsOf(kinds: CommandKind[]) {
  const table: Record<CommandKind, fc.Arbitrary<fc.AsyncCommand<Model, Real>>[]> = {
    purchase: [
      fc
        .tuple(
          user,
          fc.integer({ min: 1, max: 2 }),
          fc.constantFrom("own", "other", "none") as fc.Arbitrary<"own" | "other" | "none">,
        )
        .map(([u, q, k]) => new Purchase(u, q, k)),
    ],
    retry: [user.map((u) => new Purchase(u, 1, "own"))],
    pay: [user.map((u) => new OrderCall(u, "pay"))],
    cancel: [user.map((u) => new OrderCall(u, "cancel"))],
    read: [
      fc
        .tuple(user, fc.constantFrom("getOrder", "getOrderForUser") as fc.Arbitrary<"getOrder" | "getOrderForUser">)
        .map(([u, k]) => new OrderCall(u, k)),
    ],
    settle: [fc.constant(new Step("settle")), fc.constant(new Step("settle"))],
    alarm: [fc.constant(new Step("alarm"))],
    pause: [fc.constantFrom(new Step("pause"), new Step("resume"))],
    clock: [fc.constantFrom(new Step("advance"), new Step("pastWindow"))],
    end: [fc.constant(new Step("toEnd"))],
    fail: [fc.constant(new Step("failNext"))],
    restart: [fc.constant(new Step("restart"))],
  };
  return kinds.flatMap((k) => table[k]);
}

/** Runs one history against a fresh sale with `stock` units; returns the invariants it broke. */
async function runHistory(
  stock: number,
  cmds: Iterable<fc.AsyncCommand<Model, Real>>,
  counts: Map<string, number>,
  skip: ("edge" | "alreadyPurchased")[] = [],
): Promise<string[]> {
  const config = saleConfig({ stock });
  const stub = env.SALE_ITEM.get(env.SALE_ITEM.idFromName(config.id));
  let violations: string[] = [];
  await runInDurableObject(stub, async (instance: SaleItem, state) => {
    const world = await makeWorld(state, config, Date.now(), instance);
    const model: Model = {
      accepted: new Map(),
      keyOf: new Map(USERS.map((u) => [u, `key-${u}`])),
      violations: [],
      counts,
      skip: new Set(skip),
    };
    const real: Real = { world, edge: edgeFor(() => world.clock.now), inFlight: new Set() };
    checkInvariants(model, real, "start");
    await fc.asyncModelRun(() => ({ model, real }), cmds);
    // Drain: every round becomes durable, everything fired is answered, the invariants still hold.
    for (let i = 0; i < 200 && (real.inFlight.size > 0 || world.syncs.length > 0); i++) {
      world.settleOne();
      await settle();
    }
    if (real.inFlight.size > 0) model.violations.push(`${real.inFlight.size} command(s) never answered`);
    checkInvariants(model, real, "end");
    violations = model.violations;
  });
  return violations;
}

/** Runs the model once per generated history; returns fast-check's details (the caller asserts). */
export async function runConcurrentModel(options: {
  kinds?: CommandKind[];
  seed?: number;
  numRuns?: number;
  counts?: Map<string, number>;
  skip?: ("edge" | "alreadyPurchased")[];
}) {
  const counts = options.counts ?? new Map<string, number>();
  return await fc.check(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.commands(commandsOf(options.kinds ?? ALL_KINDS), { maxCommands: 60, size: "large" }),
      async (stock, cmds) => {
        const violations = await runHistory(stock, cmds, counts, options.skip);
        if (violations.length > 0) throw new Error(violations.slice(0, 3).join("\n"));
      },
    ),
    { numRuns: options.numRuns ?? 100, seed: options.seed },
  );
}

describe("SaleItem, concurrent model", () => {
  it("keeps every invariant with commands in flight, failed writes and restarts", async () => {
    const counts = new Map<string, number>();
    const details = await runConcurrentModel({ counts, numRuns: 200 });
    if (details.failed) {
      throw new Error(
        `seed ${details.seed}, path ${details.counterexamplePath}\n${details.counterexample?.[1]}\n${String(details.errorInstance)}`,
      );
    }
    // A successful pay or cancel needs an order that is durable, held and inside its window when the call lands;
    // most random histories end, pause or jump past the window first, and in one full run of 200 none cancelled.
    // So the outcome the random runs missed runs once here, in a fixed history, against the same model.
    for (const [kind, what] of [
      ["pay", "pay ok"],
      ["cancel", "cancel ok"],
    ] as const) {
      if ((counts.get(what) ?? 0) > 0) continue;
      const [buyer] = USERS;
      const violations = await runHistory(
        2,
        [new Purchase(buyer, 1, "own"), new Step("settle"), new Step("settle"), new OrderCall(buyer, kind)],
        counts,
      );
      expect(violations, `fixed ${kind} history`).toEqual([]);
    }
    // The histories exercised what they claim to, many times over.
    for (const what of [
      "purchase ok",
      "purchase replay",
      "purchase ALREADY_PURCHASED",
      "purchase error",
      "pay ok",
      "cancel ok",
      "getOrderForUser ok",
      "settle",
      "alarm",
      "restart",
      "failNext",
      "pastWindow",
      "pause",
      "ended",
    ]) {
      // Pay and cancel at least once (above), the others more than three times.
      expect(counts.get(what) ?? 0, what).toBeGreaterThan(what === "pay ok" || what === "cancel ok" ? 0 : 3);
    }
    expect((counts.get("edge SOLD_OUT") ?? 0) + (counts.get("edge ENDED") ?? 0)).toBeGreaterThan(3);
  }, 240_000);
});
