/**
 * The lean local runtime: all four Workers (gateway, seckill, admin, consumer) in ONE workerd, started through
 * Miniflare's programmatic API, with the gateway's socket served directly by workerd
 * (`unsafeDirectSockets`) — no dev proxy, no Miniflare entry worker, no inspector in front of it.
 *
 * Why: `wrangler dev` (and `unstable_startWorker`) put a proxy workerd in front of the Worker's workerd, which
 * caps a no-op Worker near 1,000 req/s on these machines; Miniflare with a direct socket is ~17× that
 * (see ../../docs/runtime.md and docs/design.md "Local runtime facts").
 *
 * How:
 * 1. each Worker is bundled by `wrangler deploy --dry-run --outdir` (wrangler's own esbuild setup and
 *    nodejs_compat polyfills, and it validates the config on the way);
 * 2. each wrangler.toml is turned into Miniflare worker options by wrangler's
 *    `unstable_getMiniflareWorkerOptions` (bindings, vars, Durable Objects, Queues, Hyperdrive, rate limits,
 *    assets), then the script, secrets, the database URL and the persistence directory are filled in;
 * 3. `new Miniflare(convertV4MiniflareOptions(...))` of the miniflare version wrangler itself depends on.
 *
 * What the direct socket skips (it is Miniflare's "unsafe" option): `request.cf`, Miniflare's request log and
 * pretty error pages, `/cdn-cgi/*` handlers, live reload — and the assets router in front of the gateway: every
 * request reaches the gateway Worker, which serves the web app through its ASSETS binding (its `*` route).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ROOT } from "./postgres.ts";
import { SERVING_ORDER } from "./workers.ts";

/** V8 flags for workerd (see the comment where they are applied). */
export const V8_FLAGS = ["--predictable-gc-schedule"];

/** The Workers, in start order (scripts/lib/workers.ts); the first is the public entry. */
export const WORKER_CONFIGS = SERVING_ORDER;

export interface LeanRuntimeOptions {
  /** Where the gateway listens (loopback). */
  host?: string;
  port: number;
  /** PostgreSQL URL for every Hyperdrive binding (must carry a password). */
  databaseUrl: string;
  /** Durable Object SQLite files, queues and caches persist here. */
  persistDir: string;
  /** Bundles go here (one folder per Worker). */
  buildDir: string;
  /** Secrets and vars for every Worker (SESSION_SECRET, ADMIN_TOKEN). */
  secrets?: Record<string, string>;
  /** Vars for the gateway only, over its wrangler.toml [vars] (e.g. ADMISSION_RPS for a bench). */
  gatewayVars?: Record<string, string>;
  /** Rate-limit binding overrides (bench: a shopper buys once; the limiter is not what is measured). */
  ratelimits?: Record<string, { limit: number; period: 10 | 60 }>;
  /** Forward the Workers' console output (one JSON line per request) to this process's stdout. Default true. */
  workerLogs?: boolean;
  /** Skip bundling when the bundles exist already (the bench restarts the runtime between phases). */
  reuseBuild?: boolean;
  /**
   * More Workers in the same workerd, each served directly on its own loopback port (the bench's empty Worker,
   * whose `fetch` returns a constant: the runtime's own ceiling next to the gateway's `/healthz`).
   */
  extraWorkers?: { name: string; script: string; port: number }[];
  /** workerd's inspector (Chrome DevTools protocol) on this loopback port; off by default (it costs nothing idle). */
  inspectorPort?: number;
  log?: (message: string) => void;
}

/** The caller must call `stop()` on SIGINT/SIGTERM (Miniflare's own signal handlers are removed, see below). */
export interface LeanRuntime {
  url: string;
  /** The workerd process id, e.g. to pin it to a CPU core with taskset. */
  workerdPid(): number | null;
  stop(): Promise<void>;
}

// The miniflare that wrangler itself uses (wrangler pins its own, newer than the one vitest's plugin hoists).
const requireFromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler"));
type MiniflareModule = typeof import("miniflare");

