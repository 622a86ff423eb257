/**
 * Stock that moves to where the buyers are (docs/design.md, "Hot sales: stock"). Pure and clock-injected: the
 * SaleItem shards and the sale's coordinator hold these, and `npm run simulate` drives the same classes.
 *
 * A sharded sale's stock is in three places: each shard's `local` units (what it can sell with no await), the
 * coordinator's `reserve`, and units in transit between them (a grant not yet applied by its shard, a release not
 * yet applied by the coordinator). Units a shard has sold (held or paid orders) are its `sold`. The invariant:
 *
 *     Σ shard.local + reserve + in transit + Σ shard.sold = stock
 *
 * Each side checks its own half after every change (`assertLedger`): the coordinator
 * `reserve + Σ (granted − releasedIn) = stock`, a shard `local + sold = received − releasedOut`; a grant is in
 * transit while `granted > received`, a release while `releasedOut > releasedIn`. `stockInvariant` checks the
 * whole sum where every side can be seen at once (the simulation, tests).
 *
 * Transfers are idempotent by sequence number, so a lost answer never loses or doubles stock: a shard asks with
 * its request `seq` and asks again with the same `seq` until it has the answer (the coordinator replays the same
 * grant); a shard's release carries its own `seq`, and the coordinator applies each `seq` once.
 *
 * The promise to shoppers: a shard answers `SOLD_OUT` only when the coordinator has said, less than
 * `soldOutTtlMs` ago, that no stock is left anywhere (reserve empty, nothing in transit, every shard reported
 * empty). Otherwise a shard without stock asks for more and the shopper is told to retry shortly (`429`).
 */

export interface StockPolicy {
  /** A grant covers this many seconds of the shard's recent attempt rate. */
  blockSeconds: number;
  /** A shard asks for more when its local stock would last less than this. */
  lowWaterSeconds: number;
  /**
   * When asked to give stock back, a shard keeps one unit per shopper it refused for lack of stock in the last
   * `waitingSeconds` (they are about to retry), and at least `keepSeconds` of its recent attempt rate; the rest
   * goes back.
   */
  waitingSeconds: number;
  keepSeconds: number;
  /** A shard with no attempt for this long, once the reserve is empty, gives its stock back (> a shopper's retry). */
  idleMs: number;
  /** How long a shard trusts the coordinator's "sold out" (the edge's verdict lifts within 2 s). */
  soldOutTtlMs: number;
  /** How long a shopper is told to wait while stock is on its way. */
  retryMs: number;
  /** After a request that got nothing, how long a shard waits before asking again (bounds the coordinator's load). */
  requestBackoffMs: number;
  /** At most one reclaim round per this many ms. */
  reclaimIntervalMs: number;
  /** Share of the stock handed out evenly at creation; the rest starts in the reserve. */
  initialShare: number;
}

/** Bound on the refusals a shard remembers (each is one number). */
const MAX_REFUSALS_TRACKED = 4096;

export const DEFAULT_STOCK_POLICY: StockPolicy = {
  blockSeconds: 1,
  lowWaterSeconds: 0.3,
  waitingSeconds: 2,
  keepSeconds: 0.5,
  idleMs: 2000,
  soldOutTtlMs: 1000,
  retryMs: 500,
  requestBackoffMs: 200,
  reclaimIntervalMs: 100,
  initialShare: 0.5,
};

/** Units each shard starts with; the rest is the reserve. One shard holds everything (no coordinator at all). */
export function initialAllotments(stock: number, shards: number, policy: StockPolicy = DEFAULT_STOCK_POLICY): number[] {
  if (shards === 1) return [stock];
  const each = Math.floor((stock * policy.initialShare) / shards);
  return Array.from({ length: shards }, () => each);
}

export interface RefillRequest {
  shard: number;
  seq: number;
  local: number;
  rate: number;
  wanted: number;
  /** Most units the shard can still sell without passing its buyers bound. */
  headroom: number;
}

export interface GrantAnswer {
  seq: number;
  units: number;
  reserve: number;
  soldOut: boolean;
}

export interface ReleaseMessage {
  shard: number;
  seq: number;
  units: number;
  /** The shard's local stock after the release. */
  local: number;
  /**
   * Units granted to the shard that it has applied (initial allotment included): the coordinator counts a grant
   * it made and the shard has not applied yet as the shard's too, so "sold out" never misses a unit in transit.
   */
  received: number;
  rate: number;
}

