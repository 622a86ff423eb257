/**
 * The order consumer's bindings, as queues/wrangler.toml declares them (types/env-consistency.ts checks the two agree).
 */
import type { CommonEnv } from "../lib/server/env.ts";
import type { SeckillRpc } from "../workers/seckill/rpc.ts";

export interface ConsumerEnv extends CommonEnv {
  SECKILL: SeckillRpc;
  HYPERDRIVE: Hyperdrive;
}
