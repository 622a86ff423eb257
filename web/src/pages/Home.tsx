/**
 * The storefront: the sales in three groups — live now, coming up (with a live countdown), sold out and
 * ended — so a sold-out sale is never listed among the live ones.
 */
import { useRef, useState } from "preact/hooks";
import type { Sale, SaleStatus } from "../../../lib/contract/schemas.ts";
import { ApiFailure, describeFailure } from "../lib/api.ts";
import { formatPrice } from "../lib/format.ts";
import { effectiveStatus } from "../lib/sale-status.ts";
import { fetchSales } from "../lib/shop.ts";
import { t } from "../i18n/shop.ts";
import { useMoments, usePolling } from "../components/hooks.ts";
import { Alert, Countdown, Link, PageHeading, RemainingBar, StatusBadge } from "../components/ui.tsx";
import { SaleImage } from "../components/SaleImage.tsx";

/** Cards in the first row (three on a wide screen) load their photos at once; the rest when scrolled near. */
const EAGER_PHOTOS = 3;

type Group = "live" | "upcoming" | "over";

/** Paused sales stay with the live ones (they may resume any moment); sold out and ended are over. */
const GROUP_OF: Record<SaleStatus, Group> = {
  live: "live",
  paused: "live",
  scheduled: "upcoming",
  sold_out: "over",
  ended: "over",
};
const GROUP_TITLE = { live: "home.live", upcoming: "home.upcoming", over: "home.over" } as const;

export function SaleCard({ sale, now, lazyPhoto = false }: { sale: Sale; now: number; lazyPhoto?: boolean }) {
  const status = effectiveStatus(sale, now);
  return (
    <li class="flex flex-col rounded-xl border border-slate-300 bg-white p-4 shadow-sm" data-sale-id={sale.id}>
      <SaleImage sale={sale} lazy={lazyPhoto} class="mb-3" />
      <div class="flex items-start justify-between gap-3">
        <h3 class="min-w-0 text-lg font-semibold wrap-anywhere text-slate-900">
          <Link href={`/sales/${encodeURIComponent(sale.id)}`} class="hover:underline focus-visible:underline">
            {sale.title}
          </Link>
        </h3>
        <StatusBadge status={status} />
      </div>
      <p class="mt-1 text-xl font-bold text-slate-900">{formatPrice(sale.priceCents, sale.currency)}</p>
      {status === "scheduled" && (
        <p class="mt-2 text-sm text-slate-800">
          {t("countdown.startsIn")}{" "}
          <strong class="text-base">
            <Countdown to={Date.parse(sale.startsAt)} />
          </strong>
        </p>
      )}
      {status === "live" && (
        <p class="mt-2 text-sm text-slate-800">
          {t("countdown.endsIn")} <Countdown to={Date.parse(sale.endsAt)} />
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
  const [error, setError] = useState<ApiFailure | null>(null);
  // Re-rendered when a sale starts or ends (it moves between groups); the countdowns tick by themselves.
  const now = useMoments((sales ?? []).flatMap((s) => [Date.parse(s.startsAt), Date.parse(s.endsAt)]));

  usePolling(
    async (signal) => {
      try {
        const body = await fetchSales(signal);
        setSales(body.sales);
        setError(null);
      } catch (err) {
        if (err instanceof ApiFailure) setError(err);
        throw err;
      }
    },
    5_000,
    [],
  );

  const groups: Record<Group, Sale[]> = { live: [], upcoming: [], over: [] };
  for (const sale of sales ?? []) groups[GROUP_OF[effectiveStatus(sale, now)]].push(sale);
  // Live: ending soonest first; coming up: starting soonest first; over: the most recent first.
  groups.live.sort((a, b) => Date.parse(a.endsAt) - Date.parse(b.endsAt));
  groups.upcoming.sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
  groups.over.sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt));

  // Counts the cards as they render, in page order, so only the first row's photos load at once.
  let shown = 0;
  const errorText =
    error === null
      ? null
      : error.status === 0
        ? t(sales ? "home.offlineStale" : "home.offlineEmpty")
        : describeFailure(error);

  return (
    <section aria-labelledby="page-title" class="space-y-4">
      <div id="page-title">
        <PageHeading>{t("home.heading")}</PageHeading>
      </div>
      <p class="text-slate-700">{t("home.intro")}</p>
      {errorText && <Alert kind={sales ? "info" : "error"}>{errorText}</Alert>}
      {sales === null && !error && <p class="text-slate-700">{t("home.loading")}</p>}
      {sales && sales.length === 0 && <p class="text-slate-700">{t("home.empty")}</p>}
      {(["live", "upcoming", "over"] as const).map(
        (group) =>
          groups[group].length > 0 && (
            <section key={group} aria-labelledby={`sales-${group}`} class="space-y-3" data-sale-group={group}>
              <h2 id={`sales-${group}`} class="text-xl font-semibold text-slate-900">
                {t(GROUP_TITLE[group])}
              </h2>
              <ul class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
                {groups[group].map((sale) => (
                  <SaleCard key={sale.id} sale={sale} now={now} lazyPhoto={shown++ >= EAGER_PHOTOS} />
                ))}
              </ul>
            </section>
          ),
      )}
    </section>
  );
}
