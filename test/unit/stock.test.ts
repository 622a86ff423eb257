import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_STOCK_POLICY,
  ShardStock,
  StockCoordinator,
  initialAllotments,
  stockInvariant,
  type GrantAnswer,
  type RefillRequest,
  type ReleaseMessage,
} from "../../lib/server/hot/stock.ts";

/**
 * A model of the stock protocol between K shards and the coordinator, with an adversarial network: messages are
 * delivered in any order, duplicated, or lost (the shard then times out and sends the same call again), while
 * shoppers buy and orders come back. After every step the stock invariant must hold; at the end, with the
 * network drained and shoppers at every shard, every unit must be sold (nothing stranded), and "sold out" must
 * never have been answered while a unit was available anywhere (returns aside: those lift it within its TTL).
 */
type Message =
  | { to: "coordinator"; call: number; shard: number; request: RefillRequest }
  | { to: "coordinator"; call: number; shard: number; release: ReleaseMessage }
  | { to: "shard"; call: number; shard: number; grant: GrantAnswer }
  | { to: "shard"; call: number; shard: number; ack: number }
  | { to: "shard"; call: -1; shard: number; reclaim: true };

class Harness {
  now = 1_000;
  coordinator: StockCoordinator;
  readonly shards: ShardStock[];
  network: Message[] = [];
  private readonly inFlight: (number | null)[];
  private calls = 0;
  returnsSeen = false;
  soldOutAnswers = 0;

  constructor(
    readonly stock: number,
    readonly k: number,
  ) {
    const allotments = initialAllotments(stock, k);
    this.coordinator = new StockCoordinator(stock, allotments);
    this.shards = allotments.map((units, i) => new ShardStock(i, k, units));
    this.inFlight = allotments.map(() => null);
  }

  check(): void {
    stockInvariant(this.stock, this.coordinator, this.shards);
    const sold = this.shards.reduce((a, s) => a + s.sold, 0);
    expect(sold).toBeLessThanOrEqual(this.stock);
  }

  available(): number {
    // Units not sold: local + reserve + in transit (stock − sold, by the invariant).
    return this.stock - this.shards.reduce((a, s) => a + s.sold, 0);
  }

  pump(i: number): void {
    if (this.inFlight[i] !== null) return;
    const action = this.shards[i].nextAction(this.now);
    if (!action) return;
    const call = ++this.calls;
    this.inFlight[i] = call;
    if ("request" in action) this.network.push({ to: "coordinator", call, shard: i, request: { ...action.request } });
    else this.network.push({ to: "coordinator", call, shard: i, release: { ...action.release } });
  }

  buy(i: number): void {
    const outcome = this.shards[i].reserve(this.now, 1);
    if (!outcome.ok && outcome.soldOut) {
      this.soldOutAnswers++;
      if (!this.returnsSeen) expect(this.available()).toBe(0);
    }
    this.pump(i);
  }

  giveBack(i: number): void {
    if (this.shards[i].sold === 0) return;
    this.shards[i].returnUnits(1);
    this.returnsSeen = true;
    this.pump(i);
  }

  deliver(index: number, mode: "once" | "duplicate" | "lose"): void {
    if (this.network.length === 0) return;
    const message = this.network[index % this.network.length];
    if (mode !== "duplicate") this.network.splice(index % this.network.length, 1);
    if (mode === "lose") return;
    if (message.to === "coordinator") {
      if ("request" in message) {
        const { answer, reclaimFrom } = this.coordinator.onRequest(this.now, message.request);
        this.network.push({ to: "shard", call: message.call, shard: message.shard, grant: answer });
        for (const j of reclaimFrom) this.network.push({ to: "shard", call: -1, shard: j, reclaim: true });
      } else {
        this.coordinator.onRelease(this.now, message.release);
        this.network.push({ to: "shard", call: message.call, shard: message.shard, ack: message.release.seq });
      }
      return;
    }
    const shard = this.shards[message.shard];
    if ("reclaim" in message) {
      shard.onReclaim(this.now);
    } else if ("grant" in message) {
      shard.onGrant(this.now, message.grant);
      if (this.inFlight[message.shard] === message.call) this.inFlight[message.shard] = null;
    } else {
      shard.onReleaseAcked(message.ack);
      if (this.inFlight[message.shard] === message.call) this.inFlight[message.shard] = null;
    }
    this.pump(message.shard);
  }

  /** A call with no answer in time: the shard sends the same call again (same seq). */
  timeout(i: number): void {
    if (this.inFlight[i] === null) return;
    this.inFlight[i] = null;
    this.pump(i);
  }

  /** An object restarts: memory is rebuilt from what it stored (its snapshot); calls in flight are forgotten. */
  restart(target: number): void {
    if (target >= this.k) {
      this.coordinator = StockCoordinator.restore(this.coordinator.snapshot());
      return;
    }
    this.shards[target] = ShardStock.restore(this.shards[target].snapshot());
    this.inFlight[target] = null;
    this.pump(target);
  }

