import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IsolateAdmission, ObjectAdmission } from "../../lib/server/hot/admission.ts";

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
    expect(edge.decide(1, "shard-0").send).toBe(false);
    edge.onAnswer(10, "shard-0", true, { admitted: true, lease: { tokens: 2, ttlMs: 250 } });
    expect(edge.decide(11, "shard-0")).toEqual({ send: true, probe: false });
    expect(edge.decide(12, "shard-0")).toEqual({ send: true, probe: false });
    const probe = edge.decide(13, "shard-0");
    expect(probe).toEqual({ send: true, probe: true });
    edge.onAnswer(20, "shard-0", true, { admitted: false, retryAfterMs: 1500 });
    const blocked = edge.decide(21, "shard-0");
    expect(blocked).toEqual({ send: false, retryAfterMs: 1499 });
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
});
