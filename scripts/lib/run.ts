/**
 * What every bounded script shares (bench:draw, bench:queue): a clock from the start, a timestamped log, the
 * cleanups run in reverse order on the way out, and the ways out — done, a signal, or the time limit — so a script
 * always stops by itself and leaves nothing running.
 */
export interface ScriptRun {
  /** Seconds since the script started. */
  clock: () => number;
  log: (message: string) => void;
  /** A whole number with thousands separators. */
  fmt: (n: number) => string;
  /** Undo steps, pushed as things are started; run last-first by `cleanup`. */
  cleanups: (() => Promise<void>)[];
  cleanup: () => Promise<void>;
  /** Logs the reason, cleans up and exits with `code`. */
  stop: (reason: string, code: number) => Promise<never>;
}

export function startScript(name: string, timeoutSeconds: number): ScriptRun {
  const started = performance.now();
  const clock = () => (performance.now() - started) / 1000;
  const log = (m: string) => void process.stdout.write(`[${clock().toFixed(1).padStart(6)}s] ${m}\n`);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  };
  const stop = async (reason: string, code: number): Promise<never> => {
    log(reason);
    await cleanup();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop("SIGINT: stopping", 130));
  process.on("SIGTERM", () => void stop("SIGTERM: stopping", 143));
  setTimeout(
    () => void stop(`${name} took longer than ${timeoutSeconds} s: stopping`, 2),
    timeoutSeconds * 1000,
  ).unref();
  return { clock, log, fmt: (n) => Math.round(n).toLocaleString("en-US"), cleanups, cleanup, stop };
}