export interface CoordinatorAnswer {
  answer: GrantAnswer;
  /** Shards the caller must ask to give stock back (`ShardStock.onReclaim`), because the reserve is empty. */
  reclaimFrom: number[];
}

export interface ShardView {
  granted: number;
  releasedIn: number;
  lastSeq: number;
  lastGrant: number;
  lastReleaseSeq: number;
  reportedLocal: number;
  rate: number;
}

/** What the coordinator keeps in storage (everything but the reclaim timer); `StockCoordinator.restore` reads it. */
export interface CoordinatorSnapshot {
  stock: number;
  reserve: number;
  soldOut: boolean;
  shards: ShardView[];
}

/** The per-sale reserve. In the system it is a small Durable Object per sharded sale; here only its logic. */
export class StockCoordinator {
  readonly stock: number;
  readonly policy: StockPolicy;
  private reserveUnits: number;
  private readonly shards: ShardView[];
  private soldOutFlag = false;
  private lastReclaimAt = -Infinity;

  constructor(stock: number, allotments: number[], policy: StockPolicy = DEFAULT_STOCK_POLICY) {
    this.stock = stock;
    this.policy = policy;
    const given = allotments.reduce((a, b) => a + b, 0);
    if (given > stock) throw new RangeError(`allotments ${given} exceed stock ${stock}`);
    this.reserveUnits = stock - given;
    this.shards = allotments.map((units) => ({
      granted: units,
      releasedIn: 0,
      lastSeq: 0,
      lastGrant: units,
      lastReleaseSeq: 0,
      reportedLocal: units,
      rate: 0,
    }));
    this.assertLedger();
  }

  get reserve(): number {
    return this.reserveUnits;
  }

  get soldOut(): boolean {
    return this.soldOutFlag;
  }

  /** The state to write after every change (a copy). */
  snapshot(): CoordinatorSnapshot {
    return {
      stock: this.stock,
      reserve: this.reserveUnits,
      soldOut: this.soldOutFlag,
      shards: this.shards.map((s) => ({ ...s })),
    };
  }

  /** Rebuilds a coordinator from `snapshot()`; its ledger is checked before it is used. */
  static restore(snapshot: CoordinatorSnapshot, policy: StockPolicy = DEFAULT_STOCK_POLICY): StockCoordinator {
    const coordinator = new StockCoordinator(
      snapshot.stock,
      snapshot.shards.map(() => 0),
      policy,
    );
    coordinator.reserveUnits = snapshot.reserve;
    coordinator.soldOutFlag = snapshot.soldOut;
    coordinator.shards.splice(0, coordinator.shards.length, ...snapshot.shards.map((s) => ({ ...s })));
    coordinator.assertLedger();
    return coordinator;
  }

