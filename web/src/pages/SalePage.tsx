/** One sale: what it is, when it starts (server clock), how much is left, and the Buy now button. */
import { useState } from "preact/hooks";
import type { Sale } from "../../../lib/schemas.ts";
import { ApiFailure } from "../lib/api.ts";
import { formatDateTime, formatPrice } from "../lib/format.ts";
import { effectiveStatus } from "../lib/sale-status.ts";
import { fetchSale } from "../lib/shop.ts";
import { BuyPanel } from "../components/BuyPanel.tsx";
import { DrawPanel } from "../draw/DrawPanel.tsx";
import { RegisterPanel } from "../draw/RegisterPanel.tsx";
import { useServerNow, usePolling } from "../components/hooks.ts";
import { Alert, Countdown, Link, PageHeading, RemainingBar, StatusBadge } from "../components/ui.tsx";
import { SaleImage } from "../components/SaleImage.tsx";

export function SalePage({ id }: { id: string }) {
  const [sale, setSale] = useState<Sale | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [refreshToken, setRefreshToken] = useState(0);
  const now = useServerNow();

  usePolling(
    async (signal) => {
      try {
        const body = await fetchSale(id, signal);
        setSale(body.sale);
        setError(null);
        if (typeof document !== "undefined") document.title = `${body.sale.title} — MiniShop`;
      } catch (err) {
        if (err instanceof ApiFailure) setError(err);
        throw err;
      }
    },
    5_000,
    [id, refreshToken],
  );

  if (error?.status === 404) {
    return (
      <section class="space-y-4">
        <PageHeading>Sale not found</PageHeading>
        <p class="text-slate-700">This sale doesn't exist or was removed.</p>
        <Link href="/" class="font-semibold text-red-800 underline">
          See all sales
        </Link>
      </section>
    );
  }
  if (!sale) {
    return (
      <section class="space-y-4">
        <PageHeading>{error ? "Can't load this sale" : "Loading…"}</PageHeading>
        {error && (
          <Alert>
            {error.status === 0 ? "You're offline. This page will update when you're back." : error.message}
          </Alert>
        )}
      </section>
    );
  }

  const status = effectiveStatus(sale, now);
  return (
    <article class="space-y-5" data-sale-id={sale.id}>
      <p>
        <Link href="/" class="text-sm font-semibold text-red-800 underline underline-offset-2">
          <span aria-hidden="true">← </span>All sales
        </Link>
      </p>
      <div class="flex flex-wrap items-start justify-between gap-3">
        <div class="min-w-0">
          <PageHeading>
            <span class="wrap-anywhere">{sale.title}</span>
          </PageHeading>
        </div>
        <StatusBadge status={status} />
      </div>
      {error && (
        <Alert kind="info">{error.status === 0 ? "You're offline — these numbers may be stale." : error.message}</Alert>
      )}
      <div class="grid gap-6 rounded-xl border border-slate-300 bg-white p-5 shadow-sm md:grid-cols-2">
        <div class="space-y-3">
          <SaleImage sale={sale} lazy={false} />
          <p class="text-3xl font-bold text-slate-900">{formatPrice(sale.priceCents, sale.currency)}</p>
          {sale.description && <p class="whitespace-pre-line wrap-anywhere text-slate-800">{sale.description}</p>}
          <RemainingBar sale={sale} />
          <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm text-slate-800">
            <dt class="font-semibold">Starts</dt>
            <dd>{formatDateTime(sale.startsAt)}</dd>
            <dt class="font-semibold">Ends</dt>
            <dd>
              {formatDateTime(sale.endsAt)}
              {status === "live" && (
                <span>
                  {" "}
                  (in <Countdown ms={Date.parse(sale.endsAt) - now} />)
                </span>
              )}
            </dd>
            <dt class="font-semibold">Limit</dt>
            <dd>{sale.perUserLimit} per shopper</dd>
            <dt class="font-semibold">Pay within</dt>
            <dd>{formatPaymentWindow(sale.paymentWindowSeconds)} of buying, or the order expires</dd>
          </dl>
        </div>
        <div>
          {/* Draw sales are entered, not bought; registration sales sell only to registered shoppers. */}
          {sale.mode === "draw" ? (
            <DrawPanel sale={sale} />
          ) : sale.registrationRequired ? (
            <RegisterPanel sale={sale}>
              <BuyPanel sale={sale} onStale={() => setRefreshToken((n) => n + 1)} />
            </RegisterPanel>
          ) : (
            <BuyPanel sale={sale} onStale={() => setRefreshToken((n) => n + 1)} />
          )}
        </div>
      </div>
    </article>
  );
}

/** The merchant's payment window, in the largest whole unit: "15 minutes", "1 hour", "90 seconds". */
export function formatPaymentWindow(seconds: number): string {
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
  if (seconds % 3600 === 0) return unit(seconds / 3600, "hour");
  if (seconds % 60 === 0) return unit(seconds / 60, "minute");
  return unit(seconds, "second");
}
