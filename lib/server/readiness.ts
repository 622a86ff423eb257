/**
 * Readiness checks, shared by the gateway's public `/readyz` and the admin Worker's `/admin/api/readiness`.
 * Each check is bounded by a timeout, so a hung PostgreSQL (accepts the connection, never answers) is "failed"
 * within `READY_TIMEOUT_MS`, never a hang. The error text is for the log and the merchants' route only: the
 * public answer names what failed and nothing more (docs/api.md "Hardening").
 */
import { withDatabase } from "./db.ts";
import { withTimeout } from "./timeout.ts";

export const READY_TIMEOUT_MS = 1_500;

export interface Readiness {
  ready: boolean;
  /** Check name → "ok" | "failed". */
  checks: Record<string, "ok" | "failed">;
  /** Check name → what went wrong (never shown publicly). */
  errors: Record<string, string>;
}

/** What readiness needs of a Worker's bindings: the database, and the seckill Worker's `ping` (its RPC type is the Worker's own). */
export interface ReadinessEnv {
  HYPERDRIVE: Hyperdrive;
  SECKILL: { ping(): Promise<unknown> };
}

export async function checkReadiness(env: ReadinessEnv): Promise<Readiness> {
  const checks: Readiness["checks"] = {};
  const errors: Readiness["errors"] = {};
  const run = (name: string, probe: () => Promise<unknown>) =>
    withTimeout(probe(), READY_TIMEOUT_MS, name).then(
      () => void (checks[name] = "ok"),
      (err: unknown) => {
        checks[name] = "failed";
        errors[name] = String(err);
      },
    );
  await Promise.all([
    run("database", () =>
      withDatabase(env.HYPERDRIVE, (_db, pg) => pg`select 1`, {
        connectTimeoutSeconds: 1,
        timeoutMs: READY_TIMEOUT_MS - 100,
      }),
    ),
    run("seckill", () => env.SECKILL.ping()),
  ]);
  return { ready: Object.values(checks).every((v) => v === "ok"), checks, errors };
}