  /** Per shard, as the coordinator sees it: for admin stats. */
  view(shard: number): Readonly<ShardView> {
    return this.shards[shard];
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** Σ granted − released per shard: what the coordinator believes each shard holds plus has sold. */
  shardBalance(shard: number): number {
    const s = this.shards[shard];
    return s.granted - s.releasedIn;
  }

  /** A shard asks for stock. Replays the same grant for a repeated `seq`. */
  onRequest(now: number, request: RefillRequest): CoordinatorAnswer {
    const view = this.shards[request.shard];
    if (!view) throw new RangeError(`no shard ${request.shard}`);
    if (request.seq === view.lastSeq) {
      return { answer: this.answer(view.lastSeq, view.lastGrant), reclaimFrom: [] };
    }
    // A late copy of a request answered long ago: a shard sends seq n + 1 only once it has n's answer, so it has
    // moved on and will ignore this answer (not its pending seq). Nothing changes.
    if (request.seq < view.lastSeq) return { answer: this.answer(request.seq, 0), reclaimFrom: [] };
    if (request.seq !== view.lastSeq + 1)
      throw new Error(`shard ${request.shard}: seq ${request.seq} after ${view.lastSeq}`);
    view.rate = request.rate;
    view.reportedLocal = request.local;
    let units = 0;
    if (this.reserveUnits > 0) {
      const totalRate = this.shards.reduce((a, s) => a + s.rate, 0);
      let block = Math.max(request.wanted, Math.ceil(request.rate * this.policy.blockSeconds), 1);
      // When the reserve is smaller than what all shards would take in one block, split it by rate.
      if (totalRate * this.policy.blockSeconds > this.reserveUnits && totalRate > 0) {
        block = Math.min(block, Math.max(request.wanted, Math.ceil((this.reserveUnits * request.rate) / totalRate), 1));
      }
      units = Math.max(0, Math.min(block, this.reserveUnits, request.headroom));
    }
    this.reserveUnits -= units;
    view.granted += units;
    view.lastSeq = request.seq;
    view.lastGrant = units;
    view.reportedLocal = request.local + units;
    if (units > 0) this.soldOutFlag = false;
    this.assertLedger();
    let reclaimFrom: number[] = [];
    if (units === 0) {
      this.updateSoldOut();
      if (!this.soldOutFlag && now - this.lastReclaimAt >= this.policy.reclaimIntervalMs) {
        reclaimFrom = this.shards.flatMap((s, i) => (i !== request.shard && s.reportedLocal > 0 ? [i] : []));
        if (reclaimFrom.length > 0) this.lastReclaimAt = now;
      }
    }
    return { answer: this.answer(request.seq, units), reclaimFrom };
  }

  /** Stock given back by a shard (idle, reclaimed, or returned by an expiry or cancel). Applied once per seq. */
  onRelease(_now: number, message: ReleaseMessage): void {
    const view = this.shards[message.shard];
    if (!view) throw new RangeError(`no shard ${message.shard}`);
    if (message.seq <= view.lastReleaseSeq) return;
    if (message.seq !== view.lastReleaseSeq + 1)
      throw new Error(`shard ${message.shard}: release ${message.seq} after ${view.lastReleaseSeq}`);
    view.lastReleaseSeq = message.seq;
    view.releasedIn += message.units;
    this.reserveUnits += message.units;
    // What the shard holds, plus a grant on its way to it (its answer lost or late: the shard asks again and gets
    // it). `received` only lags `granted`, so this is never below what the shard will hold.
    view.reportedLocal = message.local + Math.max(0, view.granted - message.received);
    view.rate = message.rate;
    if (message.units > 0 || view.reportedLocal > 0) this.soldOutFlag = false;
    this.updateSoldOut();
    this.assertLedger();
  }

  /** A shard's stock level, sent when it changes outside a request (units came back from an order). */
  onReport(_now: number, shard: number, local: number, rate: number): void {
    const view = this.shards[shard];
    view.reportedLocal = local;
    view.rate = rate;
    if (local > 0) this.soldOutFlag = false;
  }

  /** reserve + Σ (granted − released) = stock: the coordinator's half of the stock invariant. */
  assertLedger(): void {
    const out = this.shards.reduce((a, s) => a + s.granted - s.releasedIn, 0);
    if (this.reserveUnits < 0 || this.reserveUnits + out !== this.stock) {
      throw new Error(`coordinator ledger broken: reserve ${this.reserveUnits} + out ${out} ≠ stock ${this.stock}`);
    }
  }

  private updateSoldOut(): void {
    this.soldOutFlag = this.reserveUnits === 0 && this.shards.every((s) => s.reportedLocal === 0);
  }

  private answer(seq: number, units: number): GrantAnswer {
    return { seq, units, reserve: this.reserveUnits, soldOut: this.soldOutFlag };
  }
}

export type ReserveOutcome =
  { ok: true } | { ok: false; soldOut: true } | { ok: false; soldOut: false; retryAfterMs: number };

/** What a shard keeps in storage about its stock moves; `ShardStock.restore` reads it. */
export interface ShardStockSnapshot {
  shard: number;
  shards: number;
  local: number;
  sold: number;
  received: number;
  releasedOut: number;
  requestSeq: number;
  pendingRequest: RefillRequest | null;
  releaseSeq: number;
  pendingReleases: { seq: number; units: number }[];
}

/** One shard's stock: what its object can sell synchronously, and when to ask for or give back more. */
export class ShardStock {
  readonly shard: number;
  readonly shards: number;
  readonly policy: StockPolicy;
  private localUnits: number;
  private soldUnits = 0;
  private received: number;
  private releasedOut = 0;
  /** The refill request in flight (asked again with the same seq until answered), if any. */
  private pendingRequest: RefillRequest | null = null;
  private requestSeq = 0;
  /** Releases sent and not yet acknowledged, oldest first (re-sent in order after a failure). */
  private readonly pendingReleases: { seq: number; units: number }[] = [];
  /** Units came back since the coordinator last heard from this shard. */
  private mustReport = false;
  private releaseSeq = 0;
  private soldOutAt = -Infinity;
  private reserveEmpty = false;
  private lastAttemptAt = -Infinity;
  private rateWindowStart = 0;
  private rateCurrent = 0;
  private ratePrevious = 0;
  private wantedUnits = 1;
  private nextRequestAt = -Infinity;
  /** Times of refusals for lack of stock, oldest first (at most MAX_REFUSALS_TRACKED). */
  private readonly refusals: number[] = [];

