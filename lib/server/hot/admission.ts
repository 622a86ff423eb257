/**
 * Admission that holds across the whole edge (docs/design.md, "Hot sales: admission"). Pure and clock-injected:
 * the SaleItem object and the gateway use these classes, and `npm run simulate` drives the same classes.
 *
 * The problem: each gateway isolate keeps its own memory, so a per-isolate bucket lets N × its rate reach one
 * object. The fix has two halves.
 *
 * - `ObjectAdmission` lives in the object and is the only authority. It counts the work it accepted in a sliding
 *   window (21 bins of 50 ms) and the tokens it has promised to isolates in leases, and keeps
 *   `accepted in the window + promised ≤ maxRps` at every instant: a request is accepted only if it spends a
 *   token of its isolate's live lease or if there is room, and a lease is granted only out of room. So whatever
 *   the number of isolates, the object never accepts more than `maxRps` purchases in any window of its bins. A
 *   request it cannot accept gets "busy, retry after" from memory (no storage work, no await): that is the only
 *   cost an over-capacity request puts on the object.
 * - `IsolateAdmission` lives in each gateway isolate. It sends a purchase to an object only when it holds a token
 *   of a live lease, or as its one probe in flight; after a busy answer it stops calling that object until the
 *   retry time has passed and answers its shoppers `429` + `Retry-After` itself. So the busy answers an object
 *   has to give are bounded too: about (isolates talking to it) / retryAfter per second, and the object sizes
 *   retryAfter from the number of isolates it sees so that stays under `busyBudgetRps`.
 *
 * Leases are time-boxed (a relative TTL, so no clock is shared) and small (a fair share of a quarter second).
 * Failure modes: an isolate that dies with tokens only wastes them until the lease expires (the object's
 * accepted rate falls, never rises); an isolate that ignores its lease is still held by the object's window; an
 * object restart forgets leases and its window, so for up to one window it may accept up to `maxRps` more (the
 * platform's own overload error is then the backstop, answered `503` + `Retry-After` by the gateway).
 */

export interface ObjectAdmissionOptions {
  /** `OBJECT_MAX_RPS`: accepted purchases per second, the ceiling that must hold. */
  maxRps: number;
  /** Lease time box. Short, so tokens of a vanished isolate come back quickly. */
  leaseMs?: number;
  /** Busy answers per second the object is willing to give; sizes the retry time it hands out. */
  busyBudgetRps?: number;
  /** Bound on live leases and on isolates remembered; at the bound no new lease is granted (probes still work). */
  maxIsolates?: number;
}

/**
 * The object's answer on admission. A refusal with `keepLease` came from the bin cap while the isolate held a
 * token: its lease stands, the token was not spent, and the isolate may use it once `retryAfterMs` (under one
 * bin) has passed.
 */
export type AdmissionVerdict =
  | { admitted: true; lease: { tokens: number; ttlMs: number } | null }
  | { admitted: false; retryAfterMs: number; keepLease?: true };

const BIN_MS = 50;
/**
 * The window is 21 bins (1,050 ms): any one-second interval, however aligned, lies within 21 consecutive bins,
 * so "accepted in the window ≤ maxRps" bounds every one-second interval, not only the aligned ones. The price
 * is 5 % of throughput (maxRps per 1.05 s when saturated).
 */
const BINS = 21;

interface Lease {
  tokens: number;
  expiresAt: number;
  generation: number;
}

