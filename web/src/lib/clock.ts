/**
 * The server's clock, as this page knows it.
 *
 * Countdowns must not depend on the device clock (a phone five minutes fast would otherwise start buying
 * early and be told NOT_STARTED). Every answer carrying `serverTime` is a sample: the server read its clock
 * somewhere inside the round trip, so the best estimate of "server now" at the moment the answer arrived is
 * `serverTime + rtt / 2`, wrong by at most `rtt / 2`. We keep the sample with the smallest round trip among the
 * recent ones (the tightest bound) and advance it with `performance.now()`, which is monotonic: changing the
 * device clock while the page is open moves nothing either.
 */
import { signal } from "@preact/signals";

interface Sample {
  /** Server time (ms since epoch) at `perfAt`. */
  serverAt: number;
  /** `performance.now()` when the answer arrived. */
  perfAt: number;
  rtt: number;
}

/** A sample is preferred for its small round trip only while it is this fresh; then any newer one wins. */
const SAMPLE_MAX_AGE_MS = 60_000;

let best: Sample | null = null;

/** Whether at least one sample has been taken (before that, the device clock stands in). */
export const clockSynced = signal(false);

/**
 * Records one sample. `sentAt`/`receivedAt` are `performance.now()` readings around the request.
 * @returns the accepted estimate of the offset server − device, in ms (for display and tests).
 */
export function recordServerTime(serverTime: string, sentAt: number, receivedAt: number): number {
  const server = Date.parse(serverTime);
  if (Number.isNaN(server) || receivedAt < sentAt) return offsetMs();
  const rtt = receivedAt - sentAt;
  const sample: Sample = { serverAt: server + rtt / 2, perfAt: receivedAt, rtt };
  if (!best || sample.rtt <= best.rtt || receivedAt - best.perfAt > SAMPLE_MAX_AGE_MS) best = sample;
  clockSynced.value = true;
  return offsetMs();
}

/** Milliseconds since the epoch on the server's clock. */
export function serverNow(): number {
  if (!best) return Date.now();
  return best.serverAt + (performance.now() - best.perfAt);
}

/** Server − device, in ms (positive when the device is behind). */
export function offsetMs(): number {
  return best ? serverNow() - Date.now() : 0;
}

/** For tests: forget every sample. */
export function resetClock(): void {
  best = null;
  clockSynced.value = false;
}

/**
 * Ticks once per server second, just after the second turns, so a countdown shown as whole seconds changes
 * exactly when the server's second does. Components read `secondTick.value` to re-render on each tick.
 */
export const secondTick = signal(0);

let tickTimer: ReturnType<typeof setTimeout> | null = null;
let tickUsers = 0;

function scheduleTick() {
  const delay = 1000 - (serverNow() % 1000) + 5;
  tickTimer = setTimeout(() => {
    secondTick.value++;
    scheduleTick();
  }, delay);
}

/** Starts the ticker while at least one component needs it; returns the function that releases it. */
export function useSecondTicker(): () => void {
  tickUsers++;
  if (tickTimer === null) scheduleTick();
  return () => {
    tickUsers--;
    if (tickUsers === 0 && tickTimer !== null) {
      clearTimeout(tickTimer);
      tickTimer = null;
    }
  };
}
