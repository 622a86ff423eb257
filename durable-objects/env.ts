/**
 * What the Durable Objects read from their host's bindings (the seckill Worker's, workers/seckill/env.ts):
 * declared here, not imported from the Worker, so objects and Worker do not import each other.
 */
import type { CommonEnv } from "../lib/server/env.ts";
import type { OrderMessage } from "../lib/contract/schemas.ts";

export interface ObjectEnv extends CommonEnv {
  ORDERS: Queue<OrderMessage>;
}
