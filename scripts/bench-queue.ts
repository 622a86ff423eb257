/**
 * `npm run bench:queue`: a queue sale from the first join to the last unit (docs/design.md "The sale queue").
 * Starts the stack on the lean runtime (one workerd, as `npm run bench` does), then:
 *
 *   noop     GET /healthz at the same concurrency, in the same run: what the poll latencies compare with;
 *   join     SHOPPERS (default 3,000) distinct shoppers join a queue sale of STOCK (default 500) units before
 *            its start (POST /api/sales/:id/queue): joins/s and latency;
 *   live     LIVE (default 500) of them also hold the queue's WebSocket: how many the box accepted, and the delay
 *            of each push (the update's serverTime to its arrival, one machine, one clock);
 *   drain    at the start every shopper polls its ticket (GET …/queue) as `refreshAfterSeconds` says, buys when
 *            admitted (POST …/purchase) and stops at purchased, sold_out or expired: the time from the start to
 *            the last admission that could buy and to sold = stock, the p50/p99 of the polls, and the end state —
 *            sold must equal stock, nobody may be left `waiting`.
 *
 * Shoppers' sessions are minted with the SESSION_SECRET given to the runtime (bench/lib/sessions.ts). Output:
 * bench/queue-latest.json and a table on stdout. Loopback only; stops by itself (BENCH_TIMEOUT_SECONDS, default
 * 600) and stops everything it started on SIGINT/SIGTERM.
 *
 * Knobs: PORT (8996), EMBEDDED_PG_PORT (8997), SHOPPERS (3000), STOCK (500), LIVE (500), CONCURRENCY (64, the
 * joiners and pollers' connections), SKIP_WEB_BUILD=1.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeShoppers, type Shopper } from "../bench/lib/sessions.ts";
import { startLeanRuntime } from "./lib/lean-runtime.ts";
import { ROOT, applyMigrations, createDatabase, dropDatabase, startEmbeddedPostgres } from "./lib/postgres.ts";
import { startScript } from "./lib/run.ts";

const HOST = "127.0.0.1";
const PORT = Number(process.env.PORT ?? 8996);
const PG_PORT = Number(process.env.EMBEDDED_PG_PORT ?? 8997);
const SHOPPERS = Number(process.env.SHOPPERS ?? 3_000);
const STOCK = Number(process.env.STOCK ?? 500);
const LIVE = Math.min(SHOPPERS, Number(process.env.LIVE ?? 500));
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 600);
const ADMIN_TOKEN = "bench-admin-token";
const SESSION_SECRET = randomBytes(32).toString("hex");
const WORK_DIR = path.join(ROOT, ".data/bench-queue");
const cpus = os.availableParallelism();

const { clock, log, fmt, cleanups, cleanup, stop } = startScript("bench:queue", TIMEOUT_SECONDS);

interface Ticket {
  state: "waiting" | "admitted" | "purchased" | "expired" | "sold_out";
  position: number | null;
  queueNumber: number | null;
  refreshAfterSeconds: number;
}

/** At most CONCURRENCY requests in flight (the shoppers' loops all run; their requests take turns). */
let inFlight = 0;
const waiters: (() => void)[] = [];
async function slot(): Promise<() => void> {
  if (inFlight >= CONCURRENCY) await new Promise<void>((r) => waiters.push(r));
  inFlight++;
  return () => {
    inFlight--;
    waiters.shift()?.();
  };
}

async function request(
  url: string,
  init: { method?: string; token?: string; admin?: boolean; body?: string; ip?: string; direct?: boolean } = {},
): Promise<{ status: number; body: unknown; ms: number }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.cookie = `minishop_session=${init.token}`;
  if (init.admin) headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  if (init.ip) headers["cf-connecting-ip"] = init.ip;
  const release = init.direct ? () => {} : await slot();
  const t0 = performance.now();
  let text: string;
  let res: Response;
  try {
    res = await fetch(url, { method: init.method ?? "GET", headers, body: init.body });
    text = await res.text();
  } finally {
    release();
  }
  const ms = performance.now() - t0;
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, ms };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function summary(ms: number[]): { n: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, p50Ms: r(percentile(s, 0.5)), p99Ms: r(percentile(s, 0.99)), maxMs: r(s.at(-1) ?? 0) };
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await work(items[i], i);
    }),
  );
}

