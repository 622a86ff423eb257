/**
 * The one list of the Workers, used by `npm start` (lean runtime and `wrangler dev`), the bench, deploy, its
 * checks and the tests that mirror the configs. `WORKERS` is in deploy order: a Worker is deployed after every
 * Worker it binds to (seckill first: all others call it; the consumer next, so the queue has its consumer before
 * the gateway sends shoppers; admin before the gateway that forwards /admin/* to it). `SERVING_ORDER` is the
 * order the local runtimes take them in: the public entry (the gateway) first.
 */
export interface WorkerConfig {
  /** Short name: types/<id>.d.ts, log prefixes. */
  id: "seckill" | "consumer" | "admin" | "gateway";
  /** wrangler config, relative to the repository root. */
  config: string;
  /** The interface `wrangler types` generates for it (types/env-consistency.ts checks it against the Worker's env.ts). */
  envInterface: string;
  /** Secrets it needs in production (also `secrets.required` in its config). */
  secrets: string[];
}

export const WORKERS: WorkerConfig[] = [
  { id: "seckill", config: "workers/seckill/wrangler.toml", envInterface: "SeckillBindings", secrets: [] },
  { id: "consumer", config: "queues/wrangler.toml", envInterface: "ConsumerBindings", secrets: [] },
  { id: "admin", config: "workers/admin/wrangler.toml", envInterface: "AdminBindings", secrets: ["ADMIN_TOKEN"] },
  {
    id: "gateway",
    config: "wrangler.toml",
    envInterface: "GatewayBindings",
    secrets: ["SESSION_SECRET", "CHALLENGE_HMAC_KEY"],
  },
];

/** The Workers as the local runtimes start them: the gateway (the public entry, served on PORT) first. */
export const SERVING_ORDER: WorkerConfig[] = [
  ...WORKERS.filter((w) => w.id === "gateway"),
  ...WORKERS.filter((w) => w.id !== "gateway"),
];

export const PRODUCTION_ENV = "production";

/** Committed `wrangler types` output of a Worker, relative to the repository root. */
export function typesPath(worker: WorkerConfig): string {
  return `types/${worker.id}.d.ts`;
}

/**
 * The `wrangler types` arguments for a Worker, writing to `outPath` (relative to the root). Runtime types
 * come from @cloudflare/workers-types (tsconfig.json), so only the Env part is generated; no main-module
 * import either, so the four files can share one tsc program (types/tsconfig.json).
 */
export function typesArgs(worker: WorkerConfig, outPath: string): string[] {
  return [
    "types",
    outPath,
    "--config",
    worker.config,
    "--env-interface",
    worker.envInterface,
    "--include-runtime=false",
    "--include-main-module=false",
  ];
}
