/**
 * `npm run bench:draw`: draw sales at scale (docs/design.md "Draws and registration"). Starts the stack on the lean
 * runtime (one workerd, as `npm run bench` does), then:
 *
 *   noop      GET /healthz, and purchase (first-come, stock that does not run out), in the same run: what the
 *             entries figure is compared with (this box is shared; absolute figures move with its load);
 *   entries   POST /api/sales/:id/entries by distinct shoppers into one draw sale (wrk, closed loop): entries/s;
 *   fill      the same into a second draw sale until it holds ENTRIES (default 200,000) entries;
 *   draw      at that sale's drawAt: the time the draw takes (the SaleDraw's own figure, from its alarm to the
 *             last winner's order: shards ranking their entries, the k-way merge of their ranked pages, the
 *             allocation of `stock` orders), and the time until the admin API reports it drawn;
 *   verify    GET /api/sales/:id/draw (its time and size), and the whole ranking recomputed here from the revealed
 *             seed (node:crypto): winners and waitlist must match, and sha256(seed) the published commitment.
 *
 * Shoppers' sessions are minted with the SESSION_SECRET given to the runtime (bench/lib/sessions.ts), not
 * registered. Output: bench/draw-latest.json and a table on stdout. Loopback only; stops by itself
 * (BENCH_TIMEOUT_SECONDS, default 900) and stops everything it started on SIGINT/SIGTERM.
 *
 * Filling 200,000 entries over HTTP takes 200,000 / (entries/s) seconds: on a busy 2-core box that can be long, so
 * ENTRIES can be lowered; `npm run bench:draw-scale` measures the draw over 200,000 entries inside workerd directly.
 *
 * Knobs: PORT (default 8994), EMBEDDED_PG_PORT (8995), ENTRIES (200000), DRAW_STOCK (1000),
 * BENCH_CONNECTIONS (50), SKIP_WEB_BUILD=1 (the gateway then serves no web app; the API is all this needs).
 */
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeShoppers, writeTokens } from "../bench/lib/sessions.ts";
import { runChunk, type WrkChunk, type WrkOptions } from "../bench/lib/wrk.ts";
import { startLeanRuntime } from "./lib/lean-runtime.ts";
import { ROOT, applyMigrations, createDatabase, dropDatabase, startEmbeddedPostgres } from "./lib/postgres.ts";
import { startScript } from "./lib/run.ts";

const HOST = "127.0.0.1";
const PORT = Number(process.env.PORT ?? 8994);
const PG_PORT = Number(process.env.EMBEDDED_PG_PORT ?? 8995);
const ENTRIES = Number(process.env.ENTRIES ?? 200_000);
const STOCK = Number(process.env.DRAW_STOCK ?? 1_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 900);
const PILOT_SECONDS = 8;
const ADMIN_TOKEN = "bench-admin-token";
const SESSION_SECRET = randomBytes(32).toString("hex");
const WORK_DIR = path.join(ROOT, ".data/bench-draw");
const cpus = os.availableParallelism();
const LOAD_CPU = cpus >= 2 ? "1" : undefined;

const { clock, log, fmt, cleanups, cleanup, stop } = startScript("bench:draw", TIMEOUT_SECONDS);

