/**
 * `npm run size`: builds the web app and measures what a shopper's phone downloads on the first load of `/`
 * and of a sale page — the gzipped JavaScript actually requested by Chromium, in English and in Chinese —
 * against the budget of 30 KB (stretch 20 KB). Exits 1 over the budget.
 *
 *   npm run size                      # build, then measure on a local server (gzip, as the edge serves it)
 *   npm run size -- --lighthouse      # also Lighthouse 12.2.3 (mobile) on both pages: performance, accessibility
 *   npm run size -- --base-url=http://127.0.0.1:8787   # measure a running stack instead (npm start)
 *   npm run size -- --dist=/tmp/other/web/dist          # measure another build (no build here)
 *
 * The local server serves web/dist as the gateway does (single-page fallback, 404 for missing files) with
 * gzip, and answers the two API calls those pages make with a fixed sale, so the figures do not depend on
 * what a database holds. Lighthouse runs through `npx lighthouse@12.2.3` (not a dependency of the project)
 * with CHROME_PATH (default /usr/bin/chromium).
 *
 * KB here is 1,000 bytes.
 */
import { execFile } from "node:child_process";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { build } from "vite";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
/** `--dist=DIR`: measure an existing build (another branch's, say) instead of building this one. */
const distArg = args.find((a) => a.startsWith("--dist="))?.slice("--dist=".length);
const DIST = distArg ? path.resolve(distArg) : path.join(ROOT, "web", "dist");
const BUDGET_KB = 30;
const STRETCH_KB = 20;
const CHROME = process.env.CHROME_PATH ?? process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SALE_ID = "5a1e5a1e-0000-4000-8000-000000000001";

const runLighthouse = args.includes("--lighthouse");
const baseUrlArg = args.find((a) => a.startsWith("--base-url="))?.slice("--base-url=".length);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json",
};

function fixtureSale(now: number) {
  return {
    id: SALE_ID,
    title: "Phone X — 500 units",
    description: "The measured page: a sale that starts in ten minutes.",
    priceCents: 49_900,
    currency: "USD",
    stock: 500,
    remaining: 500,
    perUserLimit: 1,
    startsAt: new Date(now + 600_000).toISOString(),
    endsAt: new Date(now + 4_200_000).toISOString(),
    status: "scheduled",
    paymentWindowSeconds: 900,
  };
}

/** web/dist as the gateway serves it, gzipped, with the two API answers the measured pages need. */
function startLocalServer(): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const now = Date.now();
    const api = (body: unknown) => {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/api/sales")
      return api({ serverTime: new Date(now).toISOString(), sales: [fixtureSale(now)] });
    if (url.pathname === `/api/sales/${SALE_ID}`)
      return api({ serverTime: new Date(now).toISOString(), sale: fixtureSale(now) });
    if (url.pathname.startsWith("/api/")) {
      res.writeHead(200, { "Content-Type": "application/json", "X-Error-Status": "404" });
      return res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "No such route" } }));
    }
    let file = path.join(DIST, path.normalize(url.pathname).replace(/^([/\\])+/, ""));
    const isFile = existsSync(file) && statSync(file).isFile();
    if (!isFile) {
      if (/\.[A-Za-z0-9]+$/.test(url.pathname)) {
        res.writeHead(404, { "Content-Type": "text/plain" });
        return res.end("Not found\n");
      }
      file = path.join(DIST, "index.html");
    }
    const type = TYPES[path.extname(file)] ?? "application/octet-stream";
    const immutable = url.pathname.startsWith("/assets/");
    const headers: Record<string, string> = {
      "Content-Type": type,
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    };
    if (/^(text|application\/(json|manifest))|svg/.test(type) && /gzip/.test(String(req.headers["accept-encoding"]))) {
      headers["Content-Encoding"] = "gzip";
      res.writeHead(200, headers);
      return res.end(gzipSync(readFileSync(file)));
    }
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ server, baseUrl: `http://127.0.0.1:${port}` });
    }),
  );
}

