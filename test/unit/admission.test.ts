import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  IsolateAdmission,
  ObjectAdmission,
  type AdmissionVerdict,
  type EdgeDecision,
} from "../../lib/server/hot/admission.ts";

/** The most of `times` (ascending ms) inside any window of `windowMs`, however aligned. */
function peakInWindow(times: number[], windowMs: number): number {
  let peak = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

describe("ObjectAdmission (the object's ceiling)", () => {
  it("never accepts more than maxRps in any one-second interval, whatever the isolates ask for", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }), // isolates
        fc.integer({ min: 10, max: 1500 }), // maxRps
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 40 }),
            fc.integer({ min: 0, max: 10_000 }),
            fc.integer({ min: 0, max: 500 }),
          ),
          {
            minLength: 1,
            maxLength: 3000,
          },
        ), // (gap ms, isolate, wantTokens)
        (isolates, maxRps, requests) => {
          const admission = new ObjectAdmission({ maxRps });
          const accepted: number[] = [];
          let now = 1_700_000_000_000;
          for (const [gap, who, want] of requests) {
            now += gap;
            const verdict = admission.admit(now, `i${who % isolates}`, want);
            if (verdict.admitted) accepted.push(now);
            else expect(verdict.retryAfterMs).toBeGreaterThan(0);
            admission.assertWithinCeiling();
          }
          expect(peakInWindow(accepted, 1000)).toBeLessThanOrEqual(maxRps);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("sustains its ceiling when offered more, and answers the rest busy from memory", () => {
    const admission = new ObjectAdmission({ maxRps: 800 });
    let accepted = 0;
    let busy = 0;
    // 4,000 attempts/s for 5 s from 50 isolates, each asking for a lease.
    for (let t = 0; t < 5000; t += 0.25) {
      const verdict = admission.admit(t, `i${Math.floor(t * 4) % 50}`, 4);
      if (verdict.admitted) accepted++;
      else busy++;
    }
    expect(accepted / 5).toBeGreaterThan(0.85 * 800 * 0.9); // the bin share (90 %) of 800/s, less the 1.05 s window
    expect(accepted / 5).toBeLessThanOrEqual(800);
    expect(busy).toBe(20_000 - accepted);
  });

  it("grants leases out of room only, a fair share each, and spends a lease's tokens before probing", () => {
    const admission = new ObjectAdmission({ maxRps: 800, leaseMs: 250 });
    const first = admission.admit(0, "a", 1000);
    expect(first.admitted).toBe(true);
    if (!first.admitted || !first.lease) throw new Error("expected a lease");
    // Alone, "a" may have a quarter second of the ceiling, less the 10 % kept for probes.
    expect(first.lease.tokens).toBeLessThanOrEqual(200);
    expect(admission.promisedTokens).toBe(first.lease.tokens);
    // A second isolate now shares: its lease is at most half a quarter second.
    const second = admission.admit(1, "b", 1000);
    if (!second.admitted) throw new Error("expected admission");
    expect(second.lease?.tokens ?? 0).toBeLessThanOrEqual(100);
    // Leases expire: their tokens stop counting against the window.
    admission.admit(300, "c", 0);
    expect(admission.promisedTokens).toBe(0);
  });

  it("hands out longer retry times as more isolates are refused, so busy answers stay bounded", () => {
    const admission = new ObjectAdmission({ maxRps: 10, busyBudgetRps: 100 });
    for (let i = 0; i < 10; i++) admission.admit(i, `x${i}`, 0);
    const early = admission.admit(20, "y0", 0);
    for (let i = 1; i < 400; i++) admission.admit(20 + i / 10, `y${i}`, 0);
    const late = admission.admit(61, "z", 0);
    if (early.admitted || late.admitted) throw new Error("expected busy answers");
    expect(late.retryAfterMs).toBeGreaterThan(early.retryAfterMs);
    expect(late.retryAfterMs).toBeGreaterThanOrEqual(3000); // ~400 isolates / 100 per second
    expect(late.retryAfterMs).toBeLessThanOrEqual(5000);
  });
});

