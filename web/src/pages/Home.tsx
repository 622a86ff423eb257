/** The storefront: every sale with its status, price, stock left and, before it starts, a live countdown. */
import { useRef, useState } from "preact/hooks";
import type { Sale } from "../../../lib/schemas.ts";
import { ApiFailure } from "../lib/api.ts";
import { formatPrice } from "../lib/format.ts";
import { effectiveStatus } from "../lib/sale-status.ts";
import { fetchSales } from "../lib/shop.ts";
import { useServerNow, usePolling } from "../components/hooks.ts";
import { Alert, Countdown, Link, PageHeading, RemainingBar, StatusBadge } from "../components/ui.tsx";
import { SaleImage } from "../components/SaleImage.tsx";

/** Cards in the first row (three on a wide screen) load their photos at once; the rest when scrolled near. */
const EAGER_PHOTOS = 3;

const ORDER = { live: 0, scheduled: 1, paused: 2, sold_out: 3, ended: 4 } as const;

export function SaleCard({ sale, now, lazyPhoto = false }: { sale: Sale; now: number; lazyPhoto?: boolean }) {
  const status = effectiveStatus(sale, now);
  return (
    <li class="flex flex-col rounded-xl border border-slate-300 bg-white p-4 shadow-sm" data-sale-id={sale.id}>
      <SaleImage sale={sale} lazy={lazyPhoto} class="mb-3" />
      <div class="flex items-start justify-between gap-3">
        <h2 class="min-w-0 text-lg font-semibold wrap-anywhere text-slate-900">
          <Link href={`/sales/${encodeURIComponent(sale.id)}`} class="hover:underline focus-visible:underline">
            {sale.title}
          </Link>
        </h2>
        <StatusBadge status={status} />
      </div>
      <p class="mt-1 text-xl font-bold text-slate-900">{formatPrice(sale.priceCents, sale.currency)}</p>
      {status === "scheduled" && (
        <p class="mt-2 text-sm text-slate-800">
          Starts in{" "}
          <strong class="text-base">
            <Countdown ms={Date.parse(sale.startsAt) - now} />
          </strong>
        </p>
      )}
      {status === "live" && (
        <p class="mt-2 text-sm text-slate-800">
          Ends in <Countdown ms={Date.parse(sale.endsAt) - now} />
        </p>
      )}
      <div class="mt-3">
        <RemainingBar sale={sale} />
      </div>
    </li>
  );
}

export function Home() {
  const [sales, setSales] = useState<Sale[] | null>(null);
  const salesRef = useRef<Sale[] | null>(null);
  salesRef.current = sales;
  const [error, setError] = useState<string | null>(null);
  const now = useServerNow();

  usePolling(
    async (signal) => {
      try {
        const body = await fetchSales(signal);
        setSales(body.sales);
        setError(null);
      } catch (err) {
        if (err instanceof ApiFailure) {
          const had = salesRef.current !== null;
          setError(
            err.status === 0
              ? had
                ? "You're offline — showing the sales as they were. They'll update when you're back."
                : "You're offline. Sales will appear when you're back online."
              : err.message,
          );
        }
        throw err;
      }
    },
    5_000,
    [],
  );

  const sorted = sales
    ? [...sales].sort(
        (a, b) =>
          ORDER[effectiveStatus(a, now)] - ORDER[effectiveStatus(b, now)] ||
          Date.parse(a.startsAt) - Date.parse(b.startsAt),
      )
    : null;

  return (
    <section aria-labelledby="page-title" class="space-y-4">
      <div id="page-title">
        <PageHeading>Flash sales</PageHeading>
      </div>
      <p class="text-slate-700">
        Limited stock, one order each. Countdowns follow the shop's clock, not your device's.
      </p>
      {error && <Alert kind={sales ? "info" : "error"}>{error}</Alert>}
      {sorted === null && !error && <p class="text-slate-700">Loading sales…</p>}
      {sorted && sorted.length === 0 && <p class="text-slate-700">No sales right now. Check back soon.</p>}
      {sorted && sorted.length > 0 && (
        <ul class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="Sales">
          {sorted.map((sale, i) => (
            <SaleCard key={sale.id} sale={sale} now={now} lazyPhoto={i >= EAGER_PHOTOS} />
          ))}
        </ul>
      )}
    </section>
  );
}
