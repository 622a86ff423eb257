/**
 * What `npm run chaos`, `npm run soak` and `npm run connections` share: the shop on the lean runtime (one workerd,
 * as `npm start` runs it) with its own PostgreSQL (a fresh database on DATABASE_URL's server, dropped afterwards, or
 * an embedded one on a free port), shoppers with minted sessions, a mixed-crowd driver with per-window latency, and
 * process memory from /proc. Loopback only; everything started here is stopped by `stop()` (and on SIGINT/SIGTERM).
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { startLeanRuntime, type LeanRuntime } from "./lean-runtime.ts";
import { ROOT, applyMigrations, createDatabase, dropDatabase, freePort, startEmbeddedPostgres } from "./postgres.ts";

export const ADMIN_TOKEN = "harness-admin-token";

export interface Shop {
  url: string;
  runtime: LeanRuntime;
  sql: postgres.Sql;
  sessionSecret: string;
  /** Processes to report memory for: name → pid. */
  processes(): Record<string, number>;
  /**
   * With `inspect`: forces a full GC in each of workerd's isolates (one per Worker), then reads its [used, total] JS
   * heap, MB, by Worker name (the soak's retained-memory reading relies on that GC).
   */
  heaps(): Promise<Record<string, [number, number]>>;
  stop(): Promise<void>;
}

export function log(message: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const raw = process.argv[i].includes("=") ? process.argv[i].split("=")[1] : process.argv[i + 1];
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} takes a positive number, not ${raw}`);
  return n;
}

/** Starts PostgreSQL and the shop; `extraSecrets` reach every Worker (e.g. CHAOS). */
export async function startShop(
  name: string,
  options: { extraSecrets?: Record<string, string>; gatewayVars?: Record<string, string>; inspect?: boolean } = {},
): Promise<Shop> {
  const work = path.join(ROOT, ".data", name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  let databaseUrl: string;
  let stopDatabase: () => Promise<void>;
  let pgPid: number | undefined;
  const base = process.env.DATABASE_URL;
  if (base) {
    const db = `minishop_${name}_${process.pid}`;
    databaseUrl = await createDatabase(base, db);
    stopDatabase = () => dropDatabase(base, db);
    log(`PostgreSQL: database ${db} on DATABASE_URL's server`);
  } else {
    const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg"), port: await freePort(), quiet: true });
    databaseUrl = pg.url;
    pgPid = pg.pid;
    stopDatabase = pg.stop;
    log(`PostgreSQL: embedded (pid ${pgPid})`);
  }
  await applyMigrations(databaseUrl);
  const sessionSecret = randomBytes(32).toString("hex");
  const port = await freePort();
  const inspectorPort = options.inspect ? await freePort() : undefined;
  const runtime = await startLeanRuntime({
    inspectorPort,
    host: "127.0.0.1",
    port,
    databaseUrl,
    persistDir: path.join(work, "state"),
    buildDir: path.join(work, "build"),
    secrets: { SESSION_SECRET: sessionSecret, ADMIN_TOKEN, ...options.extraSecrets },
    // A shopper buys at most once per sale; the binding's per-shopper limit is not what is measured here.
    ratelimits: {
      PURCHASE_LIMITER: { limit: 1_000_000, period: 10 },
      PURCHASE_IP_LIMITER: { limit: 1_000_000, period: 10 },
      AUTH_LIMITER: { limit: 1_000_000, period: 60 },
    },
    gatewayVars: {
      ADMISSION_RPS: "1000000",
      ADMISSION_BURST: "100000",
      TRUST_CLIENT_IP_HEADER: "true",
      ...options.gatewayVars,
    },
    workerLogs: process.env.WORKER_LOGS === "1",
    log,
  });
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  let stopped = false;
  const shop: Shop = {
    url: runtime.url,
    runtime,
    sql,
    sessionSecret,
    processes() {
      const out: Record<string, number> = { "harness (node)": process.pid };
      const w = runtime.workerdPid();
      if (w) out.workerd = w;
      if (pgPid) out["postgres (pglite)"] = pgPid;
      return out;
    },
    heaps: () => (inspectorPort ? isolateHeapsMb(inspectorPort) : Promise.resolve({})),
    async stop() {
      if (stopped) return;
      stopped = true;
      await sql.end({ timeout: 2 }).catch(() => {});
      await runtime.stop().catch(() => {});
      await stopDatabase().catch(() => {});
    },
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void shop.stop().then(() => process.exit(130));
    });
  }
  return shop;
}

