/**
 * Fault injection for `npm run chaos` (scripts/chaos.ts), on the local runtime only: it is read only when
 * `ENVIRONMENT=development` (lib/server/env.ts), from a `CHAOS` var that no wrangler.toml sets — the chaos script passes it
 * to the lean runtime. Format: comma-separated `key=value`:
 *
 * - `consumerFail=0.2`: the order consumer fails that share of its batches before writing (every message retried);
 * - `sendRefuse=3000/15000`: the SaleItem's `sendBatch` to the ORDERS queue throws for the first 3 s of every 15 s;
 * - `restartEvery=20000`: a SaleItem resets itself (`ctx.abort()`) in the middle of a group commit, at most once per
 *   20 s per object.
 *
 * None of these may lose or duplicate an order: that is what the chaos run checks (docs/design.md "Hardening").
 */
import { isDevelopment } from "./env.ts";

export interface Chaos {
  consumerFailRate: number;
  sendRefuseMs: number;
  sendPeriodMs: number;
  restartEveryMs: number;
}

export function chaosOf(env: object): Chaos | null {
  const spec = (env as { CHAOS?: unknown }).CHAOS;
  if (typeof spec !== "string" || spec === "" || !isDevelopment(env as { ENVIRONMENT?: string })) return null;
  const chaos: Chaos = { consumerFailRate: 0, sendRefuseMs: 0, sendPeriodMs: 0, restartEveryMs: 0 };
  for (const part of spec.split(",")) {
    const [key, value = ""] = part.split("=");
    if (key === "consumerFail") chaos.consumerFailRate = Math.min(1, Math.max(0, Number(value) || 0));
    else if (key === "sendRefuse") {
      const [on, period] = value.split("/").map(Number);
      if (on > 0 && period > on) Object.assign(chaos, { sendRefuseMs: on, sendPeriodMs: period });
    } else if (key === "restartEvery") chaos.restartEveryMs = Math.max(0, Number(value) || 0);
  }
  return chaos;
}

/** Whether `sendBatch` refuses now (the first `sendRefuseMs` of every `sendPeriodMs`, on the wall clock). */
export function sendRefusedNow(chaos: Chaos, now = Date.now()): boolean {
  return chaos.sendPeriodMs > 0 && now % chaos.sendPeriodMs < chaos.sendRefuseMs;
}