describe("IsolateAdmission (the gateway's half)", () => {
  it("sends one probe at a time, spends lease tokens, and stops calling after a busy answer", () => {
    const edge = new IsolateAdmission();
    const first = edge.decide(0, "shard-0");
    expect(first).toEqual({ send: true, probe: true });
    // While the probe is out, other shoppers are told to retry without a call.
    expect(edge.decide(1, "shard-0")).toEqual({ send: false, retryAfterMs: 1000, reason: "probe" });
    edge.onAnswer(10, "shard-0", true, { admitted: true, lease: { tokens: 2, ttlMs: 250 } });
    expect(edge.decide(11, "shard-0")).toEqual({ send: true, probe: false });
    expect(edge.decide(12, "shard-0")).toEqual({ send: true, probe: false });
    const probe = edge.decide(13, "shard-0");
    expect(probe).toEqual({ send: true, probe: true });
    edge.onAnswer(20, "shard-0", true, { admitted: false, retryAfterMs: 1500 });
    const blocked = edge.decide(21, "shard-0");
    expect(blocked).toEqual({ send: false, retryAfterMs: 1499, reason: "blocked" });
    // Other objects are not affected, and the block ends on time.
    expect(edge.decide(21, "shard-1").send).toBe(true);
    expect(edge.decide(1520, "shard-0").send).toBe(true);
  });

  it("frees the probe slot when the call fails, and forgets the least recent object past its bound", () => {
    const edge = new IsolateAdmission({ maxObjects: 2 });
    expect(edge.decide(0, "a").send).toBe(true);
    edge.onAnswer(5, "a", true, null);
    expect(edge.decide(6, "a")).toEqual({ send: true, probe: true });
    edge.decide(7, "b");
    edge.decide(8, "c"); // "a" is forgotten: a new probe is allowed even though one was out
    expect(edge.decide(9, "a")).toEqual({ send: true, probe: true });
  });

  it("asks for tokens in proportion to its own recent attempts", () => {
    const edge = new IsolateAdmission();
    for (let t = 0; t < 1000; t += 10) edge.decide(t, "s"); // 100 attempts in a second
    expect(edge.wantTokens(1000, "s", 250)).toBeGreaterThanOrEqual(25);
    expect(edge.wantTokens(1000, "s", 250)).toBeLessThanOrEqual(60);
    expect(edge.wantTokens(1000, "unknown", 250)).toBe(1);
  });

  it("keeps a lease whose token the object refused only for its bin, and waits out that bin", () => {
    const object = new ObjectAdmission({ maxRps: 800 }); // 36 a bin
    const edge = new IsolateAdmission();
    expect(edge.decide(0, "s")).toEqual({ send: true, probe: true });
    const first = object.admit(0, "i", 50);
    edge.onAnswer(0, "s", true, first);
    expect(first).toMatchObject({ admitted: true, lease: { tokens: 50 } }); // 800 × 0.25 s, a fair share
    let sent = 1;
    let refused: AdmissionVerdict | null = null;
    while (!refused) {
      expect(edge.decide(1, "s")).toEqual({ send: true, probe: false });
      const verdict = object.admit(1, "i");
      if (verdict.admitted) sent++;
      else refused = verdict;
      edge.onAnswer(1, "s", false, verdict);
    }
    expect(sent).toBe(object.binCap);
    expect(refused).toEqual({ admitted: false, retryAfterMs: 49, keepLease: true });
    // The refused token was given back; the isolate waits for the next bin, then spends the rest of its lease.
    expect(edge.decide(2, "s")).toEqual({ send: false, retryAfterMs: 48, reason: "blocked" });
    for (let i = 0; i < 50 - (object.binCap - 1); i++) {
      expect(edge.decide(50, "s")).toEqual({ send: true, probe: false });
      expect(object.admit(50, "i").admitted).toBe(true);
    }
    expect(edge.decide(51, "s")).toEqual({ send: true, probe: true });
  });
});

/** A clock the test moves by hand, with timers that fire when it passes them. */
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    after(ms: number, fn: () => void) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => void (timers = timers.filter((t) => t !== timer));
    },
    /** Moves the clock to `to`, firing due timers in order and letting their promises run. */
    async advance(to: number) {
      for (;;) {
        await flush();
        const due = timers.filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = to;
      await flush();
    },
    pending: () => timers.length,
  };
}

