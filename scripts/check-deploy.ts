/**
 * `npm run check:deploy`: proves, offline and without a Cloudflare account, that every Worker would deploy.
 *
 * 1. `wrangler deploy --dry-run --env production` for each of the four configs: bundles the Worker and
 *    validates its production config (the gateway's `[build]` builds the web app first if it is missing or stale). Any error, and any wrangler warning (a warning there is almost always a
 *    binding or setting that production silently lacks), fails the check.
 * 2. `wrangler types` for each config, into a scratch file, compared with the committed types/<worker>.d.ts:
 *    a config change without `npm run types:generate` fails the check.
 * 3. `tsc -p types/tsconfig.json`: the Workers' hand-written binding interfaces (workers/<name>/env.ts, queues/env.ts) match the generated ones
 *    (types/env-consistency.ts).
 *
 * `--write-types` (npm run types:generate) regenerates types/*.d.ts instead of comparing, then runs 3.
 *
 * Nothing here needs the network: WRANGLER_SEND_METRICS=false, and a dry run never calls the API
 * (verified under `unshare -rn`, a process with no network at all).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { PRODUCTION_ENV, WORKERS, typesArgs, typesPath, type WorkerConfig } from "./lib/workers.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules/.bin");

interface Run {
  code: number;
  output: string;
}

/** Runs a tool from node_modules/.bin in the repository root, collecting stdout and stderr together. */
function run(tool: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN, tool), args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
        WRANGLER_SEND_METRICS: "false",
        // No "update available" lookup on the npm registry.
        WRANGLER_HIDE_BANNER: "true",
        NO_COLOR: "1",
        ...extraEnv,
      },
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    // Wrangler colours its warnings whatever NO_COLOR says; plain text is what gets matched and printed.
    child.once("close", (code) => resolve({ code: code ?? 1, output: stripVTControlCharacters(output) }));
  });
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");

/** Wrangler marks warnings `▲ [WARNING]` and errors `✘ [ERROR]`. */
function problems(output: string): string[] {
  return output.split("\n").filter((l) => /\[(WARNING|ERROR)\]/.test(l));
}

async function dryRun(worker: WorkerConfig, outRoot: string): Promise<string | null> {
  const outdir = path.join(outRoot, worker.id);
  const result = await run("wrangler", [
    "deploy",
    "--dry-run",
    "--env",
    PRODUCTION_ENV,
    "--config",
    worker.config,
    "--outdir",
    outdir,
  ]);
  if (result.code !== 0) return `wrangler deploy --dry-run failed (exit ${result.code}):\n${indent(result.output)}`;
  const found = problems(result.output);
  if (found.length > 0) return `wrangler deploy --dry-run warned (treated as a failure):\n${indent(result.output)}`;
  return null;
}

/** Line diff good enough to point at what drifted (the files are a few dozen lines). */
function describeDrift(committed: string, fresh: string): string {
  const a = committed.split("\n");
  const b = fresh.split("\n");
  const out: string[] = [];
  const max = Math.max(a.length, b.length);
  for (let i = 0; i < max && out.length < 40; i++) {
    if (a[i] === b[i]) continue;
    if (a[i] !== undefined) out.push(`- ${a[i]}`);
    if (b[i] !== undefined) out.push(`+ ${b[i]}`);
  }
  return out.join("\n");
}

/**
 * Generates a Worker's types and compares them with the committed file (or writes it, with `write`).
 * The scratch file sits one directory below the root like types/, so the relative import paths inside are
 * the same; only the output path in the header differs, and it is put back before comparing.
 */
async function checkTypes(worker: WorkerConfig, write: boolean): Promise<string | null> {
  const committedPath = typesPath(worker);
  const target = write ? committedPath : `.wrangler/types-check-${process.pid}-${worker.id}.d.ts`;
  const absolute = path.join(ROOT, target);
  mkdirSync(path.dirname(absolute), { recursive: true }); // wrangler types does not create it (a fresh clone has no .wrangler/)
  const result = await run("wrangler", typesArgs(worker, target));
  try {
    if (result.code !== 0) return `wrangler types failed (exit ${result.code}):\n${indent(result.output)}`;
    if (write) return null;
    const fresh = readFileSync(absolute, "utf8").replaceAll(target, committedPath);
    const committedAbsolute = path.join(ROOT, committedPath);
    if (!existsSync(committedAbsolute))
      return `${committedPath} is missing: run \`npm run types:generate\` and commit it`;
    const committed = readFileSync(committedAbsolute, "utf8");
    if (committed === fresh) return null;
    return (
      `${committedPath} is out of date with ${worker.config}: run \`npm run types:generate\` and commit it.\n` +
      indent(describeDrift(committed, fresh))
    );
  } finally {
    if (!write) rmSync(absolute, { force: true });
  }
}

async function main() {
  const write = process.argv.includes("--write-types");
  const started = Date.now();
  const failures: string[] = [];
  const outRoot = mkdtempSync(path.join(os.tmpdir(), "minishop-dry-run-"));
  try {
    // The gateway's dry run builds the web app first when it is missing or stale (its wrangler.toml [build]).
    // Two at a time: each wrangler is one busy core for a second or two, and these machines have two.
    const jobs: (() => Promise<void>)[] = [];
    for (const worker of WORKERS) {
      if (!write) {
        jobs.push(async () => {
          const failure = await dryRun(worker, outRoot);
          if (failure) failures.push(`${worker.id} (${worker.config}): ${failure}`);
          else console.log(`check:deploy: ${worker.id}: dry run ok`);
        });
      }
      jobs.push(async () => {
        const failure = await checkTypes(worker, write);
        if (failure) failures.push(`${worker.id} (${worker.config}): ${failure}`);
        else console.log(`check:deploy: ${worker.id}: types ${write ? `written to ${typesPath(worker)}` : "in sync"}`);
      });
    }
    const queue = [...jobs];
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await job();
      }),
    );

    const tsc = await run("tsc", ["--noEmit", "-p", "types/tsconfig.json"]);
    if (tsc.code !== 0) {
      failures.push(
        `the Workers' env.ts files disagree with the generated binding types (types/env-consistency.ts):\n${indent(tsc.output)}`,
      );
    } else {
      console.log("check:deploy: the Workers' env.ts files match the generated binding types");
    }
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    console.error(`\ncheck:deploy FAILED (${seconds} s):\n\n${failures.join("\n\n")}\n`);
    process.exit(1);
  }
  console.log(`check:deploy: all ${WORKERS.length} Workers ok (${seconds} s)`);
}

await main();