  constructor(shard: number, shards: number, allotment: number, policy: StockPolicy = DEFAULT_STOCK_POLICY) {
    this.shard = shard;
    this.shards = shards;
    this.policy = policy;
    this.localUnits = allotment;
    this.received = allotment;
    this.assertLedger();
  }

  get local(): number {
    return this.localUnits;
  }

  /**
   * The state to write with every change that moves units (a copy). After a restart the shard asks again with
   * its pending request's seq (the coordinator replays the grant) and re-sends its pending releases in order.
   */
  snapshot(): ShardStockSnapshot {
    return {
      shard: this.shard,
      shards: this.shards,
      local: this.localUnits,
      sold: this.soldUnits,
      received: this.received,
      releasedOut: this.releasedOut,
      requestSeq: this.requestSeq,
      pendingRequest: this.pendingRequest ? { ...this.pendingRequest } : null,
      releaseSeq: this.releaseSeq,
      pendingReleases: this.pendingReleases.map((r) => ({ ...r })),
    };
  }

  static restore(snapshot: ShardStockSnapshot, policy: StockPolicy = DEFAULT_STOCK_POLICY): ShardStock {
    const shard = new ShardStock(snapshot.shard, snapshot.shards, 0, policy);
    shard.localUnits = snapshot.local;
    shard.soldUnits = snapshot.sold;
    shard.received = snapshot.received;
    shard.releasedOut = snapshot.releasedOut;
    shard.requestSeq = snapshot.requestSeq;
    shard.pendingRequest = snapshot.pendingRequest ? { ...snapshot.pendingRequest } : null;
    shard.releaseSeq = snapshot.releaseSeq;
    shard.pendingReleases.push(...snapshot.pendingReleases.map((r) => ({ ...r })));
    shard.mustReport = true; // the coordinator hears this shard's stock again after a restart
    shard.assertLedger();
    return shard;
  }

  get sold(): number {
    return this.soldUnits;
  }

  /** Units granted to this shard that it has applied, and released by it: for the global invariant. */
  get receivedTotal(): number {
    return this.received;
  }

  get releasedTotal(): number {
    return this.releasedOut;
  }

  get hasPendingRequest(): boolean {
    return this.pendingRequest !== null;
  }

  /**
   * The synchronous check-and-reserve of `quantity` units (no await: the caller does its buyer checks in the
   * same block). A shard alone in its sale answers sold out as soon as it is empty: there is nowhere else.
   */
  reserve(now: number, quantity: number): ReserveOutcome {
    this.countAttempt(now);
    if (this.localUnits >= quantity) {
      this.localUnits -= quantity;
      this.soldUnits += quantity;
      this.assertLedger();
      return { ok: true };
    }
    this.wantedUnits = Math.max(this.wantedUnits, quantity - this.localUnits);
    if (this.shards === 1) return { ok: false, soldOut: true };
    this.refusals.push(now);
    if (this.refusals.length > MAX_REFUSALS_TRACKED) this.refusals.shift();
    if (now - this.soldOutAt < this.policy.soldOutTtlMs) return { ok: false, soldOut: true };
    return { ok: false, soldOut: false, retryAfterMs: this.policy.retryMs };
  }

  /** Units of an expired or cancelled order come back here; the caller then runs `afterReturn`. */
  returnUnits(quantity: number): void {
    if (quantity > this.soldUnits)
      throw new Error(`shard ${this.shard}: returning ${quantity} of ${this.soldUnits} sold`);
    this.soldUnits -= quantity;
    this.localUnits += quantity;
    if (this.shards > 1) this.mustReport = true;
    this.assertLedger();
  }