async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe("IsolateAdmission.enter (the gateway waits where waiting gets a shopper in)", () => {
  it("at first contact, a burst waits for the probe's lease instead of being refused", async () => {
    const clock = manualClock();
    const edge = new IsolateAdmission({}, clock);
    const decisions: EdgeDecision[] = [];
    const entries = Array.from({ length: 40 }, () => edge.enter("s").then((d) => decisions.push(d)));
    await clock.advance(0);
    expect(decisions).toEqual([{ send: true, probe: true }]);
    expect(edge.waiting("s")).toBe(39);
    // The probe asks for a token for everyone waiting behind it.
    expect(edge.wantTokens(0, "s")).toBeGreaterThanOrEqual(39);
    await clock.advance(3);
    edge.onAnswer(3, "s", true, { admitted: true, lease: { tokens: 39, ttlMs: 250 } });
    await clock.advance(4); // the parked shoppers' first look
    await Promise.all(entries);
    expect(decisions.slice(1)).toEqual(Array.from({ length: 39 }, () => ({ send: true, probe: false })));
    expect(edge.waiting("s")).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it("a lease too small for the crowd: the rest wait for the next probe; a failed probe hands the turn on", async () => {
    const clock = manualClock();
    const edge = new IsolateAdmission({}, clock);
    const decisions: EdgeDecision[] = [];
    const entries = Array.from({ length: 5 }, () => edge.enter("s").then((d) => decisions.push(d)));
    await clock.advance(1);
    edge.onAnswer(1, "s", true, null); // the probe's call failed
    await clock.advance(4);
    expect(decisions).toEqual([
      { send: true, probe: true },
      { send: true, probe: true },
    ]);
    edge.onAnswer(5, "s", true, { admitted: true, lease: { tokens: 2, ttlMs: 250 } });
    await clock.advance(12); // the second look, 8 ms after the first
    expect(decisions.slice(2)).toEqual([
      { send: true, probe: false },
      { send: true, probe: false },
      { send: true, probe: true },
    ]);
    await Promise.all(entries);
  });

  it("is bounded: in time (then 429 as before), in waiters per object, and never waits out a long block", async () => {
    const clock = manualClock();
    const edge = new IsolateAdmission({ maxWaiters: 3 }, clock);
    const decisions: EdgeDecision[] = [];
    const entries = Array.from({ length: 6 }, () => edge.enter("s", 300).then((d) => decisions.push(d)));
    await clock.advance(0);
    // The probe, then two refused at once (three are waiting).
    expect(decisions).toEqual([
      { send: true, probe: true },
      { send: false, retryAfterMs: 1000, reason: "probe" },
      { send: false, retryAfterMs: 1000, reason: "probe" },
    ]);
    await clock.advance(299);
    expect(decisions).toHaveLength(3);
    await clock.advance(300); // the probe never answers: the waiters leave at their deadline
    await Promise.all(entries);
    expect(decisions.slice(3)).toEqual(
      Array.from({ length: 3 }, () => ({ send: false, retryAfterMs: 1000, reason: "probe" })),
    );
    expect(edge.waiting("s")).toBe(0);

    // A busy answer of 1.5 s is longer than the budget: refused at once, with the object's retry time.
    edge.onAnswer(300, "s", true, { admitted: false, retryAfterMs: 1500 });
    const late = edge.enter("s", 1000);
    await clock.advance(300);
    expect(await late).toEqual({ send: false, retryAfterMs: 1500, reason: "blocked" });
    // A short one is waited out.
    edge.decide(300, "t");
    edge.onAnswer(300, "t", true, { admitted: false, retryAfterMs: 200 });
    const after = edge.enter("t", 1000);
    await clock.advance(499);
    expect(edge.decide(499, "t", false)).toMatchObject({ send: false, reason: "blocked" });
    await clock.advance(500);
    expect(await after).toEqual({ send: true, probe: true });
  });
});
