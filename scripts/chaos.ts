/**
 * `npm run chaos [-- --seconds 90]`: a mixed crowd (browse, buy, pay, cancel, admin reads) while faults are
 * injected into the running shop (lib/server/chaos.ts): the consumer fails a share of its batches, the SaleItems'
 * `sendBatch` to the queue refuses for seconds at a time, and a SaleItem resets itself in the middle of a group
 * commit now and then. Then it waits for PostgreSQL and checks: nothing lost (every 202 has its row, at the final
 * state the shopper was told), nothing sold twice or oversold, and at least 99.9 % of all answers during the crowd
 * not 5xx (socket errors and timeouts count as failures). Exit code 1 if any check fails.
 *
 * Knobs: --seconds (60), --concurrency (48), --think-ms (40), --consumer-fail (0.2), --send-refuse "3000/15000",
 * --restart-every-ms (15000). PostgreSQL: DATABASE_URL's server (a fresh database) or an embedded one.
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
  runCrowd,
  startShop,
  type Ledger,
} from "./lib/harness.ts";

const SECONDS = arg("seconds", 60);
const CONCURRENCY = arg("concurrency", 48);
const THINK_MS = arg("think-ms", 40);
const CONSUMER_FAIL = arg("consumer-fail", 0.2);
const RESTART_EVERY_MS = arg("restart-every-ms", 15_000);
const SEND_REFUSE = process.argv.find((a) => a.startsWith("--send-refuse="))?.split("=")[1] ?? "3000/15000";
const SALES = 4;
const STOCK = 300;
const TIMEOUT_MS = (SECONDS + 300) * 1000;

async function main() {
  setTimeout(() => {
    log(`chaos took longer than ${TIMEOUT_MS / 1000} s: stopping`);
    process.exit(2);
  }, TIMEOUT_MS).unref();
  const chaos = `consumerFail=${CONSUMER_FAIL},sendRefuse=${SEND_REFUSE},restartEvery=${RESTART_EVERY_MS}`;
  log(`chaos: ${chaos}; crowd ${SECONDS} s, ${CONCURRENCY} at once`);
  const shop = await startShop("chaos", { extraSecrets: { CHAOS: chaos } });
  let exitCode = 1;
  try {
    const ledger: Ledger = { accepted: new Map(), finalState: new Map(), stock: new Map() };
    const sales: string[] = [];
    for (let i = 0; i < SALES; i++) {
      const id = await createSale(shop, STOCK, `chaos sale ${i}`);
      sales.push(id);
      ledger.stock.set(id, STOCK);
    }
    const shoppers = Array.from({ length: 4000 }, (_, i) => mintShopper(shop.sessionSecret, "chaos", i));
    const windows: {
      at: number;
      requests: number;
      p50Ms: number;
      p99Ms: number;
      fiveXx: number;
      statuses: Record<string, number>;
    }[] = [];
    const total = await runCrowd(shop, {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      thinkMs: THINK_MS,
      shoppers,
      sales,
      restock: STOCK,
      ledger,
      windowSeconds: 10,
      onWindow: (w: Window, at: number) => {
        const row = {
          at: Math.round(at),
          requests: w.count,
          p50Ms: +w.percentile(0.5).toFixed(1),
          p99Ms: +w.percentile(0.99).toFixed(1),
          fiveXx: w.fiveXx(),
          statuses: w.statuses,
        };
        windows.push(row);
        log(
          `t=${String(row.at).padStart(4)}s  ${String(row.requests).padStart(6)} answers  p50 ${row.p50Ms} ms  p99 ${row.p99Ms} ms  5xx/errors ${row.fiveXx}  ${JSON.stringify(row.statuses)}`,
        );
      },
    });
    log("crowd done; waiting for PostgreSQL to have every accepted order (faults stay on)");
    const check = await reconcile(shop, ledger);
    const availability = 1 - total.fiveXx() / Math.max(1, total.count);
    const result = {
      chaos,
      seconds: SECONDS,
      answers: total.count,
      statuses: total.statuses,
      failures: total.failures,
      fiveXxOrErrors: total.fiveXx(),
      notFiveXx: +(availability * 100).toFixed(3),
      p99Ms: +total.percentile(0.99).toFixed(1),
      routes: total.routes(),
      ...check,
      windows,
    };
    const ok =
      check.lost === 0 &&
      check.wrongState === 0 &&
      check.oversold === 0 &&
      check.duplicates === 0 &&
      availability >= 0.999;
    log(
      `answers ${result.answers}, not 5xx ${result.notFiveXx} % (target ≥ 99.9 %), accepted ${check.accepted}, ` +
        `rows ${check.rows}, lost ${check.lost}, wrong final state ${check.wrongState}, oversold ${check.oversold}, ` +
        `duplicates ${check.duplicates} → ${ok ? "PASS" : "FAIL"}`,
    );
    if (Object.keys(total.failures).length) log(`5xx and failed requests by route: ${JSON.stringify(total.failures)}`);
    for (const r of result.routes)
      log(
        `  ${r.route.padEnd(44)} ${String(r.count).padStart(6)}  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  max ${r.maxMs} ms`,
      );
    const dir = path.join(ROOT, ".data", "reports");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "chaos-latest.json"), JSON.stringify({ ...result, ok }, null, 2) + "\n");
    log(`report: .data/reports/chaos-latest.json`);
    exitCode = ok ? 0 : 1;
  } finally {
    await shop.stop();
  }
  process.exit(exitCode);
}

main().catch((err) => {
  log(`chaos failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