  /**
   * What the shard should do about its stock now: ask the coordinator for a block when low, or give stock back
   * when the sale's reserve is empty and this shard's shoppers are gone (or the sale was sold out, so returned
   * units go where the buyers are). At most one request and one release at a time.
   */
  nextAction(
    now: number,
    headroom = Number.MAX_SAFE_INTEGER,
  ): { request: RefillRequest } | { release: ReleaseMessage } | null {
    if (this.shards === 1) return null;
    if (this.pendingReleases.length > 0) return { release: this.releaseToSend(now) };
    if (this.pendingRequest) return { request: this.pendingRequest };
    // Units came back from an order: tell the coordinator (a release of 0 units is a report), so it never
    // decides "sold out" on a stale view.
    if (this.mustReport) {
      this.mustReport = false;
      this.makeRelease(now, 0);
      return { release: this.releaseToSend(now) };
    }
    // Idle: no shopper for longer than a refused shopper takes to come back (Retry-After 1 s + jitter), so a
    // unit fetched for a waiting shopper is still here when they retry.
    const idle = now - this.lastAttemptAt >= this.policy.idleMs;
    const soldOutKnown = now - this.soldOutAt < this.policy.soldOutTtlMs;
    if (idle) {
      // Near the end (the reserve is empty) or after a sell-out (units came back from an order), an idle shard's
      // units go where the buyers are.
      if (this.localUnits > 0 && (this.reserveEmpty || soldOutKnown)) {
        this.makeRelease(now, this.localUnits);
        return { release: this.releaseToSend(now) };
      }
      return null;
    }
    if (now < this.nextRequestAt) return null;
    const rate = this.rate(now);
    const starving = this.wantedUnits > 0 && this.localUnits < this.wantedUnits;
    // Ask ahead when low, while the reserve has stock; once it is empty, only for a shopper who is waiting
    // (that request makes the coordinator pull stock back from idle shards).
    const low = rate > 0 && this.localUnits <= Math.ceil(rate * this.policy.lowWaterSeconds) && !this.reserveEmpty;
    if (starving || low) return { request: this.makeRequest(rate, headroom) };
    return null;
  }

  /** The answer to `request` arrived: apply the grant (exactly once: a replayed answer for an old seq is ignored). */
  onGrant(now: number, answer: GrantAnswer): void {
    if (!this.pendingRequest || answer.seq !== this.pendingRequest.seq) return;
    this.pendingRequest = null;
    // Nothing granted: do not ask again before a shopper could have retried (bounds the coordinator's load).
    if (answer.units === 0) this.nextRequestAt = now + this.policy.requestBackoffMs;
    this.localUnits += answer.units;
    this.received += answer.units;
    this.reserveEmpty = answer.reserve === 0;
    if (answer.soldOut) this.soldOutAt = now;
    else if (answer.units > 0) this.soldOutAt = -Infinity;
    if (answer.units > 0) this.wantedUnits = 0;
    this.assertLedger();
  }

  /**
   * The coordinator asks for stock back: keep what this shard's own shoppers will want shortly, release the rest.
   * Always answers (a release of 0 units still reports this shard's stock), so the coordinator's view is fresh
   * when it decides the sale is sold out.
   */
  onReclaim(now: number): void {
    const keep = Math.max(this.waiting(now), Math.ceil(this.rate(now) * this.policy.keepSeconds));
    this.reserveEmpty = true;
    this.makeRelease(now, Math.max(0, this.localUnits - keep));
  }

  onReleaseAcked(seq: number): void {
    if (this.pendingReleases.length > 0 && this.pendingReleases[0].seq === seq) this.pendingReleases.shift();
  }

  /** Whether this shard may answer `SOLD_OUT` now: the coordinator's sold-out verdict is younger than its TTL. */
  isSoldOut(now: number): boolean {
    return this.shards === 1 ? this.localUnits === 0 : now - this.soldOutAt < this.policy.soldOutTtlMs;
  }

  /**
   * When this shard next has stock work that no shopper will trigger (an idle shard giving its stock back near
   * the end or after a sell-out): the object arms its alarm for it. Null when there is none.
   */
  nextIdleCheckAt(now: number): number | null {
    if (this.shards === 1) return null;
    if (this.pendingReleases.length > 0 || this.pendingRequest || this.mustReport) return now;
    if (this.localUnits === 0) return null;
    if (!this.reserveEmpty && now - this.soldOutAt >= this.policy.soldOutTtlMs) return null;
    return Math.max(now, this.lastAttemptAt + this.policy.idleMs);
  }

