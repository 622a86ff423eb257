import { useEffect, useRef } from "preact/hooks";
import { secondTick, serverNow, useSecondTicker } from "../lib/clock.ts";

/** The server's time, re-rendering the caller once per server second. */
export function useServerNow(): number {
  // eslint-disable-next-line react-hooks/rules-of-hooks -- useSecondTicker starts the shared ticker and returns its stop: not a hook
  useEffect(() => useSecondTicker(), []);
  void secondTick.value; // subscribe
  return serverNow();
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
