/**
 * `node bench/history.ts [files…]`: the ranges (min–max over runs) of the bench's headline figures, from the
 * summaries `npm run bench` keeps in bench/history/ (default: all of them). The README's ranges are this output;
 * anyone can check them against the files.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "history");
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => path.join(dir, f));

interface Run {
  schema?: number;
  date: string;
  database: { kind: string };
  machine: { loadavgStart: number[]; loadavgEnd: number[] };
  scenarios: Record<string, { sustainedRps: number; perCpuSecond: number; burstRps: number; cpuMsPerRequest: number }>;
  openLoop: { targetRps: number; p50Ms: number; p99Ms: number; workerdBusy: number };
  crowd: {
    sold: number;
    oversold: number;
    duplicates: number;
    lost: number;
    retries: number;
    sellOutSeconds: number | null;
    drainSeconds: number | null;
  };
  admission: { offeredRps: number; objectRps: number; bound: boolean };
  redisLua: { runs: { durability: string; rps: number; purchasesPerCpuSecond: number }[] };
  ratios: Record<string, number>;
}

const runs = files
  .map((f) => ({ file: path.basename(f), run: JSON.parse(readFileSync(f, "utf8")) as Run }))
  .filter(({ run }) => run.schema === 2);
if (!runs.length) {
  process.stdout.write("no schema-2 runs in bench/history/\n");
  process.exit(0);
}

const rows: [string, (r: Run) => number | null | undefined, number][] = [
  ["noop per workerd CPU-s", (r) => r.scenarios.noop.perCpuSecond, 0],
  ["noopRaw per workerd CPU-s", (r) => r.scenarios.noopRaw.perCpuSecond, 0],
  ["purchase per workerd CPU-s", (r) => r.scenarios.purchase.perCpuSecond, 0],
  ["purchase / noop, per CPU-s (sustained)", (r) => r.ratios.purchaseToNoop, 3],
  ["purchase / noop, sustained req/s", (r) => r.ratios.purchaseToNoopSustainedRps, 3],
  ["purchase / noop, burst (old figure)", (r) => r.ratios.purchaseToNoopBurst, 3],
  ["purchaseBare / noop, per CPU-s", (r) => r.ratios.purchaseBareToNoop, 3],
  ["purchaseBare / noop, burst", (r) => r.ratios.purchaseBareToNoopBurst, 3],
  ["soldOut / noop, per CPU-s", (r) => r.ratios.soldOutToNoop, 3],
  ["noop / noopRaw, per CPU-s", (r) => r.ratios.noopToNoopRaw, 3],
  ["purchase sustained req/s", (r) => r.scenarios.purchase.sustainedRps, 0],
  ["purchase burst req/s", (r) => r.scenarios.purchase.burstRps, 0],
  ["purchase workerd CPU ms", (r) => r.scenarios.purchase.cpuMsPerRequest, 3],
  ["openLoop rate /s", (r) => r.openLoop.targetRps, 0],
  ["openLoop p99 ms", (r) => r.openLoop.p99Ms, 1],
  ["openLoop workerd busy", (r) => r.openLoop.workerdBusy, 2],
  ["crowd sold", (r) => r.crowd.sold, 0],
  ["crowd oversold + duplicates + lost", (r) => r.crowd.oversold + r.crowd.duplicates + r.crowd.lost, 0],
  ["crowd retries after 429/503", (r) => r.crowd.retries, 0],
  ["crowd sold out, s", (r) => r.crowd.sellOutSeconds, 2],
  ["crowd in PostgreSQL, s", (r) => r.crowd.drainSeconds, 2],
  ["admission: object req/s (shipped 800)", (r) => r.admission.objectRps, 0],
  ...(["none", "everysec", "always"] as const).flatMap((d): [string, (r: Run) => number | undefined, number][] => [
    [`redisLua ${d} req/s`, (r) => r.redisLua.runs.find((x) => x.durability === d)?.rps, 0],
    [
      `redisLua ${d} per CPU-s (Node + Redis)`,
      (r) => r.redisLua.runs.find((x) => x.durability === d)?.purchasesPerCpuSecond,
      0,
    ],
  ]),
  ["load average (1 min) at start", (r) => r.machine.loadavgStart[0], 2],
];

const fmt = (v: number, digits: number) =>
  v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
process.stdout.write(
  `${runs.length} runs: ${runs.map(({ file, run }) => `${file} (${run.database.kind})`).join(", ")}\n\n`,
);
process.stdout.write("| figure | min | max | runs |\n|---|---:|---:|---:|\n");
for (const [label, get, digits] of rows) {
  const values = runs
    .map(({ run }) => get(run))
    .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (!values.length) continue;
  process.stdout.write(
    `| ${label} | ${fmt(Math.min(...values), digits)} | ${fmt(Math.max(...values), digits)} | ${values.length} |\n`,
  );
}
