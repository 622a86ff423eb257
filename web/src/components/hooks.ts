import { useEffect, useRef, useState } from "preact/hooks";
import { secondTick, serverNow, useSecondTicker } from "../lib/clock.ts";

/**
 * The server's time, re-rendering the caller once per server second. Only for what changes every second
 * (a countdown's digits): a whole page re-rendered every second is work a phone pays for in the busiest
 * minute; pages use `useMoments` instead.
 */
export function useServerNow(): number {
  // eslint-disable-next-line react-hooks/rules-of-hooks -- useSecondTicker starts the shared ticker and returns its stop: not a hook
  useEffect(() => useSecondTicker(), []);
  void secondTick.value; // subscribe
  return serverNow();
}

/** setTimeout's longest delay (a longer one fires at once). */
const MAX_TIMER_MS = 2_000_000_000;

/**
 * The server's time, re-rendering the caller at each of `moments` (server clock, ms since the epoch) still
 * ahead — a sale's start and end — to the millisecond, rather than on the next whole second.
 */
export function useMoments(moments: number[]): number {
  const [, setTick] = useState(0);
  const now = serverNow();
  let next = Infinity;
  for (const m of moments) if (m > now && m < next) next = m;
  useEffect(() => {
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.min(MAX_TIMER_MS, Math.max(0, next - serverNow()) + 1));
    return () => clearTimeout(timer);
  }, [next]);
  return now;
}

/**
 * Runs `work` now and then every `intervalMs`, never two at once (the next run is scheduled when the
 * previous one has finished), paused while the tab is hidden, and stopped on unmount.
 */
export function usePolling(work: (signal: AbortSignal) => Promise<unknown>, intervalMs: number, deps: unknown[]): void {
  const workRef = useRef(work);
  workRef.current = work;
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    let running = false;
    const run = async () => {
      if (controller.signal.aborted || running) return;
      running = true;
      try {
        await workRef.current(controller.signal);
      } catch {
        // The work shows its own errors; polling goes on.
      } finally {
        running = false;
      }
      if (!controller.signal.aborted) timer = setTimeout(tick, intervalMs);
    };
    const tick = () => {
      timer = null;
      if (typeof document !== "undefined" && document.visibilityState === "hidden") return;
      void run();
    };
    const onVisible = () => {
      if (document.visibilityState === "visible" && timer === null && !running) void run();
    };
    document.addEventListener("visibilitychange", onVisible);
    void run();
    return () => {
      controller.abort();
      if (timer !== null) clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}
