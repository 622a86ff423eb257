/**
 * Node-side HTTP drivers for the scenarios wrk cannot express: the open loop (requests sent on a schedule,
 * latency measured from the scheduled send time, so a stalled server is charged for every request it delayed —
 * coordinated omission corrected) and the crowd (every shopper tries once, retrying only when told to).
 */
import http from "node:http";
import * as hdr from "hdr-histogram-js";
import { count, type Tally } from "./tally.ts";

export interface HttpTarget {
  host: string;
  port: number;
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function request(
  agent: http.Agent,
  target: HttpTarget,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: target.host, port: target.port, method, path, headers }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface OpenLoopResult {
  targetRps: number;
  achievedRps: number;
  sent: number;
  completed: number;
  errors: number;
  statuses: Tally;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  perSecond: { at: number; rps: number; p50Ms: number; p99Ms: number }[];
}

/**
 * Sends `rate` requests per second for `seconds`, each at its scheduled time whatever happened to the previous
 * ones (up to `connections` in flight on keep-alive sockets; beyond that they wait for a socket, and that wait is
 * part of their latency). `makeRequest(i)` gives the i-th request's path, headers and body.
 */
export async function openLoop(options: {
  target: HttpTarget;
  rate: number;
  seconds: number;
  connections: number;
  makeRequest: (i: number) => { method: string; path: string; headers: Record<string, string>; body?: string };
  clock: () => number;
  onSecond?: (second: number, rps: number, p99Ms: number) => void;
  /** Every answer, with its request's index (e.g. to collect the 202s' order ids). */
  onReply?: (i: number, reply: Reply) => void;
}): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const total = Math.round(options.rate * options.seconds);
  const statuses: Tally = {};
  const seconds: { n: number; lat: number[] }[] = [];
  let sent = 0;
  let completed = 0;
  let errors = 0;
  const startedAtBench = options.clock();
  const t0 = performance.now() + 50;
  const interval = 1000 / options.rate;
  const inFlight: Promise<void>[] = [];

  const fire = (i: number, scheduled: number) => {
    const r = options.makeRequest(i);
    const p = request(agent, options.target, r.method, r.path, r.headers, r.body).then(
      (reply) => {
        options.onReply?.(i, reply);
        const done = performance.now();
        const us = Math.max(1, Math.round((done - scheduled) * 1000));
        histogram.recordValue(us);
        count(statuses, reply.status);
        const s = Math.floor((done - t0) / 1000);
        (seconds[s] ??= { n: 0, lat: [] }).n++;
        seconds[s].lat.push(us / 1000);
        completed++;
      },
      () => {
        errors++;
      },
    );
    inFlight.push(p);
  };

  await new Promise<void>((resolve) => {
    let lastReported = -1;
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) {
        fire(sent, t0 + sent * interval);
        sent++;
      }
      const s = Math.floor((now - t0) / 1000) - 1;
      if (s > lastReported && s >= 0 && seconds[s]) {
        lastReported = s;
        const lat = [...seconds[s].lat].sort((a, b) => a - b);
        options.onSecond?.(s, seconds[s].n, lat[Math.floor(lat.length * 0.99)] ?? 0);
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, t0 + sent * interval - performance.now())));
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  const elapsed = (performance.now() - t0) / 1000;
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    targetRps: Math.round(options.rate),
    achievedRps: Math.round(completed / elapsed),
    sent,
    completed,
    errors,
    statuses,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
    // Whole seconds of the schedule only (answers arriving after its end would make a partial last bucket).
    // Array.from, not map: a second in which nothing was answered is a hole in `seconds`, which map would skip.
    perSecond: Array.from({ length: Math.floor(options.seconds) }, (_, i) => seconds[i]).map((s, i) => {
      const lat = [...(s?.lat ?? [])].sort((a, b) => a - b);
      return {
        at: Math.round((startedAtBench + i) * 10) / 10,
        rps: s?.n ?? 0,
        p50Ms: Math.round((lat[Math.floor(lat.length * 0.5)] ?? 0) * 100) / 100,
        p99Ms: Math.round((lat[Math.floor(lat.length * 0.99)] ?? 0) * 100) / 100,
      };
    }),
  };
}

/**
 * How a crowd shopper clicks. The web app sends one intent per click with one `Idempotency-Key` and retries
 * `429`/`503` with that key after `Retry-After` + jitter; real crowds also double-click and retry by hand:
 *   once            one click (the web app's path);
 *   doubleSameKey   two requests at once with the same key (a page or proxy that sent the click twice);
 *   doubleTwoKeys   two clicks at once, two intents (two tabs): at most one may become an order;
 *   retryWithKey    after its answer, the same intent again with the same key (the answer was lost):
 *                   a 202 must come back with the same order;
 *   retryWithoutKey a client that sends no key at all, clicking again after its answer: must not get a second order.
 */
export type CrowdBehaviour = "once" | "doubleSameKey" | "doubleTwoKeys" | "retryWithKey" | "retryWithoutKey";

/** The crowd's mix of behaviours, in order of the shoppers (deterministic). */
export const CROWD_MIX: [CrowdBehaviour, number][] = [
  ["once", 0.5],
  ["doubleSameKey", 0.1],
  ["doubleTwoKeys", 0.15],
  ["retryWithKey", 0.15],
  ["retryWithoutKey", 0.1],
];

