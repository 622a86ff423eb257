/**
 * Runs `wrk` (closed loop: each connection sends its next request when the last one is answered) with
 * bench/wrk.lua, pinned to a CPU core with taskset, in chunks of a few seconds so throughput and latency can be
 * charted over time; the chunks' full latency histograms are merged, so a scenario's percentiles are exact.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface WrkChunk {
  /** Seconds since the bench started, at the chunk's start. */
  at: number;
  requests: number;
  durationUs: number;
  statuses: Record<string, number>;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  tokensWrapped: boolean;
  /** [latency µs, count] pairs. */
  histogram: [number, number][];
  /** Every 202 of the chunk (when `collectOrders`): the order id and shopper id from its body. */
  orders: AcceptedOrder[];
}

export interface AcceptedOrder {
  orderId: string;
  userId: string;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  statuses: Record<string, number>;
  socketErrors: number;
  tokensWrapped: boolean;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  chunks: { at: number; rps: number; p50Ms: number; p99Ms: number; statuses: Record<string, number> }[];
}

export interface WrkOptions {
  url: string;
  method?: "GET" | "POST";
  paths: string[];
  tokensFile?: string;
  connections: number;
  threads?: number;
  seconds: number;
  chunkSeconds?: number;
  /**
   * What a POST carries: "client" (default) is the shipped web app's request — {"quantity":1}, an
   * Idempotency-Key, Origin, and the shopper's CF-Connecting-IP from the tokens file; "bare" is `{}` alone.
   */
  shape?: "client" | "bare";
  /** Collect every 202's order id (for matching to PostgreSQL). */
  collectOrders?: boolean;
  /** CPU list for taskset (e.g. "1"); none: not pinned. */
  cpu?: string;
  /** Seconds since the bench started, for the time series. */
  clock: () => number;
  onChunk?: (chunk: WrkChunk, index: number, of: number) => void;
}

/** One wrk run of `seconds`; shoppers' tokens start at line `tokenOffset` of the tokens file. */
export function runChunk(o: WrkOptions, seconds: number, tokenOffset: number): Promise<WrkChunk> {
  const threads = o.threads ?? 1;
  const args = [
    "-t",
    String(threads),
    "-c",
    String(o.connections),
    "-d",
    `${seconds}s`,
    "--timeout",
    "10s",
    "-s",
    path.join(BENCH_DIR, "wrk.lua"),
    o.url,
  ];
  const command = o.cpu ? "taskset" : "wrk";
  const argv = o.cpu ? ["-c", o.cpu, "wrk", ...args] : args;
  const at = o.clock();
  const nonce = `${process.pid}-${Math.round(at * 1000)}-${tokenOffset}`;
  const idsPrefix = o.collectOrders ? path.join(os.tmpdir(), `minishop-bench-ids-${nonce}-`) : undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        BENCH_METHOD: o.method ?? "GET",
        BENCH_PATHS: o.paths.join(","),
        BENCH_THREADS: String(threads),
        BENCH_SHAPE: o.shape ?? "client",
        BENCH_ORIGIN: new URL(o.url).origin,
        BENCH_KEY_PREFIX: `bench-${nonce}`,
        ...(idsPrefix ? { BENCH_IDS: idsPrefix } : {}),
        ...(o.tokensFile ? { BENCH_TOKENS: o.tokensFile, BENCH_TOKEN_OFFSET: String(tokenOffset) } : {}),
      },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      const orders: AcceptedOrder[] = [];
      if (idsPrefix) {
        for (let t = 0; t < threads; t++) {
          const file = idsPrefix + t;
          if (!existsSync(file)) continue;
          for (const row of readFileSync(file, "utf8").split("\n")) {
            const [orderId, userId] = row.split(" ");
            if (orderId) orders.push({ orderId, userId });
          }
          rmSync(file, { force: true });
        }
      }
      if (code !== 0 || !line) return reject(new Error(`wrk exited with ${code}: ${err || out}`));
      resolve({ at, ...(JSON.parse(line.slice("BENCH_RESULT ".length)) as Omit<WrkChunk, "at" | "orders">), orders });
    });
  });
}

/** Percentile (0–100) of a [value, count] histogram, in the histogram's unit. */
export function percentile(histogram: [number, number][], p: number): number {
  const sorted = [...histogram].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [v, n] of sorted) {
    seen += n;
    if (seen >= rank) return v;
  }
  return sorted[sorted.length - 1][0];
}

function merge(histograms: [number, number][][]): [number, number][] {
  const m = new Map<number, number>();
  for (const h of histograms) for (const [v, n] of h) m.set(v, (m.get(v) ?? 0) + n);
  return [...m];
}

const ms = (us: number) => Math.round(us / 10) / 100;

/** Tokens the chunks may have used: every answered request, plus one in flight per connection at the end. */
export function tokensUsed(chunks: WrkChunk[], connections: number): number {
  return chunks.reduce((s, c) => s + c.requests + connections, 0);
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const chunkSeconds = o.chunkSeconds ?? 2;
  const n = Math.max(1, Math.round(o.seconds / chunkSeconds));
  const chunks: WrkChunk[] = [];
  for (let i = 0; i < n; i++) {
    // Every request of a chunk may have taken a token; the next chunk starts past all of them.
    const chunk = await runChunk(o, chunkSeconds, tokensUsed(chunks, o.connections));
    chunks.push(chunk);
    o.onChunk?.(chunk, i, n);
  }
  return mergeChunks(chunks);
}

/** A scenario's figures from its chunks (which may have been interleaved with other scenarios' chunks). */
export function mergeChunks(chunks: WrkChunk[]): WrkResult {
  const requests = chunks.reduce((s, c) => s + c.requests, 0);
  const seconds = chunks.reduce((s, c) => s + c.durationUs, 0) / 1e6;
  const statuses: Record<string, number> = {};
  for (const c of chunks) for (const [k, v] of Object.entries(c.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const histogram = merge(chunks.map((c) => c.histogram));
  return {
    requests,
    seconds,
    rps: Math.round(requests / seconds),
    statuses,
    socketErrors: chunks.reduce((s, c) => s + c.errors.connect + c.errors.read + c.errors.write + c.errors.timeout, 0),
    tokensWrapped: chunks.some((c) => c.tokensWrapped),
    p50Ms: ms(percentile(histogram, 50)),
    p99Ms: ms(percentile(histogram, 99)),
    p999Ms: ms(percentile(histogram, 99.9)),
    maxMs: ms(percentile(histogram, 100)),
    chunks: chunks.map((c) => ({
      at: Math.round(c.at * 10) / 10,
      rps: Math.round(c.requests / (c.durationUs / 1e6)),
      p50Ms: ms(percentile(c.histogram, 50)),
      p99Ms: ms(percentile(c.histogram, 99)),
      statuses: c.statuses,
    })),
  };
}
