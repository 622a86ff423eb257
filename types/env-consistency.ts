/**
 * Proof, checked by tsc, that the hand-written binding interfaces beside each Worker (workers/<name>/env.ts, queues/env.ts) (which the code uses) say the
 * same as the wrangler.toml files (which the runtime obeys), as `wrangler types` reads them into the generated
 * files beside this one (GatewayBindings, SeckillBindings, AdminBindings, ConsumerBindings: every environment
 * of a config merged, a binding present in only some environments being optional).
 *
 * For each Worker:
 * - every binding the config declares is declared by hand (nothing configured that the code cannot see);
 * - every binding declared by hand is in the config (the code reads nothing the runtime never provides);
 * - what the config provides is assignable to what the code expects, optional exactly where some environment
 *   lacks it. Service bindings are compared as `Fetcher`: the generated type does not know the target's RPC
 *   methods, which workers/seckill/rpc.ts spells out (SeckillRpc).
 *
 * Compiled by `tsc -p types/tsconfig.json` from `npm run check:deploy` (its own program: the generated files
 * declare globals that must not meet test/workers/env.d.ts). A failure names the Worker and the bindings.
 */
import type { AdminEnv } from "../workers/admin/env.ts";
import type { ConsumerEnv } from "../queues/env.ts";
import type { GatewayEnv } from "../workers/gateway/env.ts";
import type { SeckillEnv } from "../workers/seckill/env.ts";

/** Service bindings typed with their RPC surface by hand become plain `Fetcher`, as generated. */
type AsGenerated<Hand> = {
  [K in keyof Hand]: NonNullable<Hand[K]> extends Fetcher ? Fetcher | Extract<Hand[K], undefined> : Hand[K];
};

type Incompatible<Generated, Hand> = {
  [K in keyof Generated & keyof Hand]: [Pick<Generated, K>] extends [Pick<AsGenerated<Hand>, K>] ? never : K;
}[keyof Generated & keyof Hand];

/** `true` when consistent, else an object naming what differs (which then fails the assignment of `true`). */
type Consistent<Generated, Hand> = [
  Exclude<keyof Generated, keyof Hand>,
  Exclude<keyof Hand, keyof Generated>,
  Incompatible<Generated, Hand>,
] extends [never, never, never]
  ? true
  : {
      configuredButNotDeclaredInLibEnv: Exclude<keyof Generated, keyof Hand>;
      declaredInLibEnvButNotConfigured: Exclude<keyof Hand, keyof Generated>;
      incompatibleTypesOrOptionality: Incompatible<Generated, Hand>;
    };

export const gatewayConsistent: Consistent<GatewayBindings, GatewayEnv> = true;
export const seckillConsistent: Consistent<SeckillBindings, SeckillEnv> = true;
export const adminConsistent: Consistent<AdminBindings, AdminEnv> = true;
export const consumerConsistent: Consistent<ConsumerBindings, ConsumerEnv> = true;
