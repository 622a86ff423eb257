/**
 * `npm run bench`: the flash-crowd benchmark (issues 7 and 14). Starts the stack itself on the lean runtime (all
 * four Workers in one workerd, the gateway's socket served directly — see docs/runtime.md), with PostgreSQL from
 * DATABASE_URL (a fresh database on that server, dropped afterwards) or an embedded one, and drives it with wrk
 * pinned to another CPU core than workerd.
 *
 * Every throughput figure is SUSTAINED: workerd's CPU is read (/proc) over each chunk AND over the tail after it —
 * until PostgreSQL holds every order and workerd is idle again — so the outbox, queue, consumer and confirmation
 * work a purchase causes is billed to purchase. Each scenario reports
 *   burst req/s      answers / chunk seconds (what the old table showed);
 *   per CPU-second   useful answers / workerd CPU over chunk + tail (load-robust: another agent taking the core
 *                    does not change it) — the ratio targets apply to this figure;
 *   sustained req/s  burst × chunk CPU / (chunk + tail CPU): the rate the core holds with the tail's work inside.
 *
 * Requests are the client's: purchases carry what the shipped web app sends (body {"quantity":1}, a fresh
 * Idempotency-Key, Origin) and a CF-Connecting-IP from a spread of addresses (most shoppers alone, some behind a
 * shared address; bench/lib/sessions.ts), so both limiter calls run. Every 202 is matched BY ORDER ID to its
 * PostgreSQL row (bench/lib/checks.ts). Scenarios, in one run:
 *
 *   noop         GET /healthz through the whole gateway: the ceiling every ratio divides by;
 *   noopRaw      an empty Worker (fetch returns a constant) in the same workerd: the runtime's own ceiling;
 *   purchase     the client's request, distinct shoppers, stock that does not run out (closed loop, wrk);
 *   purchaseBare `{}` with no key, Origin or IP: the gateway's fast path, one limiter call (kept for comparison);
 *   soldOut      attempts on a sold-out sale (the gateway's short-circuit);
 *   openLoop     purchases at 70 % of the SUSTAINED purchase rate on a fixed schedule, latency from the scheduled
 *                send time (coordinated omission corrected, HdrHistogram);
 *   crowd        with the SHIPPED settings (admission 800/s + 200 burst, PURCHASE_LIMITER 20 per 10 s per shopper,
 *                PURCHASE_IP_LIMITER 500 per 10 s per address): 5,000
 *                shoppers at once against 500 items, who double-click and retry (bench/lib/http.ts), retrying
 *                429/503 with the web app's own delay; sold, oversold, duplicates, lost, 429s;
 *   admission    with the SHIPPED ceiling: one sale offered more than it, the object's own rate stays under it;
 *   redisLua     the usual design (Node HTTP + a Redis Lua script) on the same machine, against redis-servers the
 *                bench starts itself in three durabilities (none, AOF everysec, AOF always).
 * noop, noopRaw, purchase, purchaseBare, soldOut and the open loop run with the admission ceiling lifted to
 * 1,000,000/s (the table says so on each row): they measure what the path costs, not the ceiling.
 *
 * Shoppers are not registered (100,000 PBKDF2 iterations each, by design): their sessions are minted with the
 * SESSION_SECRET given to the runtime (bench/lib/sessions.ts). orders.user_id is not a foreign key.
 *
 * Output: bench/latest.json, bench/latest.svg (throughput and latency over time), bench/latest.md (the table,
 * also printed), and a small summary in bench/history/<date>.json (committed; `node bench/history.ts` prints the
 * ranges). Loopback only, every port picked free; 5 minutes at load average ~15 on 2 cores, ~18 at ~30; stops by itself
 * (BENCH_TIMEOUT_SECONDS, default 1200, for a machine other work slows down ten times over) and stops
 * everything it started on exit, SIGINT or SIGTERM.
 *
 * Knobs: BENCH_ROUNDS (interleaved rounds, default 3), BENCH_CHUNK_SECONDS (2), BENCH_OPEN_SECONDS (6),
 * BENCH_CONNECTIONS (50), BENCH_SKIP_REDIS=1, SKIP_WEB_BUILD=1.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { retryDelayMs, MAX_RATE_LIMITED_RETRIES } from "../web/src/lib/retry.ts";
import { renderChart, type ChartPoint } from "../bench/lib/chart.ts";
import { crowdOutcome, matchOrders, type CrowdOutcome, type OrderMatch, type OrderRow } from "../bench/lib/checks.ts";
import { crowd, openLoop, request, CROWD_MIX, type OpenLoopResult } from "../bench/lib/http.ts";
import { DURABILITIES, REDIS_DOES_NOT, redisBaseline, type RedisRun } from "../bench/lib/redis-baseline.ts";
import { addressSpread, makeShoppers, writeTokens, MAX_SHARED_ADDRESS, type Shopper } from "../bench/lib/sessions.ts";
import {
  mergeChunks,
  runChunk,
  tokensUsed,
  type AcceptedOrder,
  type WrkChunk,
  type WrkOptions,
} from "../bench/lib/wrk.ts";
import { bundleWorkers, startLeanRuntime, V8_FLAGS, type LeanRuntime } from "./lib/lean-runtime.ts";
import {
  ROOT,
  applyMigrations,
  createDatabase,
  dropDatabase,
  freePort,
  startEmbeddedPostgres,
  stopChild,
  waitForPort,
} from "./lib/postgres.ts";

const HOST = "127.0.0.1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK_SECONDS = Number(process.env.BENCH_CHUNK_SECONDS ?? 2);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 1200);
const ADMIN_TOKEN = "bench-admin-token";
const SESSION_SECRET = randomBytes(32).toString("hex");
const WORK_DIR = path.join(ROOT, ".data/bench");
const BENCH_DIR = path.join(ROOT, "bench");
const CROWD_USERS = 5_000;
const CROWD_STOCK = 500;
const DRAIN_TIMEOUT_MS = 60_000;
/** Crowd shoppers stop retrying 429/503 this long after the crowd began (the web app gives up after 30 tries). */
const CROWD_RETRY_WINDOW_MS = 40_000;
/** The ceiling the throughput rows run with (lifted: they measure the path, not the ceiling). Said on each row. */
const LIFTED_ADMISSION = { ADMISSION_RPS: "1000000", ADMISSION_BURST: "100000" };
const LIFTED = "admission lifted to 1,000,000/s";
/** Ports other agents' stacks use by default: never ours. */
const RESERVED_PORTS = new Set([8787, 54329]);

const started = performance.now();
const clock = () => (performance.now() - started) / 1000;
const cpus = os.availableParallelism();
/** workerd (and the Redis baseline's servers) on one core, wrk + this process + PostgreSQL on the other. */
const SERVER_CPU = cpus >= 2 ? "0" : undefined;
const LOAD_CPU = cpus >= 2 ? "1" : undefined;
const loadAtStart = os.loadavg();

