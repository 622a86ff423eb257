/**
 * The peer the bench states next to the shop: the common flash-sale design (a Node HTTP server in front of Redis,
 * one Lua script that decrements and dedupes, bench/redis-lua-server.ts), run against a redis-server the bench
 * starts itself on a free loopback port, once per durability:
 *
 *   none      no persistence (`--save "" --appendonly no`): a crash loses every order;
 *   everysec  AOF, fsync every second (Redis's default AOF setting): a crash can lose the last second;
 *   always    AOF, fsync before each write is acknowledged: the one comparable to the shop's "202 after commit".
 *
 * Each gets the same closed-loop purchase chunks (the client's request shape: the server ignores what it does not
 * use) and the same retrying crowd as the shop, every 202 matched by order id to its entry in the Redis list, and
 * its CPU (Node server + redis-server) per purchase. It never touches the machine's shared Redis.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { crowdOutcome, matchOrders, type CrowdOutcome, type OrderMatch, type OrderRow } from "./checks.ts";
import { crowd, type CrowdShopper } from "./http.ts";
import { mergeChunks, runChunk, tokensUsed, type WrkChunk, type WrkOptions } from "./wrk.ts";

export type Durability = "none" | "everysec" | "always";

export const DURABILITIES: { name: Durability; label: string; args: string[] }[] = [
  { name: "none", label: "no persistence", args: ["--save", "", "--appendonly", "no"] },
  {
    name: "everysec",
    label: "AOF fsync every second",
    args: ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
  },
  { name: "always", label: "AOF fsync always", args: ["--save", "", "--appendonly", "yes", "--appendfsync", "always"] },
];

export const REDIS_DOES_NOT =
  "no per-shopper or per-IP limiter, no admission ceiling, no Idempotency-Key, no body validation, no sold-out short-circuit, no PostgreSQL (orders stay in a Redis list)";

export interface RedisContext {
  host: string;
  serverCpu?: string;
  loadCpu?: string;
  workDir: string;
  benchDir: string;
  sessionSecret: string;
  tokensFile: string;
  /** Token lines of the tokens file this baseline may use (it buys once per shopper per sale; a new sale per chunk). */
  connections: number;
  rounds: number;
  crowdShoppers: CrowdShopper[];
  crowdStock: number;
  retryDelay: (retryAfterMs: number | null, attempt: number) => number;
  maxRetries: number;
  clock: () => number;
  log: (message: string) => void;
  pin: (pid: number, cpu: string | undefined) => void;
  cpuSeconds: (pid: number) => number;
  freePort: () => Promise<number>;
  waitForPort: (port: number, host: string, timeoutMs: number) => Promise<void>;
  stopChild: (child: ChildProcess) => Promise<void>;
  onChunk: (scenario: string) => (c: WrkChunk, i: number, n: number) => void;
  /** Registers a cleanup that runs if the bench is stopped early. */
  defer: (cleanup: () => Promise<void>) => void;
}

