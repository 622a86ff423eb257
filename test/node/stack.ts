/**
 * Runs the stack the way `npm start` does (node scripts/start.ts), on free ports and a data directory of the
 * test's own, and drives it over HTTP.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, freePort } from "../../scripts/lib/postgres.ts";

export interface Stack {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, as Ctrl-C would: waits for the whole tree to exit. */
  stop(): Promise<number | null>;
  /** SIGKILL to every process of the stack, as a crash would. */
  crash(): Promise<void>;
}

/** Every descendant of `pid`, read from /proc (children first in the list, parent last). */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      walk(c);
      out.push(c);
    }
  };
  walk(pid);
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startStack(
  options: { env?: NodeJS.ProcessEnv; dataDir?: string; port?: number } = {},
): Promise<Stack> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "minishop-test-"));
  const port = options.port ?? (await freePort());
  let log = "";
  const child = spawn(process.execPath, [path.join(ROOT, "scripts/start.ts")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(port),
      MINISHOP_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      INSPECTOR_PORT: String(await freePort()),
      ...options.env,
    },
  });
  // Each chunk stamped with the seconds since spawn: a start that does not come up says which step took the time.
  const spawned = Date.now();
  let stamped = "";
  const stamp = (d: Buffer) => {
    log += d.toString();
    stamped += `[+${((Date.now() - spawned) / 1000).toFixed(1)}s] ${d.toString()}`;
  };
  child.stdout!.on("data", stamp);
  child.stderr!.on("data", stamp);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 150_000;
  while (!log.includes("MiniShop Edge is running")) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${stamped.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${stamped.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const stack: Stack = {
    url,
    dataDir,
    child,
    output: () => log,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
    crash: async () => {
      const pids = [...descendants(child.pid!), child.pid!];
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      const until = Date.now() + 10_000;
      while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    },
  };
  return stack;
}

/** A small HTTP client with a cookie jar of one. */
export class Client {
  cookie = "";
  constructor(readonly base: string) {}

  async request(method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(this.base + pathname, {
      method,
      headers: {
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(this.cookie ? { Cookie: this.cookie } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0];
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  }
}

export const ADMIN_HEADERS = { Authorization: "Bearer dev-admin-token" };

export async function createSale(base: string, stock: number, extra: Record<string, unknown> = {}) {
  const admin = new Client(base);
  const start = Date.now() - 1000;
  const res = await admin.request(
    "POST",
    "/admin/api/sales",
    {
      title: "Node test phone",
      priceCents: 49900,
      stock,
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + 3_600_000).toISOString(),
      ...extra,
    },
    ADMIN_HEADERS,
  );
  if (res.status !== 201) throw new Error(`create sale: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.sale as { id: string };
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | false | null | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