  tick(ms: number): void {
    this.now += ms;
    for (let i = 0; i < this.k; i++) this.pump(i);
  }

  /** Shoppers at every shard until the sale is sold out everywhere; a bounded number of rounds. */
  sellEverything(): number {
    for (let round = 0; round < 2000; round++) {
      for (let i = 0; i < this.k; i++) this.buy(i);
      let guard = 0;
      while (this.network.length > 0 && guard++ < 10_000) this.deliver(0, "once");
      for (let i = 0; i < this.k; i++) this.timeout(i);
      this.tick(150);
      this.check();
      if (this.available() === 0) return round;
    }
    return -1;
  }
}

const step = fc.oneof(
  fc.record({ kind: fc.constant("buy" as const), shard: fc.nat(63), times: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant("deliver" as const),
    index: fc.nat(1000),
    mode: fc.constantFrom("once", "once", "duplicate", "lose"),
  }),
  fc.record({ kind: fc.constant("return" as const), shard: fc.nat(63) }),
  fc.record({ kind: fc.constant("timeout" as const), shard: fc.nat(63) }),
  fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ kind: fc.constant("restart" as const), target: fc.nat(64) }),
);

describe("stock that moves between shards (lib/server/hot/stock.ts)", () => {
  it("ignores a late copy of a request already answered (the property below found it: seed -937672461)", () => {
    const h = new Harness(1, 2);
    h.buy(0); // both shards start empty: each asks the reserve for its one unit (seq 1)
    h.buy(1);
    h.deliver(1, "duplicate"); // shard 1's request reaches the coordinator, and a copy stays on the wire
    h.deliver(2, "once"); // shard 1 gets its unit
    h.buy(1); // sold; the next shopper makes shard 1 ask again (seq 2)
    h.buy(1);
    h.deliver(2, "once"); // seq 2 is answered: the reserve is empty
    h.check();
    // The stale copy of seq 1 arrives last: nothing is granted twice, and nothing throws.
    h.deliver(1, "once");
    h.check();
    expect(h.sellEverything()).toBeGreaterThanOrEqual(0);
    expect(h.shards.reduce((a, s) => a + s.sold, 0)).toBe(1);
  });

  it("never says sold out while a grant is on its way to a shard (the property below found it: seed 1381784987)", () => {
    const h = new Harness(1, 3); // nothing allotted: the one unit starts in the reserve
    h.buy(1); // shard 1 asks for a unit
    h.deliver(0, "once"); // the coordinator grants it…
    h.deliver(0, "lose"); // …and the answer is lost: the unit is in transit to shard 1
    h.buy(2); // shard 2 asks too: the reserve is empty, so the coordinator asks shard 1 (which it believes has
    h.deliver(0, "once"); // the unit) to give stock back, and answers shard 2 "none"
    let guard = 0;
    while (h.network.length > 0 && guard++ < 100) h.deliver(0, "once");
    // Shard 1's call times out; it sends the reclaim's report before asking again: its local stock is 0, but the
    // unit granted to it is still on its way. The coordinator must not call the sale sold out.
    h.timeout(1);
    h.deliver(0, "once");
    h.check();
    expect(h.coordinator.soldOut).toBe(false);
    expect(h.sellEverything()).toBeGreaterThanOrEqual(0);
    expect(h.shards.reduce((a, s) => a + s.sold, 0)).toBe(1);
  });

  it("holds Σ local + reserve + in transit + sold = stock through any interleaving and restart, and strands nothing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(step, { maxLength: 300 }),
        (k, stock, steps) => {
          const h = new Harness(stock, k);
          h.check();
          for (const s of steps) {
            if (s.kind === "buy") for (let n = 0; n < s.times; n++) h.buy(s.shard % k);
            else if (s.kind === "deliver") h.deliver(s.index, s.mode as "once" | "duplicate" | "lose");
            else if (s.kind === "return") h.giveBack(s.shard % k);
            else if (s.kind === "timeout") h.timeout(s.shard % k);
            else if (s.kind === "restart") h.restart(s.target % (k + 1));
            else h.tick(s.ms);
            h.check();
          }
          // Liveness: with shoppers everywhere and the network healed, every unit is sold.
          expect(h.sellEverything()).toBeGreaterThanOrEqual(0);
          expect(h.shards.reduce((a, s) => a + s.sold, 0)).toBe(stock);
          // And then the sale is sold out everywhere: every shard answers 410 once the coordinator has said so.
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < k; i++) h.buy(i);
            while (h.network.length > 0) h.deliver(0, "once");
            h.tick(100);
          }
          for (let i = 0; i < k; i++) expect(h.shards[i].reserve(h.now, 1)).toEqual({ ok: false, soldOut: true });
          expect(h.coordinator.soldOut).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("replays a grant for a repeated request and applies a release once", () => {
    const coordinator = new StockCoordinator(100, [10, 10]);
    const request: RefillRequest = { shard: 0, seq: 1, local: 0, rate: 20, wanted: 1, headroom: 1000 };
    const first = coordinator.onRequest(0, request);
    const again = coordinator.onRequest(5, request);
    expect(again.answer).toEqual(first.answer);
    expect(coordinator.reserve).toBe(80 - first.answer.units);
    const release: ReleaseMessage = { shard: 1, seq: 1, units: 4, local: 6, received: 10, rate: 0 };
    coordinator.onRelease(10, release);
    coordinator.onRelease(11, release);
    expect(coordinator.reserve).toBe(84 - first.answer.units);
    expect(() => coordinator.onRequest(12, { ...request, seq: 5 })).toThrow(/seq 5 after 1/);
  });

  it("says sold out only once the reserve and every shard are empty, and lifts it when units come back", () => {
    const policy = DEFAULT_STOCK_POLICY;
    const coordinator = new StockCoordinator(2, [1, 1], policy);
    const a = new ShardStock(0, 2, 1, policy);
    const b = new ShardStock(1, 2, 1, policy);
    expect(a.reserve(0, 1)).toEqual({ ok: true });
    // a is empty but b is not: a's shopper is told to retry, never "sold out".
    expect(a.reserve(1, 1)).toEqual({ ok: false, soldOut: false, retryAfterMs: policy.retryMs });
    const ask = a.nextAction(1);
    if (!ask || !("request" in ask)) throw new Error("expected a request");
    const answer = coordinator.onRequest(2, ask.request);
    expect(answer.answer).toMatchObject({ units: 0, soldOut: false });
    expect(answer.reclaimFrom).toEqual([1]);
    // b has a shopper who is waiting, so it keeps its unit; it sells it.
    expect(b.reserve(3, 1)).toEqual({ ok: true });
    b.onReclaim(4);
    const report = b.nextAction(4);
    if (!report || !("release" in report)) throw new Error("expected a release");
    coordinator.onRelease(5, report.release);
    b.onReleaseAcked(report.release.seq);
    a.onGrant(6, answer.answer);
    // Now everything is sold: the next request learns it, and a answers 410.
    const again = a.nextAction(300);
    if (!again || !("request" in again)) throw new Error("expected a request");
    const final = coordinator.onRequest(301, again.request);
    expect(final.answer.soldOut).toBe(true);
    a.onGrant(302, final.answer);
    expect(a.reserve(303, 1)).toEqual({ ok: false, soldOut: true });
    // An order at b is cancelled: b reports it, the coordinator lifts "sold out".
    b.returnUnits(1);
    const back = b.nextAction(304);
    if (!back || !("release" in back)) throw new Error("expected a report");
    coordinator.onRelease(305, back.release);
    expect(coordinator.soldOut).toBe(false);
  });

  it("ignores a late duplicate acknowledgement: a newer release stays pending until its own ack", () => {
    const shard = new ShardStock(0, 2, 10);
    expect(shard.reserve(0, 1)).toEqual({ ok: true });
    shard.onReclaim(5000); // seconds later: no shopper waiting, no recent rate, so the 9 left go back
    const first = shard.nextAction(5000);
    if (!first || !("release" in first)) throw new Error("expected a release");
    expect(first.release).toMatchObject({ seq: 1, units: 9, local: 0 });
    shard.onReleaseAcked(first.release.seq);
    // The order is cancelled: the shard reports its unit (a release of 0), then the first ack arrives again.
    shard.returnUnits(1);
    const report = shard.nextAction(5001);
    if (!report || !("release" in report)) throw new Error("expected a report");
    expect(report.release).toMatchObject({ seq: 2, units: 0, local: 1 });
    shard.onReleaseAcked(first.release.seq);
    expect(shard.nextAction(5002)).toEqual({ release: { ...report.release, rate: 0 } });
    shard.onReleaseAcked(report.release.seq);
    // And being idle with the reserve empty, it gives the returned unit back to the reserve for other shards.
    expect(shard.nextAction(5003)).toEqual({
      release: { shard: 0, seq: 3, units: 1, local: 0, received: 10, rate: 0 },
    });
  });

  it("keeps a one-shard sale exactly as before: no coordinator, sold out when empty", () => {
    const only = new ShardStock(0, 1, 2);
    expect(only.reserve(0, 2)).toEqual({ ok: true });
    expect(only.reserve(1, 1)).toEqual({ ok: false, soldOut: true });
    expect(only.nextAction(2)).toBeNull();
    only.returnUnits(1);
    expect(only.nextAction(3)).toBeNull();
    expect(only.reserve(4, 1)).toEqual({ ok: true });
  });

  it("fails loudly when a ledger is broken", () => {
    const shard = new ShardStock(0, 2, 3);
    expect(() => shard.returnUnits(1)).toThrow(/returning 1 of 0 sold/);
    expect(() => new StockCoordinator(5, [3, 3])).toThrow(/exceed stock/);
  });
});
