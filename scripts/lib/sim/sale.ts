/**
 * The platform model of `npm run simulate` (docs/capacity.md, "Simulating a hot sale"): one sale at Cloudflare
 * scale, driven through the project's real admission, routing and stock modules (lib/server/hot/), imported, never
 * re-written here. What is modelled:
 *
 * - shoppers arrive on a burst curve (10 % in the first 250 ms, the rest at `attemptsPerSecond`), want one unit
 *   each, honour `Retry-After` with 0–50 % jitter, and give up after `maxAttempts` attempts or `patienceMs`;
 * - each attempt lands on a random one of N gateway isolates; an isolate keeps the sale's sold-out verdict for 1 s
 *   (the edge short-circuit) and runs `IsolateAdmission`; isolates are stateless otherwise and never a bottleneck;
 * - K shard objects and, when K > 1, one coordinator object, each a single-threaded FIFO server whose service
 *   times come from the bench (`modelFromBench`); past `maxQueue` waiting requests the platform refuses at once
 *   (the runtime's "overloaded", which the gateway answers `429` + `Retry-After`; counted apart);
 * - each shard runs `ObjectAdmission` then the check-and-reserve with `ShardStock`, a buyers set, an outbox drained
 *   every 100 ms at the paced rate (`outboxMessagesPerSecond`) into the shard's queue; stock calls between shards
 *   and the coordinator are one at a time per shard, each a job on both servers;
 * - optionally (`cancelShare`), a share of orders is cancelled or expires 2–10 s after purchase; the units go back
 *   to their shard, and shoppers told "sold out" who are still on the sale's page see them within 2 s and buy.
 *
 * Left out (docs/capacity.md says why each is safe or not): the gateway's CPU, the Rate Limiting binding and the
 * per-isolate admission bucket, the Cache API's sharing of the sold-out verdict, PostgreSQL and the consumer, lost
 * messages and object restarts, clock skew, variance of service times beyond ±10 %, isolates appearing over time.
 */
import { IsolateAdmission, ObjectAdmission, type AdmissionVerdict } from "../../../lib/server/hot/admission.ts";
import {
  DEFAULT_OBJECT_MAX_RPS,
  autoShards,
  homeShard,
  outboxMessagesPerSecond,
  queueOfShard,
  QUEUE_MAX_MSG_PER_SEC,
  MAX_BUYERS_PER_SHARD,
} from "../../../lib/server/hot/routing.ts";
import {
  DEFAULT_STOCK_POLICY,
  ShardStock,
  StockCoordinator,
  initialAllotments,
  stockInvariant,
} from "../../../lib/server/hot/stock.ts";
import { EventLoop, Server, quantile, seededRandom } from "./engine.ts";

/** Per-request costs on an object, in ms of its single thread. */
export interface CostModel {
  /** A purchase the object accepts (check-and-reserve, group commit, outbox row). */
  purchaseMs: number;
  /** An answer from memory with no storage work (busy, already purchased before reserve is not one of these). */
  inMemoryMs: number;
  /** A small durable write that is not a purchase (a grant, a release, a cancel). */
  smallWriteMs: number;
  /** Time from the object's reply to the write being durable (the 202 waits for it; the thread does not). */
  commitMs: number;
  /** Where the figures come from. */
  source: string;
}

interface BenchFigures {
  noop: { rps: number };
  purchase: { rps: number };
  soldOut: { rps: number };
  date?: string;
}

/**
 * Service times from `bench/sim-costs.json` (an idle-machine `npm run bench`) (one workerd on 2 cores, every Worker on one thread):
 * - the object's share of a purchase is purchase CPU − no-op CPU (1/purchase.rps − 1/noop.rps), an upper bound
 *   (it still includes the session and body work of the gateway);
 * - an accepted purchase costs at least 1000/softLimitRps ms: Cloudflare gives ~1,000 requests/s per object,
 *   and this model takes that as the object's purchase ceiling even when its measured CPU is less;
 * - an in-memory answer costs what the gateway's in-memory sold-out answer costs end to end (1/soldOut.rps):
 *   a whole HTTP request, so again an upper bound for an RPC answered from memory.
 */