function workerdRssMb(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

async function main() {
  mkdirSync(WORK_DIR, { recursive: true });
  log(`bench:queue: ${fmt(SHOPPERS)} shoppers, stock ${fmt(STOCK)}, ${LIVE} live, ${cpus} CPUs`);
  let databaseUrl: string;
  if (process.env.DATABASE_URL) {
    const name = `minishop_bench_queue_${process.pid}`;
    databaseUrl = await createDatabase(process.env.DATABASE_URL, name);
    cleanups.push(() => dropDatabase(process.env.DATABASE_URL!, name));
  } else {
    const db = await startEmbeddedPostgres({ dataDir: "memory://", port: PG_PORT, quiet: true });
    cleanups.push(() => db.stop());
    databaseUrl = new URL(db.url).toString();
  }
  await applyMigrations(databaseUrl);
  const persistDir = path.join(WORK_DIR, "state");
  rmSync(persistDir, { recursive: true, force: true });
  const runtime = await startLeanRuntime({
    host: HOST,
    port: PORT,
    databaseUrl,
    persistDir,
    buildDir: path.join(WORK_DIR, "build"),
    secrets: { SESSION_SECRET, ADMIN_TOKEN },
    ratelimits: { PURCHASE_LIMITER: { limit: 1_000_000_000, period: 10 } },
    workerLogs: false,
    log,
  });
  cleanups.push(() => runtime.stop());
  const url = runtime.url;
  log(`lean runtime up on ${url}; workerd RSS ${workerdRssMb(runtime.workerdPid())} MB`);

  const shoppers = makeShoppers(SESSION_SECRET, SHOPPERS, "q");

  // noop: GET /healthz at the same concurrency.
  const noopMs: number[] = [];
  const noopStart = performance.now();
  await pool(
    Array.from({ length: 3000 }, (_, i) => i),
    CONCURRENCY,
    async () => void noopMs.push((await request(`${url}/healthz`)).ms),
  );
  const noopRps = 3000 / ((performance.now() - noopStart) / 1000);
  const noop = summary(noopMs);
  log(`noop: ${fmt(noopRps)}/s, p50 ${noop.p50Ms} ms, p99 ${noop.p99Ms} ms`);

  // The sale starts an hour out; once everyone has joined and the sockets are open, it is moved to 5 s from then
  // (a merchant's edit before the start: the queue follows it).
  const created = await request(`${url}/admin/api/sales`, {
    method: "POST",
    admin: true,
    body: JSON.stringify({
      title: "bench: queue",
      priceCents: 1999,
      stock: STOCK,
      queue: true,
      startsAt: new Date(Date.now() + 3600_000).toISOString(),
      endsAt: new Date(Date.now() + 7200_000).toISOString(),
      paymentWindowSeconds: 900,
    }),
  });
  if (created.status !== 201) throw new Error(`creating the sale: ${created.status} ${JSON.stringify(created.body)}`);
  const saleId = (created.body as { sale: { id: string } }).sale.id;
  log(`sale ${saleId}`);

  // join: everyone, before the start.
  const joinMs: number[] = [];
  const joinStatuses: Record<string, number> = {};
  const joinStart = performance.now();
  await pool(shoppers, CONCURRENCY, async (s) => {
    const r = await request(`${url}/api/sales/${saleId}/queue`, { method: "POST", token: s.token, ip: s.ip });
    joinMs.push(r.ms);
    joinStatuses[r.status] = (joinStatuses[r.status] ?? 0) + 1;
  });
  const joinRate = SHOPPERS / ((performance.now() - joinStart) / 1000);
  const join = summary(joinMs);
  log(`join: ${fmt(joinRate)}/s, p50 ${join.p50Ms} ms, p99 ${join.p99Ms} ms ${JSON.stringify(joinStatuses)}`);

  const rssBeforeSockets = workerdRssMb(runtime.workerdPid());
  // live: LIVE WebSockets (Node's WebSocket), each timing its pushes.
  const pushDelays: number[] = [];
  let liveAccepted = 0;
  let liveRefused = 0;
  let livePositioned = 0;
  const sockets: WebSocket[] = [];
  await pool(shoppers.slice(0, LIVE), 32, async (s) => {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${url.replace("http", "ws")}/api/sales/${saleId}/queue/live`, {
        headers: { cookie: `minishop_session=${s.token}` },
      } as unknown as string[]);
      let positioned = false;
      ws.onopen = () => {
        liveAccepted++;
        sockets.push(ws);
        resolve();
      };
      ws.onerror = () => {
        liveRefused++;
        resolve();
      };
      ws.onmessage = (e) => {
        const u = JSON.parse(String(e.data)) as { serverTime: string; ticket: Ticket | null };
        pushDelays.push(Date.now() - Date.parse(u.serverTime));
        if (!positioned && u.ticket?.queueNumber) {
          positioned = true;
          livePositioned++;
        }
      };
    });
  });
  const rssWithSockets = workerdRssMb(runtime.workerdPid());
  log(
    `live: ${liveAccepted} sockets open (${liveRefused} refused); workerd RSS ${rssBeforeSockets} → ${rssWithSockets} MB`,
  );

  const startsAt = Date.now() + 5_000;
  const moved = await request(`${url}/admin/api/sales/${saleId}`, {
    method: "PATCH",
    admin: true,
    body: JSON.stringify({ startsAt: new Date(startsAt).toISOString() }),
  });
  if (moved.status !== 200) throw new Error(`moving the start: ${moved.status} ${JSON.stringify(moved.body)}`);

  // drain: from the start, every shopper polls and buys when admitted.
  await new Promise((r) => setTimeout(r, Math.max(0, startsAt - Date.now())));
  const drainStart = Date.now();
  // The server's own view: when the queue had admitted everyone who could buy (admitted + purchased + expired
  // reaching the stock), sampled from the admin API every 250 ms while the shoppers drain.
  let admittedAllAt: number | null = null;
  let sampling = true;
  const sampler = (async () => {
    while (sampling && admittedAllAt === null) {
      const r = await request(`${url}/admin/api/sales/${saleId}`, { admin: true, direct: true });
      const q = (r.body as { sale?: { stats?: { queue?: Record<string, number> } } }).sale?.stats?.queue;
      if (q && q.admitted + q.purchased + q.expired >= Math.min(STOCK, SHOPPERS)) admittedAllAt = Date.now();
      else await new Promise((res) => setTimeout(res, 250));
    }
  })();
  const pollMs: number[] = [];
  const buyStatuses: Record<string, number> = {};
  const finals: Record<string, number> = {};
  let lastAdmittedAt = 0;
  let lastPurchaseAt = 0;
  let purchases = 0;
  const deadline = drainStart + (TIMEOUT_SECONDS - clock() - 30) * 1000;
  await pool(shoppers, shoppers.length, async (s: Shopper) => {
    for (;;) {
      const r = await request(`${url}/api/sales/${saleId}/queue`, { token: s.token, ip: s.ip });
      pollMs.push(r.ms);
      const t = (r.body as { ticket?: Ticket }).ticket;
      if (!t) throw new Error(`poll: ${r.status} ${JSON.stringify(r.body)}`);
      if (t.state === "admitted") {
        lastAdmittedAt = Math.max(lastAdmittedAt, Date.now());
        const b = await request(`${url}/api/sales/${saleId}/purchase`, { method: "POST", token: s.token, ip: s.ip });
        buyStatuses[b.status] = (buyStatuses[b.status] ?? 0) + 1;
        if (b.status === 202) {
          purchases++;
          lastPurchaseAt = Date.now();
          finals.purchased = (finals.purchased ?? 0) + 1;
          return;
        }
        continue;
      }
      if (t.state === "sold_out" || t.state === "expired" || t.state === "purchased") {
        finals[t.state] = (finals[t.state] ?? 0) + 1;
        return;
      }
      if (Date.now() > deadline) {
        finals.unfinished = (finals.unfinished ?? 0) + 1;
        return;
      }
      // Honour the hint, but a sold-out verdict can come any moment: at most 2 s between polls here.
      await new Promise((res) => setTimeout(res, Math.min(2, t.refreshAfterSeconds) * 1000));
    }
  });
  const drainEnd = Date.now();
  sampling = false;
  await sampler;
  for (const ws of sockets) ws.close(1000, "done");

  const stats = await request(`${url}/admin/api/sales/${saleId}`, { admin: true });
  const sale = (stats.body as { sale: { stats: { sold: number; queue: Record<string, number> } } }).sale;
  const poll = summary(pollMs);
  const push = summary(pushDelays);
  const ok = sale.stats.sold === Math.min(STOCK, SHOPPERS) && (finals.unfinished ?? 0) === 0;
  log(
    `drain: sold ${sale.stats.sold}/${STOCK}; last admission ${lastAdmittedAt - drainStart} ms, last purchase ${lastPurchaseAt - drainStart} ms after the start; everyone settled after ${drainEnd - drainStart} ms; ${JSON.stringify(finals)}`,
  );
  log(`polls: ${fmt(poll.n)}, p50 ${poll.p50Ms} ms, p99 ${poll.p99Ms} ms; pushes ${fmt(push.n)}, p99 ${push.p99Ms} ms`);

  const results = {
    date: new Date().toISOString(),
    machine: `${cpus} CPUs, ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
    runtime: "lean: all four Workers in one workerd (Miniflare); the clients in this Node process",
    shoppers: SHOPPERS,
    stock: STOCK,
    noop: { rps: Math.round(noopRps), ...noop },
    join: { perSecond: Math.round(joinRate), ...join, statuses: joinStatuses },
    live: {
      requested: LIVE,
      accepted: liveAccepted,
      refused: liveRefused,
      positionedByPush: livePositioned,
      workerdRssMbBefore: rssBeforeSockets,
      workerdRssMb: rssWithSockets,
      pushDelay: push,
    },
    drain: {
      sold: sale.stats.sold,
      purchases,
      admittedAllAfterStartMs: admittedAllAt === null ? null : admittedAllAt - drainStart,
      lastAdmissionSeenAfterStartMs: lastAdmittedAt - drainStart,
      soldOutAfterStartMs: lastPurchaseAt - drainStart,
      settledAfterStartMs: drainEnd - drainStart,
      finals,
      buyStatuses,
      queue: sale.stats.queue,
    },
    polls: { ...poll, toNoopP99: Math.round((poll.p99Ms / Math.max(0.1, noop.p99Ms)) * 100) / 100 },
    ok,
  };
  writeFileSync(path.join(ROOT, "bench/queue-latest.json"), JSON.stringify(results, null, 2) + "\n");
  process.stdout.write(
    [
      "",
      `| queue bench (${results.date.slice(0, 10)}) | figure |`,
      "|---|---|",
      `| noop (GET /healthz), same run, ${CONCURRENCY} at once | ${fmt(noopRps)}/s, p99 ${noop.p99Ms} ms |`,
      `| joins before the start | ${fmt(joinRate)}/s, p99 ${join.p99Ms} ms (${fmt(SHOPPERS)} shoppers) |`,
      `| live sockets held | ${liveAccepted} of ${LIVE} (workerd RSS ${rssWithSockets} MB); push delay p99 ${push.p99Ms} ms |`,
      `| start → stock all admitted (server, sampled every 250 ms) | ${admittedAllAt === null ? "n/a" : fmt(admittedAllAt - drainStart)} ms |`,
      `| start → last admission seen by its shopper (polls ≤ 2 s apart) | ${fmt(lastAdmittedAt - drainStart)} ms |`,
      `| start → sold = stock | ${fmt(lastPurchaseAt - drainStart)} ms (sold ${sale.stats.sold} of ${STOCK}) |`,
      `| start → every shopper settled | ${fmt(drainEnd - drainStart)} ms ${JSON.stringify(finals)} |`,
      `| ticket polls | ${fmt(poll.n)}, p50 ${poll.p50Ms} ms, p99 ${poll.p99Ms} ms (${results.polls.toNoopP99}x noop p99) |`,
      "",
    ].join("\n"),
  );
  log("wrote bench/queue-latest.json");
  await cleanup();
  process.exit(ok ? 0 : 1);
}

main().catch((err) => void stop(`bench:queue failed: ${err instanceof Error ? err.stack : String(err)}`, 1));
