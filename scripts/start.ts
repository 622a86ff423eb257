/**
 * `npm start`: the whole system on one port.
 *
 * 1. PostgreSQL: DATABASE_URL if set, else an embedded one (pglite-server, data in .data/pg, port 54329);
 * 2. migrations applied to it;
 * 3. the web app built into web/dist (the gateway's static assets);
 * 4. every Worker in one runtime (gateway served on PORT, seckill, admin and consumer behind it), with local
 *    Queues, Durable Objects and Hyperdrive pointed at the database. Two runtimes (docs/runtime.md):
 *    - `lean` (default, `npm start`): one workerd through Miniflare's API with the gateway's socket served
 *      directly (scripts/lib/lean-runtime.ts) — the fast one, no live reload, no inspector unless INSPECTOR_PORT;
 *    - `wrangler` (`npm run dev`, or MINISHOP_RUNTIME=wrangler / --runtime=wrangler): one `wrangler dev` with
 *      every config, live reload and the inspector, behind wrangler's dev proxy (~1,000 req/s);
 * 5. a banner with the URLs, the admin token and the database.
 *
 * SIGINT/SIGTERM: the runtime stops first (wrangler stops taking requests and exits; the lean runtime disposes
 * its workerd), then the embedded database is stopped; every child is in its own process group and is waited for.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, applyMigrations, startEmbeddedPostgres, stopChild, waitForPort, type Database } from "./lib/postgres.ts";
import { startLeanRuntime, type LeanRuntime } from "./lib/lean-runtime.ts";
import { SERVING_ORDER } from "./lib/workers.ts";

const PORT = Number(process.env.PORT ?? 8787);
const HOST = "127.0.0.1";
const DATA_DIR = path.resolve(process.env.MINISHOP_DATA_DIR ?? path.join(ROOT, ".data"));
const EMBEDDED_PG_PORT = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? "dev-admin-token";
/**
 * The gateway's local switches, passed on from this process's environment when set (README "Configuration"):
 * `CHALLENGE=off` turns the proof-of-work checks off for a local load test; `TRUST_CLIENT_IP_HEADER=true` takes
 * the `CF-Connecting-IP` a local client sends as its address (otherwise it is ignored and the per-address limits are off locally).
 */
const LOCAL_SWITCHES: Record<string, string> = Object.fromEntries(
  (["CHALLENGE", "TRUST_CLIENT_IP_HEADER"] as const)
    .filter((name) => process.env[name] !== undefined)
    .map((name) => [name, process.env[name]!]),
);
const bin = (name: string) => path.join(ROOT, "node_modules/.bin", name);
const RUNTIME_ARG = process.argv.find((a) => a.startsWith("--runtime="))?.slice("--runtime=".length);
const RUNTIME = RUNTIME_ARG ?? process.env.MINISHOP_RUNTIME ?? "lean";
if (RUNTIME !== "lean" && RUNTIME !== "wrangler") {
  process.stderr.write(`[minishop] unknown runtime "${RUNTIME}": use lean (npm start) or wrangler (npm run dev)\n`);
  process.exit(2);
}