function log(message: string) {
  process.stdout.write(`[${clock().toFixed(1).padStart(6)}s] ${message}\n`);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

function pin(pid: number, cpu: string | undefined) {
  if (!cpu) return;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpu, String(pid)], { stdio: "ignore" });
  } catch {
    log(`warning: could not pin pid ${pid} to CPU ${cpu} (taskset missing?)`);
  }
}

/** CPU seconds a process has used so far (user + system, all its threads), from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A child of this process whose command line contains `needle` (the embedded PostgreSQL), for its CPU. */
function childPid(needle: string): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) return Number(entry);
    } catch {}
  }
  return null;
}

/**
 * Waits until workerd is idle (under 5 % of a core over two 250 ms windows; at most 10 s), so each chunk starts
 * from the same quiet state, and a chunk's tail (outbox, queue, consumer, confirmations) is over when it returns.
 */
async function quiesce(pid: number | null): Promise<void> {
  if (!pid) return;
  const deadline = Date.now() + 10_000;
  let quiet = 0;
  let last = cpuSeconds(pid);
  while (quiet < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpuSeconds(pid);
    quiet = now - last < 0.0125 ? quiet + 1 : 0;
    last = now;
  }
}

/**
 * A free loopback port below the kernel's ephemeral range (so no outgoing connection takes it between now and
 * the moment the server binds it — the runtime binds its ports only after bundling), never one of the ports
 * other agents' stacks use by default.
 */
async function benchPort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {}
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * Math.max(1000, low - 20000));
    if (!RESERVED_PORTS.has(port) && port < low && (await portFree(port))) return port;
  }
  return freePort();
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

// ------------------------------------------------------------------------------------------------ cleanup

const cleanups: (() => Promise<void>)[] = [];
let finishing = false;
async function cleanup() {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
}
async function abort(reason: string, code: number) {
  if (finishing) return;
  finishing = true;
  log(reason);
  await cleanup();
  process.exit(code);
}
process.on("SIGINT", () => void abort("SIGINT: stopping", 130));
process.on("SIGTERM", () => void abort("SIGTERM: stopping", 143));
setTimeout(
  () => void abort(`bench took longer than ${TIMEOUT_SECONDS} s: stopping`, 2),
  TIMEOUT_SECONDS * 1000,
).unref();

// ------------------------------------------------------------------------------------------------ stack

interface Stack {
  runtime: LeanRuntime;
  url: string;
  port: number;
  /** The empty Worker's own socket (same workerd). */
  rawUrl: string;
}

const EMPTY_WORKER = `export default { fetch() { return new Response("ok"); } };`;

async function startStack(
  databaseUrl: string,
  name: string,
  gatewayVars: Record<string, string>,
  reuseBuild: boolean,
): Promise<Stack> {
  // Bundle first, so the ports are picked just before they are bound (and picked again if one was taken).
  await bundleWorkers(path.join(WORK_DIR, "build"), reuseBuild);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOn(databaseUrl, name, gatewayVars, await benchPort(), await benchPort());
    } catch (err) {
      if (attempt >= 3 || !/ADDRESS_IN_USE|address already in use/i.test(String(err))) throw err;
      log(`a port was taken before the runtime bound it; picking others (${String(err).slice(0, 80)})`);
    }
  }
}

async function startStackOn(
  databaseUrl: string,
  name: string,
  gatewayVars: Record<string, string>,
  port: number,
  rawPort: number,
): Promise<Stack> {
  const persistDir = path.join(WORK_DIR, `state-${name}-${process.pid}`);
  const runtime = await startLeanRuntime({
    host: HOST,
    port,
    databaseUrl,
    persistDir,
    buildDir: path.join(WORK_DIR, "build"),
    reuseBuild: true,
    secrets: { SESSION_SECRET, ADMIN_TOKEN },
    // The bench plays shoppers on many networks through CF-Connecting-IP (workers/gateway/client-address.ts).
    gatewayVars: { TRUST_CLIENT_IP_HEADER: "true", ...gatewayVars },
    extraWorkers: [{ name: "bench-empty-worker", script: EMPTY_WORKER, port: rawPort }],
    workerLogs: false,
    log,
  });
  const stack = { runtime, url: runtime.url, port, rawUrl: `http://${HOST}:${rawPort}` };
  cleanups.push(() => runtime.stop());
  const pid = runtime.workerdPid();
  // Every throughput figure is billed workerd's CPU: without its pid there is nothing to measure.
  if (!pid) throw new Error("could not find the workerd process (its CPU is what the bench bills)");
  pin(pid, SERVER_CPU);
  log(
    `lean runtime "${name}" up on ${runtime.url}, empty Worker on ${stack.rawUrl} (workerd pid ${pid ?? "?"}${SERVER_CPU ? `, CPU ${SERVER_CPU}` : ""})`,
  );
  return stack;
}

async function stopStack(stack: Stack): Promise<void> {
  await stack.runtime.stop();
}

