/**
 * Node-side HTTP drivers for the scenarios wrk cannot express: the open loop (requests sent on a schedule,
 * latency measured from the scheduled send time, so a stalled server is charged for every request it delayed —
 * coordinated omission corrected) and the crowd (every shopper tries once, retrying only when told to).
 */
import http from "node:http";
import * as hdr from "hdr-histogram-js";

export interface HttpTarget {
  host: string;
  port: number;
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function request(agent: http.Agent, target: HttpTarget, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
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
  statuses: Record<string, number>;
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
}): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(options.rate * options.seconds);
  const statuses: Record<string, number> = {};
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
        const done = performance.now();
        const us = Math.max(1, Math.round((done - scheduled) * 1000));
        histogram.recordValue(us);
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
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
    perSecond: seconds.slice(0, Math.floor(options.seconds)).map((s, i) => {
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

export interface CrowdAttempt {
  user: string;
  status: number;
  orderId?: string;
  at: number;
  tries: number;
}

/**
 * Every shopper at once: each sends one purchase; a 429 or 503 is retried after its Retry-After (capped at
 * 1 s, jittered), as the web app does; anything else is that shopper's final answer.
 */
export async function crowd(options: {
  target: HttpTarget;
  shoppers: { id: string; token: string }[];
  path: string;
  connections: number;
  cookieName?: string;
}): Promise<{ attempts: CrowdAttempt[]; seconds: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const t0 = performance.now();
  const attempts = await Promise.all(
    options.shoppers.map(async (s): Promise<CrowdAttempt> => {
      for (let tries = 1; ; tries++) {
        let reply: Reply;
        try {
          reply = await request(agent, options.target, "POST", options.path, {
            cookie: `${options.cookieName ?? "minishop_session"}=${s.token}`,
            "content-type": "application/json",
          }, "{}");
        } catch {
          if (tries >= 20) return { user: s.id, status: 0, at: (performance.now() - t0) / 1000, tries };
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        if ((reply.status === 429 || reply.status === 503) && tries < 50) {
          const after = Math.min(1, Number(reply.headers["retry-after"] ?? 1));
          await new Promise((r) => setTimeout(r, after * 1000 * (0.5 + Math.random() / 2)));
          continue;
        }
        let orderId: string | undefined;
        if (reply.status === 202) {
          try {
            orderId = (JSON.parse(reply.body) as { order?: { id?: string } }).order?.id;
          } catch {}
        }
        return { user: s.id, status: reply.status, orderId, at: (performance.now() - t0) / 1000, tries };
      }
    }),
  );
  agent.destroy();
  return { attempts, seconds: (performance.now() - t0) / 1000 };
}
