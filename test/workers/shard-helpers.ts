/**
 * Helpers for tests of sharded sales (docs/design.md "Hot sales").
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { sign } from "hono/jwt";
import { DEV_SESSION_SECRET } from "../../lib/server/env.ts";
import { homeShard, shardObjectName } from "../../lib/server/hot/routing.ts";
import { stockInvariant, StockCoordinator, type ShardStock } from "../../lib/server/hot/stock.ts";
import type { SaleItem } from "../../durable-objects/sale-item.ts";
import type { SaleReserve } from "../../durable-objects/sale-reserve.ts";

/** Every shard's book and the coordinator, read at once (each in its object), and the whole invariant checked. */
export async function checkStockInvariant(saleId: string, shards: number, stock: number): Promise<void> {
  const books: ShardStock[] = [];
  for (let i = 0; i < shards; i++) {
    const stub = env.SALE_ITEM.get(env.SALE_ITEM.idFromName(shardObjectName(saleId, i)));
    await runInDurableObject(stub, (object: SaleItem) => {
      object.assertInvariants();
      books.push(object.shardStock()!);
    });
  }
  const reserve = env.SALE_RESERVE.get(env.SALE_RESERVE.idFromName(saleId));
  await runInDurableObject(reserve, (coordinator: SaleReserve) => {
    stockInvariant(stock, StockCoordinator.restore(coordinator.snapshot()), books);
  });
}

/** A signed-in shopper whose home shard, in a sale of `shards`, is `shard` (user ids drawn until one fits). */
export async function shopperOn(
  shard: number,
  shards: number,
  name = `s${shard}`,
): Promise<{ userId: string; cookie: string }> {
  for (;;) {
    const userId = crypto.randomUUID();
    if (homeShard(userId, shards) !== shard) continue;
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: userId, name, iat: now, exp: now + 3600 }, DEV_SESSION_SECRET, "HS256");
    return { userId, cookie: `minishop_session=${token}` };
  }
}