export function modelFromBench(bench: BenchFigures, softLimitRps = 1000): CostModel {
  const noopMs = 1000 / bench.noop.rps;
  const purchaseCpuMs = 1000 / bench.purchase.rps;
  const objectMs = Math.max(0.05, purchaseCpuMs - noopMs);
  return {
    purchaseMs: Math.max(objectMs, 1000 / softLimitRps),
    inMemoryMs: 1000 / bench.soldOut.rps,
    smallWriteMs: objectMs,
    commitMs: 5,
    source:
      `bench ${bench.date ?? "(undated)"}: purchase ${bench.purchase.rps}/s, noop ${bench.noop.rps}/s, soldOut ${bench.soldOut.rps}/s; ` +
      `object share of a purchase ${objectMs.toFixed(3)} ms, floored at 1000/${softLimitRps} ms`,
  };
}

export interface SimulationParams {
  shoppers: number;
  stock: number;
  isolates: number;
  shards: number | "auto";
  attemptsPerSecond: number;
  seed: number;
  costs: CostModel;
  objectMaxRps?: number;
  /** Share of orders cancelled (or expired) 2–10 s after purchase. */
  cancelShare?: number;
  queues?: number;
  maxAttempts?: number;
  patienceMs?: number;
  /** Bound on waiting requests per object before the platform refuses (overloaded). */
  maxQueue?: number;
  /** Simulated-time limit: an explicit bound on the run. */
  limitSeconds?: number;
  /** Add a per-100 ms timeline of shard 0 for the first `timelineSeconds` (offered, accepted, busy, sold). */
  timelineSeconds?: number;
}

export interface ObjectReport {
  index: number;
  accepted: number;
  busy: number;
  peakAcceptedRps: number;
  utilization: number;
  meanUtilization: number;
  p99WaitMs: number;
  maxWaitMs: number;
  peakQueue: number;
  refused: number;
  sold: number;
}

export interface SimulationResult {
  shards: number;
  shoppers: number;
  stock: number;
  isolates: number;
  attemptsPerSecond: number;
  seed: number;
  objectMaxRps: number;
  sold: number;
  oversold: number;
  undersold: number;
  duplicates: number;
  sellOutSeconds: number | null;
  sellOutBoundSeconds: number;
  answers: Record<string, number>;
  attempts: number;
  shoppersBought: number;
  shoppersRefused: number;
  shoppersGaveUp: number;
  objects: ObjectReport[];
  coordinator:
    | (Omit<ObjectReport, "peakAcceptedRps" | "accepted" | "busy" | "sold"> & { requests: number; releases: number })
    | null;
  queuePeakMsgPerSec: number;
  /** Calls the platform refused because an object's queue was full (answered 429 by the gateway). */
  platformOverloaded: number;
  outboxDrainedSeconds: number | null;
  returns: { units: number; resold: number; maxResellMs: number | null };
  invariantChecks: number;
  simulatedSeconds: number;
  events: number;
  costs: CostModel;
  timeline?: { atMs: number; offered: number; accepted: number; busy: number; sold: number; soldAllShards: number }[];
}

interface Shopper {
  id: string;
  attempts: number;
  firstAt: number;
  state: 0 | 1 | 2 | 3; // 0 wanting, 1 bought, 2 refused (410/409), 3 gave up
  orders: number;
}

interface ShardModel {
  index: number;
  server: Server;
  admission: ObjectAdmission;
  stock: ShardStock;
  buyers: Set<string>;
  stockCallInFlight: boolean;
  outbox: number;
  accepts: number[];
  /** per 100 ms: requests offered, busy answers, units sold (for the timeline) */
  offered: number[];
  busyAnswers: number[];
  soldBins: number[];
}

interface IsolateModel {
  id: string;
  admission: IsolateAdmission;
  soldOutUntil: number;
  oneWayMs: number;
}