export function behaviourOf(index: number): CrowdBehaviour {
  // Spread each behaviour evenly through the crowd (every 20th shopper and so on), not in blocks.
  const slot = (index * 7919) % 100;
  let edge = 0;
  for (const [b, share] of CROWD_MIX) {
    edge += share * 100;
    if (slot < edge) return b;
  }
  return "once";
}

/** One request of the crowd and its final answer (after the retries of its intent). */
export interface CrowdAttempt {
  user: string;
  behaviour: CrowdBehaviour;
  /** The Idempotency-Key sent, if any. */
  key?: string;
  status: number;
  orderId?: string;
  /** The answer's error code (e.g. ALREADY_PURCHASED), when it was an error. */
  code?: string;
  replayed: boolean;
  at: number;
  tries: number;
  /** The 429/503 answers this intent was retried after, by their Retry-After value ("none" when absent). */
  retriedAfter: Tally;
}

export interface CrowdShopper {
  id: string;
  token: string;
  ip: string;
}

/**
 * Every shopper at once, each with a behaviour (behaviourOf). An intent that gets `429`/`503` waits
 * `retryDelay(Retry-After, attempt)` — the web app's own function — and tries again with the same key, up to
 * `maxRetries`; anything else is that intent's final answer. Requests carry what the web app sends
 * (`{"quantity":1}`, `Idempotency-Key`, `Origin`) and the shopper's `CF-Connecting-IP`.
 */
export async function crowd(options: {
  target: HttpTarget;
  shoppers: CrowdShopper[];
  path: string;
  connections: number;
  retryDelay: (retryAfterMs: number | null, attempt: number) => number;
  maxRetries: number;
  /** No retry starts later than this after the crowd began: the 429/503 is then that intent's final answer
   * (keeps the bench bounded on a machine other work slows down many times over). */
  retryWindowMs?: number;
  cookieName?: string;
}): Promise<{ attempts: CrowdAttempt[]; seconds: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const origin = `http://${options.target.host}:${options.target.port}`;
  const t0 = performance.now();
  let keys = 0;

  const intent = async (s: CrowdShopper, behaviour: CrowdBehaviour, key: string | undefined): Promise<CrowdAttempt> => {
    const headers: Record<string, string> = {
      cookie: `${options.cookieName ?? "minishop_session"}=${s.token}`,
      "content-type": "application/json",
      origin,
      "cf-connecting-ip": s.ip,
    };
    if (key) headers["idempotency-key"] = key;
    const retriedAfter: Tally = {};
    for (let tries = 1; ; tries++) {
      let reply: Reply;
      try {
        reply = await request(agent, options.target, "POST", options.path, headers, '{"quantity":1}');
      } catch {
        if (tries >= 20)
          return {
            user: s.id,
            behaviour,
            key,
            status: 0,
            replayed: false,
            at: (performance.now() - t0) / 1000,
            tries,
            retriedAfter,
          };
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if ((reply.status === 429 || reply.status === 503) && tries <= options.maxRetries) {
        const header = reply.headers["retry-after"];
        const retryAfterMs = header === undefined ? null : Number(header) * 1000;
        const delay = options.retryDelay(retryAfterMs, tries);
        if (options.retryWindowMs === undefined || performance.now() + delay - t0 <= options.retryWindowMs) {
          const label = `${reply.status}:${header ?? "none"}`;
          count(retriedAfter, label);
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
      }
      let orderId: string | undefined;
      let code: string | undefined;
      try {
        const body = JSON.parse(reply.body) as { order?: { id?: string }; error?: { code?: string } };
        orderId = reply.status === 202 ? body.order?.id : undefined;
        code = body.error?.code;
      } catch {}
      return {
        user: s.id,
        behaviour,
        key,
        status: reply.status,
        orderId,
        code,
        replayed: reply.headers["idempotent-replayed"] === "true",
        at: (performance.now() - t0) / 1000,
        tries,
        retriedAfter,
      };
    }
  };
  const newKey = () => `crowd-${process.pid}-${++keys}`;

  const perShopper = await Promise.all(
    options.shoppers.map(async (s, i): Promise<CrowdAttempt[]> => {
      const behaviour = behaviourOf(i);
      switch (behaviour) {
        case "once":
          return [await intent(s, behaviour, newKey())];
        case "doubleSameKey": {
          const key = newKey();
          return Promise.all([intent(s, behaviour, key), intent(s, behaviour, key)]);
        }
        case "doubleTwoKeys":
          return Promise.all([intent(s, behaviour, newKey()), intent(s, behaviour, newKey())]);
        case "retryWithKey": {
          const key = newKey();
          const first = await intent(s, behaviour, key);
          return [first, await intent(s, behaviour, key)];
        }
        case "retryWithoutKey": {
          const first = await intent(s, behaviour, undefined);
          return [first, await intent(s, behaviour, undefined)];
        }
      }
    }),
  );
  agent.destroy();
  return { attempts: perShopper.flat(), seconds: (performance.now() - t0) / 1000 };
}