/**
 * workerd's inspector (Chrome DevTools protocol): each Worker's isolate is a target; `Runtime.getHeapUsage`
 * gives its used and its total (reserved) JS heap. Tells which Worker's objects grow, where RSS only says that something does.
 */
async function isolateHeapsMb(port: number): Promise<Record<string, [number, number]>> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    title?: string;
    id: string;
    webSocketDebuggerUrl?: string;
  }[];
  const out: Record<string, [number, number]> = {};
  for (const target of targets) {
    const url = target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/${target.id}`;
    const heap = await new Promise<{ usedSize: number; totalSize: number } | null>((resolve) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => (ws.close(), resolve(null)), 5_000);
      // A full GC first: without it `usedSize` counts garbage not yet collected, and an isolate that allocates
      // little (the consumer, the queue broker) looks as if it grew while it only had not collected yet.
      ws.onopen = () => {
        ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
        ws.send(JSON.stringify({ id: 2, method: "Runtime.getHeapUsage" }));
      };
      ws.onmessage = (e) => {
        const msg = JSON.parse(String(e.data)) as { id?: number; result?: { usedSize: number; totalSize: number } };
        if (msg.id !== 2) return;
        clearTimeout(timer);
        ws.close();
        resolve(msg.result ?? null);
      };
      ws.onerror = () => (clearTimeout(timer), resolve(null));
    });
    if (heap)
      out[target.title ?? target.id] = [+(heap.usedSize / 2 ** 20).toFixed(1), +(heap.totalSize / 2 ** 20).toFixed(1)];
  }
  return out;
}

/** Resident memory of a process, MB (VmRSS); 0 if it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A process's resident memory split as /proc/<pid>/status reports it, MB: `anon` (malloc'd and JS heaps),
 * `file` (mapped files: the binary, SQLite's shared-memory index), `shmem`. Zeros if it is gone.
 */
export function rssSplitMb(pid: number): { anon: number; file: number; shmem: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
    return { anon: kb("RssAnon"), file: kb("RssFile"), shmem: kb("RssShmem") };
  } catch {
    return { anon: 0, file: 0, shmem: 0 };
  }
}

/** Open file descriptors of a process (sockets included). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

const b64url = (data: string) => Buffer.from(data).toString("base64url");

export interface Shopper {
  id: string;
  cookie: string;
}

/** A session as the gateway signs it (so shoppers need no PBKDF2 registration). */
export function mintShopper(secret: string, prefix: string, i: number): Shopper {
  const id = randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({
      sub: id,
      name: `${prefix}${i}`,
      sid: randomUUID(),
      st: Date.now(),
      iat: now,
      exp: now + 6 * 3600,
    }),
  );
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return { id, cookie: `minishop_session=${header}.${payload}.${signature}` };
}

export interface Answer {
  status: number;
  body: any;
  ms: number;
  /** Method and path with ids as `:id`, for the 5xx breakdown. */
  route: string;
}

const routeOf = (method: string, pathname: string) =>
  `${method} ${pathname.split("?")[0].replace(/[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{48}/g, ":id")}`;

/** One HTTP request; a socket error or a timeout is status 0 (counted as an error, never thrown). */
export async function send(
  url: string,
  method: string,
  pathname: string,
  init: { cookie?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url + pathname, {
      method,
      headers: {
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(init.cookie ? { cookie: init.cookie } : {}),
        ...init.headers,
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    return { status: res.status, body, ms: performance.now() - started, route: routeOf(method, pathname) };
  } catch (err) {
    return { status: 0, body: String(err), ms: performance.now() - started, route: routeOf(method, pathname) };
  }
}

export function admin(shop: Shop, method: string, pathname: string, body?: unknown): Promise<Answer> {
  return send(shop.url, method, pathname, { body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

export async function createSale(
  shop: Shop,
  stock: number,
  title: string,
  paymentWindowSeconds = 900,
): Promise<string> {
  const now = Date.now();
  const res = await admin(shop, "POST", "/admin/api/sales", {
    title,
    priceCents: 1999,
    stock,
    paymentWindowSeconds,
    startsAt: new Date(now - 1000).toISOString(),
    endsAt: new Date(now + 6 * 3600_000).toISOString(),
  });
  if (res.status !== 201) throw new Error(`creating a sale failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.sale.id as string;
}

function percentileOf(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Latency and status counts for one window of time. */
export class Window {
  readonly ms: number[] = [];
  readonly statuses: Record<string, number> = {};
  /** "route status" → count, for answers that are 5xx or no answer at all (0). */
  readonly failures: Record<string, number> = {};
  /** route → latencies, ms (which route is slow: docs/design.md "Hardening"). */
  readonly byRoute = new Map<string, number[]>();
  record(a: Answer): void {
    this.ms.push(a.ms);
    const route = this.byRoute.get(a.route) ?? [];
    route.push(a.ms);
    this.byRoute.set(a.route, route);
    this.statuses[a.status] = (this.statuses[a.status] ?? 0) + 1;
    if (a.status >= 500 || a.status === 0) {
      const key = `${a.route} ${a.status}${a.status === 0 ? ` (${String(a.body).slice(0, 60)})` : ""}`;
      this.failures[key] = (this.failures[key] ?? 0) + 1;
    }
  }
  get count(): number {
    return this.ms.length;
  }
  percentile(p: number): number {
    return percentileOf(this.ms, p);
  }
  /** Per route: answers, p50 and p99 (ms) and the slowest answer, slowest p99 first. */
  routes(): { route: string; count: number; p50Ms: number; p99Ms: number; maxMs: number }[] {
    return [...this.byRoute]
      .map(([route, ms]) => ({
        route,
        count: ms.length,
        p50Ms: +percentileOf(ms, 0.5).toFixed(1),
        p99Ms: +percentileOf(ms, 0.99).toFixed(1),
        maxMs: +Math.max(...ms).toFixed(1),
      }))
      .sort((a, b) => b.p99Ms - a.p99Ms);
  }
  fiveXx(): number {
    return Object.entries(this.statuses).reduce((s, [k, v]) => s + (Number(k) >= 500 || k === "0" ? v : 0), 0);
  }
}

export interface Ledger {
  /** order id → sale id, for every 202 a shopper received */
  accepted: Map<string, string>;
  /** order id → the last state a shopper was told (paid, cancelled) */
  finalState: Map<string, "paid" | "cancelled">;
  /** sale id → stock */
  stock: Map<string, number>;
  /** order id → the shopper who holds it (optional: lets the check ask the sale's object about a lost order) */
  owners?: Map<string, Shopper>;
  /** order id → when (ms since the epoch) the shopper was told its final state */
  toldAt?: Map<string, number>;
}

/**
 * Waits until PostgreSQL has every accepted order (at its final state for paid and cancelled ones, and `expired` for
 * every unpaid one whose payment window had passed when the wait began), then checks: lost (a 202 with no row),
 * wrong final state (paid or cancelled, as the shopper was told), not expired (an order past its window by the end
 * still `reserved`/`confirmed` in PostgreSQL: the object's alarm expires it and sends the change), oversold (rows
 * holding stock > stock), duplicates (two rows of one shopper in a sale). A failure names some of the orders, with
 * what each side says of them.
 */
export async function reconcile(shop: Shop, ledger: Ledger, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  // Orders whose payment window had passed by now (and were not paid or cancelled) must end `expired`.
  const windowsClosedBy = new Date(Date.now() - 1000);
  let missing = ledger.accepted.size;
  let wrongState = 0;
  let notExpired = 0;
  let rows: { id: string; sale_id: string; user_id: string; status: string; quantity: number; expires_at: Date }[] = [];
  const isOverdue = (r: (typeof rows)[number]) =>
    (r.status === "reserved" || r.status === "confirmed") && r.expires_at < windowsClosedBy;
  let lastLog = 0;
  for (;;) {
    rows = await shop.sql<typeof rows>`select id, sale_id, user_id, status, quantity, expires_at from orders`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    missing = [...ledger.accepted.keys()].filter((id) => !byId.has(id)).length;
    wrongState = [...ledger.finalState].filter(([id, s]) => byId.get(id)?.status !== s).length;
    notExpired = rows.filter(isOverdue).length;
    if ((missing === 0 && wrongState === 0 && notExpired === 0) || Date.now() > deadline) break;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(
        `  waiting for PostgreSQL: ${missing} of ${ledger.accepted.size} accepted orders missing, ${wrongState} not yet at their final state, ${notExpired} past their payment window not yet expired`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const holding = new Map<string, number>();
  const perShopper = new Map<string, number>();
  for (const r of rows) {
    if (r.status === "reserved" || r.status === "confirmed" || r.status === "paid")
      holding.set(r.sale_id, (holding.get(r.sale_id) ?? 0) + r.quantity);
    const k = `${r.sale_id}/${r.user_id}`;
    perShopper.set(k, (perShopper.get(k) ?? 0) + 1);
  }
  let oversold = 0;
  for (const [sale, n] of holding) oversold += Math.max(0, n - (ledger.stock.get(sale) ?? Infinity));
  const duplicates = [...perShopper.values()].reduce((s, n) => s + (n - 1), 0);
  const unknown = rows.filter((r) => !ledger.accepted.has(r.id)).length;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lostIds = [...ledger.accepted.keys()].filter((id) => !byId.has(id));
  const wrongIds = [...ledger.finalState].filter(([id, s]) => byId.get(id)?.status !== s).map(([id]) => id);
  const overdueIds = rows.filter(isOverdue).map((r) => r.id);
  const examples =
    lostIds.length + wrongIds.length + overdueIds.length > 0
      ? await explain(shop, ledger, { lost: lostIds, wrong: wrongIds, notExpired: overdueIds })
      : [];
  return {
    accepted: ledger.accepted.size,
    rows: rows.length,
    lost: missing,
    wrongState,
    notExpired,
    oversold,
    duplicates,
    rowsNotAnswered202: unknown,
    examples,
  };
}

/**
 * For a few lost and wrong-state orders, what each side says: PostgreSQL's row (status, version, updated), any
 * failed_orders row, the sale's object as the shopper sees it (`GET /api/orders/:id`), and when the shopper was
 * told. Logged, and returned for the report, so a failure says what happened to the orders it names.
 */
async function explain(shop: Shop, ledger: Ledger, kinds: Record<string, string[]>, sample = 8) {
  const out: Record<string, unknown>[] = [];
  for (const [kind, ids] of Object.entries(kinds)) {
    for (const id of ids.slice(0, sample)) {
      const [row] = await shop.sql<{ status: string; version: number; updated_at: Date; user_id: string }[]>`
        select status, version, updated_at, user_id from orders where id = ${id}`;
      const failed = await shop.sql<{ error: string; attempts: number }[]>`
        select error, attempts from failed_orders where order_id = ${id}`;
      const owner = ledger.owners?.get(id);
      const object = owner ? await send(shop.url, "GET", `/api/orders/${id}`, { cookie: owner.cookie }) : undefined;
      const told = ledger.toldAt?.get(id);
      const e = {
        kind,
        id,
        saleId: ledger.accepted.get(id),
        told: ledger.finalState.get(id) ?? (ledger.accepted.has(id) ? "202" : "nothing"),
        toldAt: told ? new Date(told).toISOString() : undefined,
        postgres: row ? { status: row.status, version: row.version, updatedAt: row.updated_at.toISOString() } : null,
        failedOrders: failed.map((f) => `${f.attempts}: ${f.error.slice(0, 160)}`),
        object: object ? (object.status === 200 ? object.body.order.status : `${object.status}`) : undefined,
      };
      out.push(e);
      log(`  ${kind}: ${JSON.stringify(e)}`);
    }
  }
  return out;
}

export interface CrowdOptions {
  seconds: number;
  /** Virtual shoppers acting at once. */
  concurrency: number;
  /** Pause between one virtual shopper's actions, ms (sets the rate). */
  thinkMs: number;
  shoppers: Shopper[];
  /** Sales open for buying; the crowd replaces a sold-out one with a new sale of `restock` units (0: never). */
  sales: string[];
  restock: number;
  /**
   * End a sale when the crowd replaces it (`POST /admin/api/sales/:id/end`), as a merchant who puts a new sale up in
   * its place would. Without it the replaced sale stays open: the units its cancels and expiries return make it
   * live again with nobody buying, so every list keeps asking its object (docs/design.md "Settled sales").
   */
  endReplaced?: boolean;
  paymentWindowSeconds?: number;
  ledger: Ledger;
  windowSeconds: number;
  onWindow: (window: Window, atSeconds: number) => void;
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A mixed crowd for `seconds`: browse the list and a sale, buy (with an Idempotency-Key, retried on 429/503/socket
 * errors as the web app does), pay or cancel some of what was bought, read "my orders", and merchants' admin reads.
 * Every answer goes into the current window; every 202 and every final state a shopper was told into the ledger.
 */
export async function runCrowd(shop: Shop, o: CrowdOptions): Promise<Window> {
  const total = new Window();
  let window = new Window();
  const started = performance.now();
  const until = started + o.seconds * 1000;
  const held = new Map<string, string[]>(); // shopper id → held order ids
  let restocking = false;
  const record = (a: Answer) => {
    window.record(a);
    total.record(a);
    return a;
  };
  const ticker = setInterval(() => {
    o.onWindow(window, (performance.now() - started) / 1000);
    window = new Window();
  }, o.windowSeconds * 1000);

  async function restock(soldOut: string) {
    const i = o.sales.indexOf(soldOut);
    if (i < 0 || restocking || o.restock === 0) return;
    restocking = true;
    try {
      const id = await createSale(shop, o.restock, `crowd sale ${Date.now()}`, o.paymentWindowSeconds);
      o.ledger.stock.set(id, o.restock);
      o.sales[o.sales.indexOf(soldOut)] = id;
      if (o.endReplaced) {
        const ended = await admin(shop, "POST", `/admin/api/sales/${soldOut}/end`);
        if (ended.status !== 200) log(`ending replaced sale ${soldOut} failed: ${ended.status}`);
      }
    } catch (err) {
      log(`restock failed: ${String(err)}`);
    } finally {
      restocking = false;
    }
  }

  async function buy(s: Shopper) {
    const saleId = pick(o.sales);
    const key = randomUUID();
    for (let attempt = 0; attempt < 6; attempt++) {
      const a = record(
        await send(shop.url, "POST", `/api/sales/${saleId}/purchase`, {
          cookie: s.cookie,
          body: {},
          headers: { "idempotency-key": key },
        }),
      );
      if (a.status === 202) {
        o.ledger.accepted.set(a.body.order.id, saleId);
        o.ledger.owners?.set(a.body.order.id, s);
        const mine = held.get(s.id) ?? [];
        mine.push(a.body.order.id);
        held.set(s.id, mine);
        return;
      }
      if (a.status === 410) return void restock(saleId);
      if (a.status !== 429 && a.status !== 503 && a.status !== 0) return;
      await sleep(200 * (attempt + 1));
    }
  }

  async function settle(s: Shopper) {
    const mine = held.get(s.id);
    if (!mine?.length) return;
    const orderId = mine.shift()!;
    const pay = Math.random() < 0.7;
    for (let attempt = 0; attempt < 4; attempt++) {
      const a = record(
        await send(shop.url, "POST", `/api/orders/${orderId}/${pay ? "pay" : "cancel"}`, { cookie: s.cookie }),
      );
      if (a.status === 200) {
        o.ledger.finalState.set(orderId, pay ? "paid" : "cancelled");
        o.ledger.toldAt?.set(orderId, Date.now());
        return;
      }
      if (a.status !== 503 && a.status !== 0) return;
      await sleep(300 * (attempt + 1));
    }
  }

  async function virtualShopper() {
    while (performance.now() < until) {
      const s = pick(o.shoppers);
      const r = Math.random();
      if (r < 0.2) record(await send(shop.url, "GET", "/api/sales"));
      else if (r < 0.45) record(await send(shop.url, "GET", `/api/sales/${pick(o.sales)}`, { cookie: s.cookie }));
      else if (r < 0.75) await buy(s);
      else if (r < 0.88) await settle(s);
      else if (r < 0.95) record(await send(shop.url, "GET", "/api/orders", { cookie: s.cookie }));
      else {
        const which = Math.random();
        if (which < 0.4) record(await admin(shop, "GET", "/admin/api/sales"));
        else if (which < 0.7) record(await admin(shop, "GET", `/admin/api/sales/${pick(o.sales)}`));
        else record(await admin(shop, "GET", `/admin/api/sales/${pick(o.sales)}/orders?limit=50`));
      }
      await sleep(o.thinkMs * (0.5 + Math.random()));
    }
  }

  await Promise.all(Array.from({ length: o.concurrency }, () => virtualShopper()));
  clearInterval(ticker);
  o.onWindow(window, (performance.now() - started) / 1000);
  return total;
}