export interface RedisRun {
  durability: Durability;
  label: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  statuses: Record<string, number>;
  /** Purchases per CPU-second of the Node server and redis-server together, over the chunks. */
  purchasesPerCpuSecond: number;
  cpu: { node: number; redis: number };
  match: OrderMatch;
  crowd: CrowdOutcome;
  does: string;
  doesNot: string;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status}`);
  return (await res.json()) as T;
}

export async function redisBaseline(ctx: RedisContext, durability: (typeof DURABILITIES)[number]): Promise<RedisRun> {
  const redisPort = await ctx.freePort();
  const dir = path.join(ctx.workDir, `redis-${durability.name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const redis = spawn(
    "redis-server",
    [
      "--port",
      String(redisPort),
      "--bind",
      ctx.host,
      "--dir",
      dir,
      "--logfile",
      "",
      "--daemonize",
      "no",
      ...durability.args,
    ],
    { stdio: "ignore", detached: true },
  );
  let serverChild: ChildProcess | null = null;
  const stopAll = async () => {
    if (serverChild) await ctx.stopChild(serverChild);
    await ctx.stopChild(redis);
    rmSync(dir, { recursive: true, force: true });
  };
  ctx.defer(stopAll);
  try {
    await ctx.waitForPort(redisPort, ctx.host, 10_000);
    ctx.pin(redis.pid!, ctx.serverCpu);
    const port = await ctx.freePort();
    const prefix = `minishop:bench:${process.pid}`;
    const server = spawn(
      process.execPath,
      [
        path.join(ctx.benchDir, "redis-lua-server.ts"),
        String(port),
        ctx.host,
        String(redisPort),
        ctx.sessionSecret,
        prefix,
      ],
      { stdio: ["ignore", "ignore", "inherit"], detached: true },
    );
    serverChild = server;
    await ctx.waitForPort(port, ctx.host, 10_000);
    ctx.pin(server.pid!, ctx.serverCpu);
    const base = `http://${ctx.host}:${port}`;
    const scenario = `redis:${durability.name}`;
    ctx.log(
      `${scenario}: Node HTTP server on ${base}, redis-server ${ctx.host}:${redisPort} (${durability.label}, dir ${dir}), CPU ${ctx.serverCpu ?? "any"}`,
    );

    const options = (sale: string, o: Partial<WrkOptions> = {}): WrkOptions => ({
      url: base,
      method: "POST",
      paths: [`/api/sales/${sale}/purchase`],
      tokensFile: ctx.tokensFile,
      connections: ctx.connections,
      seconds: 2,
      cpu: ctx.loadCpu,
      clock: ctx.clock,
      collectOrders: true,
      ...o,
    });
    const setup = (id: string, stock: number) => json(`${base}/bench/sales/${id}?stock=${stock}`, { method: "PUT" });
    // Warm-up, not recorded.
    await runChunk(
      { ...options("warm"), method: "GET", paths: ["/healthz"], tokensFile: undefined, collectOrders: false },
      1,
      0,
    );

    // One sale for all chunks: the shoppers of each chunk are new lines of the tokens file.
    const sale = `redis-${randomBytes(6).toString("hex")}`;
    await setup(sale, 100_000_000);
    const chunks: WrkChunk[] = [];
    const cpuBefore = { node: ctx.cpuSeconds(server.pid!), redis: ctx.cpuSeconds(redis.pid!) };
    for (let i = 0; i < ctx.rounds; i++) {
      const chunk = await runChunk(options(sale), 2, tokensUsed(chunks, ctx.connections));
      ctx.onChunk(scenario)(chunk, i, ctx.rounds);
      chunks.push(chunk);
    }
    const cpu = {
      node: Math.round((ctx.cpuSeconds(server.pid!) - cpuBefore.node) * 100) / 100,
      redis: Math.round((ctx.cpuSeconds(redis.pid!) - cpuBefore.redis) * 100) / 100,
    };
    const merged = mergeChunks(chunks);
    const rows = await json<OrderRow[]>(`${base}/bench/sales/${sale}/orders`);
    const match = matchOrders(
      chunks.flatMap((c) => c.orders),
      rows,
    );
    const purchases = merged.statuses["202"] ?? 0;

    const crowdSale = `redis-crowd-${randomBytes(6).toString("hex")}`;
    await setup(crowdSale, ctx.crowdStock);
    const run = await crowd({
      target: { host: ctx.host, port },
      shoppers: ctx.crowdShoppers,
      path: `/api/sales/${crowdSale}/purchase`,
      connections: 250,
      retryDelay: ctx.retryDelay,
      maxRetries: ctx.maxRetries,
      retryWindowMs: 40_000,
    });
    const crowdRows = await json<OrderRow[]>(`${base}/bench/sales/${crowdSale}/orders`);
    const outcome = crowdOutcome(run, crowdRows, ctx.crowdStock, ctx.crowdShoppers.length, 0);
    for (const id of [sale, crowdSale]) await fetch(`${base}/bench/sales/${id}`, { method: "DELETE" }).catch(() => {});
    ctx.log(
      `${scenario}: ${merged.rps}/s, ${Math.round(purchases / Math.max(0.01, cpu.node + cpu.redis))} purchases per CPU-second; ` +
        `202s matched ${match.matched}/${match.orders}, lost ${match.lost}; crowd sold ${outcome.sold}, oversold ${outcome.oversold}, duplicates ${outcome.duplicates}, lost ${outcome.lost}`,
    );
    return {
      durability: durability.name,
      label: durability.label,
      rps: merged.rps,
      p50Ms: merged.p50Ms,
      p99Ms: merged.p99Ms,
      p999Ms: merged.p999Ms,
      statuses: merged.statuses,
      purchasesPerCpuSecond: Math.round(purchases / Math.max(0.01, cpu.node + cpu.redis)),
      cpu,
      match,
      crowd: outcome,
      does: "verifies the session (HS256), decrements stock and records the buyer atomically (one Lua script), answers 202/409/410",
      doesNot: REDIS_DOES_NOT,
    };
  } finally {
    await stopAll();
  }
}
