/**
 * `npm run connections [-- --levels 1000,2500,5000,10000 --seconds 30]`: how many concurrent shoppers one box
 * holds. Each shopper is one keep-alive TCP connection that asks `GET /api/sales/:id` at the web app's own rate
 * (SalePage polls every 5 s: `--interval-ms 5000`), starting at a random moment in its first interval. For each
 * level the connections are opened (ramp `--ramp` per second), held for `--seconds`, and reported: answers per second,
 * p50/p99/max latency (from the request's write to its last byte), connection errors (refused, reset, closed,
 * timeouts over 10 s), and workerd's RSS and open descriptors. Then all are closed and the next level starts.
 * Target: zero connection errors and p99 < 250 ms. The run with the default levels is the bench's record:
 * bench/connections-latest.md (the table) and .json; every run also writes .data/reports/connections-latest.json.
 *
 * The file-descriptor limit is raised first (the script re-runs itself under `ulimit -n`), for this process and the
 * workerd it starts: to two per connection of the largest level plus 2,000 (workerd holds two per connection, and
 * stops altogether when accept() hits the limit), or to the hard limit where that cannot be raised. workerd is pinned to CPU 0 and this process to CPU 1 (taskset), as in the bench.
 */
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lib/postgres.ts";
import { arg, createSale, log, openFds, rssMb, startShop } from "./lib/harness.ts";
import { count, type Tally } from "../bench/lib/tally.ts";

/** `--levels=…`, or undefined for the default levels (whose run is the bench's record). */
const LEVELS_ARG = process.argv.find((a) => a.startsWith("--levels="))?.split("=")[1];
const LEVELS = (LEVELS_ARG ?? "1000,2500,5000,10000").split(",").map(Number);
const SECONDS = arg("seconds", 30);
const INTERVAL_MS = arg("interval-ms", 5000);
const RAMP_PER_SECOND = arg("ramp", 1000);
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Descriptors workerd holds for `connections` open connections: two each (it keeps a duplicate of every accepted
 * socket) and the rest of the shop (78 measured with one sale: listeners, SQLite files; 200 leaves room).
 */
const fdsFor = (connections: number) => 2 * connections + 200;
/** What the limit is raised to: the largest level, with room to spare. */
const FDS_NEEDED = fdsFor(Math.max(...LEVELS)) + 1_800;

/**
 * The levels to run under a descriptor limit of `limit`. Where the limit is below what the largest level needs,
 * the largest level the limit leaves room for (`fdsFor`, rounded down to a hundred) runs just before it, so the
 * report says where this box stops, not only that it does.
 */
function levelsUnder(limit: number): number[] {
  if (limit >= FDS_NEEDED) return LEVELS;
  const fitting = Math.floor((limit - fdsFor(0)) / 200) * 100;
  const below = LEVELS.filter((l) => l < fitting);
  const above = LEVELS.filter((l) => l > fitting);
  return fitting > 0 && above.length ? [...below, fitting, ...above] : LEVELS;
}

interface LevelResult {
  connections: number;
  opened: number;
  answers: number;
  answersPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  statuses: Tally;
  errors: Tally;
  workerdRssMb: number;
  workerdFds: number;
  ok: boolean;
}

function pin(pid: number, cpu: string) {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpu, String(pid)], { stdio: "ignore" });
  } catch {
    log(`could not pin ${pid} to CPU ${cpu}`);
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : 0;

/** One shopper: a keep-alive connection asking for the sale every interval, one request at a time. */
class Poller {
  private socket: net.Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private sentAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  connected = false;

  private readonly host: string;
  private readonly port: number;
  private readonly request: Buffer;
  private readonly onAnswer: (ms: number, status: number) => void;
  private readonly onError: (kind: string) => void;

  constructor(
    host: string,
    port: number,
    request: Buffer,
    onAnswer: (ms: number, status: number) => void,
    onError: (kind: string) => void,
  ) {
    this.host = host;
    this.port = port;
    this.request = request;
    this.onAnswer = onAnswer;
    this.onError = onError;
  }

  open(firstDelayMs: number): void {
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.once("connect", () => {
      this.connected = true;
      this.schedule(firstDelayMs);
    });
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", (err: NodeJS.ErrnoException) => this.fail(err.code ?? "error"));
    socket.on("close", () => {
      if (!this.closed) this.fail("closed by server");
    });
  }

  private schedule(ms: number) {
    this.timer = setTimeout(() => this.send(), ms);
  }

  private send() {
    if (this.closed || !this.socket) return;
    this.sentAt = performance.now();
    this.socket.write(this.request);
    this.timer = setTimeout(() => this.fail("timeout"), REQUEST_TIMEOUT_MS);
  }

  private onData(chunk: Buffer) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const headerEnd = this.buffer.indexOf("\r\n\r\n");
    if (headerEnd < 0) return;
    const head = this.buffer.subarray(0, headerEnd).toString("latin1");
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let end: number;
    if (length) end = headerEnd + 4 + Number(length[1]);
    else {
      const last = this.buffer.indexOf("\r\n0\r\n\r\n", headerEnd);
      end = last < 0 ? Infinity : last + 7;
    }
    if (this.buffer.length < end) return;
    this.buffer = this.buffer.subarray(end);
    if (this.timer) clearTimeout(this.timer);
    this.onAnswer(performance.now() - this.sentAt, status);
    this.schedule(Math.max(0, INTERVAL_MS - (performance.now() - this.sentAt)));
  }

  private fail(kind: string) {
    if (this.closed) return;
    this.onError(kind);
    this.close();
  }

  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.destroy();
  }
}