async function loadModules() {
  const miniflare = requireFromWrangler("miniflare") as MiniflareModule;
  const wrangler = (await import("wrangler")) as typeof import("wrangler");
  return { miniflare, wrangler };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`)),
    );
  });
}

function bundleFile(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const js = readdirSync(dir).find((f) => f.endsWith(".js"));
  return js ? path.join(dir, js) : null;
}

/**
 * Bundles every Worker with `wrangler deploy --dry-run --outdir` (in parallel; ~10 s on 2 cores).
 * Returns the bundle path of each Worker id.
 */
export async function bundleWorkers(buildDir: string, reuse = false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
  };
  await Promise.all(
    WORKER_CONFIGS.map(async ({ id, config }) => {
      const dir = path.join(buildDir, id);
      const existing = reuse ? bundleFile(dir) : null;
      if (existing) {
        out[id] = existing;
        return;
      }
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await run(
        path.join(ROOT, "node_modules/.bin/wrangler"),
        ["deploy", "--dry-run", "--outdir", dir, "-c", config],
        env,
      );
      const file = bundleFile(dir);
      if (!file) throw new Error(`wrangler produced no bundle for ${config} in ${dir}`);
      out[id] = file;
    }),
  );
  return out;
}

/** Starts the four Workers in one workerd; resolves once the gateway's socket answers /healthz. */
export async function startLeanRuntime(options: LeanRuntimeOptions): Promise<LeanRuntime> {
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? (() => {});
  const { miniflare, wrangler } = await loadModules();
  const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = miniflare;

  log(
    options.reuseBuild
      ? "bundling the Workers (reusing earlier bundles)"
      : "bundling the Workers (wrangler deploy --dry-run)",
  );
  const bundles = await bundleWorkers(options.buildDir, options.reuseBuild);
  mkdirSync(options.persistDir, { recursive: true });

  const assetWorkers: Record<string, unknown>[] = [];
  const limiterWorkers = new Map<string, Record<string, unknown>>();
  const workers: Record<string, unknown>[] = WORKER_CONFIGS.map(({ id, config }) => {
    const configPath = path.join(ROOT, config);
    const { name } = wrangler.unstable_readConfig({ config: configPath });
    const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(configPath);
    const opts = workerOptions as Record<string, unknown> & {
      bindings?: Record<string, unknown>;
      hyperdrives?: Record<string, string>;
      ratelimits?: Record<string, { namespace_id: string; simple: { limit: number; period: number } }>;
      modulesRules?: unknown;
    };
    // The local runtime is development: the documented defaults apply (lib/server/env.ts). No deployable config sets it.
    const bindings: Record<string, unknown> = {
      ENVIRONMENT: "development",
      ...(opts.bindings ?? {}),
      ...(options.secrets ?? {}),
    };
    if (id === "gateway") Object.assign(bindings, options.gatewayVars ?? {});
    const hyperdrives = Object.fromEntries(Object.keys(opts.hyperdrives ?? {}).map((k) => [k, options.databaseUrl]));
    // Rate Limiting bindings become RPC bindings to in-memory limiters (see rateLimitWorker for why).
    const limiterBindings: Record<string, { name: string }> = {};
    for (const [binding, config] of Object.entries(opts.ratelimits ?? {})) {
      const simple = options.ratelimits?.[binding] ?? config.simple;
      const limiter = `minishop-ratelimit-${config.namespace_id}-${simple.limit}-${simple.period}`;
      if (!limiterWorkers.has(limiter))
        limiterWorkers.set(limiter, rateLimitWorker(limiter, simple.limit, simple.period));
      limiterBindings[binding] = { name: limiter };
    }
    const { modulesRules: _rules, rootPath: _root, ratelimits: _limits, assets, ...rest } = opts;
    rest.serviceBindings = { ...(rest.serviceBindings as object), ...limiterBindings };
    if (assets) {
      // Static assets are served by a Worker of their own, bound to the gateway as ASSETS (see ASSETS_WORKER).
      const binding = (assets as { binding?: string }).binding ?? "ASSETS";
      assetWorkers.push(assetWorker(name, assets as AssetsOptions));
      rest.serviceBindings = { ...(rest.serviceBindings as object), [binding]: { name: `${name}-assets` } };
    }
    return {
      ...rest,
      name,
      rootPath: ROOT,
      // The bundle is one ES module; its imports are resolved already.
      modules: true,
      scriptPath: bundles[id],
      modulesRoot: path.dirname(bundles[id]),
      bindings,
      hyperdrives,
      ...(id === "gateway" ? { unsafeDirectSockets: [{ host, port: options.port }] } : {}),
    };
  });

  workers.push(...assetWorkers, ...limiterWorkers.values());
  for (const extra of options.extraWorkers ?? []) {
    workers.push({
      name: extra.name,
      compatibilityDate: "2026-10-01",
      modules: true,
      script: extra.script,
      unsafeDirectSockets: [{ host, port: extra.port }],
    });
  }

  const workerLogs = options.workerLogs ?? true;
  // V8's garbage collection schedule for every isolate in this workerd (Miniflare reads this variable when it
  // builds workerd's config). A full GC in workerd is one atomic pause that also destroys the C++ side of every
  // Request, Response, Headers and RPC object since the last one, so its length grows with the heap it lets
  // build up: with V8's default schedule the gateway's heap reached ~35 MB between full GCs under a crowd, and
  // each pause took 80-150 ms (the whole purchase p99). `--predictable-gc-schedule` fixes the young generation at
  // 4 MB and starts a full GC after 30 % growth: more frequent pauses of 30-50 ms, and workerd's CPU per purchase
  // unchanged (docs/runtime.md). A value already set in the environment wins.
  process.env.MINIFLARE_WORKERD_V8_FLAGS ??= V8_FLAGS.join(" ");
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const listenersBefore = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      rootPath: ROOT,
      // Miniflare's own entry socket: loopback, any free port (requests go to the gateway's direct socket).
      host,
      port: 0,
      log: new Log(workerLogs ? LogLevel.INFO : LogLevel.WARN),
      // Without worker logs (the bench), only warnings and errors of the Workers are printed.
      ...(workerLogs
        ? {}
        : {
            handleStructuredLogs: (entry: { level: string; message: string }) => {
              if (entry.level === "error" || entry.level === "warn") process.stderr.write(`${entry.message}\n`);
            },
          }),
      logRequests: false,
      // Offline: no fetch of the `Request.cf` placeholder from workers.cloudflare.com.
      cf: false,
      resourcePersistencePath: options.persistDir,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort, inspectorHost: host } : {}),
      telemetry: { enabled: false },
      workers,
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  // Miniflare's exit hook answers SIGINT/SIGTERM/SIGHUP by disposing workerd and calling process.exit at once,
  // which would cut the caller's ordered shutdown short (the database after the runtime, children waited for).
  // The caller stops the runtime on those signals (start.ts, bench.ts do); Miniflare's "exit" hook stays, so
  // workerd never outlives this process.
  for (const s of signals) {
    for (const listener of process.listeners(s))
      if (!listenersBefore.get(s)!.has(listener)) process.removeListener(s, listener);
  }
  // workerd that never reports its sockets would leave `npm start` silent forever: say so and stop instead.
  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      mf.ready,
      new Promise((_, reject) => {
        readyTimer = setTimeout(() => reject(new Error("workerd did not start within 90 s")), 90_000);
      }),
    ]);
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  } finally {
    clearTimeout(readyTimer);
  }

  const url = `http://${host}:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await mf.dispose().catch(() => {});
      throw new Error(`${url}/healthz did not answer within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  let stopped: Promise<void> | null = null;
  return {
    url,
    workerdPid: () => findWorkerdPid(),
    stop: () => (stopped ??= mf.dispose()),
  };
}

interface AssetsOptions {
  directory: string;
  binding?: string;
  routerConfig?: Record<string, unknown>;
  assetConfig?: Record<string, unknown>;
}

/**
 * Why the web app's files come from a Worker of their own: Miniflare points a direct socket of a Worker that has
 * assets at its assets router (rpc-proxy → router → Worker), two extra hops on every API request, which halved
 * the gateway's throughput here. So the gateway is served directly and its ASSETS binding goes to this
 * assets-only Worker (same directory, same `not_found_handling`), which is what the gateway's `*` route
 * already calls for every path that is not an API route.
 */
function assetWorker(gatewayName: string, assets: AssetsOptions): Record<string, unknown> {
  return {
    name: `${gatewayName}-assets`,
    compatibilityDate: "2026-10-01",
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
    assets: {
      directory: assets.directory,
      assetConfig: assets.assetConfig,
      routerConfig: { has_user_worker: false },
    },
  };
}

/**
 * A Workers Rate Limiting binding, in memory. Miniflare simulates the binding with a SQLite-backed Durable
 * Object reached by fetch (a storage write and an fsync per `limit()` call, ~0.5 ms of CPU here: more than the
 * whole rest of a purchase). On Cloudflare the binding is an in-memory counter at the location, eventually
 * consistent, with no storage. This is the same API (`limit({ key })` → `{ success }`) and the same rule as
 * Miniflare's (at most `limit` calls per key in each wall-clock-aligned `period`), kept in one isolate's memory:
 * one limiter per namespace, shared by every Worker that binds it, like the real one.
 */
function rateLimitWorker(name: string, limit: number, period: number): Record<string, unknown> {
  return {
    name,
    compatibilityDate: "2026-10-01",
    modules: true,
    script: `
      import { WorkerEntrypoint } from "cloudflare:workers";
      const LIMIT = ${Number(limit)};
      const PERIOD_MS = ${Number(period)} * 1000;
      let epoch = -1;
      const counts = new Map();
      export default class RateLimiter extends WorkerEntrypoint {
        limit(options) {
          const key = String(options?.key ?? "");
          const now = Math.floor(Date.now() / PERIOD_MS);
          if (now !== epoch) { epoch = now; counts.clear(); }
          const n = counts.get(key) ?? 0;
          if (n >= LIMIT) return { success: false };
          counts.set(key, n + 1);
          return { success: true };
        }
        fetch() { return new Response("rate limiter: RPC only", { status: 404 }); }
      }`,
  };
}

/** The workerd child of this process (Miniflare spawns exactly one). */
function findWorkerdPid(): number | null {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
        if (m && m[1].startsWith("workerd") && Number(m[2]) === process.pid) return Number(entry);
      } catch {}
    }
  } catch {}
  return null;
}