  /** The shard learned the sale is sold out (or not) some other way, e.g. the coordinator's answer to a peer. */
  noteSoldOut(now: number): void {
    this.soldOutAt = now;
  }

  /** local + sold = received − released: the shard's half of the stock invariant. */
  assertLedger(): void {
    if (
      this.localUnits < 0 ||
      this.soldUnits < 0 ||
      this.localUnits + this.soldUnits !== this.received - this.releasedOut
    ) {
      throw new Error(
        `shard ${this.shard} ledger broken: local ${this.localUnits} + sold ${this.soldUnits} ≠ received ${this.received} − released ${this.releasedOut}`,
      );
    }
  }

  rate(now: number): number {
    this.rollRate(now);
    const elapsed = Math.min(1000, Math.max(1, now - this.rateWindowStart));
    return this.ratePrevious * ((1000 - elapsed) / 1000) + this.rateCurrent;
  }

  private makeRequest(rate: number, headroom: number): RefillRequest {
    this.pendingRequest = {
      shard: this.shard,
      seq: ++this.requestSeq,
      local: this.localUnits,
      rate: Math.ceil(rate),
      wanted: Math.max(1, this.wantedUnits),
      headroom: Math.max(0, headroom),
    };
    return this.pendingRequest;
  }

  /** Takes `units` out of local stock into a pending release (sent by `nextAction`, one at a time, in order). */
  private makeRelease(_now: number, units: number): void {
    this.localUnits -= units;
    this.releasedOut += units;
    this.pendingReleases.push({ seq: ++this.releaseSeq, units });
    this.assertLedger();
  }

  /**
   * The oldest pending release as a message, with this shard's stock as of now: the caller keeps one stock call
   * in flight at a time, so nothing but sales (which only lower it) changes `local` before the coordinator reads
   * it; with `received`, the coordinator's view of a shard is never below what the shard holds or is about to.
   */
  private releaseToSend(now: number): ReleaseMessage {
    const { seq, units } = this.pendingReleases[0];
    return {
      shard: this.shard,
      seq,
      units,
      local: this.localUnits,
      received: this.received,
      rate: Math.ceil(this.rate(now)),
    };
  }

  /** Shoppers refused for lack of stock in the last `waitingSeconds` (who will retry): bounded by the list. */
  waiting(now: number): number {
    const since = now - this.policy.waitingSeconds * 1000;
    while (this.refusals.length > 0 && this.refusals[0] < since) this.refusals.shift();
    return this.refusals.length;
  }

  private countAttempt(now: number): void {
    this.rollRate(now);
    this.rateCurrent++;
    this.lastAttemptAt = now;
  }

  private rollRate(now: number): void {
    if (now - this.rateWindowStart >= 1000) {
      this.ratePrevious = now - this.rateWindowStart >= 2000 ? 0 : this.rateCurrent;
      this.rateCurrent = 0;
      this.rateWindowStart = now - ((now - this.rateWindowStart) % 1000);
    }
  }
}

/** The whole invariant, where every side can be seen (simulation, tests). Throws with the figures when broken. */
export function stockInvariant(stock: number, coordinator: StockCoordinator | null, shards: ShardStock[]): void {
  const local = shards.reduce((a, s) => a + s.local, 0);
  const sold = shards.reduce((a, s) => a + s.sold, 0);
  const reserve = coordinator ? coordinator.reserve : 0;
  let inTransit = 0;
  if (coordinator) {
    for (const s of shards) {
      const transit = coordinator.shardBalance(s.shard) - (s.receivedTotal - s.releasedTotal);
      if (transit < 0)
        throw new Error(`stock invariant broken: shard ${s.shard} holds ${-transit} units never granted`);
      inTransit += transit;
    }
  }
  // In transit per shard = (granted − received) + (releasedOut − releasedIn): grants the shard has not applied
  // yet plus releases the coordinator has not applied yet; both are ≥ 0 (checked below).
  if (local + reserve + inTransit + sold !== stock || local < 0 || reserve < 0 || sold < 0) {
    throw new Error(
      `stock invariant broken: local ${local} + reserve ${reserve} + in transit ${inTransit} + sold ${sold} ≠ ${stock}`,
    );
  }
}