export class ObjectAdmission {
  readonly maxRps: number;
  readonly leaseMs: number;
  readonly busyBudgetRps: number;
  readonly maxIsolates: number;
  /** Most accepted in one bin: the ceiling's share of one bin. */
  readonly binCap: number;
  private readonly bins = new Array<number>(BINS).fill(0);
  private binIndex = 0;
  private binStartedAt = 0;
  private windowAccepted = 0;
  /** Σ tokens of live leases. Invariant: windowAccepted + promised ≤ maxRps. */
  private promised = 0;
  private readonly leases = new Map<string, Lease>();
  /** Lease expiries in grant order (every lease lasts leaseMs, so this is also expiry order). */
  private readonly expiries: { isolate: string; expiresAt: number; generation: number }[] = [];
  private generation = 0;
  /** isolate → last seen, oldest first (re-inserted on every visit). */
  private readonly seen = new Map<string, number>();
  /** isolate → last busy answer, oldest first: the isolates that will probe again after their retry time. */
  private readonly refusedRecently = new Map<string, number>();
  /** Totals, for telemetry and the simulation. */
  accepted = 0;
  busy = 0;

  constructor(options: ObjectAdmissionOptions) {
    if (!(options.maxRps >= 1)) throw new RangeError(`maxRps must be ≥ 1, got ${options.maxRps}`);
    this.maxRps = Math.floor(options.maxRps);
    this.leaseMs = options.leaseMs ?? 250;
    this.busyBudgetRps = options.busyBudgetRps ?? Math.max(1, Math.floor(this.maxRps / 2));
    this.maxIsolates = options.maxIsolates ?? 10_000;
    this.binCap = Math.max(1, Math.floor((this.maxRps * BIN_MS * 0.9) / 1000));
  }

  /**
   * Decide one purchase from `isolate`, which would like `wantTokens` more tokens for its next lease.
   * Synchronous and in memory: safe to call before any storage work.
   */
  admit(now: number, isolate: string, wantTokens = 0): AdmissionVerdict {
    this.advance(now);
    this.touch(now, isolate);
    const lease = this.leases.get(isolate);
    const holdsToken = lease !== undefined && lease.tokens > 0 && lease.expiresAt > now;
    // Smoothness: at most a bin's share of the ceiling in any one bin, so a window's work never lands at once and
    // the object's queue stays short even when every isolate's first probe arrives together (what is left of
    // the bin goes to busy answers). A token holder is told to come back at the next bin; its lease stays.
    if (this.bins[this.binIndex] >= this.binCap) {
      this.busy++;
      if (holdsToken)
        return { admitted: false, retryAfterMs: Math.max(1, this.binStartedAt + BIN_MS - now), keepLease: true };
      return { admitted: false, retryAfterMs: this.retryAfterMs(now, isolate) };
    }
    if (holdsToken) {
      lease.tokens--;
      this.promised--;
    } else if (this.windowAccepted + this.promised >= this.maxRps) {
      this.busy++;
      return { admitted: false, retryAfterMs: this.retryAfterMs(now, isolate) };
    }
    this.bins[this.binIndex]++;
    this.windowAccepted++;
    this.accepted++;
    const granted = this.grant(now, isolate, wantTokens);
    this.assertWithinCeiling();
    return { admitted: true, lease: granted };
  }

  /** Accepted in the current window (for telemetry). */
  get acceptedInWindow(): number {
    return this.windowAccepted;
  }

  get promisedTokens(): number {
    return this.promised;
  }

  get activeIsolates(): number {
    return this.seen.size;
  }

  /** The invariant the ceiling rests on, checked right after every change that could break it. */
  assertWithinCeiling(): void {
    if (this.windowAccepted + this.promised > this.maxRps || this.promised < 0) {
      throw new Error(
        `admission invariant broken: accepted ${this.windowAccepted} + promised ${this.promised} > ${this.maxRps}`,
      );
    }
  }

