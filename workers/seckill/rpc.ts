/**
 * The seckill Worker as the other Workers call it: the one thing they import from it (with the objects' RPC
 * types), so no Worker reaches into another's internals.
 */
import type { WorkerEntrypoint } from "cloudflare:workers";
import type SeckillService from "./index.ts";

/**
 * The seckill Worker's RPC methods with their plain result types: results cross the binding by structured
 * clone, so they arrive as the same plain data (the generic `Service<>` typing loses the unions on the way).
 */
export type SeckillRpc = Fetcher & {
  [K in Exclude<keyof SeckillService, keyof WorkerEntrypoint | "fetch">]: SeckillService[K];
};