async function admin<T>(url: string, pathname: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url + pathname, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function createDrawSale(
  url: string,
  title: string,
  drawAt: number,
): Promise<{ id: string; drawCommitment: string }> {
  const now = Date.now();
  const { status, body } = await admin<{ sale: { id: string; drawCommitment: string } }>(url, "/admin/api/sales", {
    method: "POST",
    body: JSON.stringify({
      title,
      priceCents: 1999,
      stock: STOCK,
      mode: "draw",
      startsAt: new Date(now - 1000).toISOString(),
      drawAt: new Date(drawAt).toISOString(),
      endsAt: new Date(drawAt + 3 * 3600_000).toISOString(),
    }),
  });
  if (status !== 201) throw new Error(`creating a draw sale failed: ${status} ${JSON.stringify(body)}`);
  return body.sale;
}

function entriesWrk(url: string, saleId: string, tokensFile: string): WrkOptions {
  return {
    url,
    method: "POST",
    paths: [`/api/sales/${saleId}/entries`],
    tokensFile,
    connections: CONNECTIONS,
    seconds: 0,
    cpu: LOAD_CPU,
    clock,
  };
}

const created = (c: WrkChunk) => c.statuses["201"] ?? 0;

async function main() {
  mkdirSync(WORK_DIR, { recursive: true });
  log(`bench:draw: ${fmt(ENTRIES)} entries, stock ${fmt(STOCK)}, ${cpus} CPUs (${os.cpus()[0]?.model ?? "?"})`);

  // PostgreSQL: a fresh database on DATABASE_URL's server, or an embedded one in memory.
  let databaseUrl: string;
  if (process.env.DATABASE_URL) {
    const name = `minishop_bench_draw_${process.pid}`;
    databaseUrl = await createDatabase(process.env.DATABASE_URL, name);
    cleanups.push(() => dropDatabase(process.env.DATABASE_URL!, name));
  } else {
    const db = await startEmbeddedPostgres({ dataDir: "memory://", port: PG_PORT, quiet: true });
    cleanups.push(() => db.stop());
    databaseUrl = new URL(db.url).toString();
  }
  await applyMigrations(databaseUrl);

  if (!existsSync(path.join(ROOT, "web/dist/index.html")) && process.env.SKIP_WEB_BUILD !== "1") {
    log("building the web app (the gateway's static assets)");
    execFileSync(
      path.join(ROOT, "node_modules/.bin/vite"),
      ["build", "--config", "web/vite.config.ts", "--logLevel", "warn"],
      { cwd: ROOT, stdio: "inherit" },
    );
  }
  const persistDir = path.join(WORK_DIR, "state");
  rmSync(persistDir, { recursive: true, force: true });
  const runtime = await startLeanRuntime({
    host: HOST,
    port: PORT,
    databaseUrl,
    persistDir,
    buildDir: path.join(WORK_DIR, "build"),
    secrets: { SESSION_SECRET, ADMIN_TOKEN },
    // A shopper enters once; the per-shopper limiter is not what is measured.
    ratelimits: { PURCHASE_LIMITER: { limit: 1_000_000_000, period: 10 } },
    workerLogs: false,
    log,
  });
  cleanups.push(() => runtime.stop());
  const url = runtime.url;
  log(`lean runtime up on ${url}`);

  // Shoppers: the pilot's, then the fill's (wrk takes each token once; a wrapped token re-enters: 200, not 201).
  const pilotCount = 120_000;
  const shoppers = makeShoppers(SESSION_SECRET, pilotCount + Math.ceil(ENTRIES * 1.1), "d");
  const pilotTokens = path.join(WORK_DIR, "pilot-tokens.txt");
  const fillTokens = path.join(WORK_DIR, "fill-tokens.txt");
  writeTokens(pilotTokens, shoppers.slice(0, pilotCount));
  writeTokens(fillTokens, shoppers.slice(pilotCount));
  log(`minted ${fmt(shoppers.length)} sessions`);

  // noop and purchase: the same wrk, the same connections, the same minute.
  const noop = await runChunk(
    { ...entriesWrk(url, "", pilotTokens), method: "GET", paths: ["/healthz"], tokensFile: undefined },
    PILOT_SECONDS,
    0,
  );
  const noopRps = noop.requests / (noop.durationUs / 1e6);
  log(`noop: ${fmt(noopRps)}/s`);
  const firstCome = await admin<{ sale: { id: string } }>(url, "/admin/api/sales", {
    method: "POST",
    body: JSON.stringify({
      title: "bench: purchases",
      priceCents: 1999,
      stock: 1_000_000,
      startsAt: new Date(Date.now() - 1000).toISOString(),
      endsAt: new Date(Date.now() + 3 * 3600_000).toISOString(),
    }),
  });
  const buys = await runChunk(
    { ...entriesWrk(url, "", pilotTokens), paths: [`/api/sales/${firstCome.body.sale.id}/purchase`] },
    PILOT_SECONDS,
    0,
  );
  const purchaseRps = (buys.statuses["202"] ?? 0) / (buys.durationUs / 1e6);
  log(`purchase: ${fmt(purchaseRps)}/s (${JSON.stringify(buys.statuses)})`);

  // entries: entries/s into one draw sale.
  const pilotSale = await createDrawSale(url, "bench: entries", Date.now() + 3600_000);
  const warm = await runChunk(entriesWrk(url, pilotSale.id, pilotTokens), 2, 0);
  const pilot = await runChunk(entriesWrk(url, pilotSale.id, pilotTokens), PILOT_SECONDS, warm.requests + CONNECTIONS);
  const pilotSeconds = pilot.durationUs / 1e6;
  const entriesPerSecond = created(pilot) / pilotSeconds;
  log(
    `entries: ${fmt(entriesPerSecond)}/s (${fmt(created(pilot))} in ${pilotSeconds.toFixed(1)} s; ${JSON.stringify(pilot.statuses)})`,
  );

  // fill: a draw sale whose draw is due once ENTRIES entries are in at the pilot's rate (with a margin).
  const fillSeconds = Math.ceil((ENTRIES / Math.max(1, entriesPerSecond)) * 1.4) + 15;
  const drawAt = Date.now() + fillSeconds * 1000;
  const sale = await createDrawSale(url, "bench: 200k draw", drawAt);
  log(`fill: draw sale ${sale.id}, drawAt in ${fillSeconds} s`);
  let filled = 0;
  let offset = 0;
  const fillStart = performance.now();
  while (filled < ENTRIES && Date.now() < drawAt - 4_000) {
    const seconds = Math.max(1, Math.min(10, Math.floor((drawAt - 3_000 - Date.now()) / 1000)));
    const chunk = await runChunk(entriesWrk(url, sale.id, fillTokens), seconds, offset);
    offset += chunk.requests + CONNECTIONS;
    filled += created(chunk);
    log(
      `fill: ${fmt(filled)} entries (${fmt(created(chunk) / (chunk.durationUs / 1e6))}/s; ${JSON.stringify(chunk.statuses)})`,
    );
  }
  const fillRate = filled / ((performance.now() - fillStart) / 1000);
  const stats = await admin<{ draw: { entries: number } }>(url, `/admin/api/sales/${sale.id}/draw`);
  log(`fill: the shards hold ${fmt(stats.body.draw.entries)} entries`);

  // draw: wait for drawAt, then for the admin API to say drawn.
  await new Promise((r) => setTimeout(r, Math.max(0, drawAt - Date.now())));
  let drawn: { phase: string; entries: number; awarded: number; drawMs: number | null } | null = null;
  for (;;) {
    const { body } = await admin<{ draw: { phase: string; entries: number; awarded: number; drawMs: number | null } }>(
      url,
      `/admin/api/sales/${sale.id}/draw`,
    );
    if (body.draw.phase === "drawn") {
      drawn = body.draw;
      break;
    }
    if (Date.now() - drawAt > 600_000) throw new Error("the draw did not finish in 10 minutes");
    await new Promise((r) => setTimeout(r, 100));
  }
  const observedMs = Date.now() - drawAt;
  log(
    `draw: ${fmt(drawn.entries)} entries ranked, ${fmt(drawn.awarded)} orders, ${drawn.drawMs} ms in the object, reported drawn ${observedMs} ms after drawAt`,
  );

  // verify: the public draw, recomputed here from its seed.
  const getStart = performance.now();
  const res = await fetch(`${url}/api/sales/${sale.id}/draw`);
  const text = await res.text();
  const getMs = performance.now() - getStart;
  const pub = JSON.parse(text) as {
    commitment: string;
    seed: string;
    entries: string[];
    winners: string[];
    waitlist: string[];
  };
  const verifyStart = performance.now();
  const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
  const ranking = pub.entries
    .map((u) => ({ u, k: sha(`${pub.seed}:${u}`) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.u);
  const verified =
    sha(pub.seed) === pub.commitment &&
    pub.commitment === sale.drawCommitment &&
    JSON.stringify(ranking.slice(0, STOCK)) === JSON.stringify(pub.winners) &&
    JSON.stringify(ranking.slice(STOCK)) === JSON.stringify(pub.waitlist);
  const verifyMs = performance.now() - verifyStart;
  log(
    `verify: GET /draw ${Math.round(getMs)} ms, ${(text.length / 2 ** 20).toFixed(1)} MiB; recomputed in ${Math.round(verifyMs)} ms: ${verified ? "matches" : "DOES NOT MATCH"}`,
  );

  const results = {
    date: new Date().toISOString(),
    machine: `${cpus} CPUs, ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
    runtime: "lean: all four Workers in one workerd (Miniflare, direct socket); wrk pinned to another core",
    noop: { rps: Math.round(noopRps) },
    purchase: { rps: Math.round(purchaseRps), statuses: buys.statuses },
    entries: {
      perSecond: Math.round(entriesPerSecond),
      toNoop: Math.round((entriesPerSecond / noopRps) * 1000) / 1000,
      toPurchase: Math.round((entriesPerSecond / Math.max(1, purchaseRps)) * 1000) / 1000,
      seconds: pilotSeconds,
      statuses: pilot.statuses,
      connections: CONNECTIONS,
    },
    fill: { entries: stats.body.draw.entries, perSecond: Math.round(fillRate) },
    draw: {
      entries: drawn.entries,
      stock: STOCK,
      awarded: drawn.awarded,
      objectMs: drawn.drawMs,
      reportedAfterDrawAtMs: observedMs,
    },
    publicDraw: { ms: Math.round(getMs), bytes: text.length, recomputeMs: Math.round(verifyMs), verified },
  };
  writeFileSync(path.join(ROOT, "bench/draw-latest.json"), JSON.stringify(results, null, 2) + "\n");
  process.stdout.write(
    [
      "",
      `| draw bench (${results.date.slice(0, 10)}) | figure |`,
      "|---|---|",
      `| noop (GET /healthz), same run | ${fmt(noopRps)}/s |`,
      `| purchases (first-come), same run | ${fmt(purchaseRps)}/s |`,
      `| entries into one draw sale | ${fmt(results.entries.perSecond)}/s = ${results.entries.toNoop}x noop, ${results.entries.toPurchase}x purchase (${CONNECTIONS} connections) |`,
      `| entries in the drawn sale | ${fmt(results.fill.entries)} (filled at ${fmt(results.fill.perSecond)}/s) |`,
      `| draw (rank + merge + ${fmt(STOCK)} orders), in the object | ${fmt(drawn.drawMs ?? 0)} ms |`,
      `| drawn, as the admin API reports it, after drawAt | ${fmt(observedMs)} ms |`,
      `| GET /api/sales/:id/draw | ${fmt(getMs)} ms, ${(text.length / 2 ** 20).toFixed(1)} MiB |`,
      `| recomputed from the seed (Node) | ${verified ? "matches" : "DOES NOT MATCH"} (${fmt(verifyMs)} ms) |`,
      "",
    ].join("\n"),
  );
  log("wrote bench/draw-latest.json");
  await cleanup();
  process.exit(verified ? 0 : 1);
}

main().catch((err) => void stop(`bench:draw failed: ${err instanceof Error ? err.stack : String(err)}`, 1));
