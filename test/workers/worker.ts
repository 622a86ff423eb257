/**
 * All four Workers in one test Worker, so the Vitest plugin runs the whole path (gateway → seckill →
 * SaleItem → queue → consumer → PostgreSQL) in one workerd with no build step. Bindings that cross Workers
 * in production (SECKILL, ADMIN) are self-bindings here, to the same entrypoint classes.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import admin from "../../workers/admin/index.ts";
import gateway from "../../workers/gateway/index.ts";
import consumer from "../../queues/consumer.ts";
import type { AdminEnv } from "../../workers/admin/env.ts";
import type { ConsumerEnv } from "../../queues/env.ts";
import type { GatewayEnv } from "../../workers/gateway/env.ts";

export { SaleItem } from "../../durable-objects/sale-item.ts";
export { SaleCatalog } from "../../durable-objects/sale-catalog.ts";
export { AccountGuard } from "../../durable-objects/account-guard.ts";
export { SaleDraw } from "../../durable-objects/sale-draw.ts";
export { DrawEntries } from "../../durable-objects/draw-entries.ts";
export { SaleReserve } from "../../durable-objects/sale-reserve.ts";
export { SaleQueue } from "../../durable-objects/sale-queue.ts";
export { default as SeckillService } from "../../workers/seckill/index.ts";

export class AdminService extends WorkerEntrypoint<AdminEnv> {
  fetch(request: Request) {
    return admin.fetch(request, this.env, this.ctx);
  }
}

export default {
  fetch: (request, env, ctx) => gateway.fetch(request, env, ctx),
  queue: (batch, env, ctx) => consumer.queue(batch, env, ctx),
} satisfies ExportedHandler<GatewayEnv & ConsumerEnv>;
