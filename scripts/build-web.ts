/**
 * Builds the web app (web/dist, the gateway's static assets) when it is missing or older than its sources; a
 * no-op otherwise. The gateway's wrangler.toml runs it as its `[build]` command, so `wrangler deploy --dry-run`
 * (and `wrangler deploy`, `wrangler dev`) work from a fresh clone after `npm install`, and never bundle assets
 * older than the sources. `--force` builds whatever the dates say.
 *
 * Sources: web/ (but its dist/), lib/ (the web app imports the contract), package-lock.json.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUILT = path.join(ROOT, "web/dist/index.html");

/** The newest modification time under `dir`, skipping `skip` (absolute paths). */
function newest(dir: string, skip: Set<string>): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (skip.has(full)) continue;
    latest = Math.max(latest, entry.isDirectory() ? newest(full, skip) : statSync(full).mtimeMs);
  }
  return latest;
}

function stale(): string | null {
  if (!existsSync(BUILT)) return "web/dist is missing";
  const skip = new Set([path.join(ROOT, "web/dist"), path.join(ROOT, "web/node_modules")]);
  const sources = Math.max(
    newest(path.join(ROOT, "web"), skip),
    newest(path.join(ROOT, "lib"), skip),
    statSync(path.join(ROOT, "package-lock.json")).mtimeMs,
  );
  return sources > statSync(BUILT).mtimeMs ? "web/dist is older than its sources" : null;
}

const reason = process.argv.includes("--force") ? "--force" : stale();
if (reason === null) {
  console.log("build-web: web/dist is up to date");
} else {
  console.log(`build-web: ${reason}: vite build`);
  const vite = path.join(ROOT, "node_modules/.bin/vite");
  const run = spawnSync(vite, ["build", "--config", "web/vite.config.ts", "--logLevel", "warn"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  process.exit(run.status ?? 1);
}
