/**
 * `DATABASE_URL=postgres://… npm run deploy`: puts the current tree in production (docs/deploy.md).
 *
 * 1. Refuses while a wrangler.toml still holds a placeholder (Hyperdrive id, example.com route).
 * 2. Applies db/migrations to DATABASE_URL (the database behind Hyperdrive). First, because a Worker may
 *    read a column the moment it is live; so every migration must also work with the code already running
 *    (add, backfill, and drop only in a later deploy).
 * 3. Builds the web app (the gateway's static assets).
 * 4. `wrangler deploy --env production` for seckill, consumer, admin, then gateway: each Worker after those it
 *    binds to, so no live Worker ever calls one that is missing or older than it expects.
 *    Each version is tagged with the git commit, which is what `wrangler rollback` and `wrangler versions list`
 *    show. A failure stops the run: the Workers before it are on the new version, the rest on the old one.
 * 5. With SHOP_URL set (https://shop.example.com), waits for its /readyz to answer 200.
 *
 * Secrets are set once with `wrangler secret put … --env production` and kept across deploys. For the very
 * first deploy (the Workers do not exist yet, so there is nothing to put a secret on), set ADMIN_TOKEN and
 * SESSION_SECRET in the environment: each Worker gets only its own, through a temporary --secrets-file.
 *
 * `npm run deploy -- --dry-run` does everything except touching the database and uploading (offline).
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./lib/postgres.ts";
import { PRODUCTION_ENV, WORKERS, type WorkerConfig } from "./lib/workers.ts";
import { migrateDatabase } from "./migrate.ts";

const BIN = path.join(ROOT, "node_modules/.bin");
const READY_TIMEOUT_MS = 120_000;

function log(message: string) {
  console.log(`deploy: ${message}`);
}

/** Runs a tool from node_modules/.bin in the repository root with its output on ours. */
function run(tool: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN, tool), args, {
      cwd: ROOT,
      stdio: ["inherit", "inherit", "inherit"],
      env: { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false" },
    });
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  });
}

/** What in a config's production section is still the repository's placeholder rather than the account's. */
export function placeholdersIn(configText: string): string[] {
  const start = configText.indexOf("[env.production]");
  if (start < 0) return ["no [env.production] section"];
  const production = configText.slice(start);
  const found: string[] = [];
  if (/^\s*id\s*=\s*"0{32}"/m.test(production)) found.push("Hyperdrive id 000…0 (wrangler hyperdrive create)");
  if (/example\.com/.test(production)) found.push("example.com route (your shop's hostname and zone)");
  return found;
}

function gitDescription(): { tag: string; message: string } {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    const subject = execFileSync("git", ["log", "-1", "--format=%s"], { cwd: ROOT, encoding: "utf8" }).trim();
    if (dirty) log(`warning: the working tree has uncommitted changes; the versions are tagged ${sha}-dirty`);
    return { tag: dirty ? `${sha}-dirty` : sha, message: `${sha}: ${subject}`.slice(0, 100) };
  } catch {
    return { tag: "no-git", message: "deployed outside a git checkout" };
  }
}

/** A JSON secrets file with this Worker's own secrets from the environment, or null when none is set. */
function secretsFileFor(worker: WorkerConfig, dir: string): string | null {
  const values = Object.fromEntries(
    worker.secrets.filter((n) => process.env[n]).map((n) => [n, process.env[n] as string]),
  );
  if (Object.keys(values).length === 0) return null;
  const file = path.join(dir, `${worker.id}.secrets.json`);
  writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
  log(`${worker.id}: uploading ${Object.keys(values).join(", ")} from the environment with this version`);
  return file;
}

async function waitForReady(shopUrl: string): Promise<boolean> {
  const url = new URL("/readyz", shopUrl).toString();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) {
        log(`${url}: ${last}`);
        return true;
      }
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 3_000));
  }
  log(`${url} is not ready after ${READY_TIMEOUT_MS / 1000} s; last answer: ${last}`);
  return false;
}

async function main(): Promise<number> {
  const dryRun = process.argv.includes("--dry-run");
  const started = Date.now();

  // 1. Placeholders.
  const placeholders = WORKERS.flatMap((w) =>
    placeholdersIn(readFileSync(path.join(ROOT, w.config), "utf8")).map((p) => `${w.config}: ${p}`),
  );
  if (placeholders.length > 0) {
    const text = `placeholders left in the production config (docs/deploy.md):\n  ${placeholders.join("\n  ")}`;
    if (!dryRun) {
      console.error(`deploy: refusing: ${text}`);
      return 1;
    }
    log(`(dry run) ${text}`);
  }

  // 2. Database first.
  if (dryRun) log("(dry run) skipping database migrations");
  else {
    try {
      await migrateDatabase(process.env.DATABASE_URL);
    } catch (err) {
      console.error(
        `deploy: database migrations failed, nothing was deployed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return 1;
    }
  }

  // 3. The web app.
  log("building the web app");
  if ((await run("vite", ["build", "--config", "web/vite.config.ts"])) !== 0) {
    console.error("deploy: the web app did not build; nothing was deployed");
    return 1;
  }

  // 4. The Workers, in dependency order.
  const { tag, message } = gitDescription();
  const scratch = mkdtempSync(path.join(os.tmpdir(), "minishop-deploy-"));
  const deployed: string[] = [];
  try {
    for (const worker of WORKERS) {
      const args = ["deploy", "--env", PRODUCTION_ENV, "--config", worker.config, "--tag", tag, "--message", message];
      if (dryRun) args.push("--dry-run", "--outdir", path.join(scratch, worker.id));
      const secretsFile = dryRun ? null : secretsFileFor(worker, scratch);
      if (secretsFile) args.push("--secrets-file", secretsFile);
      log(`${worker.id}: wrangler ${args.filter((a) => a !== secretsFile).join(" ")}`);
      const code = await run("wrangler", args);
      if (secretsFile) rmSync(secretsFile, { force: true });
      if (code !== 0) {
        console.error(
          `deploy: ${worker.id} failed (exit ${code}). ` +
            (deployed.length > 0
              ? `Already on the new version: ${deployed.join(", ")}; the others still run the previous one. ` +
                'Fix and run npm run deploy again, or roll back (docs/deploy.md "Rolling back").'
              : "Nothing was deployed."),
        );
        return 1;
      }
      deployed.push(worker.id);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  // 5. Readiness.
  const shopUrl = process.env.SHOP_URL;
  if (!dryRun && shopUrl && !(await waitForReady(shopUrl))) return 1;
  if (!dryRun && !shopUrl) log("set SHOP_URL=https://your.shop to wait for /readyz after a deploy");

  log(
    `${dryRun ? "dry run " : ""}done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${deployed.join(", ")} (tag ${tag})`,
  );
  return 0;
}

process.exit(await main());
