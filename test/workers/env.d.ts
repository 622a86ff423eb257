// The test Worker's bindings are the union of the four Workers' (see wrangler.toml beside this file).
import type { AdminEnv } from "../../workers/admin/env.ts";
import type { GatewayEnv } from "../../workers/gateway/env.ts";
import type { SeckillEnv } from "../../workers/seckill/env.ts";

declare global {
  namespace Cloudflare {
    // SALE_ITEM and ACCOUNT_GUARD are the seckill Worker's typed namespaces (the gateway's own bindings to them are
    // untyped, as generated).
    interface Env extends Omit<GatewayEnv, "SALE_ITEM" | "ACCOUNT_GUARD">, SeckillEnv, AdminEnv {}
    interface GlobalProps {
      mainModule: typeof import("./worker.ts");
    }
  }
}

// Provided by test/hung-database.ts (a globalSetup of the workers project).
declare module "vitest" {
  export interface ProvidedContext {
    hungDatabaseUrl: string;
  }
}