export function runSimulation(params: SimulationParams): SimulationResult {
  const random = seededRandom(params.seed);
  const loop = new EventLoop();
  const maxRps = params.objectMaxRps ?? DEFAULT_OBJECT_MAX_RPS;
  const K = params.shards === "auto" ? autoShards(params.stock, params.attemptsPerSecond, maxRps) : params.shards;
  const costs = params.costs;
  const cancelShare = params.cancelShare ?? 0;
  const queues = params.queues ?? 1;
  const maxAttempts = params.maxAttempts ?? 60;
  const patienceMs = params.patienceMs ?? 120_000;
  const maxQueue = params.maxQueue ?? 200;
  const limitMs = (params.limitSeconds ?? 600) * 1000;
  const policy = DEFAULT_STOCK_POLICY;
  const jitter = (ms: number) => ms * (0.9 + 0.2 * random());

  // ---- objects
  const allotments = initialAllotments(params.stock, K, policy);
  const coordinator = K > 1 ? new StockCoordinator(params.stock, allotments, policy) : null;
  const coordinatorServer = K > 1 ? new Server(loop, maxQueue) : null;
  let coordinatorRequests = 0;
  let coordinatorReleases = 0;
  const shards: ShardModel[] = allotments.map((units, index) => ({
    index,
    server: new Server(loop, maxQueue),
    admission: new ObjectAdmission({ maxRps }),
    stock: new ShardStock(index, K, units, policy),
    buyers: new Set<string>(),
    stockCallInFlight: false,
    outbox: 0,
    accepts: [],
    offered: [],
    busyAnswers: [],
    soldBins: [],
  }));
  const soldAllBins: number[] = [];
  const bump = (bins: number[]) => {
    const i = Math.floor(loop.now / 100);
    bins[i] = (bins[i] ?? 0) + 1;
  };
  const objectHopMs = () => 1 + 2 * random(); // shard ↔ coordinator, same region
  let invariantChecks = 0;
  let overloaded = 0;
  const checkInvariant = () => {
    stockInvariant(
      params.stock,
      coordinator,
      shards.map((s) => s.stock),
    );
    invariantChecks++;
  };

  // ---- isolates
  const isolates: IsolateModel[] = Array.from({ length: params.isolates }, (_, i) => ({
    id: `isolate-${i}`,
    admission: new IsolateAdmission(),
    soldOutUntil: -Infinity,
    oneWayMs: 2 + 38 * random(), // near and far locations
  }));

  // ---- shoppers and answers
  const shoppers: Shopper[] = [];
  const answers: Record<string, number> = {};
  let attempts = 0;
  let finished = 0;
  let sold = 0; // held + paid units, seen from the answers
  let maxHeld = 0;
  let sellOutAt: number | null = null;
  let pendingCancels = 0;
  const returnedAt: number[] = [];
  let returnedHead = 0;
  let resold = 0;
  let maxResellMs: number | null = null;
  let returnedUnits = 0;

  const finish = (shopper: Shopper, state: 1 | 2 | 3) => {
    if (shopper.state !== 0) return;
    shopper.state = state;
    finished++;
  };

  const answer = (shopper: Shopper, status: number, retryAfterMs = 1000) => {
    answers[status] = (answers[status] ?? 0) + 1;
    if (status === 202) {
      shopper.orders++;
      finish(shopper, 1);
      return;
    }
    if (status === 409) {
      finish(shopper, 2);
      return;
    }
    if (status === 410) {
      finish(shopper, 2);
      watch(shopper);
      return;
    }
    // 429 (and any 5xx, which must not happen): retry after the header's whole seconds, with jitter; give up past patience.
    if (shopper.attempts >= maxAttempts || loop.now - shopper.firstAt >= patienceMs) {
      finish(shopper, 3);
      return;
    }
    const headerSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    loop.after(headerSeconds * 1000 * (1 + 0.5 * random()), () => attempt(shopper));
  };

  // ---- shoppers told "sold out" stay on the sale's page for 30 s; it polls the sale every 2 s (docs/api.md) and
  // shows Buy now again when `remaining` is back above 0. Bounded: at most `maxWatchers` at a time.
  let watchers = 0;
  const maxWatchers = 5000;
  const saleRemaining = () => shards.reduce((a, s) => a + s.stock.local, 0) + (coordinator?.reserve ?? 0);
  const watchMs = 30_000;
  const watch = (shopper: Shopper) => {
    if (watchers >= maxWatchers || loop.now - shopper.firstAt >= patienceMs) return;
    watchers++;
    const until = loop.now + watchMs;
    const poll = () => {
      if (loop.now >= until || loop.now - shopper.firstAt >= patienceMs) {
        watchers--;
        return;
      }
      if (saleRemaining() > 0) {
        watchers--;
        shopper.state = 0;
        finished--;
        attempt(shopper);
        return;
      }
      loop.after(2000 * (0.75 + 0.5 * random()), poll);
    };
    loop.after(2000 * (0.75 + 0.5 * random()), poll);
  };

  // ---- the stock calls of one shard: at most one in flight (ShardStock.nextAction)
  const pumpStock = (shard: ShardModel) => {
    if (!coordinator || !coordinatorServer || shard.stockCallInFlight) return;
    const action = shard.stock.nextAction(loop.now, MAX_BUYERS_PER_SHARD - shard.buyers.size);
    if (!action) return;
    shard.stockCallInFlight = true;
    // The coordinator's answer is applied when the shard's thread takes it. If the platform refuses it, the call
    // counts as failed: the shard asks again with the same seq (the coordinator replays the same answer).
    const back = (apply: () => void) =>
      loop.after(objectHopMs(), () => {
        const ok = shard.server.submit(() => {
          apply();
          return { serviceMs: jitter(costs.smallWriteMs) };
        });
        if (!ok)
          loop.after(50, () => {
            shard.stockCallInFlight = false;
            pumpStock(shard);
          });
      });
    loop.after(objectHopMs(), () => {
      const accepted = coordinatorServer.submit(() => {
        if ("request" in action) {
          coordinatorRequests++;
          const { answer: grant, reclaimFrom } = coordinator.onRequest(loop.now, action.request);
          checkInvariant();
          for (const i of reclaimFrom) reclaim(shards[i]);
          return {
            serviceMs: jitter(costs.smallWriteMs),
            done: () =>
              back(() => {
                shard.stock.onGrant(loop.now, grant);
                checkInvariant();
                shard.stockCallInFlight = false;
                pumpStock(shard);
              }),
          };
        }
        coordinatorReleases++;
        coordinator.onRelease(loop.now, action.release);
        checkInvariant();
        const seq = action.release.seq;
        return {
          serviceMs: jitter(costs.smallWriteMs),
          done: () =>
            back(() => {
              shard.stock.onReleaseAcked(seq);
              shard.stockCallInFlight = false;
              pumpStock(shard);
            }),
        };
      });
      if (!accepted)
        loop.after(50, () => {
          shard.stockCallInFlight = false;
          pumpStock(shard);
        });
    });
  };

  const reclaim = (shard: ShardModel) => {
    loop.after(objectHopMs(), () => {
      shard.server.submit(() => {
        shard.stock.onReclaim(loop.now);
        checkInvariant();
        return { serviceMs: jitter(costs.smallWriteMs), done: () => pumpStock(shard) };
      });
    });
  };

  // ---- one purchase attempt, edge to object and back
  const attempt = (shopper: Shopper) => {
    if (shopper.state !== 0) return;
    attempts++;
    shopper.attempts++;
    const isolate = isolates[Math.floor(random() * isolates.length)];
    if (loop.now < isolate.soldOutUntil) return answer(shopper, 410);
    const shard = shards[homeShard(shopper.id, K)];
    const key = String(shard.index);
    const decision = isolate.admission.decide(loop.now, key);
    if (!decision.send) return answer(shopper, 429, decision.retryAfterMs);
    const wantTokens = isolate.admission.wantTokens(loop.now, key, shard.admission.leaseMs);
    const reply = (status: number, verdict: AdmissionVerdict | null, retryAfterMs: number, delay: number) => {
      loop.after(delay + isolate.oneWayMs * (1 + 0.1 * random()), () => {
        isolate.admission.onAnswer(loop.now, key, decision.probe, verdict);
        if (status === 410) isolate.soldOutUntil = loop.now + 1000;
        answer(shopper, status, retryAfterMs);
      });
    };
    loop.after(isolate.oneWayMs * (1 + 0.1 * random()), () => {
      bump(shard.offered);
      const queued = shard.server.submit(() => {
        const verdict = shard.admission.admit(loop.now, isolate.id, wantTokens);
        if (!verdict.admitted) {
          bump(shard.busyAnswers);
          return { serviceMs: jitter(costs.inMemoryMs), done: () => reply(429, verdict, verdict.retryAfterMs, 0) };
        }
        shard.accepts.push(loop.now);
        if (shard.buyers.has(shopper.id)) {
          return { serviceMs: jitter(costs.inMemoryMs), done: () => reply(409, verdict, 0, 0) };
        }
        const outcome = shard.stock.reserve(loop.now, 1);
        if (!outcome.ok) {
          pumpStock(shard);
          const status = outcome.soldOut ? 410 : 429;
          const retry = outcome.soldOut ? 0 : outcome.retryAfterMs;
          return { serviceMs: jitter(costs.inMemoryMs), done: () => reply(status, verdict, retry, 0) };
        }
        shard.buyers.add(shopper.id);
        bump(shard.soldBins);
        bump(soldAllBins);
        shard.outbox++;
        sold++;
        maxHeld = Math.max(maxHeld, sold);
        if (sold === params.stock && sellOutAt === null) sellOutAt = loop.now;
        if (returnedHead < returnedAt.length) {
          const ms = loop.now - returnedAt[returnedHead++];
          resold++;
          maxResellMs = Math.max(maxResellMs ?? 0, ms);
        }
        checkInvariant();
        pumpStock(shard);
        if (random() < cancelShare) scheduleCancel(shard);
        return { serviceMs: jitter(costs.purchaseMs), done: () => reply(202, verdict, 0, costs.commitMs) };
      });
      // The platform refused the call (the object's queue is full: "overloaded"). The gateway answers 429 +
      // Retry-After, like a busy answer, and leaves the object alone for a second (docs/design.md, "Hot sales").
      if (!queued) {
        overloaded++;
        reply(429, { admitted: false, retryAfterMs: 1000 }, 1000, 0);
      }
    });
  };

  const scheduleCancel = (shard: ShardModel) => {
    pendingCancels++;
    loop.after(2000 + 8000 * random(), () => {
      const ok = shard.server.submit(() => {
        shard.stock.returnUnits(1);
        sold--;
        shard.outbox++;
        returnedUnits++;
        returnedAt.push(loop.now);
        pendingCancels--;
        checkInvariant();
        pumpStock(shard);
        return { serviceMs: jitter(costs.smallWriteMs) };
      });
      if (!ok) {
        pendingCancels--;
        scheduleCancel(shard);
      }
    });
  };

  // ---- alarms: outbox drain at the paced rate, and the stock policy's idle and low-water checks
  const perShardMsgPerSec = outboxMessagesPerSecond(K, queues);
  const queueBins: number[][] = Array.from({ length: queues }, () => []);
  let outboxDrainedAt: number | null = null;
  const tick = (shard: ShardModel) => {
    shard.server.submit(() => {
      const n = Math.min(shard.outbox, Math.floor(perShardMsgPerSec / 10));
      shard.outbox -= n;
      if (n > 0) {
        const q = queueOfShard(shard.index, queues);
        const second = Math.floor(loop.now / 1000);
        queueBins[q][second] = (queueBins[q][second] ?? 0) + n;
      }
      pumpStock(shard);
      return { serviceMs: jitter(costs.inMemoryMs) * (1 + Math.ceil(n / 100)) };
    });
    loop.after(100, () => tick(shard));
  };
  for (const shard of shards) loop.at(100 * random(), () => tick(shard));

  // ---- arrivals: 10 % in the first 250 ms, the rest at attemptsPerSecond (each arrival schedules the next, so the
  // event heap holds thousands of events, not every shopper at once)
  const burst = Math.floor(params.shoppers * 0.1);
  const burstTimes = Array.from({ length: burst }, () => 250 * random()).sort((a, b) => a - b);
  const arrive = (i: number) => {
    const at = loop.now;
    const shopper: Shopper = { id: `user-${params.seed}-${i}`, attempts: 0, firstAt: at, state: 0, orders: 0 };
    shoppers.push(shopper);
    attempt(shopper);
    const next = i + 1;
    if (next >= params.shoppers) return;
    const nextAt = next < burst ? burstTimes[next] : 250 + ((next - burst) * 1000) / params.attemptsPerSecond;
    loop.at(nextAt, () => arrive(next));
  };
  if (params.shoppers > 0) loop.at(burst > 0 ? burstTimes[0] : 250, () => arrive(0));

  const allOutboxesEmpty = () => shards.every((s) => s.outbox === 0);
  loop.run(limitMs, () => {
    if (finished !== params.shoppers) return false;
    if (outboxDrainedAt === null && allOutboxesEmpty()) outboxDrainedAt = loop.now;
    return finished === params.shoppers && pendingCancels === 0 && watchers === 0 && allOutboxesEmpty();
  });

  // ---- results
  const soldNow = shards.reduce((a, s) => a + s.stock.sold, 0);
  if (soldNow !== sold) throw new Error(`sold seen by shoppers ${sold} ≠ sold in shards ${soldNow}`);
  checkInvariant();
  const refused = shoppers.filter((s) => s.state === 2).length;
  const gaveUp = shoppers.filter((s) => s.state === 3 || s.state === 0).length + (params.shoppers - shoppers.length);
  const bought = shoppers.filter((s) => s.state === 1).length;
  const duplicates = shoppers.filter((s) => s.orders > 1).length;
  const unsold = params.stock - soldNow;
  const activeEnd = loop.now;
  const report = (server: Server) => {
    const seconds = server.busyMsPerSecond.length;
    const peak = server.busyMsPerSecond.reduce((a, b) => Math.max(a, b ?? 0), 0) / 1000;
    const activeSeconds = server.busyMsPerSecond.filter((b) => (b ?? 0) > 0).length || 1;
    return {
      utilization: round(peak, 3),
      meanUtilization: round(server.busyMs / 1000 / Math.max(1, Math.min(seconds, activeSeconds)), 3),
      p99WaitMs: round(quantile(server.waits, 0.99), 2),
      maxWaitMs: round(
        server.waits.reduce((a, b) => Math.max(a, b), 0),
        2,
      ),
      peakQueue: server.peakQueue,
      refused: server.refused,
    };
  };
  const objects: ObjectReport[] = shards.map((s) => ({
    index: s.index,
    accepted: s.admission.accepted,
    busy: s.admission.busy,
    peakAcceptedRps: peakInWindow(s.accepts, 1000),
    ...report(s.server),
    sold: s.stock.sold,
  }));
  let queuePeak = 0;
  for (const bins of queueBins) for (const b of bins) queuePeak = Math.max(queuePeak, b ?? 0);
  return {
    shards: K,
    shoppers: params.shoppers,
    stock: params.stock,
    isolates: params.isolates,
    attemptsPerSecond: params.attemptsPerSecond,
    seed: params.seed,
    objectMaxRps: maxRps,
    sold: soldNow,
    oversold: Math.max(0, maxHeld - params.stock),
    undersold: unsold > 0 ? Math.min(unsold, refused + gaveUp) : 0,
    duplicates,
    sellOutSeconds: sellOutAt === null ? null : round(sellOutAt / 1000, 3),
    sellOutBoundSeconds: round((2 * params.stock) / (K * maxRps), 3),
    answers,
    attempts,
    shoppersBought: bought,
    shoppersRefused: refused,
    shoppersGaveUp: gaveUp,
    objects,
    coordinator:
      coordinatorServer === null
        ? null
        : { index: K, ...report(coordinatorServer), requests: coordinatorRequests, releases: coordinatorReleases },
    queuePeakMsgPerSec: queuePeak,
    platformOverloaded: overloaded,
    outboxDrainedSeconds: outboxDrainedAt === null ? null : round(outboxDrainedAt / 1000, 3),
    returns: { units: returnedUnits, resold, maxResellMs: maxResellMs === null ? null : round(maxResellMs, 1) },
    invariantChecks,
    simulatedSeconds: round(activeEnd / 1000, 3),
    events: loop.processed,
    costs,
    ...(params.timelineSeconds ? { timeline: timelineOf(shards[0], soldAllBins, params.timelineSeconds) } : {}),
  };
}

function timelineOf(shard: ShardModel, soldAll: number[], seconds: number): NonNullable<SimulationResult["timeline"]> {
  const accepted: number[] = [];
  for (const t of shard.accepts) accepted[Math.floor(t / 100)] = (accepted[Math.floor(t / 100)] ?? 0) + 1;
  return Array.from({ length: seconds * 10 }, (_, i) => ({
    atMs: i * 100,
    offered: shard.offered[i] ?? 0,
    accepted: accepted[i] ?? 0,
    busy: shard.busyAnswers[i] ?? 0,
    sold: shard.soldBins[i] ?? 0,
    soldAllShards: soldAll[i] ?? 0,
  }));
}

/** The most timestamps (ms, ascending) that fall in any window of `windowMs`. */
function peakInWindow(times: number[], windowMs: number): number {
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export { QUEUE_MAX_MSG_PER_SEC };
