/**
 * `npm run simulate`: a deterministic, seeded discrete-event simulation of one hot sale at Cloudflare scale
 * (docs/capacity.md, "Simulating a hot sale"). It drives the project's real admission, routing and stock modules
 * (lib/server/hot/) against a model of the platform (scripts/lib/sim/sale.ts) whose service times come from
 * bench/sim-costs.json (the idle-machine bench figures it was calibrated on).
 *
 *   npm run simulate -- --shoppers 200000 --stock 20000 --isolates 500 --shards auto --attempts-per-second 20000 --seed 1 --json
 *
 * Also --cancel-share 0..1 (default 0): that share of orders is cancelled or expires 2–10 s after purchase.
 * Without --json it prints a short summary and the targets; with --json, one JSON object. Exit code 1 when the
 * sale broke a promise (oversold, undersold, a 5xx, a duplicate), so CI can run it too.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { modelFromBench, runSimulation, type SimulationResult } from "./lib/sim/sale.ts";

const USAGE =
  "usage: npm run simulate -- [--shoppers N] [--stock N] [--isolates N] [--shards N|auto] [--attempts-per-second N] [--seed N] [--cancel-share 0..1] [--json]";

function parseFlags() {
  try {
    return parseArgs({
      options: {
        shoppers: { type: "string", default: "200000" },
        stock: { type: "string", default: "20000" },
        isolates: { type: "string", default: "500" },
        shards: { type: "string", default: "auto" },
        "attempts-per-second": { type: "string", default: "20000" },
        seed: { type: "string", default: "1" },
        "cancel-share": { type: "string", default: "0" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseFlags();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function positiveInt(name: string, raw: string | undefined, min = 1): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
    process.exit(2);
  }
  return n;
}

function share(raw: string | undefined): number {
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) {
    console.error(`--cancel-share must be a number in 0..1, got ${raw}`);
    process.exit(2);
  }
  return n;
}

const shardsFlag = values.shards === "auto" ? "auto" : positiveInt("shards", values.shards);
if (shardsFlag !== "auto" && shardsFlag > 64) {
  console.error("--shards must be 1..64 or auto");
  process.exit(2);
}
const bench = JSON.parse(readFileSync(new URL("../bench/sim-costs.json", import.meta.url), "utf8"));
const started = performance.now();
const result = runSimulation({
  shoppers: positiveInt("shoppers", values.shoppers),
  stock: positiveInt("stock", values.stock),
  isolates: positiveInt("isolates", values.isolates),
  shards: shardsFlag,
  attemptsPerSecond: positiveInt("attempts-per-second", values["attempts-per-second"]),
  seed: positiveInt("seed", values.seed, 0),
  costs: modelFromBench(bench),
  cancelShare: share(values["cancel-share"]),
});
const wallSeconds = (performance.now() - started) / 1000;

const targets = checkTargets(result);
if (values.json) {
  console.log(JSON.stringify({ ...result, targets, wallSeconds: Math.round(wallSeconds * 100) / 100 }));
} else {
  const worst = (pick: (o: SimulationResult["objects"][number]) => number) => Math.max(...result.objects.map(pick));
  console.log(
    [
      `shards ${result.shards}, shoppers ${result.shoppers}, stock ${result.stock}, isolates ${result.isolates}, ${result.attemptsPerSecond} attempts/s, seed ${result.seed}`,
      `sold ${result.sold}, oversold ${result.oversold}, undersold ${result.undersold}, duplicates ${result.duplicates}`,
      `sold out in ${result.sellOutSeconds ?? "never"} s (bound ${result.sellOutBoundSeconds} s); outboxes drained at ${result.outboxDrainedSeconds ?? "-"} s`,
      `answers ${JSON.stringify(result.answers)} over ${result.attempts} attempts`,
      `worst object: accepted ${worst((o) => o.peakAcceptedRps)}/s (ceiling ${result.objectMaxRps}), utilization ${worst((o) => o.utilization)}, p99 wait ${worst((o) => o.p99WaitMs)} ms`,
      result.coordinator
        ? `coordinator: ${result.coordinator.requests} requests, ${result.coordinator.releases} releases, utilization ${result.coordinator.utilization}, p99 wait ${result.coordinator.p99WaitMs} ms`
        : "no coordinator (one shard)",
      `queue peak ${result.queuePeakMsgPerSec} msg/s; platform refusals (answered 429) ${result.platformOverloaded}; returned units ${result.returns.units}, resold ${result.returns.resold} (slowest ${result.returns.maxResellMs ?? "-"} ms)`,
      `${result.events} events, ${result.invariantChecks} invariant checks, ${wallSeconds.toFixed(2)} s`,
      ...Object.entries(targets).map(([name, ok]) => `${ok ? "✔" : "✘"} ${name}`),
    ].join("\n"),
  );
}
const fivexx = Object.entries(result.answers).some(([status, n]) => Number(status) >= 500 && n > 0);
const broken = result.oversold > 0 || result.undersold > 0 || result.duplicates > 0 || fivexx;
process.exit(broken ? 1 : 0);

function checkTargets(r: SimulationResult): Record<string, boolean> {
  const fivexx = Object.entries(r.answers).some(([status, n]) => Number(status) >= 500 && n > 0);
  return {
    "sold = stock (or every shopper served)": r.sold === r.stock || r.undersold === 0,
    "oversold 0": r.oversold === 0,
    "undersold 0": r.undersold === 0,
    "every object's accepted rate ≤ ceiling": r.objects.every((o) => o.peakAcceptedRps <= r.objectMaxRps),
    "utilization ≤ 0.85 (busiest second)": r.objects.every((o) => o.utilization <= 0.85),
    "p99 queue wait < 50 ms": r.objects.every((o) => o.p99WaitMs < 50),
    "sold out ≤ 2 × stock / (K × ceiling)": r.sellOutSeconds !== null && r.sellOutSeconds <= r.sellOutBoundSeconds,
    "no 5xx": !fivexx,
    "no queue > 5,000 msg/s": r.queuePeakMsgPerSec <= 5000,
  };
}
