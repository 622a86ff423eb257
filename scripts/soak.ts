/**
 * `npm run soak [-- --minutes 10]`: a long day, shortened. A steady mixed crowd (browse, buy, pay, cancel, "my
 * orders", admin reads; a sold-out sale is replaced by a new one and ended, as a merchant would; unpaid orders
 * expire after a 60 s payment window) for `--minutes` (default 10). Every `--window` seconds (default 30) it reports
 * the answers, p50/p99, the sales made and open, the orders, and the memory (RSS) of every process: workerd (all
 * four Workers and their objects; also split into anonymous and file-backed), the embedded PostgreSQL, this harness.
 * At the end: nothing lost (every 202 in PostgreSQL, at the final state the shopper was told, and every unpaid order
 * whose payment window had passed `expired` there), and memory after warm-up.
 *
 * The bound (docs/design.md "Memory after warm-up"): workerd's RETAINED memory — its RSS read right after a full GC in
 * every isolate (forced through workerd's inspector each window) — may grow by at most `--max-growth-mb` (default
 * 64) after warm-up: the median of the last quarter of the run against the first window after warm-up (20 % of the
 * run). RSS without that GC is read first in the same window and reported beside it (its growth and peak), but not
 * bounded: it also counts garbage V8 has not collected yet — only a full GC frees the C++ side of the requests, RPC
 * stubs and SQL cursors each isolate made, and an isolate that allocates little JS starts one rarely — so it measures
 * the GC schedule, not what the stack keeps. `--no-forced-gc` never forces a GC and bounds plain RSS instead (the
 * first figure of the design note's table). Fails (exit 1) if anything is lost, at a wrong state, not expired,
 * oversold or duplicated, if any answer is a 5xx, or if the bounded memory grew by more than the bound.
 *
 * What else grows (measured, docs/design.md): not the orders written, the shoppers or the holds, but the sales that
 * are OPEN and asked by the lists (each one's object stays in use, ~6 MB here). So the merchant ends what it replaces
 * (open sales stay at 4 while sales made and orders grow); `--keep-replaced` leaves replaced sales open instead: the
 * units their cancels and expiries return make them live again, and open sales grow with the run.
 *
 * Knobs: --minutes (10), --concurrency (24), --think-ms (60), --window (30), --max-growth-mb (64), --stock (units per
 * sale, 400; a large stock keeps the same 4 sales all day), --keep-replaced, --no-forced-gc, --heaps (also print
 * each Worker isolate's JS heap after the GC). `SOAK_GATEWAY_VARS` (JSON) overrides the gateway's vars, e.g.
 * `{"MAX_UNPAID_HOLDS":"0"}` to run without the holds cap.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lib/postgres.ts";
import {
  Window,
  arg,
  createSale,
  log,
  mintShopper,
  reconcile,
  rssMb,
  rssSplitMb,
  runCrowd,
  startShop,
  type Ledger,
} from "./lib/harness.ts";

const MINUTES = arg("minutes", 10);
const CONCURRENCY = arg("concurrency", 24);
const THINK_MS = arg("think-ms", 60);
const WINDOW_SECONDS = arg("window", 30);
const MAX_GROWTH_MB = arg("max-growth-mb", 64);
const STOCK = arg("stock", 400);
const SALES = 4;
const PAYMENT_WINDOW_SECONDS = 60;
const KEEP_REPLACED = process.argv.includes("--keep-replaced");
const FORCED_GC = !process.argv.includes("--no-forced-gc");
const PRINT_HEAPS = process.argv.includes("--heaps");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};

async function main() {
  const timeoutMs = (MINUTES * 60 + 420) * 1000;
  setTimeout(() => {
    log(`soak took longer than ${timeoutMs / 1000} s: stopping`);
    process.exit(2);
  }, timeoutMs).unref();
  log(
    `soak: ${MINUTES} min, ${CONCURRENCY} shoppers at once, ${THINK_MS} ms think time, windows of ${WINDOW_SECONDS} s`,
  );
  // The inspector forces the full GC each window (and, with --heaps, tells which isolate's JS heap grows).
  const gatewayVars = process.env.SOAK_GATEWAY_VARS
    ? (JSON.parse(process.env.SOAK_GATEWAY_VARS) as Record<string, string>)
    : {};
  const shop = await startShop("soak", { inspect: FORCED_GC, gatewayVars });
  let exitCode = 1;
  try {
    const ledger: Ledger = {
      accepted: new Map(),
      finalState: new Map(),
      stock: new Map(),
      owners: new Map(),
      toldAt: new Map(),
    };
    const sales: string[] = [];
    for (let i = 0; i < SALES; i++) {
      const id = await createSale(shop, STOCK, `soak sale ${i}`, PAYMENT_WINDOW_SECONDS);
      sales.push(id);
      ledger.stock.set(id, STOCK);
    }
    const shoppers = Array.from({ length: 20_000 }, (_, i) => mintShopper(shop.sessionSecret, "soak", i));
    const windows: {
      at: number;
      sales: number;
      openSales: number;
      orders: number;
      requests: number;
      rps: number;
      p50Ms: number;
      p99Ms: number;
      fiveXx: number;
      memoryMb: Record<string, number>;
      workerdAnonMb: number;
      workerdFileMb: number;
      /** workerd's RSS right after a full GC in every isolate (absent with --no-forced-gc, or until it is read). */
      workerdRetainedMb?: number;
    }[] = [];
    let gcRunning = false;
    let lastWindowAt = 0;
    const total = await runCrowd(shop, {
      seconds: MINUTES * 60,
      concurrency: CONCURRENCY,
      thinkMs: THINK_MS,
      shoppers,
      sales,
      restock: STOCK,
      endReplaced: !KEEP_REPLACED,
      paymentWindowSeconds: PAYMENT_WINDOW_SECONDS,
      ledger,
      windowSeconds: WINDOW_SECONDS,
      onWindow: (w: Window, at: number) => {
        // The crowd's last window holds the answers in flight at its end (a fraction of a second): no row of its own.
        const seconds = at - lastWindowAt;
        lastWindowAt = at;
        if (w.count === 0 || seconds < 1) return;
        const memoryMb = Object.fromEntries(
          Object.entries(shop.processes()).map(([name, pid]) => [name, +rssMb(pid).toFixed(1)]),
        );
        const workerdPid = shop.processes().workerd;
        const split = workerdPid ? rssSplitMb(workerdPid) : undefined;
        const row: (typeof windows)[number] = {
          at: Math.round(at),
          sales: ledger.stock.size,
          // Ended sales settle once their last payment window passes, and then no list wakes their objects.
          openSales: KEEP_REPLACED ? ledger.stock.size : SALES,
          orders: ledger.accepted.size,
          requests: w.count,
          rps: Math.round(w.count / seconds),
          p50Ms: +w.percentile(0.5).toFixed(1),
          p99Ms: +w.percentile(0.99).toFixed(1),
          fiveXx: w.fiveXx(),
          memoryMb,
          workerdAnonMb: split ? +split.anon.toFixed(1) : 0,
          workerdFileMb: split ? +split.file.toFixed(1) : 0,
        };
        windows.push(row);
        const mem = Object.entries(memoryMb)
          .map(([k, v]) => `${k} ${v} MB`)
          .join(", ");
        log(
          `t=${String(row.at).padStart(5)}s  ${String(row.rps).padStart(4)}/s  p50 ${row.p50Ms} ms  p99 ${row.p99Ms} ms  5xx ${row.fiveXx}  ` +
            `sales ${row.sales} (open ${row.openSales}), orders ${row.orders}  RSS: ${mem} (workerd anon ${row.workerdAnonMb}, file ${row.workerdFileMb})`,
        );
        // One forced GC at a time: a slow window (a busy box) skips it rather than pile inspector calls up.
        if (!FORCED_GC || gcRunning) return;
        gcRunning = true;
        void shop
          .heaps()
          .then((h) => {
            if (workerdPid) {
              row.workerdRetainedMb = +rssMb(workerdPid).toFixed(1);
              log(`         workerd RSS right after a full GC in every isolate: ${row.workerdRetainedMb} MB`);
            }
            if (!PRINT_HEAPS || !Object.keys(h).length) return;
            // Our Workers and the runtime's own queue isolates one by one, the rest (caches, assets, r2) as a sum.
            const named = Object.entries(h).filter(([k]) => /core:user|queues:/.test(k));
            const rest = Object.entries(h).filter(([k]) => !/core:user|queues:/.test(k));
            const sum = (xs: [string, [number, number]][], i: 0 | 1) =>
              +xs.reduce((s, [, v]) => s + v[i], 0).toFixed(1);
            const list = named.map(([k, v]) => `${k.replace(/^workerd: worker (core:user:)?/, "")} ${v[0]}/${v[1]}`);
            log(
              `         JS heap after GC, used/total MB: ${list.join(", ")}; others ${sum(rest, 0)}/${sum(rest, 1)}; ` +
                `all ${sum(Object.entries(h), 0)}/${sum(Object.entries(h), 1)}`,
            );
          })
          .finally(() => (gcRunning = false));
      },
    });
    log("crowd done; waiting for PostgreSQL to have every accepted order");
    const check = await reconcile(shop, ledger);
    // Growth after warm-up: the median of the last quarter against the first window after warm-up (20 % of the run).
    const growth = (series: number[]) => {
      const warmEnd = Math.max(1, Math.ceil(series.length * 0.2));
      const afterWarmUp = series[warmEnd] ?? series[series.length - 1] ?? 0;
      const lastQuarter = median(series.slice(Math.floor(series.length * 0.75)));
      return {
        afterWarmUp,
        lastQuarterMedian: lastQuarter,
        growthMb: +(lastQuarter - afterWarmUp).toFixed(1),
        peakAfterWarmUp: Math.max(...series.slice(warmEnd)),
      };
    };
    const plain = growth(windows.map((w) => w.memoryMb.workerd ?? 0));
    const retained = FORCED_GC
      ? growth(windows.flatMap((w) => (w.workerdRetainedMb === undefined ? [] : [w.workerdRetainedMb])))
      : undefined;
    const bounded = retained ?? plain;
    const result = {
      minutes: MINUTES,
      keepReplaced: KEEP_REPLACED,
      forcedGc: FORCED_GC,
      answers: total.count,
      statuses: total.statuses,
      failures: total.failures,
      fiveXx: total.fiveXx(),
      p99Ms: +total.percentile(0.99).toFixed(1),
      p99PerWindowMs: windows.map((w) => w.p99Ms),
      /** What the bound applies to: RSS after a full GC in every isolate, or plain RSS with --no-forced-gc. */
      workerdMemoryMb: { measure: FORCED_GC ? "RSS after a full GC" : "RSS", ...bounded, bound: MAX_GROWTH_MB },
      workerdRssMb: plain,
      ...check,
      windows,
    };
    const ok =
      check.lost === 0 &&
      check.wrongState === 0 &&
      check.notExpired === 0 &&
      check.oversold === 0 &&
      check.duplicates === 0 &&
      total.fiveXx() === 0 &&
      bounded.growthMb <= MAX_GROWTH_MB;
    log(
      `answers ${total.count}, 5xx/errors ${total.fiveXx()}, p99 ${result.p99Ms} ms; ` +
        (retained
          ? `workerd RSS after a full GC: after warm-up ${retained.afterWarmUp} MB, last quarter ${retained.lastQuarterMedian} MB ` +
            `(growth ${retained.growthMb} MB, bound ${MAX_GROWTH_MB} MB); without the GC: ${plain.afterWarmUp} → ${plain.lastQuarterMedian} MB, peak ${plain.peakAfterWarmUp} MB; `
          : `workerd RSS after warm-up ${plain.afterWarmUp} MB, last quarter ${plain.lastQuarterMedian} MB ` +
            `(growth ${plain.growthMb} MB, bound ${MAX_GROWTH_MB} MB, peak ${plain.peakAfterWarmUp} MB); `) +
        `accepted ${check.accepted}, lost ${check.lost}, wrong final state ${check.wrongState}, not expired ${check.notExpired}, oversold ${check.oversold}, duplicates ${check.duplicates} → ${ok ? "PASS" : "FAIL"}`,
    );
    if (Object.keys(total.failures).length) log(`5xx and failed requests by route: ${JSON.stringify(total.failures)}`);
    const dir = path.join(ROOT, ".data", "reports");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "soak-latest.json"), JSON.stringify({ ...result, ok }, null, 2) + "\n");
    log("report: .data/reports/soak-latest.json");
    exitCode = ok ? 0 : 1;
  } finally {
    await shop.stop();
  }
  process.exit(exitCode);
}

main().catch((err) => {
  log(`soak failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
