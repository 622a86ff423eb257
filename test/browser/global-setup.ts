/**
 * The browser project's stack: `node scripts/start.ts` exactly as `npm start` runs it, once for all browser
 * test files, on free ports in 8870–8899 with its own data directory (and its own database on
 * DATABASE_URL's server when that is set), stopped with SIGTERM at the end.
 *
 * MINISHOP_BROWSER_BASE_URL points the tests at a stack that is already running instead (for iterating).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ROOT, createDatabase, dropDatabase } from "../../scripts/lib/postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    adminToken: string;
  }
}

/**
 * The stack's default token. (A custom ADMIN_TOKEN is printed by `npm start` but, as of this writing, not
 * honoured by the admin Worker under `wrangler dev` — reported; the tests use whatever the environment says.)
 */
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? "dev-admin-token";

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function freePorts(count: number, from = 8870, to = 8899): Promise<number[]> {
  const ports: number[] = [];
  for (let p = from; p <= to && ports.length < count; p++) if (await portIsFree(p)) ports.push(p);
  if (ports.length < count) throw new Error(`fewer than ${count} free ports in ${from}–${to}`);
  return ports;
}

async function waitForHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the stack exited with ${child.exitCode}; see test-results/browser-stack.log`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms; see test-results/browser-stack.log`);
}

function stop(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export default async function setup(project: TestProject) {
  const external = process.env.MINISHOP_BROWSER_BASE_URL;
  if (external) {
    project.provide("baseUrl", external.replace(/\/$/, ""));
    project.provide("adminToken", process.env.ADMIN_TOKEN ?? "dev-admin-token");
    return;
  }

  const [port, pgPort, inspectorPort] = await freePorts(3);
  const dataDir = mkdtempSync(path.join(tmpdir(), "minishop-browser-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    EMBEDDED_PG_PORT: String(pgPort),
    INSPECTOR_PORT: String(inspectorPort),
    MINISHOP_DATA_DIR: dataDir,
    ADMIN_TOKEN,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_LOG: "warn",
  };
  let dropDb: (() => Promise<void>) | null = null;
  if (process.env.DATABASE_URL) {
    const base = process.env.DATABASE_URL;
    const name = `minishop_test_browser_${process.pid}`;
    env.DATABASE_URL = await createDatabase(base, name);
    dropDb = () => dropDatabase(base, name);
  }

  mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
  const log = createWriteStream(path.join(ROOT, "test-results", "browser-stack.log"));
  // scripts/start.ts is TypeScript run by Node 22's type stripping: the project's Node, whatever runs vitest.
  const node = existsSync(path.join(ROOT, "node_modules/.bin/node"))
    ? path.join(ROOT, "node_modules/.bin/node")
    : process.execPath;
  const child = spawn(node, ["scripts/start.ts"], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHealthy(`${baseUrl}/healthz`, child, 150_000);
  } catch (err) {
    await stop(child, 10_000);
    throw err;
  }
  project.provide("baseUrl", baseUrl);
  project.provide("adminToken", ADMIN_TOKEN);

  return async () => {
    await stop(child, 20_000);
    log.end();
    if (dropDb) await dropDb().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  };
}