  private grant(now: number, isolate: string, wantTokens: number): { tokens: number; ttlMs: number } | null {
    const old = this.leases.get(isolate);
    if (old && old.tokens > 0 && old.expiresAt > now) return null; // one live lease per isolate
    if (old) {
      this.promised -= old.expiresAt > now ? old.tokens : 0;
      this.leases.delete(isolate);
    }
    if (wantTokens < 1 || this.leases.size >= this.maxIsolates) return null;
    // A fair share of one lease period's capacity, and never the last 10 % of the window (kept for probes, so
    // an isolate without a lease is not starved by isolates that renew theirs).
    const perPeriod = (this.maxRps * this.leaseMs) / 1000;
    const fair = Math.max(1, Math.floor(perPeriod / Math.max(1, this.seen.size)));
    const room = this.maxRps - Math.ceil(this.maxRps / 10) - this.windowAccepted - this.promised;
    const tokens = Math.min(Math.floor(wantTokens), fair, room);
    if (tokens < 1) return null;
    const generation = ++this.generation;
    const expiresAt = now + this.leaseMs;
    this.leases.set(isolate, { tokens, expiresAt, generation });
    this.expiries.push({ isolate, expiresAt, generation });
    this.promised += tokens;
    return { tokens, ttlMs: this.leaseMs };
  }

  /** Rolls the window's bins forward to `now` and drops expired leases (bounded loops: ≤ BINS, ≤ live leases). */
  private advance(now: number): void {
    if (now - this.binStartedAt >= BIN_MS) {
      const steps = Math.min(BINS, Math.floor((now - this.binStartedAt) / BIN_MS));
      for (let i = 0; i < steps; i++) {
        this.binIndex = (this.binIndex + 1) % BINS;
        this.windowAccepted -= this.bins[this.binIndex];
        this.bins[this.binIndex] = 0;
      }
      this.binStartedAt = now - ((now - this.binStartedAt) % BIN_MS);
    }
    let head = 0;
    while (head < this.expiries.length && this.expiries[head].expiresAt <= now) {
      const e = this.expiries[head++];
      const lease = this.leases.get(e.isolate);
      if (lease && lease.generation === e.generation) {
        this.promised -= lease.tokens;
        this.leases.delete(e.isolate);
      }
    }
    if (head > 0) this.expiries.splice(0, head);
  }

  private touch(now: number, isolate: string): void {
    this.seen.delete(isolate);
    this.seen.set(isolate, now);
    // Forget isolates not seen for 2 s, and the oldest ones past the bound.
    for (const [id, at] of this.seen) {
      if (at > now - 2000 && this.seen.size <= this.maxIsolates) break;
      this.seen.delete(id);
    }
  }

  /**
   * How long an isolate should leave this object alone after a busy answer: long enough that the isolates refused
   * in the last second, each probing once per retry period, stay under `busyBudgetRps`; at least two bins.
   */
  private retryAfterMs(now: number, isolate: string): number {
    this.refusedRecently.delete(isolate);
    this.refusedRecently.set(isolate, now);
    for (const [id, at] of this.refusedRecently) {
      if (at > now - 1000 && this.refusedRecently.size <= this.maxIsolates) break;
      this.refusedRecently.delete(id);
    }
    const spread = (this.refusedRecently.size * 1000) / this.busyBudgetRps;
    return Math.round(Math.min(5000, Math.max(BIN_MS * 2, spread)));
  }
}

export interface IsolateAdmissionOptions {
  /** Bound on the objects this isolate tracks; past it the least recently used is forgotten. */
  maxObjects?: number;
  /** How long a shopper is told to wait when this isolate already has a probe in flight to the object. */
  probeBusyRetryMs?: number;
  /** `enter`: the most shoppers of one object parked in this isolate at once; past it `enter` refuses at once. */
  maxWaiters?: number;
}

/**
 * Whether to call the object now. A refusal says why: `probe` — this isolate's probe to the object is still out
 * (its answer brings a lease); `blocked` — the object said "busy" and the retry time has not passed.
 */
export type EdgeDecision =
  { send: true; probe: boolean } | { send: false; retryAfterMs: number; reason: "probe" | "blocked" };