/** The local session secret: SESSION_SECRET if set, else one made on first start and kept in .data/. */
function sessionSecret(): string {
  if (process.env.SESSION_SECRET) return process.env.SESSION_SECRET;
  const file = path.join(DATA_DIR, "session-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const secret = randomBytes(32).toString("hex");
  writeFileSync(file, secret + "\n", { mode: 0o600 });
  return secret;
}

function log(message: string) {
  process.stdout.write(`[minishop] ${message}\n`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`)),
    );
  });
}

async function waitForHealthy(url: string, child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

async function main() {
  mkdirSync(DATA_DIR, { recursive: true });
  const children: ChildProcess[] = [];
  let database: Database | null = null;
  let lean: LeanRuntime | null = null;
  let stopping = false;

  const shutdown = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    // The runtime first: wrangler stops accepting requests and lets in-flight work finish before exiting;
    // the lean runtime's dispose stops its workerd.
    if (lean) await lean.stop().catch((err: unknown) => log(`stopping the lean runtime: ${String(err)}`));
    await Promise.all(children.map((c) => stopChild(c, 10_000)));
    if (database) await database.stop();
    log("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  try {
    if (process.env.DATABASE_URL) {
      database = { url: process.env.DATABASE_URL, embedded: false, stop: async () => {} };
      log(`PostgreSQL: ${redact(database.url)} (DATABASE_URL)`);
    } else {
      log(`starting embedded PostgreSQL on ${HOST}:${EMBEDDED_PG_PORT} (data in ${path.join(DATA_DIR, "pg")})`);
      database = await startEmbeddedPostgres({ dataDir: path.join(DATA_DIR, "pg"), port: EMBEDDED_PG_PORT });
    }
    const url = withPassword(database.url);
    log("applying migrations");
    await applyMigrations(url);

    if (process.env.SKIP_WEB_BUILD !== "1") {
      log("building the web app");
      await run(bin("vite"), ["build", "--config", "web/vite.config.ts", "--logLevel", "warn"]);
    }

    const secret = sessionSecret();
    if (RUNTIME === "lean") {
      log(
        "starting the lean runtime (one workerd, the gateway's socket served directly; MINISHOP_RUNTIME=wrangler for wrangler dev)",
      );
      lean = await startLeanRuntime({
        host: HOST,
        port: PORT,
        databaseUrl: url,
        // The same state as `wrangler dev --persist-to .data/wrangler`: either runtime sees the same sales.
        persistDir: path.join(DATA_DIR, "wrangler", "v3"),
        buildDir: path.join(DATA_DIR, "lean-build"),
        secrets: { ADMIN_TOKEN, SESSION_SECRET: secret },
        gatewayVars: LOCAL_SWITCHES,
        inspectorPort: process.env.INSPECTOR_PORT ? Number(process.env.INSPECTOR_PORT) : undefined,
        log,
      });
    } else {
      await startWrangler(url, secret);
    }
    printBanner(url, secret);
  } catch (err) {
    log(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown("error", 1);
  }

  async function startWrangler(url: string, secret: string) {
    const envFile = path.join(DATA_DIR, "workers.env");
    const switches = Object.entries(LOCAL_SWITCHES).map(([k, v]) => `${k}=${v}\n`);
    writeFileSync(
      envFile,
      `ENVIRONMENT=development\nADMIN_TOKEN=${ADMIN_TOKEN}\nSESSION_SECRET=${secret}\n${switches.join("")}`,
      {
        mode: 0o600,
      },
    );
    // `--env-file` reaches only the first config's Worker; the others read the .dev.vars beside their own
    // wrangler.toml (gitignored, rewritten on each start). ENVIRONMENT=development is what turns the local
    // defaults on: no wrangler.toml sets it, so a deployed Worker without it behaves as production (lib/server/env.ts).
    writeFileSync(path.join(ROOT, "workers/admin/.dev.vars"), `ENVIRONMENT=development\nADMIN_TOKEN=${ADMIN_TOKEN}\n`, {
      mode: 0o600,
    });
    for (const dir of ["workers/seckill", "queues"]) {
      writeFileSync(path.join(ROOT, dir, ".dev.vars"), "ENVIRONMENT=development\n", { mode: 0o600 });
    }

    const wrangler = spawn(
      bin("wrangler"),
      [
        "dev",
        ...SERVING_ORDER.flatMap((w) => ["-c", w.config]),
        "--ip",
        HOST,
        "--port",
        String(PORT),
        "--persist-to",
        path.join(DATA_DIR, "wrangler"),
        "--inspector-port",
        String(Number(process.env.INSPECTOR_PORT ?? PORT + 10_000)),
        "--env-file",
        envFile,
        "--show-interactive-dev-session=false",
        "--log-level",
        process.env.WRANGLER_LOG ?? "log",
      ],
      {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", "inherit", "inherit"],
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: "false",
          CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: url,
        },
      },
    );
    children.push(wrangler);
    wrangler.once("exit", (code) => {
      if (!stopping) {
        log(`wrangler exited with ${code}`);
        void shutdown("wrangler exit", code ?? 1);
      }
    });
    await waitForPort(PORT, HOST, 120_000);
    await waitForHealthy(`http://${HOST}:${PORT}/healthz`, wrangler);
  }

  /**
   * No secret is printed in full: the banner says where each one is kept. The documented public default
   * (`dev-admin-token`, docs/api.md) is not a secret and is shown as is.
   */
  function printBanner(url: string, _secret: string) {
    const shop = `http://${HOST}:${PORT}`;
    const adminTokenShown = process.env.ADMIN_TOKEN
      ? `from ADMIN_TOKEN, ${ADMIN_TOKEN.slice(0, 2)}…${ADMIN_TOKEN.length > 8 ? ADMIN_TOKEN.slice(-2) : ""}`
      : `${ADMIN_TOKEN}, the local default; set ADMIN_TOKEN to change it`;
    process.stdout.write(
      [
        "",
        "  ┌──────────────────────────────────────────────────────────────",
        `  │ MiniShop Edge is running (${RUNTIME === "lean" ? "lean runtime: one workerd" : "wrangler dev: live reload, inspector"})`,
        `  │ Shop:        ${shop}/`,
        `  │ Merchants:   ${shop}/admin   (admin token: ${adminTokenShown})`,
        `  │ Admin API:   ${shop}/admin/api/sales   (Authorization: Bearer <admin token>)`,
        `  │ Metrics:     ${shop}/metrics`,
        `  │ Health:      ${shop}/healthz   ${shop}/readyz`,
        `  │ PostgreSQL:  ${redact(url)}${database!.embedded ? " (embedded, data in .data/pg)" : " (DATABASE_URL)"}`,
        `  │ Session secret: ${process.env.SESSION_SECRET ? "from SESSION_SECRET" : `kept in ${path.join(DATA_DIR, "session-secret")}`}`,
        "  │ Ctrl-C stops everything.",
        "  └──────────────────────────────────────────────────────────────",
        "",
      ].join("\n"),
    );
  }
}

/** Hyperdrive's local connection string must carry a password; trust-auth servers accept any. */
function withPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) u.password = "postgres";
  return u.toString();
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

void main();
