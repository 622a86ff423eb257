/**
 * The admin Worker's bindings, as workers/admin/wrangler.toml declares them (types/env-consistency.ts checks the two agree).
 */
import type { CommonEnv } from "../../lib/server/env.ts";
import type { SeckillRpc } from "../seckill/rpc.ts";

export interface AdminEnv extends CommonEnv {
  SECKILL: SeckillRpc;
  HYPERDRIVE: Hyperdrive;
  /** Product photos (R2), written by PUT /admin/api/sales/:id/image (images.ts). */
  IMAGES: R2Bucket;
  ADMIN_TOKEN?: string;
  /** Workers Analytics Engine dataset "minishop_metrics" (bound in production only). */
  METRICS_AE?: AnalyticsEngineDataset;
}