/** A clock and a timer, so `enter` runs on the Workers runtime, in Node and under a simulated clock alike. */
export interface AdmissionClock {
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** A parked shopper's first look after this long; each later look waits twice as long, up to 16×. */
const PARK_FIRST_MS = 4;

const realClock: AdmissionClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

interface ObjectSlot {
  tokens: number;
  leaseUntil: number;
  blockedUntil: number;
  probesInFlight: number;
  /** attempts counted in the current and previous second, for the demand estimate */
  windowStart: number;
  current: number;
  previous: number;
  /** Shoppers parked in `enter` until the probe's answer. */
  waiters: number;
}

/**
 * The gateway isolate's half: one slot per object (sale shard) it talks to.
 *
 * `decide` is the synchronous rule (the simulation drives it). The gateway uses `enter`, which waits instead of
 * refusing where a short wait gets the shopper in: at first contact every shopper but the probe waits for the
 * probe's answer (it brings a lease sized to the crowd waiting, so a burst is not answered 429 by an idle sale),
 * and after a busy answer shorter than the budget (a bin refusal: under 50 ms) the shoppers wait it out. Waiting is bounded in time and in count per object,
 * and costs the isolate a timer, no CPU; a shopper who would wait longer is answered 429 + Retry-After as before.
 *
 * @example
 * const decision = edgeAdmission.decide(Date.now(), shardName);
 * if (!decision.send) throw rateLimited("Busy, try again", Math.ceil(decision.retryAfterMs / 1000));
 * const answer = await stub.purchase({ ..., isolate: ISOLATE_ID, wantTokens: edgeAdmission.wantTokens(now, shardName) });
 * edgeAdmission.onAnswer(Date.now(), shardName, decision.probe, answer.admission);
 */
export class IsolateAdmission {
  private readonly slots = new Map<string, ObjectSlot>();
  private readonly maxObjects: number;
  private readonly probeBusyRetryMs: number;

  private readonly maxWaiters: number;
  private readonly clock: AdmissionClock;

  constructor(options: IsolateAdmissionOptions = {}, clock: AdmissionClock = realClock) {
    this.maxObjects = options.maxObjects ?? 1024;
    this.probeBusyRetryMs = options.probeBusyRetryMs ?? 1000;
    this.maxWaiters = options.maxWaiters ?? 5000;
    this.clock = clock;
  }

  /** One attempt on `object`: counted for the demand estimate, then the rule (`count: false` for a re-decision). */
  decide(now: number, object: string, count = true): EdgeDecision {
    const slot = this.slot(now, object);
    if (count) this.count(now, slot);
    if (now < slot.blockedUntil) return { send: false, retryAfterMs: slot.blockedUntil - now, reason: "blocked" };
    if (slot.tokens > 0 && now < slot.leaseUntil) {
      slot.tokens--;
      return { send: true, probe: false };
    }
    if (slot.probesInFlight === 0) {
      slot.probesInFlight++;
      return { send: true, probe: true };
    }
    return { send: false, retryAfterMs: this.probeBusyRetryMs, reason: "probe" };
  }

  /**
   * `decide`, waiting up to `maxWaitMs` where waiting gets the shopper a call: for the probe's answer, or for a
   * busy block that ends within the budget. Resolves to a send, or to a refusal once waiting would not help.
   */
  async enter(object: string, maxWaitMs = 1000): Promise<EdgeDecision> {
    const deadline = this.clock.now() + maxWaitMs;
    let looks = 0;
    let decision = this.decide(this.clock.now(), object);
    while (!decision.send) {
      const left = deadline - this.clock.now();
      if (decision.reason === "blocked") {
        const wait = decision.retryAfterMs;
        if (wait > left) return decision;
        await new Promise<void>((resolve) => this.clock.after(wait, resolve));
      } else {
        // Parked until the probe's answer. Each shopper waits on a timer of its own and looks again: on the
        // Workers runtime a promise must not be resolved from another request's handler (its continuation would
        // run, and do I/O, on that other request), so the probe's answer cannot wake the others directly. The
        // looks back off from 4 ms to 64 ms: a handful per shopper, none costly.
        const slot = this.slot(this.clock.now(), object);
        if (left <= 0 || slot.waiters >= this.maxWaiters) return decision;
        const step = Math.min(left, PARK_FIRST_MS << Math.min(4, looks++));
        slot.waiters++;
        try {
          await new Promise<void>((resolve) => this.clock.after(step, resolve));
        } finally {
          slot.waiters--;
        }
        if (step === left) {
          decision = this.decide(this.clock.now(), object, false);
          return decision.send ? decision : { send: false, retryAfterMs: this.probeBusyRetryMs, reason: "probe" };
        }
      }
      decision = this.decide(this.clock.now(), object, false);
    }
    return decision;
  }

