// The test Worker's bindings are the union of the four Workers' (see wrangler.toml beside this file).
import type { AdminEnv, GatewayEnv, SeckillEnv } from "../../lib/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv, SeckillEnv, AdminEnv {}
    interface GlobalProps {
      mainModule: typeof import("./worker.ts");
    }
  }
}