async function runLevel(
  host: string,
  port: number,
  saleId: string,
  connections: number,
  workerdPid: number | null,
): Promise<LevelResult> {
  const request = Buffer.from(
    `GET /api/sales/${saleId} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: application/json\r\nConnection: keep-alive\r\n\r\n`,
  );
  let latencies: number[] = [];
  let statuses: Tally = {};
  const errors: Tally = {};
  let measuring = false;
  const pollers: Poller[] = [];
  const onAnswer = (ms: number, status: number) => {
    if (!measuring) return;
    latencies.push(ms);
    count(statuses, status);
  };
  const onError = (kind: string) => count(errors, kind);
  // Ramp: `RAMP_PER_SECOND` new connections a second, each starting its polling at a random moment.
  for (let i = 0; i < connections; i++) {
    const p = new Poller(host, port, request, onAnswer, onError);
    pollers.push(p);
    p.open(Math.random() * INTERVAL_MS);
    if ((i + 1) % Math.max(1, Math.floor(RAMP_PER_SECOND / 20)) === 0) await new Promise((r) => setTimeout(r, 50));
  }
  // One interval for everyone to be polling, then measure.
  await new Promise((r) => setTimeout(r, INTERVAL_MS));
  const opened = pollers.filter((p) => p.connected).length;
  measuring = true;
  latencies = [];
  statuses = {};
  const started = performance.now();
  let fds = 0;
  let rss = 0;
  for (let s = 0; s < SECONDS; s += 5) {
    await new Promise((r) => setTimeout(r, 5000));
    if (workerdPid) {
      fds = Math.max(fds, openFds(workerdPid));
      rss = Math.max(rss, rssMb(workerdPid));
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    log(
      `  ${connections} connections, t=${s + 5}s: ${latencies.length} answers, p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, errors ${JSON.stringify(errors)}`,
    );
  }
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  for (const p of pollers) p.close();
  const sorted = latencies.sort((a, b) => a - b);
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  const result: LevelResult = {
    connections,
    opened,
    answers: sorted.length,
    answersPerSecond: Math.round(sorted.length / seconds),
    p50Ms: +percentile(sorted, 0.5).toFixed(1),
    p99Ms: +percentile(sorted, 0.99).toFixed(1),
    maxMs: +(sorted[sorted.length - 1] ?? 0).toFixed(1),
    statuses,
    errors,
    workerdRssMb: +rss.toFixed(1),
    workerdFds: fds,
    ok:
      errorCount === 0 &&
      opened === connections &&
      percentile(sorted, 0.99) < 250 &&
      Object.keys(statuses).every((s) => s === "200"),
  };
  // Let the sockets close before the next level.
  await new Promise((r) => setTimeout(r, 3000));
  return result;
}

/** Where this box stops: the largest level held and, for the first one not held, why. */
function verdict(results: LevelResult[], limit: number): string {
  const held = results.filter((r) => r.ok).map((r) => r.connections);
  const first = results.find((r) => !r.ok);
  const most = held.length ? `Held: up to ${Math.max(...held)} connections.` : "No level held.";
  if (!first) return `${most} Every level met the target.`;
  const why =
    fdsFor(first.connections) > limit
      ? `needs ~${fdsFor(first.connections)} descriptors in workerd (two per connection: it keeps a duplicate of ` +
        `every accepted socket), over the limit of ${limit}; accept() fails with EMFILE, an uncaught exception that ` +
        `stops the runtime with every connection on it (Miniflare restarts it)`
      : `errors ${JSON.stringify(first.errors)}, p99 ${first.p99Ms} ms`;
  return `${most} Not held: ${first.connections} (${why}).`;
}

async function main() {
  const loadAtStart = os.loadavg();
  const limit = Number(execFileSync("sh", ["-c", "ulimit -n"]).toString().trim());
  const levels = levelsUnder(limit);
  log(
    `file descriptors: ${limit}; levels ${levels.join(", ")}; ${SECONDS} s each; one request per connection every ${INTERVAL_MS} ms`,
  );
  if (limit < FDS_NEEDED)
    log(
      `warning: the descriptor limit (${limit}) is below the ${FDS_NEEDED} workerd needs at the largest level; expect EMFILE`,
    );
  const shop = await startShop("connections");
  const results: LevelResult[] = [];
  try {
    const workerdPid = shop.runtime.workerdPid();
    if (workerdPid) pin(workerdPid, "0");
    pin(process.pid, "1");
    const saleId = await createSale(shop, 1000, "connections sale");
    const { hostname, port } = new URL(shop.url);
    for (const level of levels) {
      log(`level ${level}: opening connections`);
      const r = await runLevel(hostname, Number(port), saleId, level, workerdPid);
      results.push(r);
      log(
        `level ${level}: opened ${r.opened}, ${r.answersPerSecond}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, ` +
          `errors ${JSON.stringify(r.errors)}, workerd ${r.workerdRssMb} MB RSS, ${r.workerdFds} fds → ${r.ok ? "ok" : "NOT OK"}`,
      );
    }
  } finally {
    await shop.stop();
  }
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      loadavgStart: loadAtStart.map((l) => +l.toFixed(2)),
      loadavgEnd: os.loadavg().map((l) => +l.toFixed(2)),
      fdLimit: limit,
      fdsNeeded: FDS_NEEDED,
    },
    intervalMs: INTERVAL_MS,
    seconds: SECONDS,
    target: "zero connection errors, every answer 200, p99 < 250 ms",
    results,
  };
  const dir = path.join(ROOT, ".data", "reports");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "connections-latest.json"), JSON.stringify(report, null, 2) + "\n");
  const rows = [
    "| connections | opened | answers/s | p50 ms | p99 ms | max ms | errors | workerd RSS MB | workerd fds | ok |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ...results.map(
      (r) =>
        `| ${r.connections} | ${r.opened} | ${r.answersPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ` +
        `${Object.keys(r.errors).length ? JSON.stringify(r.errors) : "0"} | ${r.workerdRssMb} | ${r.workerdFds} | ${r.ok ? "yes" : "no"} |`,
    ),
  ];
  const table =
    `Connections (\`npm run connections\`, ${report.date.slice(0, 16)}Z): ${report.machine.cpus} CPUs, load ` +
    `${report.machine.loadavgStart.join(" ")}, descriptor limit ${limit} (needed ${FDS_NEEDED}); one ` +
    `\`GET /api/sales/:id\` per connection every ${INTERVAL_MS} ms, ${SECONDS} s per level; target: ${report.target}.\n\n` +
    rows.join("\n") +
    "\n\n" +
    verdict(results, limit);
  // The full runs only (the default levels) are the bench's record; a trial with other levels stays in .data.
  if (LEVELS_ARG === undefined && SECONDS >= 30) {
    writeFileSync(path.join(ROOT, "bench", "connections-latest.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(path.join(ROOT, "bench", "connections-latest.md"), table + "\n");
    log("report: bench/connections-latest.json, bench/connections-latest.md");
  } else log("report: .data/reports/connections-latest.json (not the default levels: bench/ left as it is)");
  process.stdout.write(`\n${table}\n`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}

if (process.env.MINISHOP_FD_LIMIT_RAISED !== "1") {
  // Re-run with enough descriptors: Node cannot raise its own limit. workerd holds two descriptors per open
  // connection (2,072 at 1,000 connections, 10,072 at 5,000), and an accept() that hits the limit is an uncaught
  // exception that stops workerd with every connection on it. So the limit is raised to what the largest level
  // needs (the hard limit too, where this user may: root), else to the hard limit as before.
  const child = spawn(
    "sh",
    [
      "-c",
      `ulimit -Hn ${FDS_NEEDED} 2>/dev/null; ulimit -n ${FDS_NEEDED} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
      process.execPath,
      ...process.argv.slice(1),
    ],
    {
      stdio: "inherit",
      env: { ...process.env, MINISHOP_FD_LIMIT_RAISED: "1" },
    },
  );
  child.on("exit", (code) => process.exit(code ?? 1));
} else {
  void main().catch((err) => {
    log(`connections failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  });
}