  /** Shoppers of `object` parked in `enter` right now (telemetry, tests). */
  waiting(object: string): number {
    return this.slots.get(object)?.waiters ?? 0;
  }

  /**
   * Tokens to ask for: this isolate's attempt rate on the object over one lease period, with 50 % headroom, and at
   * least one for every shopper waiting on the probe (they are here now, not at the rate's pace).
   */
  wantTokens(now: number, object: string, leaseMs = 250): number {
    const slot = this.slots.get(object);
    if (!slot) return 1;
    const elapsed = Math.min(1000, Math.max(1, now - slot.windowStart));
    const rate = slot.previous * ((1000 - elapsed) / 1000) + slot.current; // attempts in the last second, roughly
    return Math.max(1, slot.waiters, Math.ceil((rate * leaseMs * 1.5) / 1000));
  }

  /**
   * A decision to send that was not used — the purchase stopped before its call (a challenge or queue refusal, the
   * holds cap): the probe slot, or the token while its lease lasts, goes back. Without this a stopped probe would
   * leave the object's slot "probe in flight" for good, and every later shopper of this isolate waiting on it.
   */
  release(now: number, object: string, probe: boolean): void {
    const slot = this.slots.get(object);
    if (!slot) return;
    if (probe) slot.probesInFlight = Math.max(0, slot.probesInFlight - 1);
    else if (now < slot.leaseUntil) slot.tokens++;
  }

  /** Record the object's answer (`verdict` null when the call failed: the probe slot is freed, nothing else). */
  onAnswer(now: number, object: string, probe: boolean, verdict: AdmissionVerdict | null): void {
    const slot = this.slot(now, object);
    if (probe && slot.probesInFlight > 0) slot.probesInFlight--;
    if (verdict?.admitted) {
      if (verdict.lease) {
        slot.tokens = verdict.lease.tokens;
        // Leave a margin for the time the answer took to arrive: a token used late is merely refused as busy.
        slot.leaseUntil = now + Math.max(0, verdict.lease.ttlMs - 20);
      }
    } else if (verdict) {
      // A bin refusal of a token holder: the object did not spend the token, so neither does this isolate.
      if (verdict.keepLease && !probe && now < slot.leaseUntil) slot.tokens++;
      else if (!verdict.keepLease) slot.tokens = 0;
      slot.blockedUntil = Math.max(slot.blockedUntil, now + verdict.retryAfterMs);
    }
  }

  private slot(now: number, object: string): ObjectSlot {
    let slot = this.slots.get(object);
    if (slot) {
      this.slots.delete(object);
      this.slots.set(object, slot);
      return slot;
    }
    slot = {
      tokens: 0,
      leaseUntil: 0,
      blockedUntil: 0,
      probesInFlight: 0,
      windowStart: now,
      current: 0,
      previous: 0,
      waiters: 0,
    };
    this.slots.set(object, slot);
    if (this.slots.size > this.maxObjects) {
      const oldest = this.slots.keys().next().value as string;
      this.slots.delete(oldest);
    }
    return slot;
  }

  private count(now: number, slot: ObjectSlot): void {
    if (now - slot.windowStart >= 1000) {
      slot.previous = now - slot.windowStart >= 2000 ? 0 : slot.current;
      slot.current = 0;
      slot.windowStart = now;
    }
    slot.current++;
  }
}