async function createSale(url: string, stock: number, title: string): Promise<string> {
  const now = Date.now();
  const res = await fetch(`${url}/admin/api/sales`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      title,
      priceCents: 1999,
      stock,
      startsAt: new Date(now - 1000).toISOString(),
      endsAt: new Date(now + 3 * 3600_000).toISOString(),
    }),
  });
  if (res.status !== 201) throw new Error(`creating a sale failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: { id: string } }).sale.id;
}

/**
 * The attempts the sale's object itself handled: its `attempts` counter also adds the rejections the gateway
 * answered (flushed to it every 2 s as rateLimited/soldOut/ended); the gateway's are all `rateLimited` here.
 */
async function saleStats(url: string, saleId: string): Promise<{ attempts: number; sold: number }> {
  const res = await fetch(`${url}/admin/api/sales/${saleId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = (await res.json()) as {
    sale: { stats: { attempts: number; sold: number; rejected: { rateLimited: number } } };
  };
  const { attempts, sold, rejected } = body.sale.stats;
  return { attempts: attempts - rejected.rateLimited, sold };
}

/**
 * The consumer's batches that carried a sale's orders, from /metrics (the object's histogram of "delivery to
 * commit and confirmation"): how many (each is one confirmPersisted and one recordObservations call to the
 * object) and their mean time. Null when the series is not there.
 */
async function consumerBatches(
  url: string,
  saleId: string,
): Promise<{ batches: number; sumMs: number; meanMs: number } | null> {
  try {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await res.text();
    const value = (suffix: string) => {
      for (const line of text.split("\n")) {
        const m = /^\w*consumer_batch\w*_(sum|count)\{([^}]*)\}\s+(\S+)$/.exec(line);
        if (m && m[1] === suffix && m[2].includes(`"${saleId}"`)) return Number(m[3]);
      }
      return null;
    };
    const sum = value("sum");
    const count = value("count");
    if (sum === null || count === null) return null;
    return { batches: count, sumMs: sum, meanMs: count ? round(sum / count, 1) : 0 };
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------------------ measuring

const timeline: ChartPoint[] = [];

function chunkLogger(scenario: string) {
  return (c: WrkChunk, i: number, n: number) => {
    const rps = c.requests / (c.durationUs / 1e6);
    const sorted = [...c.histogram].sort((a, b) => a[0] - b[0]);
    const total = sorted.reduce((s, [, k]) => s + k, 0);
    const at = (p: number) => {
      let seen = 0;
      for (const [v, k] of sorted) if ((seen += k) >= Math.ceil(p * total)) return v / 1000;
      return 0;
    };
    if (scenario !== "warmup")
      timeline.push({ scenario, at: c.at + c.durationUs / 2e6, rps, p50Ms: at(0.5), p99Ms: at(0.99) });
    const statuses = Object.entries(c.statuses)
      .map(([k, v]) => `${k}:${fmt(v)}`)
      .join(" ");
    log(
      `${scenario.padEnd(12)} ${i + 1}/${n}  ${fmt(rps).padStart(6)} req/s  p50 ${at(0.5).toFixed(1)} ms  p99 ${at(0.99).toFixed(1)} ms  ${statuses}`,
    );
  };
}

async function orderCount(sql: postgres.Sql, saleId: string): Promise<number> {
  return Number((await sql`select count(*)::int as n from orders where sale_id = ${saleId}`)[0].n);
}

async function orderRows(sql: postgres.Sql, saleId: string): Promise<OrderRow[]> {
  return sql<OrderRow[]>`select id, user_id::text as user_id from orders where sale_id = ${saleId}`;
}

/** Waits until PostgreSQL holds at least `expected` orders of the sale; seconds from `sinceMs`, null on timeout. */
async function waitForOrders(
  sql: postgres.Sql,
  saleId: string,
  expected: number,
  sinceMs: number,
): Promise<{ rows: number; seconds: number | null }> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let rows = 0;
  let lastLog = Date.now();
  for (;;) {
    try {
      rows = await orderCount(sql, saleId);
    } catch (err) {
      log(`  PostgreSQL query failed (${String(err)}), retrying`);
    }
    if (rows >= expected) return { rows, seconds: (performance.now() - sinceMs) / 1000 };
    if (Date.now() > deadline) return { rows, seconds: null };
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`  waiting for PostgreSQL: ${fmt(rows)} / ${fmt(expected)} orders`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A closed-loop scenario measured in interleaved chunks, each billed workerd's CPU over the chunk and its tail. */
interface Billed {
  name: string;
  /** What the row lifts or changes from the shipped settings (shown in the table). */
  lifts: string;
  options: WrkOptions;
  /** The status that counts as useful work (200 for the no-ops, 202 for purchases, 410 for soldOut). */
  useful: string;
  /** The sale whose orders must reach PostgreSQL before the tail ends (purchases). */
  saleId?: string;
  chunks: WrkChunk[];
  chunkCpu: number;
  tailCpu: number;
  tailSeconds: number;
  /** The embedded PostgreSQL's CPU over chunks + tails (not billed: in production it is another machine). */
  postgresCpu: number;
  /** Orders answered 202 so far (the tail waits for PostgreSQL to hold them all). */
  accepted: number;
  /** The consumer's batches for the sale, read after each tail (the object's histogram restarts with it). */
  consumer: { batches: number; sumMs: number; seen: { batches: number; sumMs: number } | null };
}

async function runBilledChunk(
  b: Billed,
  sql: postgres.Sql,
  workerdPid: number | null,
  postgresPid: number | null,
  roundNo: number,
) {
  await quiesce(workerdPid);
  const pid = workerdPid ?? 0;
  // A buyer buys once, so purchase chunks take new shoppers; soldOut's shoppers never buy and are reused.
  const offset = b.saleId ? tokensUsed(b.chunks, b.options.connections) : 0;
  const pg0 = postgresPid ? cpuSeconds(postgresPid) : 0;
  const cpu0 = cpuSeconds(pid);
  const chunk = await runChunk(b.options, CHUNK_SECONDS, offset);
  const cpu1 = cpuSeconds(pid);
  const tailStart = performance.now();
  b.options.onChunk?.(chunk, roundNo, ROUNDS);
  b.chunks.push(chunk);
  if (b.saleId) {
    b.accepted += chunk.statuses["202"] ?? 0;
    const drained = await waitForOrders(sql, b.saleId, b.accepted, tailStart);
    if (drained.seconds === null)
      log(`  ${b.name}: PostgreSQL has ${drained.rows} of ${b.accepted} orders after ${DRAIN_TIMEOUT_MS / 1000} s`);
  }
  await quiesce(workerdPid);
  const cpu2 = cpuSeconds(pid);
  if (b.saleId) {
    // Read at once, while the object is still in memory: its histograms start from zero when it restarts
    // (an idle object is evicted), so a count lower than the last one means a restart.
    const now = await consumerBatches(b.options.url, b.saleId);
    if (now) {
      const last = b.consumer.seen;
      const fresh = !last || now.batches < last.batches;
      b.consumer.batches += fresh ? now.batches : now.batches - last.batches;
      b.consumer.sumMs += fresh ? now.sumMs : now.sumMs - last.sumMs;
      b.consumer.seen = now;
    }
  }
  if (postgresPid) b.postgresCpu += cpuSeconds(postgresPid) - pg0;
  b.chunkCpu += cpu1 - cpu0;
  b.tailCpu += cpu2 - cpu1;
  b.tailSeconds += (performance.now() - tailStart) / 1000;
}

interface ScenarioFigures {
  lifts: string;
  /** Answers per chunk second (the old, burst figure: the tail's work is not in it). */
  burstRps: number;
  /** burst × chunk CPU / (chunk + tail CPU): the rate the core holds with the tail's work inside. */
  sustainedRps: number;
  /** Useful answers per CPU-second of workerd over chunks + tails. */
  perCpuSecond: number;
  cpuMsPerRequest: number;
  /** workerd's CPU share of the chunks' wall time (1 = a whole core). */
  busyInChunks: number;
  chunkCpuSeconds: number;
  tailCpuSeconds: number;
  tailSeconds: number;
  /** The embedded PostgreSQL's CPU seconds over the same time (null with DATABASE_URL); not in any ratio. */
  postgresCpuSeconds: number | null;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  statuses: Record<string, number>;
  socketErrors: number;
  tokensWrapped: boolean;
  chunks: { at: number; rps: number; p50Ms: number; p99Ms: number; statuses: Record<string, number> }[];
  match?: OrderMatch;
}

function figures(b: Billed, postgresKnown: boolean): ScenarioFigures {
  const merged = mergeChunks(b.chunks);
  const useful = merged.statuses[b.useful] ?? 0;
  const cpu = b.chunkCpu + b.tailCpu;
  return {
    lifts: b.lifts,
    burstRps: merged.rps,
    sustainedRps: cpu > 0 ? Math.round((merged.rps * b.chunkCpu) / cpu) : 0,
    perCpuSecond: cpu > 0 ? Math.round(useful / cpu) : 0,
    cpuMsPerRequest: merged.requests ? round((cpu * 1000) / merged.requests) : 0,
    busyInChunks: merged.seconds ? round(b.chunkCpu / merged.seconds, 2) : 0,
    chunkCpuSeconds: round(b.chunkCpu, 2),
    tailCpuSeconds: round(b.tailCpu, 2),
    tailSeconds: round(b.tailSeconds, 2),
    postgresCpuSeconds: postgresKnown ? round(b.postgresCpu, 2) : null,
    requests: merged.requests,
    p50Ms: merged.p50Ms,
    p99Ms: merged.p99Ms,
    p999Ms: merged.p999Ms,
    statuses: merged.statuses,
    socketErrors: merged.socketErrors,
    tokensWrapped: merged.tokensWrapped,
    chunks: merged.chunks,
  };
}

function crowdShoppersOf(shoppers: Shopper[]) {
  return shoppers.map((s) => ({ id: s.id, token: s.token, ip: s.ip }));
}

// ------------------------------------------------------------------------------------------------ main

async function main() {
  if (LOAD_CPU) pin(process.pid, LOAD_CPU);
  for (const bin of ["wrk", "taskset"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    } catch {
      throw new Error(`${bin} is not installed (Debian: apt-get install -y ${bin === "wrk" ? "wrk" : "util-linux"})`);
    }
  }
  mkdirSync(WORK_DIR, { recursive: true });
  log(
    `MiniShop bench: ${cpus} CPUs (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}; workerd on CPU ${SERVER_CPU ?? "any"}, load on CPU ${LOAD_CPU ?? "any"}`,
  );

  // PostgreSQL.
  let databaseUrl: string;
  let database: { kind: "embedded" | "url"; detail: string };
  if (process.env.DATABASE_URL) {
    const name = `minishop_bench_${process.pid}`;
    databaseUrl = await createDatabase(process.env.DATABASE_URL, name);
    cleanups.push(() => dropDatabase(process.env.DATABASE_URL!, name));
    const u = new URL(process.env.DATABASE_URL);
    database = {
      kind: "url",
      detail: `DATABASE_URL's server ${u.hostname}:${u.port || 5432} (fresh database ${name}, not pinned)`,
    };
    log(`PostgreSQL: fresh database ${name} on DATABASE_URL's server`);
  } else {
    const port = await benchPort();
    // Up to 2 minutes: a new PGlite takes seconds on an idle machine, far longer on a busy one.
    const db = await startEmbeddedPostgres({ dataDir: "memory://", port, quiet: true, timeoutMs: 120_000 });
    cleanups.push(() => db.stop());
    databaseUrl = new URL(db.url).toString();
    database = { kind: "embedded", detail: `pglite-server in memory on ${HOST}:${port}, CPU ${LOAD_CPU ?? "any"}` };
    const pgPid = childPid("pglite-server");
    if (pgPid) pin(pgPid, LOAD_CPU);
    log(`PostgreSQL: embedded (pglite-server, in memory) on ${HOST}:${port}, CPU ${LOAD_CPU ?? "any"}`);
  }
  const postgresPid = database.kind === "embedded" ? childPid("pglite-server") : null;
  await applyMigrations(databaseUrl);
  // One connection, no prepared statements: pglite-server serves every client from one PostgreSQL session.
  const sql = postgres(databaseUrl, { max: 1, prepare: false, onnotice: () => {} });
  cleanups.push(() => sql.end({ timeout: 2 }));

  if (!existsSync(path.join(ROOT, "web/dist/index.html")) && process.env.SKIP_WEB_BUILD !== "1") {
    log("building the web app (the gateway's static assets)");
    execFileSync(
      path.join(ROOT, "node_modules/.bin/vite"),
      ["build", "--config", "web/vite.config.ts", "--logLevel", "warn"],
      { cwd: ROOT, stdio: "inherit" },
    );
  }

  // ---------------------------------------------------------------------------------------- lifted ceiling
  let stack = await startStack(databaseUrl, "lifted", LIFTED_ADMISSION, false);
  const url = stack.url;
  const workerdPid = stack.runtime.workerdPid();

  // Warm-up (not recorded): JIT, connections, the first objects.
  await runChunk({ url, paths: ["/healthz"], connections: CONNECTIONS, seconds: 2, cpu: LOAD_CPU, clock }, 2, 0);
  await runChunk({ url: stack.rawUrl, paths: ["/"], connections: CONNECTIONS, seconds: 1, cpu: LOAD_CPU, clock }, 1, 0);

  // Shoppers: one pool per scenario (a shopper buys once per sale). A chunk takes at most ~4,000/s × its seconds.
  const perPool = Math.ceil(4_000 * CHUNK_SECONDS * ROUNDS * 1.25) + CONNECTIONS * ROUNDS;
  log(`minting ${fmt(perPool * 3 + CROWD_USERS + 1)} shopper sessions`);
  const pools = {
    purchase: makeShoppers(SESSION_SECRET, perPool, "buyer", 11),
    bare: makeShoppers(SESSION_SECRET, perPool, "bare", 12),
    admission: makeShoppers(SESSION_SECRET, perPool, "adm", 13),
    crowd: makeShoppers(SESSION_SECRET, CROWD_USERS, "crowd", 14, true),
  };
  const tokenFiles = Object.fromEntries(
    Object.entries(pools).map(([name, shoppers]) => {
      const file = path.join(WORK_DIR, `tokens-${name}-${process.pid}.txt`);
      writeTokens(file, shoppers);
      return [name, file];
    }),
  ) as Record<keyof typeof pools, string>;
  const purchaseSale = await createSale(url, 1_000_000, "bench: purchase");
  const bareSale = await createSale(url, 1_000_000, "bench: purchase {}");
  const soldOutSale = await createSale(url, 1, "bench: sold out");
  const seller = makeShoppers(SESSION_SECRET, 1, "seller", 15)[0];
  const sell = await request(
    new http.Agent(),
    { host: HOST, port: stack.port },
    "POST",
    `/api/sales/${soldOutSale}/purchase`,
    {
      cookie: `minishop_session=${seller.token}`,
      "content-type": "application/json",
    },
    "{}",
  );
  if (sell.status !== 202) throw new Error(`buying the sold-out sale's only item failed: ${sell.status} ${sell.body}`);

  // noop, noopRaw, soldOut, purchase and purchaseBare run interleaved, one chunk of each per round (the order
  // rotates), each billed its own tail, so whatever else the machine does weighs on all alike and ratios hold.
  const chunkOptions = (scenario: string, o: Partial<WrkOptions>): WrkOptions => ({
    url,
    paths: ["/healthz"],
    connections: CONNECTIONS,
    seconds: CHUNK_SECONDS,
    cpu: LOAD_CPU,
    clock,
    ...o,
    onChunk: chunkLogger(scenario),
  });
  const billed = (name: string, lifts: string, useful: string, o: Partial<WrkOptions>, saleId?: string): Billed => ({
    name,
    lifts,
    useful,
    options: chunkOptions(name, o),
    saleId,
    chunks: [],
    chunkCpu: 0,
    tailCpu: 0,
    tailSeconds: 0,
    postgresCpu: 0,
    accepted: 0,
    consumer: { batches: 0, sumMs: 0, seen: null },
  });
  const scenarios: Billed[] = [
    billed("noop", LIFTED, "200", {}),
    billed("noopRaw", "empty Worker, no gateway", "200", { url: stack.rawUrl, paths: ["/"] }),
    billed("soldOut", LIFTED, "410", {
      method: "POST",
      paths: [`/api/sales/${soldOutSale}/purchase`],
      tokensFile: tokenFiles.admission,
      shape: "client",
    }),
    billed(
      "purchase",
      LIFTED,
      "202",
      {
        method: "POST",
        paths: [`/api/sales/${purchaseSale}/purchase`],
        tokensFile: tokenFiles.purchase,
        shape: "client",
        collectOrders: true,
      },
      purchaseSale,
    ),
    billed(
      "purchaseBare",
      `${LIFTED}; body {} only: no key, Origin or IP (fast path, one limiter call)`,
      "202",
      {
        method: "POST",
        paths: [`/api/sales/${bareSale}/purchase`],
        tokensFile: tokenFiles.bare,
        shape: "bare",
        collectOrders: true,
      },
      bareSale,
    ),
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < scenarios.length; k++)
      await runBilledChunk(scenarios[(r + k) % scenarios.length], sql, workerdPid, postgresPid, r);
  }
  const fig = Object.fromEntries(scenarios.map((b) => [b.name, figures(b, postgresPid !== null)])) as Record<
    string,
    ScenarioFigures
  >;
  for (const b of scenarios) {
    if (!b.saleId) continue;
    const orders = b.chunks.flatMap((c) => c.orders);
    const rows = await orderRows(sql, b.saleId);
    fig[b.name].match = matchOrders(orders, rows);
    const m = fig[b.name].match!;
    log(
      `${b.name}: ${fmt(m.orders)} orders answered 202, ${fmt(m.matched)} matched by id in PostgreSQL, lost ${m.lost}, wrong shopper ${m.wrongShopper}, rows without an answer ${m.rowsWithoutAnswer} (in flight at a chunk's end), duplicates ${m.duplicates}`,
    );
  }
  for (const [name, f] of Object.entries(fig)) {
    log(
      `${name}: burst ${fmt(f.burstRps)}/s, sustained ${fmt(f.sustainedRps)}/s, ${fmt(f.perCpuSecond)} per workerd CPU-second (${f.cpuMsPerRequest} ms each; tail ${f.tailCpuSeconds} s CPU of ${round(f.chunkCpuSeconds + f.tailCpuSeconds, 2)})`,
    );
  }

  // openLoop: purchases at 70 % of the SUSTAINED purchase rate, on a schedule; every 202 matched by id.
  const rate = Math.max(50, Math.round(fig.purchase.sustainedRps * 0.7));
  const openSale = await createSale(url, 1_000_000, "bench: open loop");
  const openShoppers = makeShoppers(SESSION_SECRET, Math.ceil(rate * (OPEN_SECONDS + 2)) + 10, "open", 16);
  const openRequest = (s: Shopper, key: string) => ({
    method: "POST",
    path: `/api/sales/${openSale}/purchase`,
    headers: {
      cookie: `minishop_session=${s.token}`,
      "content-type": "application/json",
      origin: url,
      "idempotency-key": key,
      "cf-connecting-ip": s.ip,
    },
    body: '{"quantity":1}',
  });
  const openOrders: AcceptedOrder[] = [];
  const collect = (reply: { status: number; body: string }) => {
    if (reply.status !== 202) return;
    try {
      const order = (JSON.parse(reply.body) as { order: { id: string; userId: string } }).order;
      openOrders.push({ orderId: order.id, userId: order.userId });
    } catch {}
  };
  await quiesce(workerdPid);
  // Two seconds of the same schedule first (not in the latency figures; their orders are matched too).
  await openLoop({
    target: { host: HOST, port: stack.port },
    rate,
    seconds: 2,
    connections: 256,
    clock,
    makeRequest: (i) => openRequest(openShoppers[openShoppers.length - 1 - i], `open-warm-${i}`),
    onReply: (_i, reply) => collect(reply),
  });
  await waitForOrders(sql, openSale, openOrders.length, performance.now());
  await quiesce(workerdPid);
  log(
    `openLoop: ${fmt(rate)} purchases/s for ${OPEN_SECONDS} s (70 % of the sustained ${fmt(fig.purchase.sustainedRps)}/s), latency from the scheduled send time`,
  );
  const openCpu0 = cpuSeconds(workerdPid ?? 0);
  const openStart = performance.now();
  const open: OpenLoopResult = await openLoop({
    target: { host: HOST, port: stack.port },
    rate,
    seconds: OPEN_SECONDS,
    connections: 256,
    clock,
    makeRequest: (i) => openRequest(openShoppers[i], `open-${i}`),
    onReply: (_i, reply) => collect(reply),
    onSecond: (s, rps, p99) =>
      log(`openLoop     ${s + 1}/${OPEN_SECONDS}  ${fmt(rps).padStart(6)} req/s  p99 ${p99.toFixed(1)} ms`),
  });
  const openRunCpu = cpuSeconds(workerdPid ?? 0) - openCpu0;
  const openRunSeconds = (performance.now() - openStart) / 1000;
  const openDrain = await waitForOrders(sql, openSale, openOrders.length, performance.now());
  await quiesce(workerdPid);
  const openCpu = cpuSeconds(workerdPid ?? 0) - openCpu0;
  for (const p of open.perSecond)
    timeline.push({ scenario: "openLoop", at: p.at + 0.5, rps: p.rps, p50Ms: p.p50Ms, p99Ms: p.p99Ms });
  const openMatch = matchOrders(openOrders, await orderRows(sql, openSale));
  const purchaseBilled = scenarios.find((b) => b.name === "purchase")!.consumer;
  const purchaseConsumer = {
    batches: purchaseBilled.batches,
    meanMs: purchaseBilled.batches ? round(purchaseBilled.sumMs / purchaseBilled.batches, 1) : null,
    orders: fig.purchase.match!.orders + fig.purchase.match!.rowsWithoutAnswer,
  };
  log(
    `purchase: ${purchaseConsumer.batches} consumer batches for ${purchaseConsumer.orders} orders, mean ${purchaseConsumer.meanMs} ms each`,
  );
  const openLoopResult = {
    ...open,
    lifts: LIFTED,
    rateFrom: "70 % of purchase.sustainedRps",
    workerdBusy: round(openRunCpu / openRunSeconds, 2),
    cpuMsPerPurchase: round((openCpu * 1000) / Math.max(1, open.statuses["202"] ?? 0)),
    drainSecondsAfterLoad: openDrain.seconds === null ? null : round(openDrain.seconds, 2),
    match: openMatch,
  };
  log(
    `openLoop: p50 ${open.p50Ms} ms, p99 ${open.p99Ms} ms, p99.9 ${open.p999Ms} ms; ${JSON.stringify(open.statuses)}; workerd ${Math.round(openLoopResult.workerdBusy * 100)} % busy; 202s matched ${openMatch.matched}/${openMatch.orders}, lost ${openMatch.lost}`,
  );
  await stopStack(stack);

  // ---------------------------------------------------------------------------------------- shipped settings
  // The shipped gateway settings: wrangler.toml's ADMISSION_RPS / ADMISSION_BURST and PURCHASE_LIMITER as they are.
  const gatewayConfig = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const shipped = {
    admissionRps: Number(/ADMISSION_RPS\s*=\s*"(\d+)"/.exec(gatewayConfig)?.[1] ?? NaN),
    admissionBurst: Number(/ADMISSION_BURST\s*=\s*"(\d+)"/.exec(gatewayConfig)?.[1] ?? NaN),
    purchaseLimiter: /name = "PURCHASE_LIMITER"[\s\S]*?simple = (\{[^}]*\})/.exec(gatewayConfig)?.[1] ?? "?",
    purchaseIpLimiter: /name = "PURCHASE_IP_LIMITER"[\s\S]*?simple = (\{[^}]*\})/.exec(gatewayConfig)?.[1] ?? "?",
  };
  stack = await startStack(databaseUrl, "shipped", {}, true);

  // crowd: 5,000 shoppers at once against 500 items, with the shipped settings; they double-click and retry.
  const crowdSale = await createSale(stack.url, CROWD_STOCK, "bench: crowd");
  log(
    `crowd: ${fmt(CROWD_USERS)} shoppers at once against ${CROWD_STOCK} items, shipped settings (admission ${shipped.admissionRps}/s + ${shipped.admissionBurst}, PURCHASE_LIMITER ${shipped.purchaseLimiter})`,
  );
  const crowdStart = performance.now();
  const crowdRun = await crowd({
    target: { host: HOST, port: stack.port },
    shoppers: crowdShoppersOf(pools.crowd),
    path: `/api/sales/${crowdSale}/purchase`,
    connections: 250,
    retryDelay: (after, attempt) => retryDelayMs(after, attempt),
    maxRetries: MAX_RATE_LIMITED_RETRIES,
    retryWindowMs: CROWD_RETRY_WINDOW_MS,
  });
  timeline.push({
    scenario: "crowd",
    at: clock() - crowdRun.seconds / 2,
    rps: crowdRun.attempts.length / crowdRun.seconds,
    p50Ms: 0,
    p99Ms: 0,
  });
  const crowdSold = new Set(crowdRun.attempts.filter((a) => a.status === 202).map((a) => a.orderId)).size;
  const crowdDrain = await waitForOrders(sql, crowdSale, crowdSold, crowdStart);
  await quiesce(stack.runtime.workerdPid());
  const crowdResult: CrowdOutcome & {
    settings: string;
    consumer: { batches: number; sumMs: number; meanMs: number } | null;
  } = {
    ...crowdOutcome(crowdRun, await orderRows(sql, crowdSale), CROWD_STOCK, CROWD_USERS, crowdDrain.seconds),
    settings: `shipped: admission ${shipped.admissionRps}/s + burst ${shipped.admissionBurst} per isolate, PURCHASE_LIMITER ${shipped.purchaseLimiter} per shopper, PURCHASE_IP_LIMITER ${shipped.purchaseIpLimiter} per address`,
    consumer: await consumerBatches(stack.url, crowdSale),
  };
  log(`crowd: consumer batches ${JSON.stringify(crowdResult.consumer)}`);
  log(
    `crowd: sold ${crowdResult.sold} (${crowdResult.sellOutSeconds} s), ${fmt(crowdResult.requests)} requests, retried after ${JSON.stringify(crowdResult.retriedAfter)}; final ${JSON.stringify(crowdResult.statuses)} ${JSON.stringify(crowdResult.codes)}; oversold ${crowdResult.oversold}, duplicates ${crowdResult.duplicates}, lost ${crowdResult.lost}, replays ${crowdResult.replays} (mismatched ${crowdResult.replayMismatches}); in PostgreSQL after ${crowdResult.drainSeconds ?? "(timed out)"} s`,
  );

  // crowdSharded (issue 13): the same crowd() and crowdOutcome() against a sharded sale go here.

  // admission: one sale offered more than the shipped ceiling; the object's own attempt rate stays under it.
  const admissionSale = await createSale(stack.url, 1_000_000, "bench: admission");
  const before = await saleStats(stack.url, admissionSale);
  const admissionStart = performance.now();
  const admissionChunks: WrkChunk[] = [];
  const admissionSeconds = 4;
  for (let i = 0; i < admissionSeconds / 2; i++) {
    const c = await runChunk(
      {
        url: stack.url,
        method: "POST",
        paths: [`/api/sales/${admissionSale}/purchase`],
        tokensFile: tokenFiles.admission,
        shape: "client",
        connections: CONNECTIONS,
        seconds: 2,
        cpu: LOAD_CPU,
        clock,
      },
      2,
      tokensUsed(admissionChunks, CONNECTIONS),
    );
    chunkLogger("admission")(c, i, admissionSeconds / 2);
    admissionChunks.push(c);
  }
  const admissionWall = (performance.now() - admissionStart) / 1000;
  const admissionRun = mergeChunks(admissionChunks);
  const after = await saleStats(stack.url, admissionSale);
  const objectAttempts = after.attempts - before.attempts;
  const admission = {
    settings: "shipped",
    ceilingRps: shipped.admissionRps,
    burst: shipped.admissionBurst,
    offeredRps: admissionRun.rps,
    objectRps: Math.round(objectAttempts / admissionWall),
    objectAttempts,
    admittedShare: round(objectAttempts / Math.max(1, admissionRun.requests)),
    statuses: admissionRun.statuses,
    bound: (admissionRun.statuses["429"] ?? 0) > 0,
    underCeiling: objectAttempts <= shipped.admissionRps * admissionWall + shipped.admissionBurst,
  };
  log(
    `admission: offered ${fmt(admission.offeredRps)}/s, the object saw ${fmt(admission.objectRps)}/s (ceiling ${admission.ceilingRps}/s + burst ${admission.burst}; ${admission.underCeiling ? "under it" : "OVER IT"}; ${admission.bound ? "the ceiling bound" : "the ceiling was not reached"})`,
  );
  await stopStack(stack);

  // ---------------------------------------------------------------------------------------- redis baseline
  let redisLua: { runs: RedisRun[]; doesNot: string; skipped?: string };
  if (process.env.BENCH_SKIP_REDIS === "1")
    redisLua = { runs: [], doesNot: REDIS_DOES_NOT, skipped: "BENCH_SKIP_REDIS=1" };
  else {
    try {
      execFileSync("sh", ["-c", "command -v redis-server"], { stdio: "ignore" });
      const runs: RedisRun[] = [];
      for (const durability of DURABILITIES) {
        runs.push(
          await redisBaseline(
            {
              host: HOST,
              serverCpu: SERVER_CPU,
              loadCpu: LOAD_CPU,
              workDir: WORK_DIR,
              benchDir: BENCH_DIR,
              sessionSecret: SESSION_SECRET,
              tokensFile: tokenFiles.bare,
              connections: CONNECTIONS,
              rounds: ROUNDS,
              crowdShoppers: crowdShoppersOf(pools.crowd),
              crowdStock: CROWD_STOCK,
              retryDelay: (after, attempt) => retryDelayMs(after, attempt),
              maxRetries: MAX_RATE_LIMITED_RETRIES,
              clock,
              log,
              pin,
              cpuSeconds,
              freePort: benchPort,
              waitForPort: (port, host, timeoutMs) => waitForPort(port, host, timeoutMs),
              stopChild: (child: ChildProcess) => stopChild(child),
              onChunk: chunkLogger,
              defer: (c) => void cleanups.push(c),
            },
            durability,
          ),
        );
      }
      redisLua = { runs, doesNot: REDIS_DOES_NOT };
    } catch (err) {
      redisLua = { runs: [], doesNot: REDIS_DOES_NOT, skipped: `failed: ${String(err)}` };
      log(`redisLua: skipped — ${redisLua.skipped}`);
    }
  }

  // ---------------------------------------------------------------------------------------- results
  const versions = runtimeVersions();
  const loadAtEnd = os.loadavg();
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : 0);
  const purchaseMatch = fig.purchase.match!;
  const bareMatch = fig.purchaseBare.match!;
  const results = {
    schema: 2,
    date: new Date().toISOString(),
    runtime: `lean: all four Workers in one workerd ${versions.workerd} via Miniflare ${versions.miniflare} (programmatic API, dev.unsafeDirectSockets on the gateway; no dev proxy, no inspector); wrk pinned to another core`,
    runtimeFlags: {
      workerdV8Flags: process.env.MINIFLARE_WORKERD_V8_FLAGS ?? V8_FLAGS.join(" "),
      serverCpu: SERVER_CPU ?? "any",
      loadCpu: LOAD_CPU ?? "any",
    },
    database,
    machine: {
      nproc: cpus,
      cpu: os.cpus()[0]?.model ?? "?",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      loadavgStart: loadAtStart.map((l) => round(l, 2)),
      loadavgEnd: loadAtEnd.map((l) => round(l, 2)),
    },
    settings: {
      rounds: ROUNDS,
      chunkSeconds: CHUNK_SECONDS,
      openSeconds: OPEN_SECONDS,
      connections: CONNECTIONS,
      liftedAdmission: LIFTED_ADMISSION,
      shipped,
      shoppers: "minted sessions (not registered), see bench/lib/sessions.ts",
    },
    clientRequest: {
      purchase:
        'POST, body {"quantity":1}, Idempotency-Key (fresh per click), Origin (the gateway\'s own), CF-Connecting-IP, session cookie',
      purchaseBare: "POST, body {}, session cookie only",
      addresses: { ...addressSpread(pools.purchase), maxShared: MAX_SHARED_ADDRESS, range: "198.18.0.0/15 (RFC 2544)" },
      crowdAddresses: {
        ...addressSpread(pools.crowd),
        carrierNat: "0.5 % of address groups are 30-60 shoppers behind one address",
      },
      crowdMix: Object.fromEntries(CROWD_MIX),
    },
    scenarios: fig,
    // The consumer's batches for the purchase scenario's sale (all its chunks): each batch is one confirmPersisted
    // and one recordObservations call to the object; meanMs is delivery to commit and confirmation.
    consumer: { purchase: purchaseConsumer },
    openLoop: openLoopResult,
    crowd: crowdResult,
    admission,
    redisLua,
    ratios: {
      // Sustained: useful answers per workerd CPU-second over chunk + tail, against the no-op's.
      purchaseToNoop: ratio(fig.purchase.perCpuSecond, fig.noop.perCpuSecond),
      purchaseBareToNoop: ratio(fig.purchaseBare.perCpuSecond, fig.noop.perCpuSecond),
      soldOutToNoop: ratio(fig.soldOut.perCpuSecond, fig.noop.perCpuSecond),
      noopToNoopRaw: ratio(fig.noop.perCpuSecond, fig.noopRaw.perCpuSecond),
      purchaseToNoopSustainedRps: ratio(fig.purchase.sustainedRps, fig.noop.sustainedRps),
      // The old figure: chunk rates with the tail off the clock (and the old table's request was purchaseBare's).
      purchaseToNoopBurst: ratio(fig.purchase.burstRps, fig.noop.burstRps),
      purchaseBareToNoopBurst: ratio(fig.purchaseBare.burstRps, fig.noop.burstRps),
    },
    targets: {} as Record<string, boolean>,
    timeline,
  };
  const crowdOk =
    crowdResult.oversold === 0 &&
    crowdResult.duplicates === 0 &&
    crowdResult.lost === 0 &&
    crowdResult.wrongShopper === 0 &&
    crowdResult.replayMismatches === 0;
  results.targets = {
    "purchase per CPU-second >= 0.25 x noop's (sustained)": results.ratios.purchaseToNoop >= 0.25,
    "soldOut per CPU-second >= 0.9 x noop's (sustained)": results.ratios.soldOutToNoop >= 0.9,
    "purchase p99 < 100 ms (open loop at 70 % of sustained)": open.p99Ms < 100,
    "every 202 matched by order id (purchase, purchaseBare, openLoop, crowd), none lost":
      [purchaseMatch, bareMatch, openMatch].every((m) => m.lost === 0 && m.wrongShopper === 0 && m.duplicates === 0) &&
      crowdResult.lost === 0,
    // wrk drops the answers of requests in flight when a chunk ends: at most one per connection per chunk.
    "rows without a 202 <= in flight at chunk ends":
      purchaseMatch.rowsWithoutAnswer <= CONNECTIONS * ROUNDS &&
      bareMatch.rowsWithoutAnswer <= CONNECTIONS * ROUNDS &&
      openMatch.rowsWithoutAnswer === 0 &&
      crowdResult.rowsWithoutAnswer === 0,
    "crowd: zero oversold, duplicates, lost; replays same order": crowdOk,
    "crowd sells out (sold = stock)": crowdResult.sold === CROWD_STOCK,
    "admission: the shipped ceiling bound (429s) and the object stayed under it":
      admission.bound && admission.underCeiling,
  };
  const table = renderTable(results);
  process.stdout.write(`\n${table}\n`);
  writeFileSync(path.join(BENCH_DIR, "latest.json"), JSON.stringify(results, null, 2) + "\n");
  writeFileSync(path.join(BENCH_DIR, "latest.md"), table + "\n");
  writeFileSync(
    path.join(BENCH_DIR, "latest.svg"),
    renderChart(
      timeline,
      `MiniShop bench ${results.date.slice(0, 16)}Z — lean runtime, ${cpus} CPUs, load ${loadAtStart[0].toFixed(1)}`,
    ),
  );
  mkdirSync(path.join(BENCH_DIR, "history"), { recursive: true });
  const historyFile = path.join(BENCH_DIR, "history", `${results.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(historyFile, JSON.stringify(historyOf(results), null, 1) + "\n");
  log(`wrote bench/latest.json, bench/latest.md, bench/latest.svg, ${path.relative(ROOT, historyFile)}`);
  finishing = true;
  await cleanup();
  process.exit(0);
}

/** The run's figures without the time series and per-chunk detail: a few KB, committed under bench/history/. */
function historyOf(
  r: Record<string, unknown> & { scenarios: Record<string, ScenarioFigures>; openLoop: OpenLoopResult },
) {
  const { timeline: _t, scenarios, openLoop: open, ...rest } = r;
  return {
    ...rest,
    scenarios: Object.fromEntries(Object.entries(scenarios).map(([k, { chunks: _c, ...f }]) => [k, f])),
    openLoop: { ...open, perSecond: undefined },
  };
}

function runtimeVersions(): { workerd: string; miniflare: string } {
  const read = (p: string) => {
    try {
      return (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version;
    } catch {
      return "?";
    }
  };
  const wranglerDir = path.join(ROOT, "node_modules/wrangler/node_modules");
  return {
    miniflare: read(
      path.join(
        existsSync(path.join(wranglerDir, "miniflare")) ? wranglerDir : path.join(ROOT, "node_modules"),
        "miniflare/package.json",
      ),
    ),
    workerd: read(
      path.join(
        existsSync(path.join(wranglerDir, "workerd")) ? wranglerDir : path.join(ROOT, "node_modules"),
        "workerd/package.json",
      ),
    ),
  };
}

function renderTable(r: {
  date: string;
  machine: { nproc: number; loadavgStart: number[] };
  database: { kind: string };
  scenarios: Record<string, ScenarioFigures>;
  openLoop: OpenLoopResult & { workerdBusy: number; cpuMsPerPurchase: number; match: OrderMatch };
  crowd: CrowdOutcome & { settings: string; consumer: { batches: number; sumMs: number; meanMs: number } | null };
  admission: {
    ceilingRps: number;
    burst: number;
    offeredRps: number;
    objectRps: number;
    bound: boolean;
    statuses: Record<string, number>;
  };
  redisLua: { runs: RedisRun[]; doesNot: string; skipped?: string };
  ratios: Record<string, number>;
  targets: Record<string, boolean>;
}): string {
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v} ms`);
  const s = r.scenarios;
  const row = (name: string, label: string, notes: string) => {
    const f = s[name];
    return `| ${label} | ${fmt(f.sustainedRps)} | ${fmt(f.perCpuSecond)} | ${fmt(f.burstRps)} | ${ms(f.p50Ms)} | ${ms(f.p99Ms)} | ${f.lifts} | ${notes} |`;
  };
  const matched = (m: OrderMatch | undefined) =>
    m ? `${fmt(m.matched)}/${fmt(m.orders)} 202s matched by id, lost ${m.lost}, duplicates ${m.duplicates}` : "";
  const o = r.openLoop;
  const c = r.crowd;
  const a = r.admission;
  const lines = [
    `${r.date.slice(0, 10)}, ${r.machine.nproc} CPUs, load average ${r.machine.loadavgStart.join(" ")} at start, PostgreSQL ${r.database.kind}. Sustained = the chunks' rate with the tail's workerd CPU (outbox, queue, consumer, confirmations; until PostgreSQL has every order) billed; per CPU-s = useful answers per workerd CPU-second over chunk + tail; burst = the chunks alone (the old figure). Closed-loop p50/p99 per chunk.`,
    "",
    "| scenario | sustained req/s | per workerd CPU-s | burst req/s | p50 | p99 | lifts / changes | notes |",
    "|---|---:|---:|---:|---:|---:|---|---|",
    row("noopRaw", "noopRaw (empty Worker)", `the runtime's ceiling; noop = ${r.ratios.noopToNoopRaw}× it`),
    row("noop", "noop (GET /healthz via gateway)", "the ceiling every ratio divides by"),
    row(
      "purchase",
      "**purchase** (client's request)",
      `**${r.ratios.purchaseToNoop}× noop** per CPU-s (${r.ratios.purchaseToNoopSustainedRps}× sustained req/s, ${r.ratios.purchaseToNoopBurst}× burst); ${s.purchase.cpuMsPerRequest} ms workerd CPU each; ${matched(s.purchase.match)}`,
    ),
    row(
      "purchaseBare",
      "purchaseBare ({} fast path)",
      `${r.ratios.purchaseBareToNoop}× noop per CPU-s (${r.ratios.purchaseBareToNoopBurst}× burst); ${matched(s.purchaseBare.match)}`,
    ),
    row("soldOut", "soldOut", `${r.ratios.soldOutToNoop}× noop per CPU-s`),
    `| openLoop (client's request) | ${fmt(o.achievedRps)} of ${fmt(o.targetRps)} scheduled | | | ${ms(o.p50Ms)} | ${ms(o.p99Ms)} | ${LIFTED} | 70 % of sustained purchase; latency from the scheduled send (p99.9 ${ms(o.p999Ms)}); workerd ${Math.round(o.workerdBusy * 100)} % busy, ${o.cpuMsPerPurchase} ms CPU per purchase; ${matched(o.match)} |`,
    `| crowd ${fmt(c.users)} → ${c.stock} | | | | | | none (shipped settings) | sold ${c.sold}, oversold ${c.oversold}, duplicates ${c.duplicates}, lost ${c.lost} (every 202 matched by id); ${fmt(c.requests)} requests incl. ${fmt(c.retries)} retries after 429/503; replays ${c.replays} (same order); final ${Object.entries(
      c.codes,
    )
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(
        ", ",
      )}; sold out ${c.sellOutSeconds ?? "–"} s, all answered ${c.answeredSeconds} s, in PostgreSQL ${c.drainSeconds ?? "–"} s${c.consumer ? `; ${c.consumer.batches} consumer batches (mean ${c.consumer.meanMs} ms)` : ""} |`,
    `| admission | ${fmt(a.offeredRps)} offered | | | | | none (shipped ${fmt(a.ceilingRps)}/s + ${a.burst}) | the object saw ${fmt(a.objectRps)}/s; ${fmt(a.statuses["429"] ?? 0)} answered 429${a.bound ? "" : " (ceiling not reached)"} |`,
    ...(r.redisLua.skipped
      ? [`| redisLua | | | | | | | skipped: ${r.redisLua.skipped} |`]
      : r.redisLua.runs.map(
          (x) =>
            `| redisLua, ${x.label} | ${fmt(x.rps)} | ${fmt(x.purchasesPerCpuSecond)} (Node + Redis) | ${fmt(x.rps)} | ${ms(x.p50Ms)} | ${ms(x.p99Ms)} | no limiter, admission, key or PostgreSQL | ${fmt(x.match.matched)}/${fmt(x.match.orders)} 202s matched in Redis; crowd sold ${x.crowd.sold}, oversold ${x.crowd.oversold}, duplicates ${x.crowd.duplicates}, lost ${x.crowd.lost} |`,
        )),
    "",
    "Targets: " +
      Object.entries(r.targets)
        .map(([k, v]) => `${v ? "✔" : "✘"} ${k}`)
        .join("; "),
  ];
  return lines.join("\n");
}

main().catch(
  (err: unknown) => void abort(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1),
);