/** A sale on a running stack, for `--base-url` (the admin token from ADMIN_TOKEN or the local default). */
async function saleOnStack(baseUrl: string): Promise<string> {
  const now = Date.now();
  const { id: _id, remaining: _r, status: _s, ...input } = fixtureSale(now);
  void _id;
  void _r;
  void _s;
  const res = await fetch(`${baseUrl}/admin/api/sales`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${process.env.ADMIN_TOKEN ?? "dev-admin-token"}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify(input),
  });
  if (res.status !== 201) throw new Error(`creating the measured sale: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: { id: string } }).sale.id;
}

interface Measure {
  page: string;
  locale: string;
  files: { name: string; raw: number; gzip: number }[];
}

/** Loads `url` in a fresh context with the locale's languages; every script it requests, gzipped. */
async function measureFirstLoad(baseUrl: string, pagePath: string, locale: string): Promise<Measure> {
  const browser = await chromium.launch({
    executablePath: CHROME,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  try {
    const context = await browser.newContext({ locale, viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const scripts = new Map<string, Promise<Buffer>>();
    page.on("response", (response) => {
      if (response.request().resourceType() !== "script") return;
      scripts.set(new URL(response.url()).pathname, response.body());
    });
    await page.goto(baseUrl + pagePath, { waitUntil: "networkidle" });
    await page.locator("[data-page-heading]").first().waitFor();
    await page.waitForTimeout(500);
    const files = [];
    for (const [name, body] of scripts) {
      const bytes = await body;
      files.push({ name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
    }
    return { page: pagePath, locale, files };
  } finally {
    await browser.close();
  }
}

function kb(bytes: number): string {
  return (bytes / 1000).toFixed(1);
}

function runLighthouseOn(url: string): Promise<{ performance: number; accessibility: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      "npx",
      [
        "-y",
        "lighthouse@12.2.3",
        url,
        "--only-categories=performance,accessibility",
        "--output=json",
        "--quiet",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update",
      ],
      { env: { ...process.env, CHROME_PATH: CHROME }, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`lighthouse failed: ${err.message}\n${stderr.slice(-2000)}`));
        const report = JSON.parse(stdout) as { categories: Record<string, { score: number }> };
        resolve({
          performance: Math.round(report.categories.performance.score * 100),
          accessibility: Math.round(report.categories.accessibility.score * 100),
        });
      },
    );
  });
}

async function main() {
  let baseUrl = baseUrlArg?.replace(/\/$/, "");
  let server: Server | undefined;
  let saleId = SALE_ID;
  if (!baseUrl) {
    if (!distArg) await build({ configFile: path.join(ROOT, "web", "vite.config.ts"), logLevel: "warn" });
    ({ server, baseUrl } = await startLocalServer());
  } else {
    saleId = await saleOnStack(baseUrl);
  }
  let failed = false;
  try {
    const pages = [
      ["/", "home"],
      [`/sales/${saleId}`, "sale page"],
    ] as const;
    console.log(
      `First load: gzipped JavaScript requested by Chromium (budget ${BUDGET_KB} KB, stretch ${STRETCH_KB} KB)\n`,
    );
    console.log("| page | language | JS files | raw KB | gzip KB |");
    console.log("|---|---|---:|---:|---:|");
    const results: { label: string; gzip: number }[] = [];
    for (const [pagePath, label] of pages) {
      for (const locale of ["en-US", "zh-CN"]) {
        const m = await measureFirstLoad(baseUrl, pagePath, locale);
        const raw = m.files.reduce((a, f) => a + f.raw, 0);
        const gzip = m.files.reduce((a, f) => a + f.gzip, 0);
        results.push({ label: `${label} (${locale})`, gzip });
        console.log(`| ${label} | ${locale} | ${m.files.length} | ${kb(raw)} | ${kb(gzip)} |`);
        if (gzip > BUDGET_KB * 1000) failed = true;
      }
    }
    const worst = Math.max(...results.map((r) => r.gzip));
    console.log(
      `\nLargest first load: ${kb(worst)} KB gzipped — ${worst <= STRETCH_KB * 1000 ? "within the stretch budget" : worst <= BUDGET_KB * 1000 ? "within the budget" : "OVER THE BUDGET"}.`,
    );

    if (runLighthouse) {
      console.log("\nLighthouse 12.2.3 (mobile, simulated throttling):\n");
      console.log("| page | performance | accessibility |");
      console.log("|---|---:|---:|");
      for (const [pagePath, label] of pages) {
        const scores = await runLighthouseOn(baseUrl + pagePath);
        console.log(`| ${label} | ${scores.performance} | ${scores.accessibility} |`);
        if (scores.performance < 95 || scores.accessibility < 100) failed = true;
      }
    }
  } finally {
    server?.close();
  }
  if (failed) {
    console.error("\nOver budget (JS > 30 KB, or Lighthouse performance < 95 / accessibility < 100).");
    process.exit(1);
  }
}

await main();
