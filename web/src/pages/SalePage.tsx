/** One sale: what it is, when it starts (server clock), how much is left, and the Buy now button. */
import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren, FunctionComponent } from "preact";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure, describeFailure } from "../lib/api.ts";
import { formatDateTime, formatPrice } from "../lib/format.ts";
import { effectiveStatus } from "../lib/sale-status.ts";
import { fetchSale } from "../lib/shop.ts";
import { t } from "../i18n/shop.ts";
import { LOCALE_TAG, locale } from "../i18n/i18n.ts";
import { BuyPanel } from "../components/BuyPanel.tsx";
import { DrawPanel } from "../draw/DrawPanel.tsx";
import { RegisterPanel } from "../draw/RegisterPanel.tsx";
import { useMoments, usePolling } from "../components/hooks.ts";
import { Alert, Countdown, Link, PageHeading, RemainingBar, StatusBadge } from "../components/ui.tsx";
import { SaleImage } from "../components/SaleImage.tsx";

type PanelProps = { sale: Sale; buy: ComponentChildren };
let queuePanel: FunctionComponent<PanelProps> | null = null;

/** A queue sale's screen (web/src/queue): a chunk of its own, fetched only for queue sales. */
function LazyQueuePanel(props: PanelProps) {
  const [Panel, setPanel] = useState(() => queuePanel);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (Panel) return;
    import("../queue/QueuePanel.tsx").then(
      (m) => {
        queuePanel = m.QueuePanel;
        setPanel(() => m.QueuePanel);
      },
      () => setFailed(true),
    );
  }, [Panel]);
  if (Panel) return <Panel {...props} />;
  return <p class="text-slate-700">{failed ? t("error.NETWORK") : t("loading")}</p>;
}

export function SalePage({ id }: { id: string }) {
  const [sale, setSale] = useState<Sale | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [refreshToken, setRefreshToken] = useState(0);
  const now = useMoments(sale ? [Date.parse(sale.startsAt), Date.parse(sale.endsAt)] : []);

  usePolling(
    async (signal) => {
      try {
        const body = await fetchSale(id, signal);
        setSale(body.sale);
        setError(null);
        if (typeof document !== "undefined") document.title = t("app.titleSuffix", { title: body.sale.title });
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
        <PageHeading>{t("sale.notFound")}</PageHeading>
        <p class="text-slate-700">{t("sale.notFoundBody")}</p>
        <Link href="/" class="font-semibold text-red-800 underline">
          {t("notFound.back")}
        </Link>
      </section>
    );
  }
  if (!sale) {
    return (
      <section class="space-y-4">
        <PageHeading>{error ? t("sale.cantLoad") : t("loading")}</PageHeading>
        {error && <Alert>{error.status === 0 ? t("sale.offline") : describeFailure(error)}</Alert>}
      </section>
    );
  }

  const status = effectiveStatus(sale, now);
  return (
    <article class="space-y-5" data-sale-id={sale.id}>
      <p>
        <Link href="/" class="text-sm font-semibold text-red-800 underline underline-offset-2">
          <span aria-hidden="true">← </span>
          {t("sale.back")}
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
      {error && <Alert kind="info">{error.status === 0 ? t("sale.offlineStale") : describeFailure(error)}</Alert>}
      <div class="grid gap-6 rounded-xl border border-slate-300 bg-white p-5 shadow-sm md:grid-cols-2">
        <div class="space-y-3">
          <SaleImage sale={sale} lazy={false} />
          <p class="text-3xl font-bold text-slate-900">{formatPrice(sale.priceCents, sale.currency)}</p>
          {sale.description && <p class="whitespace-pre-line wrap-anywhere text-slate-800">{sale.description}</p>}
          <RemainingBar sale={sale} />
          <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm text-slate-800">
            <dt class="font-semibold">{t("sale.starts")}</dt>
            <dd>{formatDateTime(sale.startsAt)}</dd>
            <dt class="font-semibold">{t("sale.ends")}</dt>
            <dd>
              {formatDateTime(sale.endsAt)}
              {status === "live" && (
                <span>
                  {" "}
                  ({t("sale.endsIn")} <Countdown to={Date.parse(sale.endsAt)} />)
                </span>
              )}
            </dd>
            <dt class="font-semibold">{t("sale.limit")}</dt>
            <dd>{t("sale.perShopper", { count: sale.perUserLimit })}</dd>
            <dt class="font-semibold">{t("sale.payWithin")}</dt>
            <dd>
              {t("sale.payWithinValue", {
                window: formatPaymentWindow(sale.paymentWindowSeconds, LOCALE_TAG[locale.value]),
              })}
            </dd>
          </dl>
        </div>
        <div>
          {/* Draw sales are entered, not bought; registration sales sell only to registered shoppers. */}
          {sale.mode === "draw" ? (
            <DrawPanel sale={sale} />
          ) : sale.queue ? (
            <LazyQueuePanel sale={sale} buy={<BuyPanel sale={sale} onStale={() => setRefreshToken((n) => n + 1)} />} />
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

/** The merchant's payment window, in the largest whole unit: "15 minutes", "1 hour", "90 seconds" (or the locale's words). */
export function formatPaymentWindow(seconds: number, localeTag = "en"): string {
  const [n, unit] =
    seconds % 3600 === 0
      ? [seconds / 3600, "hour"]
      : seconds % 60 === 0
        ? [seconds / 60, "minute"]
        : [seconds, "second"];
  return new Intl.NumberFormat(localeTag, { style: "unit", unit, unitDisplay: "long" }).format(n);
}
