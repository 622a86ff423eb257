/**
 * A sharded sale's shards on the merchant's detail page (docs/api.md "Hot sales": `stats.shards`): one bar per
 * shard — sold (dark) and what it can still sell (light) out of the units it holds — and the units in no shard
 * (the coordinator's reserve). Renders nothing for a sale of one shard.
 */
import type { SaleStats } from "../../../lib/contract/schemas.ts";
import { tm } from "../i18n/merchant.ts";

export function ShardBars({ stats }: { stats: SaleStats }) {
  const shards = stats.shards ?? [];
  if (shards.length < 2) return null;
  const widest = Math.max(1, ...shards.map((s) => s.stock));
  return (
    <section
      class="space-y-2 rounded-xl border border-slate-300 bg-white p-4"
      aria-labelledby="shards-title"
      data-shards
    >
      <h2 id="shards-title" class="text-xl font-semibold text-slate-900">
        {tm("merchant.shards.title", { count: shards.length })}
      </h2>
      <p class="text-sm text-slate-800">
        {tm("merchant.shards.reserve")}
        <span class="tabular-nums">{stats.reserve ?? 0}</span>
      </p>
      <ul class="space-y-1">
        {shards.map((s) => (
          <li key={s.index} class="flex items-center gap-2 text-sm" data-shard={s.index}>
            <span class="w-16 shrink-0 text-slate-800 tabular-nums">#{s.index}</span>
            <span
              class="relative h-3 flex-1 overflow-hidden rounded bg-slate-100"
              role="img"
              aria-label={tm("merchant.shards.bar", {
                index: s.index,
                sold: s.sold,
                remaining: s.remaining,
                stock: s.stock,
              })}
            >
              <span class="absolute inset-y-0 left-0 bg-slate-800" style={{ width: `${(s.sold / widest) * 100}%` }} />
              <span
                class="absolute inset-y-0 bg-sky-400"
                style={{ left: `${(s.sold / widest) * 100}%`, width: `${(s.remaining / widest) * 100}%` }}
              />
            </span>
            <span class="w-28 shrink-0 text-right text-slate-800 tabular-nums">
              {s.sold} / {s.stock}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
